/**
 * T5 training-step throughput, side by side with Python torch on the same libtorch:
 * one step = forward + cross-entropy + backward (the native `forwardBackward` call) on random
 * token batches, against test/reference/t5_reference.py doing the same step in Python
 * (bench/baselines/t5_train_step.py), same config, batch, dtype and thread count, the two sides'
 * steps interleaved so that they share the machine's background load. Dropout is 0 on both
 * sides (the reference has none). Our step is also timed with the project's Adafactor update
 * added (no Python counterpart: torch 1.13 has no Adafactor). Each config runs in float32, and
 * with `--dtypes float32,bfloat16` also in bfloat16 compute (ours: computeDtype; Python:
 * torch.autocast("cpu", bfloat16)); on a CPU without native bfloat16 matmuls both sides emulate
 * them, and a t5-small step takes tens of seconds instead of one. Target: ours >= 1.1x.
 * Each row is printed as soon as its config is done (t5-tiny first: seconds; t5-small about a
 * minute at the defaults on 2 cores), the table and the JSON summary at the end.
 *
 * Run: npx tsc -p tsconfig.build.json && node dist/bench/train_step.js
 *      [--threads N] [--steps 6] [--batch 4] [--input 128] [--target 32] [--configs t5-tiny,t5-small]
 *      [--dtypes float32]
 * Needs /usr/bin/python3 with Debian's python3-torch.
 */
import * as path from 'node:path';
import { T5ForConditionalGeneration } from '../lib/model/t5';
import { preset } from '../lib/model/t5_presets';
import { Adafactor } from '../lib/optim/adafactor';
import { setNumThreads } from '../lib/tensor/tensor';
import { arg } from './args';
import { Baseline, best, randomIds, t5BenchOptions } from './t5_interleave';

async function main() {
  const { threads, B, S, configs, dtypes, python } = t5BenchOptions();
  const steps = Number(arg('steps', '6'));
  const T = Number(arg('target', '32'));
  setNumThreads(threads);
  const rows: Record<string, unknown>[] = [];
  for (const name of configs)
    for (const dtype of dtypes) {
      const cfg = { ...preset(name), dropout_rate: 0 };
      const model = T5ForConditionalGeneration.fromConfig(cfg, { seed: 0, computeDtype: dtype });
      model.train();
      const batch = {
        inputIds: { data: randomIds(B * S, cfg.vocab_size, 1), shape: [B, S] },
        labels: { data: randomIds(B * T, cfg.vocab_size, 2), shape: [B, T] },
      };
      const opt = new Adafactor(model);
      const step = (withOptimizer: boolean) => {
        const t0 = process.hrtime.bigint();
        model.forwardBackward(batch);
        if (withOptimizer) opt.step();
        model.zeroGrad();
        return Number(process.hrtime.bigint() - t0) / 1e9;
      };
      step(true);
      step(false);
      const script = path.join(__dirname, '..', '..', 'bench', 'baselines', 't5_train_step.py');
      const py = new Baseline(python, [
        script,
        JSON.stringify(cfg),
        String(B),
        String(S),
        String(T),
        String(threads),
        dtype,
      ]);
      await py.ready();
      const ours: number[] = [];
      const oursOpt: number[] = [];
      const theirs: number[] = [];
      for (let i = 0; i < steps; i++) {
        ours.push(step(false));
        theirs.push((await py.run())[0] as number);
        oursOpt.push(step(true));
      }
      py.close();
      opt.dispose();
      model.dispose();
      const tokens = B * (S + T);
      const o = best(ours);
      const p = best(theirs);
      const row = {
        config: name,
        dtype,
        batch: `${B}x${S}/${T}`,
        threads,
        oursStepMs: +(o * 1e3).toFixed(1),
        pythonStepMs: +(p * 1e3).toFixed(1),
        oursTokensPerS: Math.round(tokens / o),
        pythonTokensPerS: Math.round(tokens / p),
        ratio: +(p / o).toFixed(3),
        oursWithAdafactorStepMs: +(best(oursOpt) * 1e3).toFixed(1),
      };
      rows.push(row);
      console.log(JSON.stringify(row));
    }
  console.table(rows);
  console.log(JSON.stringify({ bench: 't5_train_step', target: 'ratio >= 1.1', rows }));
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
