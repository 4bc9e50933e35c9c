// The commands that name a model, with Hub ids, against the local Hub (dist/ must be built): `ext5 eval`,
// `predict` and `convert` with `org/name` and `org/name@revision`, `ext5 vocab fetch`, offline use of the
// cache, and the errors for an empty offline cache and a pickle-only repo.
import { execFile } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { superGlueExport, tinyT5Repo } from '../helpers/hub_models';
import { LocalHub } from '../helpers/hub_server';
import { cliPath } from './helpers/cli';

jest.setTimeout(120_000);

/** The CLI, run without blocking this process (which serves the local Hub). */
function ext5(
  args: string[],
  env: Record<string, string>,
): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [cliPath, ...args],
      { env: { ...process.env, ...env, FORCE_COLOR: '0' }, maxBuffer: 1 << 24, timeout: 100_000 },
      (err, stdout, stderr) =>
        resolve({ code: err ? Number((err as { code?: number }).code ?? 1) : 0, stdout, stderr }),
    );
  });
}

let hub: LocalHub;
let v1 = '';
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ext5-e2e-hubmodels-'));
const data = path.join(dir, 'data');
const env = (extra: Record<string, string> = {}) => ({
  HF_ENDPOINT: hub.endpoint,
  HF_HOME: path.join(dir, 'hf-home'),
  HF_HUB_CACHE: '',
  HF_TOKEN: '',
  HUGGING_FACE_HUB_TOKEN: '',
  EXT5_T5_VOCAB: '',
  EXT5_DATA: '',
  ...extra,
});
const offline = (home = path.join(dir, 'hf-home')) =>
  env({ HF_HUB_OFFLINE: '1', HF_ENDPOINT: 'http://127.0.0.1:9', HF_HOME: home });
const evalArgs = (ckpt: string) => [
  'eval',
  '--checkpoint',
  ckpt,
  '--benchmark',
  'super_glue_boolq',
  '--data-dir',
  data,
  '--rank-classification',
  '--json',
];

