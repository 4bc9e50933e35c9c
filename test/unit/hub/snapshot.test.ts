// Model snapshots in huggingface_hub's cache layout, against the local Hub: sharded safetensors, revision
// pinning, offline use of the cache, resume of .incomplete blobs, and no pickles ever.
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import {
  cachedSnapshot,
  downloadModel,
  isCommit,
  repoCacheDir,
  resolveModelFiles,
  snapshotDownload,
} from '../../../lib/hub';
import { SafetensorsReader, writeSafetensors } from '../../../lib/io/safetensors';
import { LocalHub, type RepoFile } from '../../helpers/hub_server';

let hub: LocalHub;
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'ext5-snap-'));
const cacheDir = path.join(tmp, 'hub');
const quiet = { progress: 'silent' as const, retryDelayMs: 5, cacheDir };
const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

/** A tiny safetensors file with one F32 tensor per name. */
function shard(names: string[], seed: number): Buffer {
  const f = path.join(tmp, `shard-${seed}.safetensors`);
  writeSafetensors(
    f,
    names.map((name, i) => ({
      name,
      dtype: 'F32' as const,
      shape: [2, 3],
      data: new Uint8Array(new Float32Array(6).fill(seed + i).buffer),
    })),
  );
  return fs.readFileSync(f);
}

const shard1 = shard(['shared.weight', 'encoder.final_layer_norm.weight'], 1);
const shard2 = shard(['decoder.final_layer_norm.weight'], 2);
const index = Buffer.from(
  JSON.stringify({
    metadata: { total_size: 72 },
    weight_map: {
      'shared.weight': 'model-00001-of-00002.safetensors',
      'encoder.final_layer_norm.weight': 'model-00001-of-00002.safetensors',
      'decoder.final_layer_norm.weight': 'model-00002-of-00002.safetensors',
    },
  }),
);
const config = Buffer.from(JSON.stringify({ model_type: 't5', d_model: 3 }));
const spiece = Buffer.alloc(3000, 5);
const modelFiles: RepoFile[] = [
  { path: 'config.json', body: config },
  { path: 'model.safetensors.index.json', body: index },
  { path: 'model-00001-of-00002.safetensors', body: shard1 },
  { path: 'model-00002-of-00002.safetensors', body: shard2 },
  { path: 'spiece.model', body: spiece },
  { path: 'tokenizer_config.json', body: Buffer.from('{}') },
  { path: 'README.md', body: Buffer.from('# tiny') },
  { path: 'pytorch_model.bin', body: Buffer.alloc(4000, 9) },
];
let commit = '';

beforeAll(async () => {
  hub = await LocalHub.start();
  commit = hub.setFiles('model', 'org/t5-tiny', 'main', modelFiles);
});
afterAll(async () => {
  await hub.close();
  fs.rmSync(tmp, { recursive: true, force: true });
});
afterEach(() => {
  delete process.env.HF_HUB_OFFLINE;
});

