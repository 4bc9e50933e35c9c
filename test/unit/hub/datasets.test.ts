// Dataset exports against the local Hub: partial and multi-part Parquet layouts, commit pinning under a moving
// refs/convert/parquet, offline downloads from disk (size + sha256, cached), benchmark-level downloads.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { MANIFEST } from '../../../lib/data/manifest';
import { cachedSha256, HASH_CACHE, listParquetExport, localParquetName, sha256File } from '../../../lib/hub';
import { TaskRegistry } from '../../../lib/tasks';
import { downloadProvider } from '../../../lib/tasks/download_plan';
import { Task } from '../../../lib/tasks/task';
import { LocalHub } from '../../helpers/hub_server';
import { writeParquet } from '../data/sources/parquet_writer';

let hub: LocalHub;
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'ext5-hubds-'));
const quiet = { progress: 'silent' as const, retryDelayMs: 5 };

beforeAll(async () => {
  hub = await LocalHub.start();
});
afterAll(async () => {
  await hub.close();
  fs.rmSync(tmp, { recursive: true, force: true });
});

const pq = (text: string) => writeParquet([{ name: 'text', type: 'string' }], [{ text }]);

function textTask(name: string, hfId: string, split = 'train'): Task {
  return new Task({
    name,
    source: { hfId, config: 'default', splits: { [split]: { hfSplit: split } }, columns: ['text'] },
    preprocessor: (r) => ({ inputs: '', targets: String(r.text) }),
  });
}

async function targets(task: Task, dataDir: string, split = 'train'): Promise<string[]> {
  const out: string[] = [];
  for await (const ex of task.examples(split, { dataDir })) out.push(ex.targets);
  return out;
}

describe('Parquet export layouts', () => {
  it('recognises a partial export (partial-{split}/) and records it in the report', async () => {
    hub.setFiles('dataset', 'org/big', 'refs/convert/parquet', [
      { path: 'default/partial-train/0000.parquet', body: pq('a') },
      { path: 'default/partial-train/0001.parquet', body: pq('b') },
      { path: 'default/validation/0000.parquet', body: pq('v') },
    ]);
    const exp = await listParquetExport('org/big', 'default', 'train', { endpoint: hub.endpoint });
    expect(exp.partial).toBe(true);
    expect(exp.files.map((f) => f.path)).toEqual([
      'default/partial-train/0000.parquet',
      'default/partial-train/0001.parquet',
    ]);
    const val = await listParquetExport('org/big', 'default', 'validation', { endpoint: hub.endpoint });
    expect(val.partial).toBe(false);

    const dataDir = path.join(tmp, 'partial');
    const task = textTask('partial_test', 'org/big');
    const lines: string[] = [];
    const report = await downloadProvider(task, {
      ...quiet,
      endpoint: hub.endpoint,
      dataDir,
      log: (l) => lines.push(l),
    });
    expect(report.plan[0]!.partial).toBe(true);
    expect(lines.join('\n')).toMatch(/partial Parquet export/);
    expect(
      JSON.parse(fs.readFileSync(path.join(task.splitDir('train', dataDir), MANIFEST), 'utf8')).partial,
    ).toBe(true);
    expect(await targets(task, dataDir)).toEqual(['a', 'b']);
  });

  it('recognises a split in -partK folders and keeps the parts apart on disk', async () => {
    hub.setFiles('dataset', 'org/huge', 'refs/convert/parquet', [
      { path: 'default/train-part0/0000.parquet', body: pq('p0a') },
      { path: 'default/train-part0/0001.parquet', body: pq('p0b') },
      { path: 'default/train-part1/0000.parquet', body: pq('p1a') },
      { path: 'default/train-part10/0000.parquet', body: pq('p10a') },
      { path: 'default/train2/0000.parquet', body: pq('other split') },
    ]);
    const exp = await listParquetExport('org/huge', 'default', 'train', { endpoint: hub.endpoint });
    expect(exp.partial).toBe(false);
    expect(exp.files.map((f) => f.path)).toEqual([
      'default/train-part0/0000.parquet',
      'default/train-part0/0001.parquet',
      'default/train-part1/0000.parquet',
      'default/train-part10/0000.parquet',
    ]);
    expect(exp.files.map((f) => localParquetName(f.path))).toEqual([
      'part00000-0000.parquet',
      'part00000-0001.parquet',
      'part00001-0000.parquet',
      'part00010-0000.parquet',
    ]);
    const dataDir = path.join(tmp, 'parts');
    const task = textTask('parts_test', 'org/huge');
    await downloadProvider(task, { ...quiet, endpoint: hub.endpoint, dataDir });
    expect(await targets(task, dataDir)).toEqual(['p0a', 'p0b', 'p1a', 'p10a']);
  });

  it('still reads the older {config}/{name}-{split}-NNNNN-of-NNNNN.parquet layout', async () => {
    hub.setFiles('dataset', 'org/old', 'refs/convert/parquet', [
      { path: 'default/old-train-00000-of-00002.parquet', body: pq('x') },
      { path: 'default/old-train-00001-of-00002.parquet', body: pq('y') },
      { path: 'default/old-test.parquet', body: pq('t') },
    ]);
    const exp = await listParquetExport('org/old', 'default', 'train', { endpoint: hub.endpoint });
    expect(exp.files.map((f) => f.path)).toEqual([
      'default/old-train-00000-of-00002.parquet',
      'default/old-train-00001-of-00002.parquet',
    ]);
  });
});

