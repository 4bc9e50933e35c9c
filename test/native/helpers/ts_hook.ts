/**
 * A minimal TypeScript require hook for child processes and worker threads of the native tests,
 * so they run from source like the tests do (ts-jest is not there to compile them).
 *
 * `tsHookSource()` is JavaScript for `node -e`: it installs the hook, then requires the file
 * named by `process.argv[1]` (the first argument after the script). `tsHookSource(file)`
 * requires `file` instead, for `new Worker(source, { eval: true })`.
 */
export function tsHookSource(file?: string): string {
  return (
    "const ts=require('typescript'),fs=require('fs');" +
    "require.extensions['.ts']=(m,f)=>m._compile(ts.transpileModule(fs.readFileSync(f,'utf8')," +
    '{fileName:f,compilerOptions:{module:ts.ModuleKind.CommonJS,target:ts.ScriptTarget.ES2022,esModuleInterop:true}}).outputText,f);' +
    `require(${file === undefined ? 'process.argv[1]' : JSON.stringify(file)});`
  );
}