beforeAll(async () => {
  hub = await LocalHub.start();
  v1 = hub.setFiles('model', 'org/tiny', 'main', await tinyT5Repo(path.join(dir, 'src1'), 1));
  hub.setFiles('model', 'org/tiny', 'main', await tinyT5Repo(path.join(dir, 'src2'), 2));
  // The T5 vocabulary's default repo (its spiece.model is the mini vocabulary here).
  hub.setFiles('model', 'google-t5/t5-small', 'main', await tinyT5Repo(path.join(dir, 'src3'), 3));
  hub.setFiles('model', 'org/pickled', 'main', [
    { path: 'config.json', body: fs.readFileSync(path.join(dir, 'src1', 'config.json')) },
    { path: 'pytorch_model.bin', body: Buffer.alloc(4000, 1) },
  ]);
  hub.setFiles('dataset', 'aps/super_glue', 'refs/convert/parquet', superGlueExport(2, 6));
});
afterAll(async () => {
  await hub.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

describe('commands with Hub model ids', () => {
  it('vocab fetch, then eval and predict by id (pinned by @commit), convert with tokenizer files', async () => {
    const vocab = await ext5(['vocab', 'fetch', 't5'], env());
    expect(vocab.stderr.replace(/^google-t5\/t5-small spiece.model .*\n/gm, '')).toBe('');
    expect(vocab.code).toBe(0);
    expect(vocab.stdout.trim()).toMatch(
      /models--google-t5--t5-small[/\\]snapshots[/\\][0-9a-f]{40}[/\\]spiece\.model$/,
    );
    const dl = await ext5(
      ['data', 'download', 'super_glue_boolq', '--split', 'validation', '--data-dir', data],
      env(),
    );
    expect(dl.code).toBe(0);

    const r = await ext5(evalArgs(`org/tiny@${v1}`), env());
    expect(r.stderr).not.toMatch(/error/);
    expect(r.code).toBe(0);
    const out = JSON.parse(r.stdout);
    expect(out.checkpoint).toBe(path.join(dir, 'hf-home', 'hub', 'models--org--tiny', 'snapshots', v1));
    expect(out.tasks[0]).toMatchObject({ task: 'super_glue_boolq', count: 6 });

    const input = path.join(dir, 'inputs.txt');
    fs.writeFileSync(input, 'boolq question: is the sky blue passage: the sky is blue\n');
    const p = await ext5(
      [
        'predict',
        '--checkpoint',
        'org/tiny',
        '--vocab',
        't5',
        '--input',
        input,
        '--max-new-tokens',
        '3',
        '--json',
      ],
      env(),
    );
    expect(p.code).toBe(0);
    expect(JSON.parse(p.stdout.trim())).toHaveProperty('prediction');

    const c = await ext5(['convert', 'org/tiny', path.join(dir, 'exported')], env());
    expect(c.code).toBe(0);
    expect(c.stdout).toMatch(/with tokenizer files/);
    expect(fs.readdirSync(path.join(dir, 'exported')).sort()).toEqual([
      'config.json',
      'model.safetensors',
      'special_tokens_map.json',
      'spiece.model',
      'tokenizer_config.json',
    ]);
  });

  it('offline from the cache; an empty offline cache and a pickle-only repo give coded errors', async () => {
    const n = hub.log.length;
    const r = await ext5(evalArgs('org/tiny'), offline());
    expect(r.code).toBe(0);
    expect(hub.log.length).toBe(n);
    const empty = await ext5(evalArgs('org/tiny'), offline(path.join(dir, 'empty-home')));
    expect(empty.code).toBe(1);
    expect(empty.stderr).toMatch(/HUB_OFFLINE_MODE.*org\/tiny@main.*no local folder org\/tiny/);
    // The hint a CLI user reads: sentences, the variable to unset (not the API's `offline` option).
    const hint = /\n {2}hint: (.*)/.exec(empty.stderr)?.[1];
    expect(hint).toBe(
      `unset HF_HUB_OFFLINE to fetch it. Nothing of it is cached in ${path.join(dir, 'empty-home', 'hub', 'models--org--tiny')}. Or check the local path.`,
    );
    const pickled = await ext5(evalArgs('org/pickled'), env());
    expect(pickled.code).toBe(1);
    expect(pickled.stderr).toMatch(/HUB_NO_SAFETENSORS[\s\S]*safe_serialization=True/);
  });

  it('an unreachable Hub with a cached copy: one line on stderr says the cache is used', async () => {
    // No HF_HUB_OFFLINE: the connection is refused (a port just closed), for the model and the vocabulary.
    const port = await new Promise<number>((resolve) => {
      const srv = net.createServer().listen(0, '127.0.0.1', () => {
        const p = (srv.address() as net.AddressInfo).port;
        srv.close(() => resolve(p));
      });
    });
    const r = await ext5(evalArgs('org/tiny'), env({ HF_ENDPOINT: `http://127.0.0.1:${port}` }));
    expect(r.code).toBe(0);
    const lines = r.stderr.split('\n').filter((l) => /Hub cannot be reached/.test(l));
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(
      /^ext5: the Hub cannot be reached \(cannot reach http:\/\/127\.0\.0\.1:\d+\/.*\); working from the cache \(org\/tiny@main: commit [0-9a-f]{40}\)$/,
    );
  });

  it('a repo that is neither on the Hub nor a local folder: the hint reads as sentences', async () => {
    const r = await ext5(evalArgs('org/absent'), env());
    expect(r.code).toBe(1);
    const hint = /\n {2}hint: (.*)/.exec(r.stderr)?.[1] ?? '';
    expect(hint).toMatch(/^check the id \(org\/name\)\. .*login`\)\. Or check the local path\.$/);
    expect(hint).not.toMatch(/\.;|\. [a-z]/);
  });
});
