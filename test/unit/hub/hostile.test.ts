// A hostile Hub: answers crafted to write outside the cache, leak the token to another origin, fill the disk,
// loop forever or crash with a raw Node error. Every case must end in a coded Ext5Error that names the field
// and the URL, within a bound, with nothing written where it should not be. Servers: the local Hub on
// 127.0.0.1 (test/helpers/hub_server.ts) and a second origin on 127.0.0.2.
import * as fs from 'node:fs';
import type * as http from 'node:http';
import * as os from 'node:os';
import * as path from 'node:path';
import * as zlib from 'node:zlib';
import {
  cachedSnapshot,
  downloadDeadlineMs,
  downloadFile,
  fetchModelDir,
  listParquetExport,
  listRepoFiles,
  listTree,
  parseHubRef,
  repoCacheDir,
  resolveCommit,
  resolveModelFiles,
  snapshotDownload,
} from '../../../lib/hub';
import { LocalHub, type Origin, startOrigin } from '../../helpers/hub_server';

let hub: LocalHub;
let other: Origin;
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'ext5-hostile-'));
const cacheDir = path.join(tmp, 'hub');
const fast = { progress: 'silent' as const, retryDelayMs: 5, cacheDir };
const config = Buffer.from('{"model_type":"t5"}');
const weights = Buffer.alloc(300_000, 1);
let commit = '';

type Handler = (req: http.IncomingMessage, res: http.ServerResponse) => void | Promise<void>;
const json =
  (value: unknown, headers: Record<string, string> = {}): Handler =>
  (_req, res) => {
    for (const [k, v] of Object.entries(headers)) res.setHeader(k, v);
    res.setHeader('content-type', 'application/json');
    res.end(JSON.stringify(value));
  };
const err = (p: Promise<unknown>) =>
  p.then(
    () => {
      throw new Error('expected an error');
    },
    (e) => e as { code: string; message: string; hint?: string },
  );

beforeAll(async () => {
  hub = await LocalHub.start();
  other = await startOrigin('127.0.0.2');
  commit = hub.setFiles('model', 'org/m', 'main', [
    { path: 'config.json', body: config },
    { path: 'model.safetensors', body: weights },
  ]);
  hub.setFiles('dataset', 'org/ds', 'main', [{ path: 'data/a.parquet', body: weights }]);
});
afterAll(async () => {
  await hub.close();
  await other.close();
  fs.rmSync(tmp, { recursive: true, force: true });
});
afterEach(() => {
  hub.faults.length = 0;
});

