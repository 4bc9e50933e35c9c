/**
 * The ext5 half of bench/gpu/run.sh (its Python counterpart is bench/gpu/hf_side.py). Each
 * subcommand writes one JSON file:
 *   parity DIR DEVICE OUT.json   loads DIR/<name>/ (random configs saved by transformers with
 *                                hf_side.py make-parity), compares logits and loss with
 *                                transformers' (expected.json) in float32 and bfloat16, and saves
 *                                the model back (DIR/<name>/ext5_saved + ext5_logits.json) for
 *                                hf_side.py check-saved
 *   speed DIR DEVICE OUT.json    T5.1.1 training step (forward, backward, Adafactor) and greedy
 *                                generation; saves the initial weights to DIR/speed_model so that
 *                                hf_side.py speed times transformers on the same weights
 *   nccl DEVICE OUT.json         a one-process NCCL group: all-reduce, broadcast and one
 *                                data-parallel step (allReduceGradients) on one GPU
 * Sizes are flags (--batch, --input, --target, --new, --steps, --config) so that the same code
 * runs small on a CPU (test/native/gpu_bench.test.ts) and full size on the GPU machine.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { allReduceGradients, broadcastParameters } from '../../lib/ddp/data_parallel';
import { ProcessGroup } from '../../lib/ddp/process_group';
import { t5Flops } from '../../lib/model/flops';
import { T5ForConditionalGeneration } from '../../lib/model/t5';
import { preset } from '../../lib/model/t5_presets';
import { Adafactor } from '../../lib/optim/adafactor';
import { type Device, full, type Tensor } from '../../lib/tensor/tensor';
import { arg } from '../args';
import { maxAbsDiff, randomIds } from '../t5_interleave';

type Dtype = 'float32' | 'bfloat16';

/** What hf_side.py make-parity writes per model (DIR/<name>/expected.json). */
interface Expected {
  input_ids: number[][];
  attention_mask: number[][];
  labels: number[][];
  float32: { logits: number[]; loss: number };
  bfloat16: { logits: number[]; loss: number };
}

/** Relative tolerances: float32 as in test/native/t5_model.test.ts, bfloat16 for 8-bit mantissas. */
export const TOLERANCE: Record<Dtype, { logits: number; loss: number }> = {
  float32: { logits: 1e-5, loss: 1e-5 },
  bfloat16: { logits: 5e-2, loss: 2e-2 },
};

function forwardLogits(
  model: T5ForConditionalGeneration,
  e: Expected,
): { logits: Float32Array; loss: number } {
  const out = model.forward({
    inputIds: e.input_ids,
    attentionMask: e.attention_mask,
    labels: e.labels,
    returnLogits: true,
  });
  const lg = out.logits as Tensor;
  const logits = Float32Array.from(lg.data() as Float32Array);
  lg.dispose();
  return { logits, loss: out.loss as number };
}

export async function parity(dir: string, device: string): Promise<Record<string, unknown>> {
  const models: Record<string, unknown>[] = [];
  let ok = true;
  for (const name of fs.readdirSync(dir).sort()) {
    const expectedFile = path.join(dir, name, 'expected.json');
    if (!fs.existsSync(expectedFile)) continue;
    const e = JSON.parse(fs.readFileSync(expectedFile, 'utf8')) as Expected;
    const row: Record<string, unknown> = { name };
    for (const dtype of ['float32', 'bfloat16'] as const) {
      let model: T5ForConditionalGeneration;
      try {
        model = T5ForConditionalGeneration.fromPretrained(path.join(dir, name), {
          device,
          computeDtype: dtype,
        });
      } catch (err) {
        // One model that does not load is a finding; the others are still compared.
        const x = err as { code?: string; message?: string };
        row[dtype] = { pass: false, error: `${x.code ?? 'Error'}: ${x.message ?? String(err)}` };
        ok = false;
        continue;
      }
      const got = forwardLogits(model, e);
      const l = maxAbsDiff(got.logits, e[dtype].logits);
      const lossDiff = Math.abs(got.loss - e[dtype].loss);
      const tol = TOLERANCE[dtype];
      const pass =
        l.diff <= tol.logits * Math.max(1, l.scale) &&
        lossDiff <= tol.loss * Math.max(1, Math.abs(e[dtype].loss));
      ok &&= pass;
      row[dtype] = { logitsMaxDiff: l.diff, logitsScale: l.scale, lossDiff, loss: got.loss, pass };
      if (dtype === 'float32') {
        // The way back: transformers must read what ext5 writes and compute the same logits.
        await model.savePretrained(path.join(dir, name, 'ext5_saved'));
        fs.writeFileSync(
          path.join(dir, name, 'ext5_logits.json'),
          JSON.stringify({ logits: Array.from(got.logits), loss: got.loss }),
        );
      }
      model.dispose();
    }
    models.push(row);
  }
  if (models.length === 0) throw new Error(`no <name>/expected.json under ${dir}`);
  return { part: 'hf_parity_ext5', device, ok, models };
}

