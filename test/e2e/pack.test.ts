// The release path end to end: prebuilds in the layout prebuildify writes, `npm pack` (its prepack
// builds dist/ afresh), the exact file list of the tarball, `npm install <tgz>` into a fresh
// project (dependencies from the npm registry) with every compiler on PATH replaced by a tripwire,
// `npx ext5 doctor --json` there, and a strict TypeScript program compiled against the installed
// declarations (no @types/node of its own) and run.
//
// The prebuilds come from `scripts/prebuildify.js --from-build`: prebuildify itself strips, names
// and places the .node files, but the compile step is replaced by a copy of the local build
// (native/<addon>/build, made by the same scripts/build-native.js), which saves minutes. The
// compile path through prebuildify is tested by 02-prebuild.test.ts.
//
// Everything happens in copies under one temporary folder: the package is packed from a staging
// copy of the working tree, so the repository's dist/, native/*/build and native/*/prebuilds are
// never written. Steps share `ctx` and run in order; the last ones (Hub downloads, fine-tuning,
// offline use) work in ctx.project too, so the package is packed and installed once.
import { execFile, type SpawnSyncReturns, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { superGlueExport, tinyT5Repo } from '../helpers/hub_models';
import { LocalHub } from '../helpers/hub_server';
import { root } from './helpers/cli';
import { docSamples } from './helpers/doc_samples';
import { MODEL_ID, userProgram } from './helpers/user_path';

jest.setTimeout(300_000);

const work = fs.mkdtempSync(path.join(os.tmpdir(), 'ext5-pack-'));
afterAll(() => fs.rmSync(work, { recursive: true, force: true }));

const platform = `${process.platform}-${process.arch}`;
const ctx: {
  stage: string;
  tarball?: string;
  files?: string[];
  project: string;
  /** PATH entry whose cmake, ninja, compilers and make record that they ran, then fail. */
  tripwires: string;
  tripped: string;
} = {
  stage: path.join(work, 'stage'),
  project: path.join(work, 'app'),
  tripwires: path.join(work, 'tripwires'),
  tripped: path.join(work, 'tripped.log'),
};

function run(
  cmd: string,
  args: string[],
  opts: { cwd: string; env?: NodeJS.ProcessEnv },
): SpawnSyncReturns<string> {
  const r = spawnSync(cmd, args, {
    cwd: opts.cwd,
    env: opts.env ?? process.env,
    encoding: 'utf8',
    maxBuffer: 64 * 2 ** 20,
    timeout: 280_000,
  });
  if (r.error) throw r.error;
  return r;
}

function ok(r: SpawnSyncReturns<string>, what: string): SpawnSyncReturns<string> {
  if (r.status !== 0) throw new Error(`${what} failed (exit ${r.status}):\n${r.stdout}\n${r.stderr}`);
  return r;
}

/** The PATH of the install and run steps: tripwires first, so any build attempt is recorded. */
function guardedEnv(): NodeJS.ProcessEnv {
  return { ...process.env, PATH: `${ctx.tripwires}${path.delimiter}${process.env.PATH ?? ''}` };
}

/** Files of `dir` (recursive, without nested node_modules), relative, with '/' separators. */
function walk(dir: string, rel = ''): string[] {
  const out: string[] = [];
  for (const e of fs.readdirSync(path.join(dir, rel), { withFileTypes: true })) {
    if (e.name === 'node_modules') continue;
    const r = rel ? `${rel}/${e.name}` : e.name;
    if (e.isDirectory()) out.push(...walk(dir, r));
    else out.push(r);
  }
  return out;
}

test('npm pack ships exactly the runtime, the types, docs, LICENSE, prebuilds and native sources', () => {
  // A staging copy of the working tree as git sees it (tracked and untracked, not ignored), minus
  // native/*/build and prebuilds: no build output of the repository reaches the tarball.
  const listed = ok(run('git', ['ls-files', '-co', '--exclude-standard'], { cwd: root }), 'git ls-files');
  const tree = listed.stdout
    .split('\n')
    .filter(
      (f) => f && !/^native\/[^/]+\/(build|prebuilds)(\/|$)/.test(f) && fs.existsSync(path.join(root, f)),
    );
  for (const f of tree) {
    fs.mkdirSync(path.dirname(path.join(ctx.stage, f)), { recursive: true });
    fs.copyFileSync(path.join(root, f), path.join(ctx.stage, f));
  }
  fs.symlinkSync(path.join(root, 'node_modules'), path.join(ctx.stage, 'node_modules'));

  ok(
    run(
      process.execPath,
      [path.join(root, 'scripts', 'prebuildify.js'), '--from-build', '--out', ctx.stage],
      { cwd: root },
    ),
    'prebuildify --from-build',
  );
  const packed = ok(
    run('npm', ['pack', '--json', '--pack-destination', work], { cwd: ctx.stage }),
    'npm pack',
  );
  // prepack's output (tsc) may precede the JSON on stdout.
  const info = JSON.parse(packed.stdout.slice(packed.stdout.search(/^\[/m)))[0] as {
    filename: string;
    size: number;
    unpackedSize: number;
    entryCount: number;
    files: { path: string }[];
  };
  ctx.tarball = path.join(work, info.filename);
  // The stage is a clone that has been built (prepack runs build:ts): its bin runs through npx there.
  expect((fs.statSync(path.join(ctx.stage, 'dist', 'bin', 'ext5.js')).mode & 0o111).toString(8)).toBe('111');
  const own = run('npx', ['--no', '--', 'ext5', '--version'], { cwd: ctx.stage });
  expect({ status: own.status, out: own.stdout.trim(), err: own.stderr }).toEqual({
    status: 0,
    out: '0.1.0',
    err: '',
  });
  ctx.files = info.files.map((f) => f.path).sort();
  console.log(
    `[pack] ${info.filename}: ${(info.size / 2 ** 20).toFixed(2)} MiB packed, ` +
      `${(info.unpackedSize / 2 ** 20).toFixed(2)} MiB unpacked, ${info.entryCount} files`,
  );

  // What should ship, derived from the sources rather than from dist/, so that a stale compiled
  // file or a stray output would show up as unexpected.
  const tracked = tree.filter(
    (f) =>
      /^(docs|assets)\//.test(f) ||
      /^native\/[^/]+\/([^/]+\.(cc|h)|CMakeLists\.txt)$/.test(f) ||
      ['CMakeLists.txt', 'README.md', 'LICENSE', 'package.json'].includes(f),
  );
  const compiled = tree
    .filter((f) => /^(lib|bin)\/.*\.ts$/.test(f) && !f.endsWith('.d.ts'))
    .flatMap((f) => [`dist/${f.replace(/\.ts$/, '.js')}`, `dist/${f.replace(/\.ts$/, '.d.ts')}`]);
  const expected = [
    ...tracked,
    ...compiled,
    `native/torch/prebuilds/${platform}/ext5_torch.glibc.node`,
    `native/spm/prebuilds/${platform}/ext5_spm.glibc.node`,
    'scripts/install.js',
    'scripts/build-native.js',
    'scripts/build-env.js',
    'scripts/libtorch.js',
  ].sort();
  expect(ctx.files).toEqual(expected);

  // The same facts spelled out, so that a failure reads as the problem it is.
  const files = ctx.files;
  expect(files.filter((f) => f.endsWith('.node'))).toHaveLength(2);
  expect(files).toEqual(expect.arrayContaining(['LICENSE', 'README.md', 'docs/install.md']));
  expect(
    files.filter((f) => /^(test|bench|dist\/bench)\/|\.map$|^scripts\/(setup|test)\.sh$/.test(f)),
  ).toEqual([]);
  expect(fs.readFileSync(path.join(ctx.stage, 'LICENSE'), 'utf8')).toMatch(/Apache License\s+Version 2\.0/);
  // Every docs/ page the README links to ships, and every script the install step requires.
  const readme = fs.readFileSync(path.join(ctx.stage, 'README.md'), 'utf8');
  for (const m of readme.matchAll(/\]\((docs\/[^)#]+)/g)) expect(files).toContain(m[1]);
  for (const script of files.filter((f) => f.startsWith('scripts/'))) {
    const src = fs.readFileSync(path.join(ctx.stage, script), 'utf8');
    for (const m of src.matchAll(/require\('\.\/([^']+)'\)/g)) expect(files).toContain(`scripts/${m[1]}.js`);
  }
});

test('installing the tarball uses the prebuilds and compiles nothing', () => {
  expect(ctx.tarball).toBeDefined();
  fs.mkdirSync(ctx.tripwires);
  for (const tool of ['cmake', 'ninja', 'make', 'c++', 'g++', 'gcc', 'cc', 'clang++', 'clang']) {
    const file = path.join(ctx.tripwires, tool);
    fs.writeFileSync(file, `#!/bin/sh\necho "${tool} $*" >> "${ctx.tripped}"\nexit 1\n`);
    fs.chmodSync(file, 0o755);
  }
  fs.mkdirSync(ctx.project);
  fs.writeFileSync(
    path.join(ctx.project, 'package.json'),
    // allowScripts: npm 11 skips dependencies' install scripts unless the project approved them
    // (what `npm install-scripts approve ext5` writes); approve ext5's, so that its choice
    // (prebuild, no compiler) is what is tested.
    `${JSON.stringify({ name: 'ext5-pack-app', version: '1.0.0', private: true, allowScripts: { ext5: true } }, null, 2)}\n`,
  );
  const start = Date.now();
  const install = ok(
    run(
      'npm',
      ['install', ctx.tarball!, '--foreground-scripts', '--no-audit', '--no-fund', '--loglevel=error'],
      { cwd: ctx.project, env: guardedEnv() },
    ),
    'npm install <tarball>',
  );
  console.log(`[pack] npm install <tarball> with prebuilds: ${((Date.now() - start) / 1000).toFixed(1)} s`);
  const out = install.stdout + install.stderr;
  expect(out).toMatch(/using the prebuilt torch addon/);
  expect(out).toMatch(/using the prebuilt spm addon/);
  expect(fs.existsSync(ctx.tripped) ? fs.readFileSync(ctx.tripped, 'utf8') : '').toBe('');
  const installed = path.join(ctx.project, 'node_modules', 'ext5');
  const builds = ['build', 'native/torch/build', 'native/spm/build'].filter((d) =>
    fs.existsSync(path.join(installed, d)),
  );
  expect(builds).toEqual([]);
  // What landed on disk is what was packed.
  expect(walk(installed).sort()).toEqual(ctx.files);
  // @types/node came with ext5 (a dependency), not from the project.
  const app = JSON.parse(fs.readFileSync(path.join(ctx.project, 'package.json'), 'utf8'));
  expect(Object.keys(app.dependencies)).toEqual(['ext5']);
  expect(fs.existsSync(path.join(ctx.project, 'node_modules', '@types', 'node', 'package.json'))).toBe(true);
});

test('npx ext5 doctor in the installed project loads both prebuilds', () => {
  const r = ok(
    run('npx', ['--no', 'ext5', 'doctor', '--json'], { cwd: ctx.project, env: guardedEnv() }),
    'npx ext5 doctor --json',
  );
  const report = JSON.parse(r.stdout);
  const prebuilds = path.join(ctx.project, 'node_modules', 'ext5', 'native');
  expect(report.torch.addon).toEqual({
    how: 'prebuild',
    path: path.join(prebuilds, 'torch', 'prebuilds', platform, 'ext5_torch.glibc.node'),
  });
  expect(report.spm.addon).toEqual({
    how: 'prebuild',
    path: path.join(prebuilds, 'spm', 'prebuilds', platform, 'ext5_spm.glibc.node'),
  });
  expect(report.torch.version).toMatch(/^\d+\.\d+/);
  expect(report.problems.filter((p: { problem: string }) => /addon/.test(p.problem))).toEqual([]);
});

test('`npm rebuild ext5`, the fix the loader names, reruns the install step', () => {
  const r = ok(
    run('npm', ['rebuild', 'ext5', '--foreground-scripts', '--loglevel=error'], {
      cwd: ctx.project,
      env: guardedEnv(),
    }),
    'npm rebuild ext5',
  );
  expect(r.stdout + r.stderr).toMatch(/using the prebuilt torch addon/);
  expect(fs.existsSync(ctx.tripped) ? fs.readFileSync(ctx.tripped, 'utf8') : '').toBe('');
});

const program = `import { addonOrigin, preset, T5ForConditionalGeneration, tensor, type T5Config } from 'ext5';

const t = tensor([
  [1, 2, 3],
  [4, 5, 6],
]);
const shape: number[] = t.shape;
t.dispose();
const config: T5Config = preset('t5-tiny');
const model = new T5ForConditionalGeneration(config);
const out = model.forward({ inputIds: [[5, 6, 7, 1]], labels: [[8, 9, 1]] });
const first: number | undefined = shape[0];
console.log(JSON.stringify({ shape, first, loss: out.loss, how: addonOrigin('torch')?.how }));
model.dispose();
`;

test('a strict TypeScript program type-checks against the installed types and runs', () => {
  fs.writeFileSync(path.join(ctx.project, 'main.ts'), program);
  const strict = {
    strict: true,
    noUncheckedIndexedAccess: true,
    skipLibCheck: false,
    target: 'ES2022',
    lib: ['ES2022'],
    module: 'commonjs',
    moduleResolution: 'node10',
    outDir: 'out',
  };
  // The default `types` (every @types package in node_modules) and an explicit empty list (the
  // declarations then bring @types/node in through their own reference).
  const configs = {
    'tsconfig.json': { compilerOptions: strict, files: ['main.ts'] },
    'tsconfig.notypes.json': { compilerOptions: { ...strict, types: [], noEmit: true }, files: ['main.ts'] },
  };
  const tsc = path.join(root, 'node_modules', 'typescript', 'bin', 'tsc');
  for (const [name, config] of Object.entries(configs)) {
    fs.writeFileSync(path.join(ctx.project, name), JSON.stringify(config, null, 2));
    const r = run(process.execPath, [tsc, '-p', name], { cwd: ctx.project });
    expect({ config: name, output: r.stdout + r.stderr, status: r.status }).toEqual({
      config: name,
      output: '',
      status: 0,
    });
  }
  const r = ok(
    run(process.execPath, [path.join('out', 'main.js')], { cwd: ctx.project, env: guardedEnv() }),
    'the compiled program',
  );
  const result = JSON.parse(r.stdout);
  expect(result.shape).toEqual([2, 3]);
  expect(result.first).toBe(2);
  expect(result.loss).toBeGreaterThan(0);
  expect(Number.isFinite(result.loss)).toBe(true);
  expect(result.how).toBe('prebuild');
});

test('every TypeScript sample of README.md and docs/ compiles in a CommonJS project with the tarball', () => {
  // What `npm init -y` makes (no "type": "module") and `tsc --strict`: each sample a module of its own.
  const dir = path.join(ctx.project, 'doc-samples');
  fs.mkdirSync(dir);
  const samples = docSamples(ctx.stage);
  expect(samples.length).toBeGreaterThan(10);
  for (const s of samples) fs.writeFileSync(path.join(dir, s.file), s.code);
  const config = {
    compilerOptions: {
      strict: true,
      noEmit: true,
      target: 'ES2022',
      lib: ['ES2022'],
      module: 'commonjs',
      moduleResolution: 'node10',
      moduleDetection: 'force',
      skipLibCheck: true,
    },
    include: ['doc-samples/*.ts'],
  };
  fs.writeFileSync(path.join(ctx.project, 'tsconfig.docs.json'), JSON.stringify(config, null, 2));
  const tsc = path.join(root, 'node_modules', 'typescript', 'bin', 'tsc');
  const r = run(process.execPath, [tsc, '-p', 'tsconfig.docs.json'], { cwd: ctx.project });
  // Errors name doc-samples/<doc>_L<line of the fence>.ts.
  expect({ output: r.stdout + r.stderr, status: r.status }).toEqual({ output: '', status: 0 });
});

// The user's path with the installed package: a benchmark downloaded with `npx ext5 data download`, a
// strict TypeScript program that loads a T5 by Hub id, fine-tunes it on BoolQ, evaluates and saves it
// with its tokenizer files, everything from a local Hub; then all of it again offline from the caches.
describe('the user path: Hub model and benchmark, fine-tune, evaluate, save; then offline', () => {
  let hub: LocalHub;
  let commit = '';
  const hfHome = path.join(work, 'hf-home');
  const hubEnv = (extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv => ({
    ...guardedEnv(),
    HF_ENDPOINT: hub.endpoint,
    HF_HOME: hfHome,
    // No token or cache of the machine running the tests takes part.
    HF_TOKEN: '',
    HUGGING_FACE_HUB_TOKEN: '',
    HF_HUB_CACHE: '',
    EXT5_T5_VOCAB: '',
    EXT5_DATA: '',
    ...extra,
  });
  const offlineEnv = (home = hfHome) =>
    hubEnv({ HF_HUB_OFFLINE: '1', HF_ENDPOINT: 'http://127.0.0.1:9', HF_HOME: home });

  beforeAll(async () => {
    hub = await LocalHub.start();
    commit = hub.setFiles('model', MODEL_ID, 'main', await tinyT5Repo(path.join(work, 'model-src')));
    hub.setFiles('dataset', 'aps/super_glue', 'refs/convert/parquet', superGlueExport());
  });
  afterAll(async () => {
    await hub?.close();
  });

  // The local Hub answers from this process's event loop: the children run asynchronously, not with
  // spawnSync, which would block it.
  const runAsync = (cmd: string, args: string[], opts: { cwd: string; env: NodeJS.ProcessEnv }) =>
    new Promise<SpawnSyncReturns<string>>((resolve, reject) => {
      execFile(
        cmd,
        args,
        { ...opts, encoding: 'utf8', maxBuffer: 64 * 2 ** 20, timeout: 120_000 },
        (error, stdout, stderr) => {
          const status = error ? (typeof error.code === 'number' ? error.code : null) : 0;
          if (error && status === null) reject(error);
          else resolve({ pid: 0, output: [], stdout, stderr, status, signal: null });
        },
      );
    });
  const download = (env: NodeJS.ProcessEnv) =>
    runAsync(
      'npx',
      [
        '--no',
        'ext5',
        'data',
        'download',
        '--benchmark',
        'superglue',
        '--split',
        'train',
        '--split',
        'validation',
        '--data-dir',
        'data',
        '--no-progress',
      ],
      { cwd: ctx.project, env },
    );
  const program = (env: NodeJS.ProcessEnv, tag: string) =>
    runAsync(
      process.execPath,
      [path.join('out', 'user.js'), path.join('runs', tag), path.join('saved', tag)],
      {
        cwd: ctx.project,
        env,
      },
    );

  test('online: download, fine-tune, evaluate and save by Hub id', async () => {
    const start = Date.now();
    ok(await download(hubEnv()), 'npx ext5 data download --benchmark superglue');
    expect(
      fs.existsSync(path.join(ctx.project, 'data', 'aps', 'super_glue', 'boolq', 'train', '0000.parquet')),
    ).toBe(true);
    fs.writeFileSync(path.join(ctx.project, 'user.ts'), userProgram);
    fs.writeFileSync(
      path.join(ctx.project, 'tsconfig.user.json'),
      JSON.stringify({ extends: './tsconfig.json', files: ['user.ts'] }, null, 2),
    );
    const tsc = path.join(root, 'node_modules', 'typescript', 'bin', 'tsc');
    const compiled = run(process.execPath, [tsc, '-p', 'tsconfig.user.json'], { cwd: ctx.project });
    expect({ output: compiled.stdout + compiled.stderr, status: compiled.status }).toEqual({
      output: '',
      status: 0,
    });

    const r = ok(await program(hubEnv(), 'online'), 'the user program, online');
    const out = JSON.parse(r.stdout.trim().split('\n').at(-1)!);
    expect(out.dModel).toBe(32);
    expect(out.steps).toBe(4);
    expect(Number.isFinite(out.loss)).toBe(true);
    expect(out.count).toBe(8);
    expect(out.metrics.accuracy).toBeGreaterThanOrEqual(0);
    expect(out.saved).toEqual([
      'config.json',
      'model.safetensors',
      'special_tokens_map.json',
      'spiece.model',
      'tokenizer_config.json',
    ]);
    // The model and the vocabulary came from the Hub into huggingface_hub's cache layout.
    const repoDir = path.join(hfHome, 'hub', 'models--google-t5--t5-small');
    expect(fs.readFileSync(path.join(repoDir, 'refs', 'main'), 'utf8')).toBe(commit);
    expect(out.spiece).toBe(path.join(repoDir, 'snapshots', commit, 'spiece.model'));
    const tokenizer = JSON.parse(
      fs.readFileSync(path.join(ctx.project, 'saved', 'online', 'tokenizer_config.json'), 'utf8'),
    );
    expect(tokenizer).toMatchObject({
      tokenizer_class: 'T5Tokenizer',
      extra_ids: 100,
      eos_token: '</s>',
      pad_token: '<pad>',
    });
    expect(tokenizer.additional_special_tokens).toHaveLength(100);
    expect(hub.requests('hub', '/resolve/').some((l) => l.url.includes('model.safetensors'))).toBe(true);
    console.log(`[user path] online: ${((Date.now() - start) / 1000).toFixed(1)} s`);
  });

  test('offline (HF_HUB_OFFLINE=1): the same from the caches, and a clear error with an empty cache', async () => {
    const start = Date.now();
    const before = hub.log.length;
    ok(await download(offlineEnv()), 'npx ext5 data download --benchmark superglue, offline');
    const r = ok(await program(offlineEnv(), 'offline'), 'the user program, offline');
    const out = JSON.parse(r.stdout.trim().split('\n').at(-1)!);
    expect(out.steps).toBe(4);
    expect(out.count).toBe(8);
    expect(hub.log.length).toBe(before);
    const empty = await program(offlineEnv(path.join(work, 'empty-hf-home')), 'empty');
    expect(empty.status).toBe(1);
    expect(empty.stderr).toMatch(/HUB_OFFLINE_MODE: .*google-t5\/t5-small.*(\n|.)*unset/);
    console.log(`[user path] offline: ${((Date.now() - start) / 1000).toFixed(1)} s`);
  });
});
