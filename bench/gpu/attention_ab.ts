/**
 * Attention path A/B: the same model built twice, once on libtorch 2.x's fused
 * scaled_dot_product_attention (the default there) and once on the explicit matmul/softmax path
 * (EXT5_SDPA=0, read when a model is created), same seed, batch and device; training steps
 * (forward + backward + Adafactor) and greedy generation, the two sides interleaved so that
 * they share the machine's background load. Also reports the loss difference of the two paths.
 * On libtorch 1.x both sides take the explicit path (the report says which one ran).
 *
 * Run: npx tsc -p tsconfig.build.json && node dist/bench/gpu/attention_ab.js
 *      [--device cpu|cuda] [--configs t5-v1_1-small] [--dtype float32|bfloat16] [--batch 4]
 *      [--input 128] [--target 32] [--new 32] [--steps 5] [--threads N] [--out file.json]
 */
import * as fs from 'node:fs';
import { T5ForConditionalGeneration } from '../../lib/model/t5';
import { preset } from '../../lib/model/t5_presets';
import { torch } from '../../lib/native/torch';
import { Adafactor } from '../../lib/optim/adafactor';
import { setNumThreads } from '../../lib/tensor/tensor';
import { arg } from '../args';
import { best, randomIds } from '../t5_interleave';

/** A model created with EXT5_SDPA set to `sdpa` (the variable is only read at creation). */
function build(
  cfg: Record<string, unknown>,
  sdpa: boolean,
  device: string,
  dtype: 'float32' | 'bfloat16',
): T5ForConditionalGeneration {
  const before = process.env.EXT5_SDPA;
  process.env.EXT5_SDPA = sdpa ? '1' : '0';
  try {
    return T5ForConditionalGeneration.fromConfig(cfg, { seed: 0, device, computeDtype: dtype });
  } finally {
    if (before === undefined) delete process.env.EXT5_SDPA;
    else process.env.EXT5_SDPA = before;
  }
}

export interface AbRow {
  config: string;
  device: string;
  dtype: string;
  batch: string;
  sdpaAvailable: boolean;
  lossDiff: number;
  trainStepMsSdpa: number;
  trainStepMsExplicit: number;
  trainSpeedup: number;
  generateTokPerSSdpa: number;
  generateTokPerSExplicit: number;
  generateSpeedup: number;
}

export function runAb(opts: {
  configs: string[];
  device: string;
  dtype: 'float32' | 'bfloat16';
  B: number;
  S: number;
  T: number;
  N: number;
  steps: number;
}): AbRow[] {
  const rows: AbRow[] = [];
  const torchMajor = torch().info().torchVersionMajor;
  for (const name of opts.configs) {
    const cfg = { ...preset(name), dropout_rate: 0 };
    const { B, S, T, N } = opts;
    const sides = [true, false].map((sdpa) => {
      const model = build(cfg, sdpa, opts.device, opts.dtype);
      model.train();
      return { sdpa, model, opt: new Adafactor(model) };
    });
    const batch = {
      inputIds: { data: randomIds(B * S, cfg.vocab_size, 1), shape: [B, S] },
      labels: { data: randomIds(B * T, cfg.vocab_size, 2), shape: [B, T] },
    };
    const losses: number[] = [];
    const step = (s: (typeof sides)[number]) => {
      const t0 = process.hrtime.bigint();
      const { loss } = s.model.forwardBackward(batch);
      s.opt.step();
      s.model.zeroGrad();
      // forwardBackward returns a number, so the device work has finished here.
      return { sec: Number(process.hrtime.bigint() - t0) / 1e9, loss: loss ?? Number.NaN };
    };
    // The first step of each side also checks that both paths give the same loss (same weights).
    for (const s of sides) losses.push(step(s).loss);
    const times: number[][] = [[], []];
    for (let i = 0; i < opts.steps; i++)
      sides.forEach((s, j) => {
        times[j]?.push(step(s).sec);
      });
    const gen: number[][] = [[], []];
    const ids = { data: randomIds(B * S, cfg.vocab_size, 3), shape: [B, S] };
    for (const s of sides) s.model.eval();
    for (let i = 0; i <= Math.max(1, Math.floor(opts.steps / 2)); i++)
      sides.forEach((s, j) => {
        const t0 = process.hrtime.bigint();
        const out = s.model.generate(ids, null, { maxNewTokens: N });
        const dt = Number(process.hrtime.bigint() - t0) / 1e9;
        const tokens = B * ((out.shape[1] as number) - 1);
        out.dispose();
        if (i > 0) gen[j]?.push(tokens / dt); // the first call warms up
      });
    for (const s of sides) {
      s.opt.dispose();
      s.model.dispose();
    }
    const tS = best(times[0] ?? []);
    const tE = best(times[1] ?? []);
    const gS = -best((gen[0] ?? []).map((x) => -x));
    const gE = -best((gen[1] ?? []).map((x) => -x));
    rows.push({
      config: name,
      device: opts.device,
      dtype: opts.dtype,
      batch: `${B}x${S}/${T}`,
      sdpaAvailable: torchMajor >= 2,
      lossDiff: Math.abs((losses[0] ?? 0) - (losses[1] ?? 0)),
      trainStepMsSdpa: +(tS * 1e3).toFixed(2),
      trainStepMsExplicit: +(tE * 1e3).toFixed(2),
      trainSpeedup: +(tE / tS).toFixed(3),
      generateTokPerSSdpa: Math.round(gS),
      generateTokPerSExplicit: Math.round(gE),
      generateSpeedup: +(gS / gE).toFixed(3),
    });
  }
  return rows;
}

function main() {
  const threads = Number(arg('threads', '0'));
  if (threads > 0) setNumThreads(threads);
  const dtype = arg('dtype', 'float32');
  if (dtype !== 'float32' && dtype !== 'bfloat16')
    throw new Error(`--dtype must be float32 or bfloat16, not ${dtype}`);
  const rows = runAb({
    configs: arg('configs', 't5-v1_1-small').split(','),
    device: arg('device', 'cpu'),
    dtype,
    B: Number(arg('batch', '4')),
    S: Number(arg('input', '128')),
    T: Number(arg('target', '32')),
    N: Number(arg('new', '32')),
    steps: Number(arg('steps', '5')),
  });
  console.table(rows);
  const summary = { bench: 'attention_ab', rows };
  console.log(JSON.stringify(summary));
  const out = arg('out', '');
  if (out) fs.writeFileSync(out, `${JSON.stringify(summary, null, 2)}\n`);
}

if (require.main === module) main();
