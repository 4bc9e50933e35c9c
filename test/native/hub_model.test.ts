// T5 models by Hub id, loaded for real from the local Hub: fromPretrainedAsync downloads into the shared
// cache, the sync fromPretrained then reads the cache (and says what to do when it is empty), revisions
// pin, offline works from the cache, a pickle-only repo is refused, and savePretrained writes the
// tokenizer files transformers' T5Tokenizer reads.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import {
  fromPretrained,
  fromPretrainedAsync,
  readCheckpointConfig,
  savePretrained,
  writeTokenizerFiles,
} from '../../lib/model/hf_checkpoint';
import { T5ForConditionalGeneration } from '../../lib/model/t5';
import { preset } from '../../lib/model/t5_presets';
import { tinyT5Repo } from '../helpers/hub_models';
import { LocalHub, type RepoFile } from '../helpers/hub_server';

jest.setTimeout(60_000);

let hub: LocalHub;
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'ext5-hubmodel-'));
const cacheDir = path.join(tmp, 'hub');
const quiet = { progress: 'silent' as const, cacheDir };
let main = '';
let v1 = '';
let mainFiles: RepoFile[] = [];
const saved = { offline: process.env.HF_HUB_OFFLINE };

beforeAll(async () => {
  hub = await LocalHub.start();
  v1 = hub.setFiles('model', 'org/tiny', 'v1', await tinyT5Repo(path.join(tmp, 'src1'), 1));
  mainFiles = await tinyT5Repo(path.join(tmp, 'src2'), 2);
  main = hub.setFiles('model', 'org/tiny', 'main', mainFiles);
  hub.setFiles('model', 'org/pickled', 'main', [
    { path: 'config.json', body: fs.readFileSync(path.join(tmp, 'src1', 'config.json')) },
    { path: 'pytorch_model.bin', body: Buffer.alloc(4000, 1) },
  ]);
});
afterEach(() => {
  if (saved.offline === undefined) delete process.env.HF_HUB_OFFLINE;
  else process.env.HF_HUB_OFFLINE = saved.offline;
});
afterAll(async () => {
  await hub.close();
  fs.rmSync(tmp, { recursive: true, force: true });
});

/** The first weights of a model, to tell two checkpoints apart. */
function fingerprint(m: T5ForConditionalGeneration): number[] {
  const ps = m.namedParameters();
  try {
    return Array.from(ps[0]![1].data() as ArrayLike<number>).slice(0, 4);
  } finally {
    for (const [, t] of ps) t.dispose();
  }
}

describe('fromPretrained by Hub id', () => {
  it('sync before any download: a coded error that says to use fromPretrainedAsync', () => {
    expect(() => fromPretrained('org/tiny', { cacheDir })).toThrow(
      expect.objectContaining({
        code: 'HUB_MODEL_NOT_CACHED',
        hint: expect.stringMatching(/fromPretrainedAsync/),
      }),
    );
  });

  it('async downloads and loads; sync then loads the cached snapshot; revisions pin', async () => {
    const local = fromPretrained(path.join(tmp, 'src2'));
    const fromHub = await fromPretrainedAsync('org/tiny', { ...quiet, endpoint: hub.endpoint });
    const cached = fromPretrained('org/tiny', { cacheDir });
    const old = await fromPretrainedAsync('org/tiny@v1', { ...quiet, endpoint: hub.endpoint });
    const pinned = await fromPretrainedAsync('org/tiny', { ...quiet, endpoint: hub.endpoint, revision: v1 });
    try {
      expect(fromHub.config.vocab_size).toBe(2048);
      expect(fingerprint(fromHub)).toEqual(fingerprint(local));
      expect(fingerprint(cached)).toEqual(fingerprint(local));
      expect(fingerprint(old)).not.toEqual(fingerprint(local));
      expect(fingerprint(pinned)).toEqual(fingerprint(old));
    } finally {
      for (const m of [local, fromHub, cached, old, pinned]) m.dispose();
    }
    const snap = path.join(cacheDir, 'models--org--tiny', 'snapshots', main);
    expect(fs.readdirSync(snap).sort()).toEqual([
      'config.json',
      'model.safetensors',
      'special_tokens_map.json',
      'spiece.model',
      'tokenizer_config.json',
    ]);
    expect(readCheckpointConfig('org/tiny@v1', { cacheDir }).d_model).toBe(32);
  });

  it('offline from the cache with no request; a repo with only pytorch_model.bin is refused', async () => {
    process.env.HF_HUB_OFFLINE = '1';
    const n = hub.log.length;
    const m = await fromPretrainedAsync('org/tiny', { ...quiet, endpoint: hub.endpoint });
    m.dispose();
    expect(hub.log.length).toBe(n);
    delete process.env.HF_HUB_OFFLINE;
    const e = await fromPretrainedAsync('org/pickled', { ...quiet, endpoint: hub.endpoint }).catch((x) => x);
    expect(e.code).toBe('HUB_NO_SAFETENSORS');
    expect(e.hint).toMatch(/safe_serialization=True/);
    expect(hub.requests(undefined, 'pytorch_model.bin')).toEqual([]);
  });

  it('refuses a revision sha that points outside the cache, leaving the file it names untouched', async () => {
    const victim = path.join(tmp, 'repro', 'victim.txt');
    fs.mkdirSync(path.dirname(victim), { recursive: true });
    fs.writeFileSync(victim, 'precious');
    // From refs/ up to the root and down to the victim, as a hostile server would write it.
    const refs = path.join(cacheDir, 'models--org--tiny', 'refs');
    const sha = `${'../'.repeat(refs.split(path.sep).length)}${victim.slice(1)}`;
    // The server says so for every revision, and serves its listing and files at that "commit" too.
    const atSha = (u: string) => u.includes('victim.txt');
    hub.faults.push(
      {
        match: '/api/models/org/tiny/revision/',
        times: 10,
        respond: (_q, res) => void res.end(JSON.stringify({ id: 'org/tiny', sha })),
      },
      {
        match: (u) => u.includes('/api/models/org/tiny/tree/') && atSha(u),
        times: 10,
        respond: (_q, res) => void res.end(JSON.stringify(mainFiles.map((f) => LocalHub.entry(f)))),
      },
      {
        match: (u) => u.includes('/org/tiny/resolve/') && atSha(u),
        times: 10,
        respond: (req, res) => {
          const name = decodeURIComponent(req.url!).split('/').at(-1);
          res.end(mainFiles.find((f) => f.path === name)?.body);
        },
      },
    );
    const e = await fromPretrainedAsync('org/tiny', { ...quiet, endpoint: hub.endpoint }).catch((x) => x);
    hub.faults.length = 0;
    expect(e.code).toBe('HUB_BAD_ANSWER');
    expect(e.message).toMatch(/sha is not a commit id/);
    expect(fs.readFileSync(victim, 'utf8')).toBe('precious');
  });
});

