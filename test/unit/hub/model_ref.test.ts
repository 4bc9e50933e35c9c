// Hub ids where a model or the T5 vocabulary is named, against the local Hub: `id@revision` pinning, the
// sync reader of the cache and its error, local folders winning over ids, and the T5 vocabulary fetched
// once into the cache, then found offline; offline with nothing cached says what to run.
import * as fs from 'node:fs';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import {
  cachedModelDir,
  cachedT5Vocab,
  DEFAULT_T5_VOCAB_REPO,
  fetchModelDir,
  fetchT5Vocab,
  localModelDir,
  parseHubRef,
  t5VocabRepo,
} from '../../../lib/hub';
import { fetchVocabulary, vocabularyPath } from '../../../lib/text/vocab_names';
import { LocalHub, type RepoFile } from '../../helpers/hub_server';

let hub: LocalHub;
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'ext5-modelref-'));
const cacheDir = path.join(tmp, 'hub');
const ENV = [
  'HF_HUB_OFFLINE',
  'HF_HUB_CACHE',
  'HF_ENDPOINT',
  'EXT5_T5_VOCAB_REPO',
  'EXT5_T5_VOCAB',
  'EXT5_DATA',
];
const saved = Object.fromEntries(ENV.map((k) => [k, process.env[k]]));
const quiet = { progress: 'silent' as const, retryDelayMs: 5, cacheDir };

const weights = (n: number) => Buffer.alloc(2000, n); // only listed and fetched, never parsed here
const files = (n: number): RepoFile[] => [
  { path: 'config.json', body: Buffer.from(JSON.stringify({ model_type: 't5', d_model: n })) },
  { path: 'model.safetensors', body: weights(n) },
  { path: 'spiece.model', body: Buffer.alloc(3000, 40 + n) },
];
let v1 = '';
let v2 = '';

beforeAll(async () => {
  hub = await LocalHub.start();
  v1 = hub.setFiles('model', 'org/t5-pin', 'main', files(1));
  v2 = hub.setFiles('model', 'org/t5-pin', 'main', files(2));
  hub.setFiles('model', 'org/t5-pin', 'v1', files(1));
  hub.setFiles('model', DEFAULT_T5_VOCAB_REPO, 'main', files(7));
  hub.setFiles('model', 'org/no-vocab', 'main', files(3).slice(0, 2));
  hub.setFiles('model', 'org/t5-vocab', 'v1', files(4));
});
beforeEach(() => {
  for (const k of ENV) delete process.env[k];
  process.env.HF_HUB_CACHE = cacheDir;
  process.env.HF_ENDPOINT = hub.endpoint;
});
afterAll(async () => {
  for (const [k, v] of Object.entries(saved)) {
    if (v === undefined) delete process.env[k];
    else process.env[k] = v;
  }
  await hub.close();
  fs.rmSync(tmp, { recursive: true, force: true });
});

describe('parseHubRef', () => {
  it('reads org/name and org/name@revision; a local path of that name wins; no id is undefined', () => {
    expect(parseHubRef('google-t5/t5-small')).toEqual({ repoId: 'google-t5/t5-small', revision: 'main' });
    expect(parseHubRef('org/m@v1.0')).toEqual({ repoId: 'org/m', revision: 'v1.0' });
    expect(parseHubRef('org/m@refs/pr/3')).toEqual({ repoId: 'org/m', revision: 'refs/pr/3' });
    expect(parseHubRef('org/m', 'dev')).toEqual({ repoId: 'org/m', revision: 'dev' });
    expect(parseHubRef('org/m@dev', 'dev')).toEqual({ repoId: 'org/m', revision: 'dev' });
    for (const notId of ['t5-small', './org/m', '/abs/path', 'a/b/c', 'org/--x', 'org/m.']) {
      expect(parseHubRef(notId)).toBeUndefined();
    }
    const local = path.join(tmp, 'org', 'm');
    fs.mkdirSync(local, { recursive: true });
    const cwd = process.cwd();
    process.chdir(tmp);
    try {
      expect(parseHubRef('org/m')).toBeUndefined();
    } finally {
      process.chdir(cwd);
    }
  });

  it('refuses an empty revision and two different revisions, with coded errors', () => {
    expect(() => parseHubRef('org/m@')).toThrow(expect.objectContaining({ code: 'HUB_BAD_ID' }));
    expect(() => parseHubRef('org/m@v1', 'v2')).toThrow(
      expect.objectContaining({ code: 'HUB_BAD_ID', message: expect.stringMatching(/pins revision v1.*v2/) }),
    );
  });
});

