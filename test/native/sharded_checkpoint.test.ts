// Sharded checkpoints across real processes (Gloo over 127.0.0.1): test/native/
// sharded_checkpoint_worker.ts trains the tiny model with training.sharding=optimizer as 2 ranks,
// each saving its shard of every checkpoint into one atomic directory; then the checkpoint is
// resumed with 2 ranks (exact), 4 ranks and 1 process (re-sharded by parameter name), a whole
// checkpoint is resumed sharded, a rank killed mid-save leaves no checkpoint that resume trusts,
// a missing shard is refused naming the file, and `ext5 convert` makes one Hugging Face folder.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { runConvert } from '../../lib/cli/convert_run';
import { SafetensorsReader } from '../../lib/io/safetensors';
import { CheckpointWeights, fromPretrained, loadOptimizerState } from '../../lib/model/hf_checkpoint';
import { Adafactor } from '../../lib/optim/adafactor';
import { listCheckpoints } from '../../lib/run/run_checkpoints';
import { loadRunConfig } from '../../lib/run/run_config';
import { repairInterruptedSaves } from '../../lib/train/checkpoint_save';
import { loadStartingPoint, resumeCandidates } from '../../lib/train/resume';
import { killRankProcesses, type RankRun, runRankJob, runRankProcess } from './helpers/rank_process';

jest.setTimeout(240_000);

let root: string;
beforeAll(() => {
  root = fs.mkdtempSync(path.join(os.tmpdir(), 'ext5-sharded-ckpt-'));
});
afterAll(() => {
  killRankProcesses();
  fs.rmSync(root, { recursive: true, force: true });
});

type Ran = RankRun;

function runRank(args: string[], env: NodeJS.ProcessEnv): Promise<Ran> {
  return runRankProcess(path.join(__dirname, 'sharded_checkpoint_worker.ts'), args, env, 180_000);
}

function runJob(world: number, args: string[]): Promise<Ran[]> {
  if (world === 1) return runRank(args, {}).then((r) => [r]);
  return runRankJob(path.join(__dirname, 'sharded_checkpoint_worker.ts'), args, world, {
    deadlineMs: 180_000,
    timeoutS: 30,
  });
}

/** Every tensor of some safetensors files, by name, as raw bytes (bit-for-bit comparisons). */
function tensors(files: string[]): Map<string, Buffer> {
  const out = new Map<string, Buffer>();
  for (const f of files) {
    using r = SafetensorsReader.open(f);
    for (const n of r.names()) {
      expect(out.has(n)).toBe(false);
      out.set(n, Buffer.from(r.read(n)));
    }
  }
  return out;
}

function expectSameTensors(got: Map<string, Buffer>, want: Map<string, Buffer>): void {
  expect([...got.keys()].sort()).toEqual([...want.keys()].sort());
  const differ = [...want].filter(([n, b]) => !b.equals(got.get(n)!)).map(([n]) => n);
  expect(differ).toEqual([]);
}

function okAll(ranks: Ran[]): void {
  expect(
    ranks.map((r) => ({ code: r.code, error: r.json?.error, stderr: r.code === 0 ? '' : r.stderr })),
  ).toEqual(ranks.map(() => ({ code: 0, error: undefined, stderr: '' })));
}

/** The weights of a checkpoint folder (model.safetensors or shards) as parameter -> bytes. */
function weightsOf(dir: string): Map<string, Buffer> {
  using w = CheckpointWeights.open(dir);
  return new Map(w.names().map((n) => [n, Buffer.from(w.read(n))]));
}