describe('values from the server that become paths', () => {
  it('refuses a revision sha that climbs out of the cache, and leaves the target untouched', async () => {
    const victim = path.join(tmp, 'repro', 'victim.txt');
    fs.mkdirSync(path.dirname(victim), { recursive: true });
    fs.writeFileSync(victim, 'precious');
    const refs = path.join(repoCacheDir('org/m', cacheDir), 'refs');
    const sha = path.relative(refs, victim);
    expect(sha.startsWith('..')).toBe(true);
    hub.faults.push({ match: '/api/models/org/m/revision/', respond: json({ sha }), times: 3 });
    const e = await err(fetchModelDir('org/m', { ...fast, endpoint: hub.endpoint }));
    expect(e.code).toBe('HUB_BAD_ANSWER');
    expect(e.message).toContain('sha');
    expect(e.message).toContain(`${hub.endpoint}/api/models/org/m/revision/main`);
    expect(fs.readFileSync(victim, 'utf8')).toBe('precious');
    expect(fs.existsSync(refs)).toBe(false);
  });

  it('refuses an X-Repo-Commit that is no commit when the answer has no sha', async () => {
    hub.faults.push({
      match: '/api/models/org/m/revision/',
      respond: json({ id: 'org/m' }, { 'x-repo-commit': '../../outside' }),
    });
    const e = await err(resolveCommit('org/m', 'main', { ...fast, endpoint: hub.endpoint }, 'model'));
    expect(e.code).toBe('HUB_BAD_ANSWER');
    expect(e.message).toMatch(/X-Repo-Commit/);
  });

  const badPaths: [string, unknown][] = [
    ['parent', '../escape.json'],
    ['nested parent', 'a/../../escape.json'],
    ['absolute', '/etc/escape.json'],
    ['backslash', '..\\..\\escape.json'],
    ['drive', 'C:/escape.json'],
    ['dot segment', 'a/./b.json'],
    ['empty segment', 'a//b.json'],
    ['NUL', 'a\u0000b.json'],
    ['empty', ''],
  ];
  it.each(badPaths)('refuses a listed path (%s) before writing anything', async (_name, bad) => {
    hub.faults.push({
      match: `/api/models/org/m/tree/${commit}`,
      respond: json([
        LocalHub.entry({ path: 'config.json', body: config }),
        { type: 'file', path: bad, size: 2, oid: 'a'.repeat(40) },
      ]),
    });
    const e = await err(snapshotDownload('org/m', { ...fast, endpoint: hub.endpoint }));
    expect(e.code).toBe('HUB_BAD_ANSWER');
    expect(e.message).toMatch(/\[1\]\.path/);
    expect(e.message).toContain(`/api/models/org/m/tree/${commit}`);
    const written = fs.readdirSync(tmp, { recursive: true }).map(String);
    expect(written.filter((f) => f.includes('escape'))).toEqual([]);
  });

  it('refuses blob names (oid, lfs.oid) that are no hashes, and a file listed under another file', async () => {
    for (const [entry, field] of [
      [{ type: 'file', path: 'config.json', size: 2, oid: '../../x' }, 'oid'],
      [{ type: 'file', path: 'config.json', size: 2, lfs: { oid: '../x', size: 2 } }, 'lfs.oid'],
    ] as const) {
      hub.faults.push({ match: `/api/models/org/m/tree/${commit}`, respond: json([entry]) });
      const e = await err(snapshotDownload('org/m', { ...fast, endpoint: hub.endpoint }));
      expect(e.code).toBe('HUB_BAD_ANSWER');
      expect(e.message).toContain(`[0].${field}`);
    }
    hub.faults.push({
      match: `/api/models/org/m/tree/${commit}`,
      respond: json([
        LocalHub.entry({ path: 'config.json', body: config }),
        LocalHub.entry({ path: 'config.json/inner', body: config }),
      ]),
    });
    const e = await err(snapshotDownload('org/m', { ...fast, endpoint: hub.endpoint }));
    expect(e.code).toBe('HUB_BAD_ANSWER');
    expect(e.message).toMatch(/lies under the file config\.json \("config\.json\/inner"\)/);
  });

  it('refuses shard names from model.safetensors.index.json that are no plain safetensors names', async () => {
    for (const shard of ['../../evil.safetensors', 7, 'a\\b.safetensors', 'sub/model.safetensors']) {
      const index = Buffer.from(JSON.stringify({ weight_map: { 'shared.weight': shard } }));
      hub.setFiles('model', 'org/sharded', 'main', [
        { path: 'config.json', body: config },
        { path: 'model.safetensors.index.json', body: index },
      ]);
      const e = await err(resolveModelFiles('org/sharded', { ...fast, endpoint: hub.endpoint }));
      expect(e.code).toBe('HUB_BAD_REPO');
      expect(e.message).toContain('weight_map');
    }
  });

  it('refuses a revision that would climb out of refs/, from the user or from the cache', async () => {
    hub.faults.push({ match: '/revision/', respond: json({ sha: commit }), times: 2 });
    const e = await err(
      snapshotDownload('org/m', { ...fast, endpoint: hub.endpoint, revision: '../../../out' }),
    );
    expect(e.code).toBe('HUB_BAD_ID');
    expect(fs.existsSync(path.join(tmp, 'out'))).toBe(false);
    expect(fs.existsSync(path.join(cacheDir, 'out'))).toBe(false);
    expect(() => parseHubRef('org/m@a\\b')).toThrow(expect.objectContaining({ code: 'HUB_BAD_ID' }));
    // A refs file that names no commit (hand-edited, or written by something else).
    const refs = path.join(repoCacheDir('org/odd', cacheDir), 'refs');
    fs.mkdirSync(refs, { recursive: true });
    fs.writeFileSync(path.join(refs, 'main'), '../../../../etc');
    expect(() => cachedSnapshot('org/odd', 'main', cacheDir)).toThrow(
      expect.objectContaining({ code: 'HUB_BAD_CACHE' }),
    );
  });

  it('refuses config and split names that are not one path segment', async () => {
    for (const [c, s] of [
      ['../x', 'train'],
      ['default', 'a/b'],
      ['default', ''],
    ]) {
      const e = await err(listParquetExport('org/ds', c!, s!, { endpoint: hub.endpoint }));
      expect(e.code).toBe('HUB_BAD_ID');
    }
  });
});