describe('commit pinning', () => {
  it('downloads what the listing saw even when refs/convert/parquet moves in between', async () => {
    const first = hub.setFiles('dataset', 'org/moving', 'refs/convert/parquet', [
      { path: 'default/train/0000.parquet', body: pq('first conversion') },
    ]);
    const exp = await listParquetExport('org/moving', 'default', 'train', { endpoint: hub.endpoint });
    expect(exp.commit).toBe(first);
    // A re-conversion lands: the branch now has other files (and 0000.parquet with other bytes).
    hub.setFiles('dataset', 'org/moving', 'refs/convert/parquet', [
      { path: 'default/train/0000.parquet', body: pq('second conversion, longer') },
    ]);
    const { downloadFile } = await import('../../../lib/hub');
    const dest = path.join(tmp, 'moving', '0000.parquet');
    const r = await downloadFile(exp.files[0]!, dest, { ...quiet, endpoint: hub.endpoint });
    expect(r.commit).toBe(first);
    expect(fs.readFileSync(dest).equals(pq('first conversion'))).toBe(true);
  });
});

describe('offline (HF_HUB_OFFLINE) and verification', () => {
  const dataDir = path.join(tmp, 'offline');
  const task = textTask('offline_test', 'org/offline');
  beforeAll(async () => {
    hub.setFiles('dataset', 'org/offline', 'refs/convert/parquet', [
      { path: 'default/train/0000.parquet', body: pq('one') },
      { path: 'default/train/0001.parquet', body: pq('two') },
    ]);
    await downloadProvider(task, { ...quiet, endpoint: hub.endpoint, dataDir });
  });
  afterEach(() => {
    delete process.env.HF_HUB_OFFLINE;
  });

  it('succeeds from disk with no request at all, and --dry-run works from what is recorded', async () => {
    process.env.HF_HUB_OFFLINE = '1';
    const n = hub.log.length;
    const report = await downloadProvider(task, { ...quiet, endpoint: hub.endpoint, dataDir });
    expect(report.files.map((f) => f.status)).toEqual(['present', 'present']);
    expect(report.plan[0]!.fromDisk).toBe(true);
    const dry = await downloadProvider(task, { ...quiet, endpoint: hub.endpoint, dataDir, dryRun: true });
    expect(dry.plan[0]!.files.map((f) => f.name)).toEqual(['0000.parquet', '0001.parquet']);
    expect(dry.totalBytes).toBe(pq('one').length + pq('two').length);
    expect(hub.log.length).toBe(n);
  });

  it('offline without a record, or with a file missing, is a clear error', async () => {
    process.env.HF_HUB_OFFLINE = '1';
    const none = await downloadProvider(textTask('offline_none', 'org/never'), { ...quiet, dataDir }).catch(
      (e) => e,
    );
    expect(none.code).toBe('HUB_OFFLINE_MODE');
    expect(none.hint).toMatch(/HF_HUB_OFFLINE/);
    const f = path.join(task.splitDir('train', dataDir), '0001.parquet');
    const saved = fs.readFileSync(f);
    fs.rmSync(f);
    const missing = await downloadProvider(task, { ...quiet, dataDir }).catch((e) => e);
    expect(missing.code).toBe('HUB_OFFLINE_MODE');
    expect(missing.message).toMatch(/0001\.parquet/);
    fs.writeFileSync(f, saved);
  });

  it('"present" means same size AND sha256: a same-size corrupted file is fetched again', async () => {
    const f = path.join(task.splitDir('train', dataDir), '0000.parquet');
    const good = fs.readFileSync(f);
    const bad = Buffer.from(good);
    bad[bad.length - 20] = (bad[bad.length - 20] ?? 0) ^ 0xff;
    fs.writeFileSync(f, bad);
    process.env.HF_HUB_OFFLINE = '1';
    expect((await downloadProvider(task, { ...quiet, dataDir }).catch((e) => e)).code).toBe(
      'HUB_OFFLINE_MODE',
    );
    delete process.env.HF_HUB_OFFLINE;
    const report = await downloadProvider(task, { ...quiet, endpoint: hub.endpoint, dataDir });
    expect(report.files.map((r) => r.status)).toEqual(['downloaded', 'present']);
    expect(fs.readFileSync(f).equals(good)).toBe(true);
  });

  it('caches verified digests by size and mtime, so re-verification does not re-read', async () => {
    const f = path.join(task.splitDir('train', dataDir), '0001.parquet');
    const cache = path.join(path.dirname(f), HASH_CACHE);
    const real = await sha256File(f);
    expect(JSON.parse(fs.readFileSync(cache, 'utf8'))['0001.parquet'].sha256).toBe(real);
    // A forged entry with the file's own size and mtime is believed: proof the file is not re-read.
    const data = JSON.parse(fs.readFileSync(cache, 'utf8'));
    data['0001.parquet'].sha256 = 'e'.repeat(64);
    fs.writeFileSync(cache, JSON.stringify(data));
    expect(await cachedSha256(f)).toBe('e'.repeat(64));
    // Touching the file invalidates the entry.
    const t = new Date(Date.now() + 5000);
    fs.utimesSync(f, t, t);
    expect(await cachedSha256(f)).toBe(real);
  });
});