describe('a 2-rank sharded run', () => {
  let ck: string;
  let ref: string;
  let saved: Ran[];
  beforeAll(async () => {
    ck = path.join(root, 'run', 'checkpoints');
    ref = path.join(root, 'ref');
    fs.mkdirSync(ref, { recursive: true });
    // Three steps; rank 1 is killed while writing its model shard of step 3.
    saved = await runJob(2, ['save', ck, ref, '3', '1', '3']);
  });

  test('each rank wrote its shards of steps 1 and 2; the checkpoint is a Hugging Face sharded folder', () => {
    const [r0, r1] = saved;
    expect(r0!.json.results.slice(0, 2)).toEqual([
      { step: 1, ok: true },
      { step: 2, ok: true },
    ]);
    expect(r1!.signal).toBe('SIGKILL');
    const dir = path.join(ck, 'step-00000001');
    expect(fs.readdirSync(dir).sort()).toEqual([
      'config.json',
      'model-00001-of-00002.safetensors',
      'model-00002-of-00002.safetensors',
      'model.safetensors.index.json',
      'optimizer-00001-of-00002.safetensors',
      'optimizer-00002-of-00002.safetensors',
      'optimizer.safetensors.index.json',
      'trainer_state.json',
    ]);
    const index = JSON.parse(fs.readFileSync(path.join(dir, 'model.safetensors.index.json'), 'utf8'));
    const owned0: string[] = r0!.json.owned;
    const embedAliases = ['encoder.embed_tokens.weight', 'decoder.embed_tokens.weight'];
    for (const n of owned0.filter((x) => !embedAliases.includes(x)))
      expect(index.weight_map[n]).toBe('model-00001-of-00002.safetensors');
    const sizes = fs
      .readdirSync(dir)
      .filter((f) => f.startsWith('model-'))
      .map((f) => {
        using r = SafetensorsReader.open(path.join(dir, f));
        return r.names().reduce((a, n) => a + r.info(n).shape.reduce((x, y) => x * y, 1) * 4, 0);
      });
    expect(index.metadata.total_size).toBe(sizes[0]! + sizes[1]!);
    const opt = JSON.parse(fs.readFileSync(path.join(dir, 'optimizer.safetensors.index.json'), 'utf8'));
    expect(opt.metadata).toEqual({ world_size: 2, sharding: 'optimizer' });
    for (const n of owned0) expect(opt.param_map[n]).toBe('optimizer-00001-of-00002.safetensors');
    const st = JSON.parse(fs.readFileSync(path.join(dir, 'trainer_state.json'), 'utf8'));
    expect({ step: st.step, worldSize: st.worldSize, sharding: st.sharding }).toEqual({
      step: 1,
      worldSize: 2,
      sharding: 'optimizer',
    });
    // The shards hold what the ranks held, bit for bit.
    const want = tensors([0, 1].map((r) => path.join(ref, `step1-rank${r}.safetensors`)));
    const params = new Map(
      [...want].filter(([n]) => n.startsWith('param.')).map(([n, b]) => [n.slice(6), b]),
    );
    expectSameTensors(weightsOf(dir), params);
  });

  test('a rank killed mid-save leaves no step directory; rank 0 names the failure and removed the temporary', () => {
    const r0 = saved[0]!.json;
    expect(r0.results[2]).toMatchObject({ step: 3, ok: false });
    expect(r0.results[2].code).toMatch(/^EXT5_DIST/);
    expect(r0.results[2].message).toMatch(/step-00000003 stopped: .*closed its connection/);
    expect(fs.existsSync(path.join(ck, 'step-00000003'))).toBe(false);
    expect(fs.readdirSync(ck).filter((n) => n.includes('00000003'))).toEqual([]);
    expect(listCheckpoints(ck).map((k) => k.step)).toEqual([1, 2]);
    expect(path.basename(resumeCandidates('auto', ck).dirs[0]!)).toBe('step-00000002');
  });

  test('resume with the same world size is exact: the state loads bit for bit, the next step equals step 2', async () => {
    const out = path.join(root, 'load2');
    fs.mkdirSync(out);
    const ranks = await runJob(2, ['load', path.join(ck, 'step-00000001'), out, 'optimizer']);
    okAll(ranks);
    expect(ranks.map((r) => r.json.stepCount)).toEqual([1, 1]);
    expect(ranks[0]!.json.owned).toEqual(saved[0]!.json.owned);
    for (const r of [0, 1]) {
      expectSameTensors(
        tensors([path.join(out, `loaded-rank${r}.safetensors`)]),
        tensors([path.join(ref, `step1-rank${r}.safetensors`)]),
      );
    }
    const next = tensors([path.join(out, 'next-rank0.safetensors')]);
    const step2 = weightsOf(path.join(ck, 'step-00000002'));
    for (const [n, b] of step2)
      expect({ n, same: b.equals(next.get(`param.${n}`)!) }).toEqual({ n, same: true });
  });

  test('resume with 4 ranks and with 1 process re-shards the optimizer state by name', async () => {
    const want = tensors([0, 1].map((r) => path.join(ref, `step1-rank${r}.safetensors`)));
    const step2 = weightsOf(path.join(ck, 'step-00000002'));
    const whole = path.join(root, 'whole');
    for (const world of [4, 1]) {
      const out = path.join(root, `load${world}`);
      fs.mkdirSync(out);
      const args = ['load', path.join(ck, 'step-00000001'), out, world === 1 ? 'none' : 'optimizer'];
      const ranks = await runJob(world, world === 1 ? [...args, whole] : args);
      okAll(ranks);
      expect(ranks.map((r) => r.json.stepCount)).toEqual(ranks.map(() => 1));
      // The ranks' parts are disjoint and together the whole state, equal to the 2 ranks' union.
      const loaded = tensors(ranks.map((_, r) => path.join(out, `loaded-rank${r}.safetensors`)));
      expectSameTensors(loaded, want);
      const next = tensors([path.join(out, 'next-rank0.safetensors')]);
      for (const [n, b] of step2)
        expect({ world, n, same: b.equals(next.get(`param.${n}`)!) }).toEqual({ world, n, same: true });
    }
    // The 1-process run saved what it loaded unsharded: a whole checkpoint resumes sharded.
    const wholeDir = path.join(whole, 'step-00000001');
    expect(fs.existsSync(path.join(wholeDir, 'optimizer.safetensors'))).toBe(true);
    const out = path.join(root, 'load-whole');
    fs.mkdirSync(out);
    const ranks = await runJob(2, ['load', wholeDir, out, 'optimizer']);
    okAll(ranks);
    expectSameTensors(tensors([0, 1].map((r) => path.join(out, `loaded-rank${r}.safetensors`))), want);
  });

  test('a missing model or optimizer shard is refused with EXT5_CHECKPOINT naming the file', () => {
    for (const kind of ['model', 'optimizer']) {
      const copy = path.join(root, `missing-${kind}`);
      fs.cpSync(path.join(ck, 'step-00000002'), copy, { recursive: true });
      fs.rmSync(path.join(copy, `${kind}-00002-of-00002.safetensors`));
      let err: { code?: string; message?: string } = {};
      try {
        const model = fromPretrained(copy);
        try {
          const opt = new Adafactor(model);
          try {
            loadOptimizerState(copy, opt);
          } finally {
            opt.dispose();
          }
        } finally {
          model.dispose();
        }
      } catch (e) {
        err = e as typeof err;
      }
      expect({ code: err.code, names: err.message?.includes(`${kind}-00002-of-00002.safetensors`) }).toEqual({
        code: 'EXT5_CHECKPOINT',
        names: true,
      });
    }
    // Resume passes over such a checkpoint to the one before, naming the missing file.
    const run = path.join(root, 'damaged', 'checkpoints');
    fs.cpSync(path.join(ck, 'step-00000001'), path.join(run, 'step-00000001'), { recursive: true });
    fs.cpSync(path.join(root, 'missing-optimizer'), path.join(run, 'step-00000002'), { recursive: true });
    const c = loadRunConfig({ preset: 'tiny-test', set: ['training.dropout=0'] });
    const start = loadStartingPoint(c, resumeCandidates('auto', run), c.model.vocabSize!, 1, false);
    try {
      expect(path.basename(start.resumeFrom!)).toBe('step-00000001');
      expect(start.optimizer.stepCount).toBe(1);
      expect(start.skipped.map((k) => path.basename(k.dir))).toEqual(['step-00000002']);
      expect(start.skipped[0]!.reason).toMatch(
        /optimizer shard optimizer-00002-of-00002.safetensors is missing/,
      );
    } finally {
      start.optimizer.dispose();
      start.model.dispose();
    }
  });

  test('ext5 convert of a sharded checkpoint writes one Hugging Face folder with the merged weights', async () => {
    const out = path.join(root, 'converted');
    const log = jest.spyOn(process.stdout, 'write').mockImplementation(() => true);
    const err = jest.spyOn(process.stderr, 'write').mockImplementation(() => true);
    try {
      await runConvert({
        checkpoint: path.join(ck, 'step-00000002'),
        out,
        dtype: 'float32',
        'max-shard-size': '5GB',
        force: false,
        vocab: 'mini',
      });
    } finally {
      log.mockRestore();
      err.mockRestore();
    }
    expect(fs.readdirSync(out).filter((f) => f.includes('safetensors'))).toEqual(['model.safetensors']);
    expectSameTensors(weightsOf(out), weightsOf(path.join(ck, 'step-00000002')));
  });
});

test('rank 0 killed mid-save: its temporary stays until the next start repairs it; resume picks the step before', async () => {
  const ck = path.join(root, 'run0', 'checkpoints');
  const ref = path.join(root, 'ref0');
  fs.mkdirSync(ref, { recursive: true });
  const ranks = await runJob(2, ['save', ck, ref, '2', '0', '2']);
  expect(ranks[0]!.signal).toBe('SIGKILL');
  expect(ranks[1]!.json.results[1]).toMatchObject({ step: 2, ok: false });
  expect(fs.existsSync(path.join(ck, 'step-00000002'))).toBe(false);
  expect(fs.readdirSync(ck).filter((n) => n.startsWith('.step-00000002.tmp-'))).toHaveLength(1);
  expect(listCheckpoints(ck).map((k) => k.step)).toEqual([1]);
  repairInterruptedSaves(ck);
  expect(fs.readdirSync(ck)).toEqual(['step-00000001']);
  expect(path.basename(resumeCandidates('auto', ck).dirs[0]!)).toBe('step-00000001');
});