describe('the token stays with the Hub', () => {
  const nextPage = (): Handler => (_req, res) => {
    res.setHeader('link', `<${other.url}/api/next?cursor=1>; rel="next"`);
    res.setHeader('content-type', 'application/json');
    res.end('[]');
  };

  it.each([
    ['model', 'org/m'],
    ['dataset', 'org/ds'],
  ] as const)('follows a %s listing Link to another origin without the token', async (type, id) => {
    const n = other.log.length;
    hub.faults.push({ match: `/api/${type}s/${id}/tree/`, respond: nextPage() });
    await listTree(id, 'main', '', { endpoint: hub.endpoint, token: 'hf_secret', ...fast }, type);
    const hubReq = hub.log.filter((l) => l.url.includes(`/api/${type}s/${id}/tree/`)).at(-1);
    expect(hubReq?.auth).toBe('Bearer hf_secret');
    const followed = other.log.slice(n);
    expect(followed.map((l) => l.url)).toEqual(['/api/next?cursor=1']);
    expect(followed[0]!.auth).toBeUndefined();
  });

  it('keeps the token on a relative Link (same origin), and refuses a Link that is not http(s)', async () => {
    hub.faults.push({
      match: '/api/datasets/org/ds/tree/',
      respond: (req, res) => {
        res.setHeader(
          'link',
          `<${new URL(req.url!, hub.endpoint).pathname}?recursive=true&cursor=1>; rel="next"`,
        );
        res.end(JSON.stringify([LocalHub.entry({ path: 'data/a.parquet', body: weights })]));
      },
    });
    const all = await listRepoFiles('org/ds', 'data/*.parquet', { endpoint: hub.endpoint, token: 'hf_t' });
    expect(all.map((f) => f.path)).toEqual(['data/a.parquet']);
    const pages = hub.log.filter((l) => l.url.includes('/api/datasets/org/ds/tree/')).slice(-2);
    expect(pages[1]!.url).toMatch(/cursor=1$/);
    expect(pages.map((l) => l.auth)).toEqual(['Bearer hf_t', 'Bearer hf_t']);
    hub.faults.push({
      match: '/api/datasets/org/ds/tree/',
      respond: (_q, res) => {
        res.setHeader('link', '<file:///etc/passwd>; rel="next"');
        res.end('[]');
      },
    });
    const e = await err(listTree('org/ds', 'main', '', { endpoint: hub.endpoint, ...fast }));
    expect(e.code).toBe('HUB_BAD_ANSWER');
    expect(e.message).toMatch(/Link/);
  });

  it('does not send the token on a redirect to another origin, nor back to the Hub through it', async () => {
    const bounce = await startOrigin('127.0.0.2', (_q, res) => {
      res.statusCode = 302;
      res.setHeader('location', `${hub.endpoint}/org/m/resolve/${commit}/config.json`);
      res.end();
    });
    try {
      hub.faults.push({
        match: '/org/m/resolve/main/config.json',
        respond: (_q, res) => {
          res.statusCode = 302;
          res.setHeader('location', `${bounce.url}/elsewhere`);
          res.end();
        },
      });
      const dest = path.join(tmp, 'redir', 'config.json');
      await downloadFile(
        {
          repo: 'org/m',
          revision: 'main',
          path: 'config.json',
          url: `${hub.endpoint}/org/m/resolve/main/config.json`,
          size: config.length,
        },
        dest,
        { ...fast, endpoint: hub.endpoint, token: 'hf_secret' },
      );
      expect(fs.readFileSync(dest).equals(config)).toBe(true);
      expect(bounce.log.map((l) => l.auth)).toEqual([undefined]);
      const back = hub.log.filter((l) => l.url.includes(`/org/m/resolve/${commit}/config.json`)).at(-1);
      expect(back?.auth).toBeUndefined();
    } finally {
      await bounce.close();
    }
  });
});