describe('fetchModelDir / localModelDir', () => {
  it('downloads a Hub id; the sync reader then finds it without the network; pinned revisions differ', async () => {
    expect(() => localModelDir('org/t5-pin', { cacheDir })).toThrow(
      expect.objectContaining({
        code: 'HUB_MODEL_NOT_CACHED',
        hint: expect.stringMatching(/fromPretrainedAsync\('org\/t5-pin'\)/),
      }),
    );
    const dir = await fetchModelDir('org/t5-pin', quiet);
    expect(dir).toBe(path.join(cacheDir, 'models--org--t5-pin', 'snapshots', v2));
    expect(JSON.parse(fs.readFileSync(path.join(dir, 'config.json'), 'utf8')).d_model).toBe(2);
    expect(localModelDir('org/t5-pin', { cacheDir })).toBe(dir);
    // A tag and a commit: the files as they were there.
    const tag = await fetchModelDir('org/t5-pin@v1', quiet);
    expect(JSON.parse(fs.readFileSync(path.join(tag, 'config.json'), 'utf8')).d_model).toBe(1);
    const old = await fetchModelDir(`org/t5-pin@${v1}`, quiet);
    expect(old).toBe(path.join(cacheDir, 'models--org--t5-pin', 'snapshots', v1));
    expect(cachedModelDir('org/t5-pin@v1', { cacheDir })).toBe(tag);
    // Offline: the cached snapshots, no request.
    process.env.HF_HUB_OFFLINE = '1';
    const n = hub.log.length;
    expect(await fetchModelDir('org/t5-pin@v1', quiet)).toBe(tag);
    expect(hub.log.length).toBe(n);
  });

  it('passes a local folder through; a mistyped path that looks like an id says both readings failed', async () => {
    expect(await fetchModelDir(tmp, quiet)).toBe(tmp);
    expect(localModelDir(tmp)).toBe(tmp);
    const e = await fetchModelDir('runs/nothing', quiet).catch((x) => x);
    expect(e.code).toBe('HUB_REPO_NOT_FOUND');
    expect(e.message).toMatch(/no local folder runs\/nothing/);
  });
});

