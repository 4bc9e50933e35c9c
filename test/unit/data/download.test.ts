// The downloader against the local Hub (test/helpers/hub_server.ts: 127.0.0.1, random ports, a CDN on a second
// port): listing, Range resume after a cut connection, size/sha256 verification, 401/404, offline, and the
// on-disk layout tasks read from.
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import * as zlib from 'node:zlib';
import { downloadFile } from '../../../lib/data/download';
import { MANIFEST } from '../../../lib/data/manifest';
import { listParquetFiles, listRepoFiles, resolveUrl } from '../../../lib/hub';
import { TaskRegistry } from '../../../lib/tasks';
import { downloadProvider } from '../../../lib/tasks/download_plan';
import { Task } from '../../../lib/tasks/task';
import { LocalHub } from '../../helpers/hub_server';
// The sources area's test-only Parquet writer (hand-coded from the format spec, independent of hyparquet).
import { writeParquet } from './sources/parquet_writer';

let hub: LocalHub;
let endpoint = '';
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'ext5-dl-'));

function bytes(n: number, seed: number): Buffer {
  const b = Buffer.alloc(n);
  let x = seed;
  for (let i = 0; i < n; i++) {
    x = (x * 1103515245 + 12345) >>> 0;
    b[i] = x >>> 24;
  }
  return b;
}
const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

beforeAll(async () => {
  hub = await LocalHub.start();
  endpoint = hub.endpoint;
});
afterAll(async () => {
  await hub.close();
  fs.rmSync(tmp, { recursive: true, force: true });
});

const quiet = { progress: 'silent' as const, retryDelayMs: 5 };

/** One Parquet file as the only file of `repo`'s refs/convert/parquet branch (config/split/name). */
function serveParquet(repo: string, config: string, split: string, name: string, body: Buffer): string {
  return hub.setFiles('dataset', repo, 'refs/convert/parquet', [
    { path: `${config}/${split}/${name}`, body },
  ]);
}

describe('Hub listing', () => {
  it('lists the Parquet export of a config/split, with sizes and sha256, over paginated answers', async () => {
    const a = bytes(1000, 1);
    const commit = hub.setFiles('dataset', 'org/listing', 'refs/convert/parquet', [
      { path: 'default/train/0000.parquet', body: a },
      { path: 'default/train/0001.parquet', body: bytes(5, 9) },
      { path: 'default/test/0000.parquet', body: bytes(5, 8) },
    ]);
    hub.pageSize = 2;
    const before = hub.log.length;
    let list: Awaited<ReturnType<typeof listParquetFiles>>;
    try {
      list = await listParquetFiles('org/listing', 'default', 'train', { endpoint });
    } finally {
      hub.pageSize = 1000;
    }
    expect(hub.log.slice(before).filter((l) => l.url.includes('/tree/')).length).toBeGreaterThan(1);
    expect(list.map((f) => [f.path, f.size])).toEqual([
      ['default/train/0000.parquet', 1000],
      ['default/train/0001.parquet', 5],
    ]);
    expect(list[0]!.sha256).toBe(sha(a));
    // Pinned: the URL names the commit refs/convert/parquet pointed to, not the moving branch.
    expect(list[0]!.url).toBe(
      `${endpoint}/datasets/org/listing/resolve/${commit}/default/train/0000.parquet`,
    );
  });

  it('uses HF_ENDPOINT and sends HF_TOKEN as a Bearer token', async () => {
    process.env.HF_ENDPOINT = endpoint;
    process.env.HF_TOKEN = 'hf_test';
    try {
      expect(resolveUrl('a/b', 'main', 'x y.json')).toBe(`${endpoint}/datasets/a/b/resolve/main/x%20y.json`);
      await listParquetFiles('org/listing', 'default', 'train');
      expect(hub.log.at(-1)?.auth).toBe('Bearer hf_test');
    } finally {
      delete process.env.HF_ENDPOINT;
      delete process.env.HF_TOKEN;
    }
  });

  it('matches repo files by glob (the C4 layout)', async () => {
    hub.setFiles('dataset', 'allenai/c4like', 'main', [
      { path: 'en/c4-train.00000-of-01024.json.gz', body: bytes(3, 1) },
      { path: 'en/c4-train.00001-of-01024.json.gz', body: bytes(3, 2) },
      { path: 'en/c4-validation.00000-of-00008.json.gz', body: bytes(3, 3) },
    ]);
    const list = await listRepoFiles('allenai/c4like', 'en/c4-train.*-of-01024.json.gz', { endpoint });
    expect(list.map((f) => f.path)).toEqual([
      'en/c4-train.00000-of-01024.json.gz',
      'en/c4-train.00001-of-01024.json.gz',
    ]);
  });
});