describe('what a download may write', () => {
  const remote = () => ({
    repo: 'org/m',
    revision: commit,
    path: 'model.safetensors',
    url: `${hub.endpoint}/org/m/resolve/${commit}/model.safetensors`,
    size: weights.length,
  });
  const total = 16 * 1024 * 1024;
  const chunk = 64 * 1024;

  /** Streams `total` bytes (chunked, or with the given headers) and records how much went out before the cut. */
  function flood(headers: Record<string, string> = {}) {
    const state = { sent: 0, closed: undefined as Promise<void> | undefined };
    const respond: Handler = (_req, res) => {
      state.closed = new Promise((r) => res.on('close', () => r()));
      res.writeHead(200, headers);
      const block = Buffer.alloc(chunk, 2);
      const pump = () => {
        while (state.sent < total && !res.destroyed) {
          state.sent += chunk;
          if (!res.write(block)) return void res.once('drain', pump);
        }
        res.end();
      };
      pump();
    };
    return { state, respond };
  }

  /** Downloads the listed file while the CDN answers with `respond`: the error and the bytes handed out. */
  async function fetchFrom(respond: Handler, name: string) {
    hub.faults.push({ on: 'cdn', match: '/blob/', respond });
    const dest = path.join(tmp, name, 'model.safetensors');
    let received = 0;
    const e = await err(
      downloadFile(remote(), dest, { ...fast, retries: 0, onBytes: (n) => (received += n) }),
    );
    // Nothing of a refused body stays on disk.
    expect(fs.existsSync(dest)).toBe(false);
    expect(fs.existsSync(`${dest}.partial`)).toBe(false);
    return { e, received };
  }

  it('cuts a chunked body that runs past the listed size, writing no more than was promised', async () => {
    const { state, respond } = flood();
    const { e, received } = await fetchFrom(respond, 'flood');
    expect(e.code).toBe('HUB_TOO_LARGE');
    expect(e.message).toContain(String(weights.length));
    expect(received).toBeLessThanOrEqual(weights.length);
    await state.closed;
    expect(state.sent).toBeLessThan(total / 2);
  });

  it('refuses a Content-Length larger than the listed size before reading the body', async () => {
    const { state, respond } = flood({ 'content-length': String(total) });
    const { e, received } = await fetchFrom(respond, 'cl');
    expect(e.code).toBe('HUB_TOO_LARGE');
    expect(e.message).toMatch(/Content-Length/);
    expect(received).toBe(0);
    await state.closed;
    expect(state.sent).toBeLessThan(total / 2);
  });

  it('bounds a gzip body by its inflated size', async () => {
    const gz = zlib.gzipSync(Buffer.alloc(total, 3));
    const { e, received } = await fetchFrom((_q, res) => {
      res.writeHead(200, { 'content-encoding': 'gzip', 'content-length': String(gz.length) });
      res.end(gz);
    }, 'gz');
    expect(e.code).toBe('HUB_TOO_LARGE');
    expect(received).toBeLessThanOrEqual(weights.length);
  });

  it('bounds JSON answers (maxJsonBytes), plain or inflated', async () => {
    const big = JSON.stringify({ sha: commit, pad: 'x'.repeat(2_000_000) });
    hub.faults.push({ match: '/api/models/org/m/revision/', respond: (_q, res) => void res.end(big) });
    const e = await err(
      resolveCommit('org/m', 'main', { endpoint: hub.endpoint, maxJsonBytes: 1_000_000 }, 'model'),
    );
    expect(e.code).toBe('HUB_TOO_LARGE');
    expect(e.message).toContain('1000000');
    const gz = zlib.gzipSync(Buffer.from(big));
    hub.faults.push({
      match: '/api/models/org/m/revision/',
      respond: (_q, res) => {
        res.writeHead(200, { 'content-encoding': 'gzip' });
        res.end(gz);
      },
    });
    const g = await err(
      resolveCommit('org/m', 'main', { endpoint: hub.endpoint, maxJsonBytes: 1_000_000 }, 'model'),
    );
    expect(g.code).toBe('HUB_TOO_LARGE');
  });

  it('turns a 416 to a request without Range into a coded error', async () => {
    hub.faults.push({
      on: 'cdn',
      match: '/blob/',
      respond: (_q, res) => {
        res.statusCode = 416;
        res.end();
      },
    });
    const e = await err(downloadFile(remote(), path.join(tmp, '416', 'm'), { ...fast, retries: 0 }));
    expect(e.code).toBe('HUB_HTTP');
    expect(e.message).toMatch(/416/);
  });
});

describe('pagination', () => {
  it('stops at a next link that repeats a page', async () => {
    hub.faults.push({
      match: '/api/models/org/m/tree/',
      times: 1000,
      respond: (req, res) => {
        res.setHeader('link', `<${hub.endpoint}${req.url}>; rel="next"`);
        res.end('[]');
      },
    });
    const n = hub.log.length;
    const e = await err(listTree('org/m', commit, '', { endpoint: hub.endpoint, ...fast }, 'model'));
    expect(e.code).toBe('HUB_PAGINATION');
    expect(e.message).toMatch(/repeats/);
    expect(hub.log.length - n).toBe(1);
  });

  it('stops after maxListPages distinct pages', async () => {
    let k = 0;
    hub.faults.push({
      match: '/api/models/org/m/tree/',
      times: 1000,
      respond: (_req, res) => {
        res.setHeader('link', `<${hub.endpoint}/api/models/org/m/tree/${commit}?cursor=${++k}>; rel="next"`);
        res.end('[]');
      },
    });
    const e = await err(
      listTree('org/m', commit, '', { endpoint: hub.endpoint, ...fast, maxListPages: 5 }, 'model'),
    );
    expect(e.code).toBe('HUB_PAGINATION');
    expect(e.message).toMatch(/5 pages/);
    expect(k).toBe(5);
  });
});