describe('the T5 vocabulary from the Hub', () => {
  it('is fetched once from google-t5/t5-small (or EXT5_T5_VOCAB_REPO) into the cache, then read from it', async () => {
    expect(t5VocabRepo()).toBe('google-t5/t5-small');
    expect(cachedT5Vocab()).toBeUndefined();
    expect(() => vocabularyPath('t5')).toThrow(
      expect.objectContaining({
        code: 'EXT5_VOCAB_NOT_FOUND',
        hint: expect.stringMatching(/ext5 vocab fetch t5/),
      }),
    );
    const file = await fetchVocabulary('t5');
    expect(file).toMatch(/models--google-t5--t5-small[/\\]snapshots[/\\][0-9a-f]{40}[/\\]spiece\.model$/);
    expect(fs.readFileSync(file).equals(Buffer.alloc(3000, 47))).toBe(true);
    // Only spiece.model was fetched, not the weights.
    expect(fs.readdirSync(path.dirname(file))).toEqual(['spiece.model']);
    expect(vocabularyPath('t5')).toBe(file);
    process.env.HF_HUB_OFFLINE = '1';
    expect(await fetchT5Vocab()).toBe(file);
    // EXT5_T5_VOCAB and <data-dir>/vocab/t5 still come first.
    process.env.EXT5_T5_VOCAB = path.join(tmp, 'mine.model');
    fs.writeFileSync(process.env.EXT5_T5_VOCAB, 'x');
    expect(vocabularyPath('t5')).toBe(process.env.EXT5_T5_VOCAB);
    expect(await fetchVocabulary('t5')).toBe(process.env.EXT5_T5_VOCAB);
  });

  it('offline with nothing cached, or a repo without spiece.model: clear errors naming the fix', async () => {
    process.env.EXT5_T5_VOCAB_REPO = 'org/t5-vocab@v1';
    process.env.HF_HUB_OFFLINE = '1';
    const off = await fetchVocabulary('t5').catch((e) => e);
    expect(off.code).toBe('EXT5_VOCAB_NOT_FOUND');
    expect(off.message).toMatch(/org\/t5-vocab@v1.*HF_HUB_OFFLINE/);
    expect(off.hint).toMatch(/ext5 vocab fetch t5.*EXT5_T5_VOCAB=/);
    delete process.env.HF_HUB_OFFLINE;
    expect(await fetchVocabulary('t5')).toMatch(/models--org--t5-vocab[/\\]snapshots[/\\]/);
    process.env.EXT5_T5_VOCAB_REPO = 'org/no-vocab';
    const none = await fetchVocabulary('t5').catch((e) => e);
    expect(none.code).toBe('EXT5_VOCAB_NOT_FOUND');
    expect(none.message).toMatch(/org\/no-vocab has no spiece.model/);
    process.env.EXT5_T5_VOCAB_REPO = 'not an id';
    expect((await fetchVocabulary('t5').catch((e) => e)).code).toBe('HUB_BAD_ID');
    // No connection at all: the vocabulary error, with the cause.
    process.env.EXT5_T5_VOCAB_REPO = 'org/elsewhere';
    const closed = http.createServer();
    await new Promise<void>((r) => closed.listen(0, '127.0.0.1', () => r()));
    const port = (closed.address() as AddressInfo).port;
    await new Promise((r) => closed.close(r));
    process.env.HF_ENDPOINT = `http://127.0.0.1:${port}`;
    const down = await fetchVocabulary('t5').catch((e) => e);
    expect(down.code).toBe('EXT5_VOCAB_NOT_FOUND');
    expect(down.message).toMatch(/could not be reached/);
  });
});

describe('model.config as a Hub id (ext5 pretrain --model org/name)', () => {
  it('passes the config checks, fetches only config.json when the run starts, and builds from it', async () => {
    const { loadRunConfig } =
      require('../../../lib/run/run_config') as typeof import('../../../lib/run/run_config');
    const { fetchRunInputs, resolveModelConfig } =
      require('../../../lib/train/assemble') as typeof import('../../../lib/train/assemble');
    const { preset } =
      require('../../../lib/model/t5_presets') as typeof import('../../../lib/model/t5_presets');
    const { toHuggingFaceJson } =
      require('../../../lib/model/t5_config') as typeof import('../../../lib/model/t5_config');
    hub.setFiles('model', 'org/arch', 'main', [
      {
        path: 'config.json',
        body: Buffer.from(JSON.stringify(toHuggingFaceJson({ ...preset('t5-tiny'), d_model: 48 }))),
      },
      { path: 'model.safetensors', body: weights(9) },
    ]);
    const c = loadRunConfig({ preset: 'tiny-test', overrides: { model: { config: 'org/arch' } } });
    expect(() => resolveModelConfig('org/arch')).toThrow(
      expect.objectContaining({ code: 'HUB_MODEL_NOT_CACHED' }),
    );
    await fetchRunInputs(c);
    expect(resolveModelConfig('org/arch').d_model).toBe(48);
    const snap = localModelDir('org/arch');
    expect(fs.readdirSync(snap)).toEqual(['config.json']);
    expect(() => loadRunConfig({ overrides: { model: { config: 'no-such-preset' } } })).toThrow(
      expect.objectContaining({ code: 'EXT5_CONFIG' }),
    );
  });
});
