// Sharded data parallelism (training.sharding): 2 processes train the same tiny model under each
// mode as under `none` with the same global batch — with dropout, gradient accumulation, global
// gradient clipping and activation checkpointing — and log the same losses (float32: within 1e-5,
// the reduction order differs); each rank holds its share of what the mode shards, logged once as
// split `memory`; under `full`, rank 0's evaluation (which needs the whole model) runs.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { MEMORY_SPLIT, readMetrics } from '../../lib/run/metrics_log';
import { runCli } from './helpers/cli';

jest.setTimeout(600_000);

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'ext5-sharding-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

const ARGS = [
  'pretrain',
  '--preset',
  'tiny-test',
  '--no-progress',
  '--steps',
  '20',
  '--batch-size',
  '8',
  '--gradient-checkpointing',
  '--set',
  'data.mixtureOrTask=mini_nli_counts',
  '--set',
  'training.gradAccumulation=2',
  '--set',
  'training.gradClip=1.0',
  '--set',
  'training.dropout=0.1',
  '--set',
  'eval.every=10',
  '--set',
  'eval.lossBatches=1',
  '--set',
  'eval.tasks=[]',
  '--set',
  'checkpoint.every=0',
  '--set',
  'training.threads=1',
];

/** ARGS with some values swapped, e.g. `{ '20': '50' }` for 50 steps. */
const argsWith = (swap: Record<string, string>, base: readonly string[] = ARGS) =>
  base.map((a) => swap[a] ?? a);

/** `ext5 launch --nproc 2 -- <argv>`. */
const launch2 = (argv: readonly string[]) =>
  runCli(['launch', '--nproc', '2', '--timeout', '300', '--', ...argv]);

const records = (dir: string) => readMetrics(path.join(dir, 'metrics.jsonl')).records;

const series = (dir: string, split: string) =>
  records(dir)
    .filter((r) => r.split === split)
    .map((r) => r.values.loss!);

const memory = (dir: string) => records(dir).find((r) => r.split === MEMORY_SPLIT)!.values;

function launch(
  mode: string,
  extra: string[] = [],
  name = `${mode}${extra.length ? '-x' : ''}`,
  base: readonly string[] = ARGS,
): string {
  const dir = path.join(tmp, name);
  const r = launch2([...base, ...extra, '--set', `training.sharding=${mode}`, '--run-dir', dir]);
  expect({ mode, status: r.status, err: r.status === 0 ? '' : r.stderr.slice(-3000) }).toEqual({
    mode,
    status: 0,
    err: '',
  });
  return dir;
}

function expectClose(a: number[], b: number[], tol: number): void {
  expect(b).toHaveLength(a.length);
  const worst = Math.max(...a.map((x, i) => Math.abs(x - b[i]!) / Math.max(1, Math.abs(x))));
  expect(worst).toBeLessThanOrEqual(tol);
}

let none: string;
beforeAll(() => {
  none = launch('none');
});

test.each(['optimizer', 'gradients', 'full'])(
  "2 processes under sharding '%s' log the losses of 'none' (20 steps, within 1e-5)",
  (mode) => {
    const dir = launch(mode);
    const ref = series(none, 'train');
    expect(ref).toHaveLength(20);
    expectClose(ref, series(dir, 'train'), 1e-5);
    // The validation loss rank 0 computed at steps 10 and 20 (under `full`, after every rank
    // gathered the whole model for it).
    expect(series(none, 'validation')).toHaveLength(2);
    expectClose(series(none, 'validation'), series(dir, 'validation'), 1e-5);

    // What each rank holds after its first step: its share of what the mode shards.
    const mem = memory(dir);
    const total = mem.model_parameters!;
    const at = (k: string) => [0, 1].map((r) => mem[`rank${r}.${k}`]!);
    const [p0, p1] = at('parameters');
    const [g0, g1] = at('gradients');
    const [o0, o1] = at('optimizer');
    // Optimizer state is split in every mode: together the ranks hold it once, as each rank of
    // 'none' holds it whole.
    const whole = memory(none);
    expect(whole['rank1.optimizer']).toBe(whole['rank0.optimizer']);
    expect(o0! + o1!).toBe(whole['rank0.optimizer']);
    expect(Math.max(o0!, o1!)).toBeLessThan(o0! + o1!);
    if (mode === 'optimizer') {
      expect([p0, p1, g0, g1]).toEqual([total, total, total, total]);
    } else {
      // Each owner holds its parameters' gradients only: the two shares add up to the whole.
      expect(g0! + g1!).toBe(total);
      expect(Math.max(g0!, g1!)).toBeLessThan(0.75 * total);
      if (mode === 'gradients') expect([p0, p1]).toEqual([total, total]);
    }
    if (mode === 'full') {
      // Block parameters not owned are freed; what stays whole is outside the blocks.
      expect(Math.max(p0!, p1!)).toBeLessThan(total);
    }
  },
);