function rows(flat: number[], B: number): number[][] {
  const L = flat.length / B;
  return Array.from({ length: B }, (_, i) => flat.slice(i * L, (i + 1) * L));
}

export interface SpeedOptions {
  config: string;
  dtype: Dtype;
  B: number;
  S: number;
  T: number;
  N: number;
  steps: number;
}

export async function speed(dir: string, device: string, o: SpeedOptions): Promise<Record<string, unknown>> {
  const cfg = { ...preset(o.config), dropout_rate: 0 };
  const model = T5ForConditionalGeneration.fromConfig(cfg, { seed: 0, device, computeDtype: o.dtype });
  const modelDir = path.join(dir, 'speed_model');
  await model.savePretrained(modelDir);
  const inputIds = rows(Array.from(randomIds(o.B * o.S, cfg.vocab_size, 1)), o.B);
  const labels = rows(Array.from(randomIds(o.B * o.T, cfg.vocab_size, 2)), o.B);
  // FLOPs of one training step, counted per stack (lib/model/flops.ts). transformers' side takes
  // the same number from the batch file, so both MFU figures rest on one count.
  const flops = t5Flops(cfg, { inputLength: o.S, targetLength: o.T, batchSize: o.B });
  // The same batch for transformers (hf_side.py speed reads it).
  fs.writeFileSync(
    path.join(dir, 'speed_batch.json'),
    JSON.stringify({
      input_ids: inputIds,
      labels,
      computeDtype: o.dtype,
      trainingFlopsPerStep: flops.training,
    }),
  );
  const batch = {
    inputIds: { data: Int32Array.from(inputIds.flat()), shape: [o.B, o.S] },
    labels: { data: Int32Array.from(labels.flat()), shape: [o.B, o.T] },
  };
  model.train();
  const opt = new Adafactor(model);
  const sync = () => {
    // a value read back waits for every queued kernel (the optimizer step is asynchronous)
    const [, p] = model.namedParameters()[0] as [string, Tensor];
    const s = p.sum();
    s.item();
    s.dispose();
    p.dispose();
  };
  const losses: number[] = [];
  const step = () => {
    losses.push(model.forwardBackward(batch).loss as number);
    opt.step();
    model.zeroGrad();
  };
  for (let i = 0; i < 2; i++) step();
  sync();
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < o.steps; i++) step();
  sync();
  const stepSec = Number(process.hrtime.bigint() - t0) / 1e9 / o.steps;
  opt.dispose();

  model.eval();
  const gen = () => {
    const t1 = process.hrtime.bigint();
    const out = model.generate(batch.inputIds, null, { maxNewTokens: o.N });
    const sec = Number(process.hrtime.bigint() - t1) / 1e9;
    const newTokens = (out.shape[1] as number) - 1;
    out.dispose();
    return { sec, newTokens };
  };
  gen();
  const g = gen();
  const n = model.numParameters();
  model.dispose();
  const tokens = o.B * (o.S + o.T);
  return {
    part: 'speed_ext5',
    device,
    config: o.config,
    dtype: o.dtype,
    batch: { B: o.B, input: o.S, target: o.T },
    parameters: n,
    steps: o.steps,
    stepMs: stepSec * 1e3,
    tokensPerS: tokens / stepSec,
    // MFU (bench/gpu/summary.py) divides flopsPerS by the matmul rate hf_side.py measured.
    trainingFlopsPerStep: flops.training,
    flopCount: flops,
    flopsPerS: flops.training / stepSec,
    // 6 · parameters · (input + target tokens): the decoder-only rule of thumb, about twice the
    // per-stack count for T5; kept only to compare with figures that use it.
    flopsPerS6N: (6 * n * tokens) / stepSec,
    losses,
    generate: {
      maxNewTokens: o.N,
      newTokens: g.newTokens,
      sec: g.sec,
      tokensPerS: (o.B * g.newTokens) / g.sec,
    },
  };
}

