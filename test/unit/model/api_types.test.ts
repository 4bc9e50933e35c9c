// The public API's types, as a strict user compiles against them: the TypeScript compiler checks
// a contract file and the code blocks of docs/api.md and docs/optimizer.md, with 'ext5' resolved to
// lib/index.ts (what the package's main entry exports). Nothing here loads libtorch.
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as ts from 'typescript';

jest.setTimeout(180_000);

const ROOT = path.resolve(__dirname, '../../..');
const VIRTUAL_DIR = path.join(ROOT, 'test', 'unit', 'model', '__virtual__');

/** What a strict user may write: each line fails to compile if the API's types regress. */
const CONTRACT = `
import {
  fromPretrainedAsync,
  T5ForConditionalGeneration,
  type T5LabelledBatch,
  type TextVocabulary,
} from 'ext5';
declare const model: T5ForConditionalGeneration;
declare const vocab: TextVocabulary;
declare const batch: T5LabelledBatch;
export async function contract(): Promise<unknown[]> {
  const a: number = model.forward({ inputIds: [[5, 1]], labels: [[7, 1]] }).loss;
  const b: number = (await model.forwardAsync(batch)).loss;
  const c: number = model.forwardBackward(batch).loss;
  const d: number = (await model.forwardBackwardAsync(batch)).loss;
  const e: number | undefined = model.forward({ inputIds: [[5, 1]], decoderInputIds: [[0]] }).loss;
  // @ts-expect-error without labels the loss may be undefined
  const f: number = model.forward({ inputIds: [[5, 1]], decoderInputIds: [[0]] }).loss;
  // @ts-expect-error forwardBackward computes a loss, so it needs labels
  model.forwardBackward({ inputIds: [[5, 1]] });
  const g: number[][] = model.generateIds([[5, 1]]);
  const h: number[][] = await model.generateIdsAsync([[5, 1]], null, { maxNewTokens: 4 });
  const i: T5ForConditionalGeneration = await T5ForConditionalGeneration.fromPretrainedAsync('dir');
  const j: T5ForConditionalGeneration = await fromPretrainedAsync('dir');
  const k: string[] = await model.predict(['x'], vocab);
  const l: string = await model.predict('x', vocab, { maxNewTokens: 4, batchSize: 2, maxInputLength: 64 });
  const m: Promise<void> = model.savePretrained('out');
  return [a, b, c, d, e, f, g, h, i, j, k, l, m];
}
`;

/** The ```ts blocks of a doc, each as a module: imports and declarations on top, the rest in an async function. */
function docModules(doc: string): string[] {
  const text = fs.readFileSync(path.join(ROOT, 'docs', doc), 'utf8');
  const blocks = [...text.matchAll(/```ts\n([\s\S]*?)```/g)].map((m) => m[1]!);
  return blocks.map((b, n) => {
    const lines = b.split('\n');
    const top = lines.filter((l) => /^(import |declare )/.test(l));
    const body = lines.filter((l) => !/^(import |declare )/.test(l));
    return `${top.join('\n')}\nexport async function block${n}(): Promise<void> {\n${body.join('\n')}\n}\n`;
  });
}

function typeErrors(files: Record<string, string>): string[] {
  const cfg = ts.readConfigFile(path.join(ROOT, 'tsconfig.json'), ts.sys.readFile);
  const parsed = ts.parseJsonConfigFileContent(cfg.config, ts.sys, ROOT);
  const options: ts.CompilerOptions = {
    ...parsed.options,
    noEmit: true,
    types: ['node'],
    baseUrl: ROOT,
    paths: { ext5: ['lib/index.ts'] },
  };
  const virtual = new Map(Object.entries(files).map(([n, t]) => [path.join(VIRTUAL_DIR, n), t]));
  const host = ts.createCompilerHost(options);
  const getSourceFile = host.getSourceFile.bind(host);
  host.getSourceFile = (name, lang, onError, fresh) => {
    const v = virtual.get(path.resolve(name));
    return v !== undefined ? ts.createSourceFile(name, v, lang) : getSourceFile(name, lang, onError, fresh);
  };
  const fileExists = host.fileExists.bind(host);
  host.fileExists = (name) => virtual.has(path.resolve(name)) || fileExists(name);
  const readFile = host.readFile.bind(host);
  host.readFile = (name) => virtual.get(path.resolve(name)) ?? readFile(name);
  const program = ts.createProgram([...virtual.keys()], options, host);
  return ts
    .getPreEmitDiagnostics(program)
    .filter((d) => d.file === undefined || virtual.has(path.resolve(d.file.fileName)))
    .map((d) => {
      const where = d.file
        ? `${path.basename(d.file.fileName)}:${d.file.getLineAndCharacterOfPosition(d.start ?? 0).line + 1}`
        : '';
      return `${where} ${ts.flattenDiagnosticMessageText(d.messageText, '\n')}`;
    });
}

test("the API contract, docs/api.md and docs/optimizer.md compile strictly against 'ext5'", () => {
  const files: Record<string, string> = { 'contract.ts': CONTRACT };
  for (const doc of ['api.md', 'optimizer.md']) {
    const modules = docModules(doc);
    expect(modules.length).toBeGreaterThan(0);
    modules.forEach((m, i) => {
      files[`${doc.replace('.md', '')}_${i}.ts`] = m;
    });
  }
  // Docs import the package, never the source tree.
  for (const [name, text] of Object.entries(files)) {
    for (const m of text.matchAll(/from '([^']+)'/g)) expect(`${name}: ${m[1]}`).toBe(`${name}: ext5`);
  }
  expect(typeErrors(files)).toEqual([]);
});