describe('deadlines', () => {
  /** One byte every `ms`, forever (until the client goes away). */
  const trickle =
    (ms: number): Handler =>
    (_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      const t = setInterval(() => (res.destroyed ? clearInterval(t) : res.write(' ')), ms);
      res.on('close', () => clearInterval(t));
    };

  it('ends a trickling metadata answer at the request deadline, although each byte resets the idle timer', async () => {
    hub.faults.push({ match: '/api/models/org/m/revision/', respond: trickle(100) });
    process.env.HF_HUB_ETAG_TIMEOUT = '3';
    process.env.EXT5_HUB_REQUEST_DEADLINE = '1';
    try {
      const t = Date.now();
      const e = await err(resolveCommit('org/m', 'main', { endpoint: hub.endpoint, ...fast }, 'model'));
      expect(e.code).toBe('HUB_TIMEOUT');
      expect(e.message).toMatch(/within 1 s/);
      expect(e.hint).toMatch(/EXT5_HUB_REQUEST_DEADLINE/);
      expect(Date.now() - t).toBeLessThan(2500);
    } finally {
      delete process.env.HF_HUB_ETAG_TIMEOUT;
      delete process.env.EXT5_HUB_REQUEST_DEADLINE;
    }
  }, 10_000);

  it('gives a download a deadline that grows with its size', async () => {
    const o = { requestDeadlineS: 2, downloadMinRate: 1000 };
    expect(downloadDeadlineMs(0, o)).toBe(2000);
    expect(downloadDeadlineMs(5000, o)).toBe(7000);
    hub.faults.push({ on: 'cdn', match: '/blob/', respond: trickle(10) });
    const t = Date.now();
    const e = await err(
      downloadFile({ ...remote300(), size: 500 }, path.join(tmp, 'slow', 'm'), {
        ...fast,
        retries: 0,
        requestDeadlineS: 0.3,
        downloadMinRate: 1000,
      }),
    );
    expect(e.code).toBe('DOWNLOAD_INTERRUPTED');
    expect(e.message).toMatch(/within 0.8 s/);
    expect(Date.now() - t).toBeLessThan(2500);
  }, 10_000);

  const remote300 = () => ({
    repo: 'org/m',
    revision: commit,
    path: 'model.safetensors',
    url: `${hub.endpoint}/org/m/resolve/${commit}/model.safetensors`,
  });
});

describe('listing shapes', () => {
  const cases: [string, unknown, RegExp][] = [
    ['not an array', { files: [] }, /the listing is not a JSON array/],
    ['null entry', [null, 5, 'x', []], /\[0\] is not an object/],
    ['path a number', [{ type: 'file', path: 12345, size: 1 }], /\[0\]\.path/],
    ['NUL in path', [{ type: 'file', path: 'a\u0000.json', size: 1, oid: 'a'.repeat(40) }], /\[0\]\.path/],
    ['size -1', [{ type: 'file', path: 'a.json', size: -1, oid: 'a'.repeat(40) }], /\[0\]\.size/],
    ['size 1.5', [{ type: 'file', path: 'a.json', size: 1.5, oid: 'a'.repeat(40) }], /\[0\]\.size/],
    ['size huge', [{ type: 'file', path: 'a.json', size: 2 ** 60, oid: 'a'.repeat(40) }], /\[0\]\.size/],
    ['no size', [{ type: 'file', path: 'a.json', oid: 'a'.repeat(40) }], /\[0\]\.size/],
    ['odd type', [{ type: 'symlink', path: 'a.json', size: 1 }], /\[0\]\.type/],
    ['lfs a string', [{ type: 'file', path: 'a.json', size: 1, lfs: 'x' }], /\[0\]\.lfs/],
    [
      'lfs.size negative',
      [{ type: 'file', path: 'a.json', size: 1, lfs: { oid: 'b'.repeat(64), size: -3 } }],
      /\[0\]\.lfs\.size/,
    ],
  ];
  it.each(cases)('maps %s to HUB_BAD_ANSWER naming the field and the URL', async (_n, listing, re) => {
    hub.faults.push({ match: `/api/models/org/m/tree/${commit}`, respond: json(listing) });
    const e = await err(snapshotDownload('org/m', { ...fast, endpoint: hub.endpoint }));
    expect(e.code).toBe('HUB_BAD_ANSWER');
    expect(e.message).toMatch(re);
    expect(e.message).toContain(`${hub.endpoint}/api/models/org/m/tree/${commit}`);
  });
});
