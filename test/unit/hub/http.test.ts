// Requests against the local Hub (test/helpers/hub_server.ts): X-Error-Code errors, 429/5xx retries with
// backoff and Retry-After, bounded attempts, timeouts, redirects to the CDN without the token.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { downloadFile, hubRequest, listParquetFiles, resolveCommit, retryAfterMs } from '../../../lib/hub';
import { LocalHub } from '../../helpers/hub_server';

let hub: LocalHub;
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'ext5-hubhttp-'));
const body = Buffer.alloc(5000, 7);
let commit = '';

beforeAll(async () => {
  hub = await LocalHub.start();
  commit = hub.setFiles('dataset', 'org/ds', 'refs/convert/parquet', [
    { path: 'default/train/0000.parquet', body },
  ]);
  hub.setFiles('model', 'org/gated', 'main', [
    { path: 'config.json', body: Buffer.from('{}') },
    { path: 'model.safetensors', body },
  ]);
  hub.gate('model', 'org/gated', ['hf_granted']);
});
afterAll(async () => {
  await hub.close();
  fs.rmSync(tmp, { recursive: true, force: true });
});

const fast = { progress: 'silent' as const, retryDelayMs: 5 };
const err = (p: Promise<unknown>) =>
  p.then(
    () => undefined,
    (e) => e as { code: string; message: string; hint: string },
  );

describe('errors from X-Error-Code', () => {
  it('401 + RepoNotFound is a missing (or private) repo, not a token problem', async () => {
    const e = await err(listParquetFiles('org/nope', 'default', 'train', { endpoint: hub.endpoint }));
    expect(e?.code).toBe('HUB_REPO_NOT_FOUND');
    expect(e?.message).toMatch(/repository not found on the Hub \(401 .*: Repository not found/);
    expect(e?.hint).toMatch(/check the id/);
  });

  it('RevisionNotFound and EntryNotFound', async () => {
    const r = await err(resolveCommit('org/ds', 'no-such-branch', { endpoint: hub.endpoint }));
    expect(r?.code).toBe('HUB_REVISION_NOT_FOUND');
    const e = await err(
      hubRequest(`${hub.endpoint}/datasets/org/ds/resolve/${commit}/default/train/9999.parquet`, {
        ...fast,
        what: 'x',
      }),
    );
    expect(e?.code).toBe('HUB_ENTRY_NOT_FOUND');
    expect(e?.message).toMatch(/file not found in the repository \(404/);
  });

  it('a gated repo: 401 GatedRepo without a token, 403 with one not granted, OK with a granted one', async () => {
    const url = `${hub.endpoint}/org/gated/resolve/main/model.safetensors`;
    // The token goes to the endpoint's origin only: name it.
    const at = { ...fast, endpoint: hub.endpoint };
    const noToken = await err(hubRequest(url, { ...at, token: '' }));
    expect(noToken?.code).toBe('HUB_GATED');
    expect(noToken?.message).toMatch(/gated \(401/);
    expect(noToken?.hint).toMatch(/accept its terms/);
    const wrong = await err(hubRequest(url, { ...at, token: 'hf_other' }));
    expect(wrong?.code).toBe('HUB_GATED');
    expect(wrong?.message).toMatch(/gated \(403/);
    const ok = await hubRequest(url, { ...at, token: 'hf_granted' });
    expect(Buffer.from(await ok.res.arrayBuffer()).equals(body)).toBe(true);
  });
});

describe('retries', () => {
  it('retries a 429 once, waiting what Retry-After asks', async () => {
    hub.faults.push({ match: '/api/datasets/org/ds/revision/', status: 429, retryAfter: '1' });
    const t = Date.now();
    await expect(
      resolveCommit('org/ds', 'refs/convert/parquet', { endpoint: hub.endpoint, ...fast }),
    ).resolves.toBe(commit);
    expect(Date.now() - t).toBeGreaterThanOrEqual(950);
    expect(hub.requests('hub', '/api/datasets/org/ds/revision/').length).toBeGreaterThanOrEqual(2);
    expect(retryAfterMs('2')).toBe(2000);
    expect(retryAfterMs(new Date(Date.now() + 3000).toUTCString())).toBeGreaterThan(1000);
  });

  it('retries a 5xx, on the Hub and on the CDN', async () => {
    hub.faults.push({ match: '/tree/', status: 503 });
    hub.faults.push({ on: 'cdn', match: '/blob/', status: 502 });
    const [f] = await listParquetFiles('org/ds', 'default', 'train', { endpoint: hub.endpoint, ...fast });
    const dest = path.join(tmp, '5xx', '0000.parquet');
    const r = await downloadFile(f!, dest, { endpoint: hub.endpoint, ...fast });
    expect(r.status).toBe('downloaded');
    expect(fs.readFileSync(dest).equals(body)).toBe(true);
    expect(hub.faults).toHaveLength(0);
  });

  it('gives up after a bounded number of attempts', async () => {
    hub.faults.push({ match: '/api/datasets/org/ds/revision/', status: 500, times: 10 });
    const n = hub.log.length;
    const e = await err(
      resolveCommit('org/ds', 'refs/convert/parquet', { endpoint: hub.endpoint, ...fast, maxRetries: 2 }),
    );
    expect(e?.code).toBe('HUB_HTTP');
    expect(e?.message).toMatch(/answered 500/);
    expect(hub.log.length - n).toBe(3);
    hub.faults.length = 0;
  });

  it('does not sleep through a Retry-After longer than allowed', async () => {
    hub.faults.push({ match: '/api/datasets/org/ds/revision/', status: 429, retryAfter: '3600' });
    const e = await err(resolveCommit('org/ds', 'refs/convert/parquet', { endpoint: hub.endpoint, ...fast }));
    expect(e?.code).toBe('HUB_RATE_LIMITED');
    expect(e?.message).toMatch(/wait 3600 s/);
  });
});

describe('timeouts and redirects', () => {
  it('times out a request that gets no answer (HF_HUB_ETAG_TIMEOUT)', async () => {
    hub.faults.push({ match: '/api/datasets/org/ds/revision/', stallMs: 1500, status: 200 });
    process.env.HF_HUB_ETAG_TIMEOUT = '0.2';
    try {
      const t = Date.now();
      const e = await err(
        resolveCommit('org/ds', 'refs/convert/parquet', { endpoint: hub.endpoint, ...fast, maxRetries: 0 }),
      );
      expect(e?.code).toBe('HUB_TIMEOUT');
      expect(e?.message).toMatch(/no answer .* within 0.2 s/);
      expect(Date.now() - t).toBeLessThan(1400);
    } finally {
      delete process.env.HF_HUB_ETAG_TIMEOUT;
    }
  });

  it('follows the 302 to the CDN keeping X-Repo-Commit and the etag, and does not send the token there', async () => {
    const n = hub.log.length;
    const r = await hubRequest(
      `${hub.endpoint}/datasets/org/ds/resolve/refs%2Fconvert%2Fparquet/default/train/0000.parquet`,
      { ...fast, endpoint: hub.endpoint, token: 'hf_secret' },
    );
    expect(r.commit).toBe(commit);
    expect(r.etag).toMatch(/^[0-9a-f]{64}$/);
    expect(r.size).toBe(body.length);
    expect(Buffer.from(await r.res.arrayBuffer()).equals(body)).toBe(true);
    const reqs = hub.log.slice(n);
    expect(reqs.map((q) => [q.on, q.auth])).toEqual([
      ['hub', 'Bearer hf_secret'],
      ['cdn', undefined],
    ]);
  });
});
