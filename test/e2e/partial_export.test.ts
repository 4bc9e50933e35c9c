// A mixture member whose Hub Parquet export is partial (`partial-train/`): `ext5 data download` records
// the rows present, `ext5 mixtures inspect` mixes by them and flags the task, and a run says so once
// when it starts. The superglue mixture (examples-proportional, no cap), with BoolQ's train split
// served as a partial export of 3 rows (9,427 declared) and the other tasks' train splits as one
// JSON Lines record each (no download record: their declared counts hold).
import { execFile } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { MixtureRegistry, TaskRegistry } from '../../lib/tasks';
import { LocalHub } from '../helpers/hub_server';
import { writeParquet } from '../unit/data/sources/parquet_writer';
import { cliPath, runCli } from './helpers/cli';

jest.setTimeout(180_000);

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'ext5-rows-'));
const dataDir = path.join(tmp, 'data');
let hub: LocalHub;

/** The CLI, asynchronously: the local Hub answers from this process meanwhile. */
function ext5(args: string[], env: Record<string, string> = {}) {
  return new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
    execFile(
      process.execPath,
      [cliPath, ...args],
      { env: { ...process.env, ...env }, maxBuffer: 1 << 24 },
      (err, stdout, stderr) =>
        resolve({ code: err ? Number((err as { code?: number }).code ?? 1) : 0, stdout, stderr }),
    );
  });
}

const boolq = writeParquet(
  [
    { name: 'question', type: 'string' },
    { name: 'passage', type: 'string' },
    { name: 'idx', type: 'int32' },
    { name: 'label', type: 'int64' },
  ],
  [0, 1, 2].map((i) => ({
    question: `is the sky blue ${i}`,
    passage: 'The sky is blue on a clear day.',
    idx: i,
    label: i % 2,
  })),
);

beforeAll(async () => {
  hub = await LocalHub.start();
  hub.setFiles('dataset', 'aps/super_glue', 'refs/convert/parquet', [
    { path: 'boolq/partial-train/0000.parquet', body: boolq },
  ]);
  for (const r of MixtureRegistry.get('superglue').resolve()) {
    if (r.task.name === 'super_glue_boolq') continue;
    const dir = r.task.splitDir('train', dataDir);
    fs.mkdirSync(dir, { recursive: true });
    fs.writeFileSync(path.join(dir, 'train.jsonl'), `${JSON.stringify(r.task.sampleRecord)}\n`);
  }
});
afterAll(async () => {
  await hub.close();
  fs.rmSync(tmp, { recursive: true, force: true });
});

const boolqDir = () => TaskRegistry.get('super_glue_boolq').splitDir('train', dataDir);

test('download records the rows present of a partial export (the Parquet footer count)', async () => {
  const dl = await ext5(
    ['data', 'download', 'super_glue_boolq', '--split', 'train', '--data-dir', dataDir, '--no-progress'],
    {
      HF_ENDPOINT: hub.endpoint,
      HF_HOME: path.join(tmp, 'hf-home'),
      HF_TOKEN: '',
      HUGGING_FACE_HUB_TOKEN: '',
    },
  );
  expect(dl.code).toBe(0);
  expect(dl.stderr).toMatch(/aps\/super_glue boolq\/train: 3 rows present \(a partial export\)/);
  const record = JSON.parse(fs.readFileSync(path.join(boolqDir(), '.ext5-download.json'), 'utf8'));
  expect(record).toMatchObject({ partial: true, rows: 3 });
});

/** The record the download above writes, so that each test below stands on its own. */
function writeBoolqRecord(): void {
  const file = path.join(boolqDir(), '.ext5-download.json');
  const record = fs.existsSync(file) ? JSON.parse(fs.readFileSync(file, 'utf8')) : undefined;
  if (record?.rows === 3) return;
  fs.mkdirSync(boolqDir(), { recursive: true });
  fs.writeFileSync(path.join(boolqDir(), '0000.parquet'), boolq);
  fs.writeFileSync(
    file,
    JSON.stringify({
      repo: 'aps/super_glue',
      config: 'boolq',
      split: 'train',
      layout: 'parquet',
      partial: true,
      files: [],
      rows: 3,
    }),
  );
}

test('mixtures inspect mixes by the rows present and flags the task (text and --json)', async () => {
  writeBoolqRecord();
  const others = MixtureRegistry.get('superglue')
    .resolve()
    .filter((r) => r.task.name !== 'super_glue_boolq')
    .reduce((s, r) => s + r.task.numExamples('train')!, 0);
  const json = await ext5(['mixtures', 'inspect', 'superglue', '--data-dir', dataDir, '--json']);
  expect(json.code).toBe(0);
  const rows = JSON.parse(json.stdout).tasks as Array<Record<string, unknown>>;
  const b = rows.find((r) => r.task === 'super_glue_boolq')!;
  expect(b).toMatchObject({ rate: 3, declared: 9427, rowsPresent: 3, partialExport: true, partial: true });
  expect(b.share).toBeCloseTo(3 / (3 + others), 12);
  const cb = rows.find((r) => r.task === 'super_glue_cb')!;
  expect(cb).toMatchObject({
    rate: 250,
    declared: 250,
    rowsPresent: null,
    partialExport: false,
    partial: false,
  });

  const text = await ext5(['mixtures', 'inspect', 'superglue', '--data-dir', dataDir]);
  expect(text.code).toBe(0);
  expect(text.stdout).toMatch(/^super_glue_boolq +3\.00000 +0\.002% \*$/m);
  expect(text.stdout).toMatch(/^super_glue_cb +250\.000 +[\d.]+%$/m);
  expect(text.stdout).toContain(
    `* partial data in ${dataDir}; examples-proportional rates take the rows present`,
  );
  expect(text.stdout).toContain('  super_glue_boolq: 3 rows present of 9427 declared (partial Hub export)\n');
});

test('a run on the mixture names the partial task once, as it starts', () => {
  writeBoolqRecord();
  const run = runCli([
    'pretrain',
    '--preset',
    'tiny-test',
    '--mixture',
    'superglue',
    '--data-dir',
    dataDir,
    '--run-dir',
    path.join(tmp, 'run'),
    '--steps',
    '1',
    '--no-progress',
    ...['data.vocabulary=mini', 'eval.every=0', 'eval.lossBatches=0', 'checkpoint.every=0'].flatMap((kv) => [
      '--set',
      kv,
    ]),
  ]);
  expect(run.stderr).not.toMatch(/error/i);
  expect(run.status).toBe(0);
  const notices = run.stderr.split('\n').filter((l) => /rows present|partial data/.test(l));
  expect(notices).toEqual([
    'ext5: partial data for 1 task of the mixture (examples-proportional rates take the rows present when fewer than declared; docs/data.md): super_glue_boolq: 3 rows present of 9427 declared (partial Hub export)',
  ]);
});