describe('downloadFile', () => {
  it('resumes with an HTTP Range request after the connection is cut mid-file, then verifies', async () => {
    const body = bytes(200_000, 2);
    serveParquet('org/cut', 'default', 'train', '0000.parquet', body);
    hub.faults.push({ on: 'cdn', match: `/blob/${sha(body)}`, cutAfter: 70_000 });
    const [remote] = await listParquetFiles('org/cut', 'default', 'train', { endpoint });
    const dest = path.join(tmp, 'cut', '0000.parquet');
    const before = hub.log.length;
    const r = await downloadFile(remote!, dest, { ...quiet, endpoint });
    expect(fs.readFileSync(dest).equals(body)).toBe(true);
    expect(fs.existsSync(`${dest}.partial`)).toBe(false);
    const gets = hub.log.slice(before).filter((l) => l.on === 'cdn');
    expect(gets).toHaveLength(2);
    expect(gets[0]!.range).toBeUndefined();
    expect(gets[1]!.range).toMatch(/^bytes=\d+-$/);
    expect(Number(gets[1]!.range!.slice(6, -1))).toBeGreaterThan(0);
    expect(r.bytes).toBe(200_000);
    expect(remote!.sha256).toBe(sha(body));
    // A second run finds the finished file and fetches nothing.
    const n = hub.log.length;
    const again = await downloadFile(remote!, dest, { ...quiet, endpoint });
    expect(again.status).toBe('present');
    expect(hub.log.length).toBe(n);
  });

  it('continues a .partial left by an earlier run', async () => {
    const body = bytes(50_000, 3);
    serveParquet('org/partial', 'default', 'train', '0000.parquet', body);
    const [remote] = await listParquetFiles('org/partial', 'default', 'train', { endpoint });
    const dest = path.join(tmp, 'partial', '0000.parquet');
    fs.mkdirSync(path.dirname(dest), { recursive: true });
    fs.writeFileSync(`${dest}.partial`, body.subarray(0, 12_345));
    const r = await downloadFile(remote!, dest, { ...quiet, endpoint });
    expect(r.status).toBe('resumed');
    expect(hub.log.at(-1)?.range).toBe('bytes=12345-');
    expect(fs.readFileSync(dest).equals(body)).toBe(true);
  });

  it('rejects a size mismatch and a sha256 mismatch, leaving no file behind', async () => {
    const body = bytes(3000, 4);
    serveParquet('org/size', 'default', 'train', '0000.parquet', body);
    const [listed] = await listParquetFiles('org/size', 'default', 'train', { endpoint });
    const d1 = path.join(tmp, 'size', '0000.parquet');
    await expect(
      downloadFile({ ...listed!, size: 3001 }, d1, { ...quiet, endpoint, retries: 0 }),
    ).rejects.toThrow('got 3000 bytes, the Hub lists 3001');
    expect(fs.existsSync(d1)).toBe(false);

    const d2 = path.join(tmp, 'hash', '0000.parquet');
    await expect(
      downloadFile({ ...listed!, sha256: 'f'.repeat(64) }, d2, { ...quiet, endpoint }),
    ).rejects.toThrow(`does not match the Hub's ${'f'.repeat(64)}`);
    expect(fs.existsSync(d2)).toBe(false);
    expect(fs.existsSync(`${d2}.partial`)).toBe(false);
  });

  it('explains 401 (token / gated) and 404', async () => {
    serveParquet('org/gated', 'default', 'train', '0000.parquet', bytes(10, 5));
    const [gated] = await listParquetFiles('org/gated', 'default', 'train', { endpoint });
    // A bare 401 (no X-Error-Code, as a proxy may answer): a token problem.
    hub.faults.push({ match: '/datasets/org/gated/resolve/', status: 401 });
    const err = await downloadFile(gated!, path.join(tmp, 'gated', 'x.parquet'), {
      ...quiet,
      endpoint,
    }).catch((e) => e);
    expect(err.code).toBe('HUB_AUTH');
    expect(err.hint).toMatch(/HF_TOKEN/);
    hub.faults.push({ match: '/api/datasets/org/none/', status: 404 });
    const missing = await listParquetFiles('org/none', 'default', 'train', { endpoint }).catch((e) => e);
    expect(missing.code).toBe('HUB_NOT_FOUND');
    expect(missing.message).toMatch(/not found on the Hub \(404/);
  });

  it('says "offline" when nothing answers', async () => {
    const closed = http.createServer();
    await new Promise<void>((r) => closed.listen(0, '127.0.0.1', () => r()));
    const port = (closed.address() as AddressInfo).port;
    await new Promise((r) => closed.close(r));
    const err = await listParquetFiles('org/x', 'default', 'train', {
      endpoint: `http://127.0.0.1:${port}`,
      manualHint: 'Or put the files in /d',
    }).catch((e) => e);
    expect(err.code).toBe('OFFLINE');
    expect(err.message).toMatch(/cannot reach .*ECONNREFUSED/);
    expect(err.hint).toMatch(/Or put the files in \/d/);
  });
});

describe('downloadProvider', () => {
  it('puts files in <data-dir>/<id>/<config>/<split>/ where the task reads them', async () => {
    const rows = [
      { text: 'First document.', url: 'u1' },
      { text: 'Second document.', url: 'u2' },
    ];
    const gz = zlib.gzipSync(Buffer.from(rows.map((r) => JSON.stringify(r)).join('\n') + '\n'));
    hub.setFiles('dataset', 'org/corpus', 'main', [
      { path: 'en/c4-train.00000-of-00002.json.gz', body: gz },
      { path: 'en/c4-train.00001-of-00002.json.gz', body: gz },
    ]);
    const task = new Task({
      name: 'corpus_test',
      source: {
        hfId: 'org/corpus',
        config: 'en',
        layout: 'files',
        filePatterns: { train: 'en/c4-train.*-of-00002.json.gz' },
        splits: { train: { hfSplit: 'train' } },
        columns: ['text'],
      },
      preprocessor: (r) => ({ inputs: '', targets: String(r.text) }),
    });
    const dataDir = path.join(tmp, 'data');
    const report = await downloadProvider(task, { ...quiet, endpoint, dataDir, maxFiles: 1 });
    expect(report.files.map((f) => path.relative(dataDir, f.path))).toEqual([
      path.join('org', 'corpus', 'en', 'train', 'c4-train.00000-of-00002.json.gz'),
    ]);
    const got: string[] = [];
    for await (const ex of task.examples('train', { dataDir })) got.push(ex.targets);
    expect(got).toEqual(['First document.', 'Second document.']);
  });

  it("downloads a registered task's Parquet export and the task reads it (super_glue_cb)", async () => {
    const rows = [
      { premise: 'It rained all day.', hypothesis: 'It was dry.', idx: 0, label: 1 },
      { premise: 'Ann sang.', hypothesis: 'Someone sang.', idx: 1, label: 0 },
    ];
    const pq = writeParquet(
      [
        { name: 'premise', type: 'string' },
        { name: 'hypothesis', type: 'string' },
        { name: 'idx', type: 'int32' },
        { name: 'label', type: 'int64' },
      ],
      rows,
      { codec: 'SNAPPY' },
    );
    serveParquet('aps/super_glue', 'cb', 'validation', '0000.parquet', pq);
    const dataDir = path.join(tmp, 'sg');
    const cb = TaskRegistry.get('super_glue_cb');
    const report = await downloadProvider(cb, { ...quiet, endpoint, dataDir, splits: ['validation'] });
    expect(report.files.map((f) => path.relative(dataDir, f.path))).toEqual([
      path.join('aps', 'super_glue', 'cb', 'validation', '0000.parquet'),
    ]);
    const got = [];
    for await (const ex of cb.examples('validation', { dataDir })) got.push([ex.inputs, ex.targets]);
    expect(got).toEqual([
      ['cb hypothesis: It was dry. premise: It rained all day.', 'contradiction'],
      ['cb hypothesis: Someone sang. premise: Ann sang.', 'entailment'],
    ]);
  });

  it('rejects a split the task does not have', async () => {
    await expect(
      downloadProvider(TaskRegistry.get('super_glue_cb'), {
        ...quiet,
        endpoint,
        dataDir: '/d',
        splits: ['dev'],
      }),
    ).rejects.toThrow("task super_glue_cb has no split 'dev'");
  });

  it('refuses a manual-download task with where to put the files', async () => {
    const task = new Task({
      name: 'manual_test',
      source: {
        hfId: 'someone/data',
        config: 'default',
        splits: { train: { hfSplit: 'train' } },
        columns: ['a'],
        manual: 'Get it from the authors.',
      },
      preprocessor: () => null,
    });
    const err = await downloadProvider(task, { ...quiet, endpoint, dataDir: '/d' }).catch((e) => e);
    expect(err.code).toBe('MANUAL_DOWNLOAD');
    expect(err.hint).toBe(
      `Get it from the authors. Target folder: ${path.join('/d', 'someone', 'data', 'default', 'train')}`,
    );
  });
});

describe('rows present (the record examples-proportional mixing reads)', () => {
  const textPq = (texts: string[], rowGroupSize?: number) =>
    writeParquet(
      [{ name: 'text', type: 'string' }],
      texts.map((text) => ({ text })),
      rowGroupSize ? { rowGroupSize } : {},
    );
  const textTask = (name: string, hfId: string) =>
    new Task({
      name,
      source: { hfId, config: 'default', splits: { train: { hfSplit: 'train' } }, columns: ['text'] },
      preprocessor: (r) => ({ inputs: '', targets: String(r.text) }),
      numExamples: { train: 1_000_000 },
    });
  /** A task over org/bigsplit, downloaded into a data directory of its own, and its record. */
  async function downloaded(name: string) {
    const dataDir = path.join(tmp, name);
    const task = textTask(name, 'org/bigsplit');
    await downloadProvider(task, { ...quiet, endpoint, dataDir });
    return { dataDir, task, file: path.join(task.splitDir('train', dataDir), MANIFEST) };
  }
  const readRecord = (task: Task, dataDir: string) =>
    JSON.parse(fs.readFileSync(path.join(task.splitDir('train', dataDir), MANIFEST), 'utf8'));

  beforeAll(() => {
    hub.setFiles('dataset', 'org/bigsplit', 'refs/convert/parquet', [
      // Two files of a partial export: 5 rows in two row groups, then 3.
      { path: 'default/partial-train/0000.parquet', body: textPq(['a', 'b', 'c', 'd', 'e'], 2) },
      { path: 'default/partial-train/0001.parquet', body: textPq(['f', 'g', 'h']) },
    ]);
  });

  it('records the sum of the Parquet footers once every file is on disk, and whether the export is partial', async () => {
    const dataDir = path.join(tmp, 'rows');
    const task = textTask('rows_test', 'org/bigsplit');
    const lines: string[] = [];
    const dry = await downloadProvider(task, { ...quiet, endpoint, dataDir, dryRun: true });
    expect(dry.plan[0]!.rows).toBeUndefined();
    expect(readRecord(task, dataDir).rows).toBeUndefined();
    const report = await downloadProvider(task, { ...quiet, endpoint, dataDir, log: (l) => lines.push(l) });
    expect(report.plan[0]!.rows).toBe(8);
    expect(readRecord(task, dataDir)).toMatchObject({ partial: true, rows: 8 });
    expect(lines).toContain(
      'note: org/bigsplit default/train: 8 rows present (a partial export); examples-proportional mixing counts these, not the declared size',
    );
    expect(task.rowsPresent('train', dataDir)).toEqual({
      rows: 8,
      partial: true,
      manifest: path.join(task.splitDir('train', dataDir), MANIFEST),
    });
    // A dry run lists again and keeps the count of these very files.
    await downloadProvider(task, { ...quiet, endpoint, dataDir, dryRun: true });
    expect(readRecord(task, dataDir).rows).toBe(8);
  });

  it('counts only the files downloaded (--max-files)', async () => {
    const dataDir = path.join(tmp, 'rows-max');
    const task = textTask('rows_max_test', 'org/bigsplit');
    await downloadProvider(task, { ...quiet, endpoint, dataDir, maxFiles: 1 });
    expect(readRecord(task, dataDir)).toMatchObject({ partial: true, rows: 5 });
    expect(readRecord(task, dataDir).files).toHaveLength(1);
  });

  it('offline, counts the rows of a record that has none (a download made before rows were recorded)', async () => {
    const { dataDir, task, file } = await downloaded('rows_offline_test');
    const { rows: _, ...older } = readRecord(task, dataDir);
    fs.writeFileSync(file, JSON.stringify(older));
    const report = await downloadProvider(task, { ...quiet, dataDir, offline: true });
    expect(report.plan[0]!.fromDisk).toBe(true);
    expect(readRecord(task, dataDir).rows).toBe(8);
  });

  it('a malformed record offline is a coded error naming the file and key', async () => {
    const { dataDir, task, file } = await downloaded('rows_bad_test');
    const rec = readRecord(task, dataDir);
    for (const [change, message] of [
      [{ rows: -3 }, `${file}: rows is not a count (a non-negative safe integer) (-3)`],
      [
        { files: [{ ...rec.files[0], name: '../../escape.parquet' }] },
        `${file}: files[0].name has an empty, "." or ".." segment`,
      ],
      [{ files: [{ ...rec.files[0], size: 'big' }] }, `${file}: files[0].size is not a count`],
      [{ layout: 'zip' }, `${file}: layout is neither "parquet" nor "files"`],
    ] as const) {
      fs.writeFileSync(file, JSON.stringify({ ...rec, ...change }));
      const err = await downloadProvider(task, { ...quiet, dataDir, offline: true }).catch((e) => e);
      expect(err).toMatchObject({ code: 'E_DATA_MANIFEST' });
      expect(err.message).toContain(message);
    }
  });

  it('a listed .parquet that is not Parquet is refused, naming the file, and no count is recorded', async () => {
    hub.setFiles('dataset', 'org/notpq', 'refs/convert/parquet', [
      { path: 'default/train/0000.parquet', body: bytes(300, 7) },
    ]);
    const dataDir = path.join(tmp, 'rows-notpq');
    const task = textTask('rows_notpq_test', 'org/notpq');
    const err = await downloadProvider(task, { ...quiet, endpoint, dataDir }).catch((e) => e);
    expect(err).toMatchObject({ code: 'E_DATA_CORRUPT' });
    expect(err.message).toContain(
      `${path.join(task.splitDir('train', dataDir), '0000.parquet')}: not a readable Parquet file`,
    );
    expect(readRecord(task, dataDir).rows).toBeUndefined();
  });
});