describe('benchmark-level download', () => {
  it('downloads every SuperGLUE task (validation), reporting the total first, resumably', async () => {
    const sg = TaskRegistry.values().filter((t) => t.benchmark === 'superglue');
    const files = sg.map((t) => ({ path: `${t.source.config}/validation/0000.parquet`, body: pq(t.name) }));
    hub.setFiles('dataset', 'aps/super_glue', 'refs/convert/parquet', files);
    const dataDir = path.join(tmp, 'bench');
    const lines: string[] = [];
    const out: string[] = [];
    const report = await downloadProvider(sg, {
      ...quiet,
      progress: 'plain',
      stream: { write: (s: string) => out.push(s) },
      endpoint: hub.endpoint,
      dataDir,
      splits: ['validation'],
      log: (l) => lines.push(l),
    });
    const total = files.reduce((s, f) => s + f.body.length, 0);
    expect(report.totalBytes).toBe(total);
    expect(lines[0]).toMatch(new RegExp(`^${files.length} files, .* in all, .* to download$`));
    expect(report.files).toHaveLength(files.length);
    expect(out.join('')).toMatch(/download/);
    for (const t of sg) {
      const f = path.join(t.splitDir('validation', dataDir), '0000.parquet');
      expect(fs.readFileSync(f).equals(pq(t.name))).toBe(true);
    }
    // Cut short: one file half there as .partial, another gone; the next run resumes with a Range request.
    const one = path.join(sg[0]!.splitDir('validation', dataDir), '0000.parquet');
    const whole = fs.readFileSync(one);
    fs.rmSync(one);
    fs.writeFileSync(`${one}.partial`, whole.subarray(0, 10));
    fs.rmSync(path.join(sg[1]!.splitDir('validation', dataDir), '0000.parquet'));
    const n = hub.log.length;
    const again = await downloadProvider(sg, {
      ...quiet,
      endpoint: hub.endpoint,
      dataDir,
      splits: ['validation'],
    });
    expect(again.files.map((f) => f.status).sort()).toEqual(
      ['resumed', 'downloaded', ...Array(files.length - 2).fill('present')].sort(),
    );
    expect(hub.log.slice(n).some((l) => l.on === 'cdn' && l.range === 'bytes=10-')).toBe(true);
    expect(fs.readFileSync(one).equals(whole)).toBe(true);
  });
});