export async function nccl(device: string, port: number): Promise<Record<string, unknown>> {
  const t0 = Date.now();
  const pg = await ProcessGroup.create({
    rank: 0,
    worldSize: 1,
    masterAddr: '127.0.0.1',
    masterPort: port,
    backend: 'nccl',
    timeoutMs: 60_000,
  });
  const checks: Record<string, unknown> = {};
  try {
    const t = full([1024], 3, { device: pg.device as Device });
    await pg.allReduce([t], { op: 'sum' });
    checks.allReduceSum = (t.sum().item() as number) === 3 * 1024;
    await pg.broadcast([t], { root: 0 });
    checks.broadcast = (t.sum().item() as number) === 3 * 1024;
    t.dispose();
    // One data-parallel step: broadcast the weights, backward, average gradients, Adafactor.
    const model = T5ForConditionalGeneration.fromConfig('t5-v1_1-tiny', { seed: 1, device });
    model.train();
    await broadcastParameters(pg, model.parameters());
    const opt = new Adafactor(model);
    const batch = { inputIds: [[5, 6, 7, 1]], labels: [[8, 9, 1]] };
    const before = model.forwardBackward(batch).loss as number;
    const traffic = await allReduceGradients(pg, model.parameters());
    opt.step();
    model.zeroGrad();
    const after = model.forward(batch).loss as number;
    checks.dataParallelStep = Number.isFinite(after) && after !== before;
    checks.traffic = traffic;
    opt.dispose();
    model.dispose();
  } finally {
    await pg.destroy();
  }
  const ok = checks.allReduceSum === true && checks.broadcast === true && checks.dataParallelStep === true;
  return { part: 'nccl', device, ok, checks, ms: Date.now() - t0 };
}

async function main() {
  const [cmd, ...rest] = process.argv
    .slice(2)
    .filter((a, i, all) => !a.startsWith('--') && !all[i - 1]?.startsWith('--'));
  let result: Record<string, unknown>;
  let out: string | undefined;
  if (cmd === 'parity') {
    const [dir, device, o] = rest;
    if (!dir || !device || !o) throw new Error('usage: parity DIR DEVICE OUT.json');
    out = o;
    result = await parity(dir, device);
  } else if (cmd === 'speed') {
    const [dir, device, o] = rest;
    if (!dir || !device || !o)
      throw new Error('usage: speed DIR DEVICE OUT.json [--config --dtype --batch ...]');
    out = o;
    const dtype = arg('dtype', 'bfloat16');
    if (dtype !== 'float32' && dtype !== 'bfloat16') throw new Error(`--dtype must be float32 or bfloat16`);
    result = await speed(dir, device, {
      config: arg('config', 't5-v1_1-base'),
      dtype,
      B: Number(arg('batch', '32')),
      S: Number(arg('input', '512')),
      T: Number(arg('target', '114')),
      N: Number(arg('new', '64')),
      steps: Number(arg('steps', '10')),
    });
  } else if (cmd === 'nccl') {
    const [device, o] = rest;
    if (!device || !o) throw new Error('usage: nccl DEVICE OUT.json [--port P]');
    out = o;
    result = await nccl(device, Number(arg('port', '29611')));
  } else {
    throw new Error('usage: ext5_side.js parity|speed|nccl ...');
  }
  fs.writeFileSync(out, `${JSON.stringify(result, null, 2)}\n`);
  console.log(JSON.stringify(result).slice(0, 2000));
  // A part whose checks fail exits 1, so that run.sh's steps.tsv and summary.json say so.
  if (result.ok === false) process.exitCode = 1;
}

if (require.main === module)
  main().catch((e) => {
    console.error(e);
    process.exit(1);
  });