describe('T5ForConditionalGeneration.fromPretrained(Async) by Hub id', () => {
  // A cache of its own, so the first sync call finds nothing there.
  const staticCache = path.join(tmp, 'hub-static');

  it('takes every name the free functions take: sync reads the cache only, async downloads', async () => {
    expect(() => T5ForConditionalGeneration.fromPretrained('org/tiny@v1', { cacheDir: staticCache })).toThrow(
      expect.objectContaining({
        code: 'HUB_MODEL_NOT_CACHED',
        hint: expect.stringMatching(/fromPretrainedAsync/),
      }),
    );
    const local = T5ForConditionalGeneration.fromPretrained(path.join(tmp, 'src1'));
    const fromHub = await T5ForConditionalGeneration.fromPretrainedAsync('org/tiny@v1', {
      progress: 'silent',
      cacheDir: staticCache,
      endpoint: hub.endpoint,
    });
    const cached = T5ForConditionalGeneration.fromPretrained('org/tiny', {
      cacheDir: staticCache,
      revision: 'v1',
    });
    try {
      expect(fingerprint(fromHub)).toEqual(fingerprint(local));
      expect(fingerprint(cached)).toEqual(fingerprint(local));
    } finally {
      for (const m of [local, fromHub, cached]) m.dispose();
    }
  });
});

describe('tokenizer files', () => {
  it("savePretrained({ vocabulary }) writes T5Tokenizer's files: spiece.model and 100 extra ids", async () => {
    const dir = path.join(tmp, 'src1');
    const map = JSON.parse(fs.readFileSync(path.join(dir, 'special_tokens_map.json'), 'utf8'));
    const config = JSON.parse(fs.readFileSync(path.join(dir, 'tokenizer_config.json'), 'utf8'));
    expect(map).toEqual({
      eos_token: '</s>',
      unk_token: '<unk>',
      pad_token: '<pad>',
      additional_special_tokens: Array.from({ length: 100 }, (_, i) => `<extra_id_${i}>`),
    });
    expect(config).toMatchObject({
      ...map,
      tokenizer_class: 'T5Tokenizer',
      extra_ids: 100,
      model_max_length: 512,
    });
    const mini = path.join(__dirname, '..', '..', 'assets', 'mini', 'spm', 'mini.model');
    expect(fs.readFileSync(path.join(dir, 'spiece.model')).equals(fs.readFileSync(mini))).toBe(true);
    // Without a vocabulary, no tokenizer files.
    const bare = new T5ForConditionalGeneration({ ...preset('t5-tiny'), vocab_size: 2048 });
    try {
      await savePretrained(bare, path.join(tmp, 'bare'));
    } finally {
      bare.dispose();
    }
    expect(fs.readdirSync(path.join(tmp, 'bare')).sort()).toEqual(['config.json', 'model.safetensors']);
  });

  it('refuses a vocabulary that does not fit the model, and keeps the earlier checkpoint', async () => {
    const small = new T5ForConditionalGeneration(preset('t5-tiny')); // vocab_size 128 < 1887 + 100
    try {
      const e = await savePretrained(small, path.join(tmp, 'src1'), { vocabulary: 'mini' }).catch((x) => x);
      expect(e.code).toBe('EXT5_VOCAB_SIZE');
    } finally {
      small.dispose();
    }
    expect(readCheckpointConfig(path.join(tmp, 'src1')).vocab_size).toBe(2048);
    expect(() => writeTokenizerFiles(tmp, path.join(tmp, 'nothing.model'))).toThrow(
      expect.objectContaining({ code: 'E_VOCAB_NOT_FOUND' }),
    );
  });
});