test("'gradients' without checkpointing reduces each micro-batch's gradients after its backward: the losses of 'none'", () => {
  const plain = ARGS.filter((a) => a !== '--gradient-checkpointing');
  const dir = launch('gradients', [], 'gradients-plain', plain);
  expectClose(series(none, 'train'), series(dir, 'train'), 1e-5);
  const mem = memory(dir);
  expect(mem['rank0.gradients']! + mem['rank1.gradients']!).toBe(mem.model_parameters);
});

test("bfloat16 compute with float32 master weights: 'gradients' and 'full' match 'none' step for step", () => {
  // One micro-batch per step, so that the gradients are summed in the same order in every mode;
  // with accumulation the order differs and bfloat16 rounding amplifies it over the steps.
  const bf16 = ['--set', 'training.dtype=bfloat16', '--set', 'training.gradAccumulation=1'];
  const ref = series(launch('none', bf16), 'train');
  for (const mode of ['gradients', 'full']) expectClose(ref, series(launch(mode, bf16), 'train'), 1e-5);
});

test.each(['gradients', 'full'])(
  "a sharded run ('%s') stopped at step 10 and resumed with the same world size logs the uninterrupted run's losses",
  (mode) => {
    const whole = series(launch(mode, [], `${mode}-whole`), 'train');
    const dir = path.join(tmp, `${mode}-resumed`);
    const first = (steps: number) =>
      launch2([
        ...argsWith({ '20': String(steps), 'checkpoint.every=0': 'checkpoint.every=10' }),
        '--set',
        `training.sharding=${mode}`,
        '--run-dir',
        dir,
        '--resume',
        'auto',
      ]);
    expect(first(10).status).toBe(0);
    const ck = path.join(dir, 'checkpoints', 'step-00000010');
    expect(
      fs.readdirSync(ck).filter((f) => /^(model|optimizer)-0000\d-of-00002\.safetensors$/.test(f)),
    ).toHaveLength(4);
    const r = first(20);
    expect({ status: r.status, err: r.status === 0 ? '' : r.stderr.slice(-2000) }).toEqual({
      status: 0,
      err: '',
    });
    expect(r.stderr).toContain('resumed from step 10');
    // Float32 on the CPU: the resumed run repeats the uninterrupted one exactly.
    expect(series(dir, 'train')).toEqual(whole);
  },
);

test("a NaN loss under 'full' stops every rank with EXT5_NAN_LOSS and keeps the last good sharded checkpoint", () => {
  const dir = path.join(tmp, 'nan');
  const r = launch2([
    ...argsWith({ '20': '50', 'checkpoint.every=0': 'checkpoint.every=1' }),
    '--set',
    'training.gradClip=0',
    '--set',
    'optimizer.schedule=constant',
    '--set',
    'optimizer.lr=1e30',
    '--set',
    'optimizer.clipThreshold=1e30',
    '--set',
    'checkpoint.keepLast=1',
    '--set',
    'training.sharding=full',
    '--run-dir',
    dir,
  ]);
  expect(r.status).not.toBe(0);
  expect(r.stderr).toMatch(/\[rank 0\].*EXT5_NAN_LOSS/);
  expect(r.stderr).toMatch(/\[rank 1\].*EXT5_NAN_LOSS/);
  const ckpts = fs.readdirSync(path.join(dir, 'checkpoints'));
  expect(ckpts.filter((d) => d.startsWith('.'))).toEqual([]);
  expect(ckpts).toHaveLength(1);
  const st = JSON.parse(
    fs.readFileSync(path.join(dir, 'checkpoints', ckpts[0]!, 'trainer_state.json'), 'utf8'),
  );
  const losses = records(dir).filter((x) => x.split === 'train' && x.step === st.step);
  expect(losses.map((x) => Number.isFinite(x.values.loss!))).toEqual([true]);
});

test("sharding 'full' without checkpointing is refused before anything runs, saying what to set", () => {
  const r = runCli([
    ...ARGS.filter((a) => a !== '--gradient-checkpointing'),
    '--set',
    'training.sharding=full',
    '--run-dir',
    path.join(tmp, 'refused'),
  ]);
  expect(r.status).not.toBe(0);
  expect(r.stderr).toContain('EXT5_NOT_RUNNABLE');
  expect(r.stderr).toContain('--gradient-checkpointing');
  expect(fs.existsSync(path.join(tmp, 'refused'))).toBe(false);
});