describe('resolveModelFiles / downloadModel', () => {
  it('picks config, the safetensors index and its shards, and tokenizer files; never the pickle', async () => {
    const m = await resolveModelFiles('org/t5-tiny', { ...quiet, endpoint: hub.endpoint });
    expect(m.commit).toBe(commit);
    expect(m.files).toEqual([
      'config.json',
      'model.safetensors.index.json',
      'model-00001-of-00002.safetensors',
      'model-00002-of-00002.safetensors',
      'spiece.model',
      'tokenizer_config.json',
    ]);
  });

  it('lays the snapshot out as huggingface_hub does: blobs, relative symlinks, refs/main', async () => {
    const n = hub.log.length;
    const m = await downloadModel('org/t5-tiny', { ...quiet, endpoint: hub.endpoint });
    const repoDir = repoCacheDir('org/t5-tiny', cacheDir);
    expect(repoDir).toBe(path.join(cacheDir, 'models--org--t5-tiny'));
    expect(m.dir).toBe(path.join(repoDir, 'snapshots', commit));
    expect(fs.readFileSync(path.join(repoDir, 'refs', 'main'), 'utf8')).toBe(commit);
    for (const name of m.files) {
      const link = path.join(m.dir, name);
      const target = fs.readlinkSync(link);
      expect(path.isAbsolute(target)).toBe(false);
      expect(target.startsWith(path.join('..', '..', 'blobs') + path.sep)).toBe(true);
      const body = modelFiles.find((f) => f.path === name)!.body;
      expect(fs.readFileSync(link).equals(body)).toBe(true);
      // LFS blobs are named by their sha256 (the X-Linked-Etag), small files by their git oid.
      const entry = LocalHub.entry({ path: name, body });
      expect(path.basename(target)).toBe('lfs' in entry ? sha(body) : entry.oid);
    }
    expect(fs.existsSync(path.join(m.dir, 'pytorch_model.bin'))).toBe(false);
    expect(fs.existsSync(path.join(m.dir, 'README.md'))).toBe(false);
    expect(hub.log.slice(n).some((l) => l.url.includes('pytorch_model.bin'))).toBe(false);
    // The shards are real safetensors files.
    const r = SafetensorsReader.open(path.join(m.dir, 'model-00002-of-00002.safetensors'));
    try {
      expect(r.names()).toEqual(['decoder.final_layer_norm.weight']);
    } finally {
      r.close();
    }
    // A second run downloads nothing.
    const k = hub.log.length;
    await downloadModel('org/t5-tiny', { ...quiet, endpoint: hub.endpoint });
    expect(hub.log.slice(k).filter((l) => l.on === 'cdn' || l.url.includes('/resolve/'))).toEqual([]);
  });

  it('works offline from the cached snapshot (HF_HUB_OFFLINE, or no connection)', async () => {
    process.env.HF_HUB_OFFLINE = '1';
    const n = hub.log.length;
    const off = await downloadModel('org/t5-tiny', { ...quiet, endpoint: hub.endpoint });
    expect(off.dir).toBe(path.join(repoCacheDir('org/t5-tiny', cacheDir), 'snapshots', commit));
    expect(off.files).toContain('model-00002-of-00002.safetensors');
    expect(hub.log.length).toBe(n);
    const none = await snapshotDownload('org/never', { ...quiet }).catch((e) => e);
    expect(none.code).toBe('HUB_OFFLINE_MODE');
    delete process.env.HF_HUB_OFFLINE;
    const closed = http.createServer();
    await new Promise<void>((r) => closed.listen(0, '127.0.0.1', () => r()));
    const port = (closed.address() as AddressInfo).port;
    await new Promise((r) => closed.close(r));
    const dir = await snapshotDownload('org/t5-tiny', { ...quiet, endpoint: `http://127.0.0.1:${port}` });
    expect(dir).toBe(off.dir);
  });

  it('refuses a repo with only pytorch_model.bin, with how to convert it, and fetches nothing', async () => {
    hub.setFiles('model', 'org/pickled', 'main', [
      { path: 'config.json', body: config },
      { path: 'pytorch_model.bin', body: Buffer.alloc(4000, 1) },
    ]);
    const n = hub.log.length;
    const e = await resolveModelFiles('org/pickled', { ...quiet, endpoint: hub.endpoint }).catch((x) => x);
    expect(e.code).toBe('HUB_NO_SAFETENSORS');
    expect(e.hint).toMatch(/save_pretrained\(.*safe_serialization=True\)/);
    expect(hub.log.slice(n).some((l) => l.url.includes('resolve'))).toBe(false);
    const missing = await resolveModelFiles('org/none', { ...quiet, endpoint: hub.endpoint }).catch((x) => x);
    expect(missing.code).toBe('HUB_REPO_NOT_FOUND');
  });
});

describe('snapshotDownload', () => {
  it('pins a tag to its commit (refs/<tag>), unaffected by later commits', async () => {
    const v1 = hub.setFiles('model', 'org/tagged', 'v1.0', [
      { path: 'config.json', body: Buffer.from('{"v":1}') },
      { path: 'model.safetensors', body: shard1 },
    ]);
    hub.setFiles('model', 'org/tagged', 'main', [{ path: 'config.json', body: Buffer.from('{"v":2}') }]);
    const dir = await snapshotDownload('org/tagged', { ...quiet, endpoint: hub.endpoint, revision: 'v1.0' });
    expect(isCommit(path.basename(dir))).toBe(true);
    expect(path.basename(dir)).toBe(v1);
    expect(fs.readFileSync(path.join(repoCacheDir('org/tagged', cacheDir), 'refs', 'v1.0'), 'utf8')).toBe(v1);
    expect(fs.readFileSync(path.join(dir, 'config.json'), 'utf8')).toBe('{"v":1}');
    expect(cachedSnapshot('org/tagged', 'v1.0', cacheDir)).toBe(dir);
    expect(cachedSnapshot('org/tagged', v1, cacheDir)).toBe(dir);
    expect(cachedSnapshot('org/tagged', 'main', cacheDir)).toBeUndefined();
  });

  it('resumes a blob left .incomplete (the name huggingface_hub uses), and honours allowPatterns', async () => {
    const big = Buffer.alloc(20_000, 3);
    hub.setFiles('model', 'org/resume', 'main', [
      { path: 'config.json', body: config },
      { path: 'model.safetensors', body: big },
      { path: 'extra/other.safetensors', body: shard2 },
    ]);
    const blobs = path.join(repoCacheDir('org/resume', cacheDir), 'blobs');
    fs.mkdirSync(blobs, { recursive: true });
    fs.writeFileSync(path.join(blobs, `${sha(big)}.incomplete`), big.subarray(0, 7000));
    const n = hub.log.length;
    const dir = await snapshotDownload('org/resume', {
      ...quiet,
      endpoint: hub.endpoint,
      allowPatterns: ['*.json', 'model.safetensors'],
    });
    expect(fs.readFileSync(path.join(dir, 'model.safetensors')).equals(big)).toBe(true);
    expect(hub.log.slice(n).find((l) => l.on === 'cdn')?.range).toBe('bytes=7000-');
    expect(fs.existsSync(path.join(dir, 'extra'))).toBe(false);
    expect(fs.readdirSync(dir).sort()).toEqual(['config.json', 'model.safetensors']);
  });

  it('rejects what is not a repo id', async () => {
    const e = await snapshotDownload('../etc', { ...quiet, endpoint: hub.endpoint }).catch((x) => x);
    expect(e.code).toBe('HUB_BAD_ID');
  });
});
