/**
 * Greedy generation throughput with a KV cache, side by side with Python torch on the same
 * libtorch: ours is one native `generate` call; the baseline is the reference's
 * incremental decoder (test/reference/t5_reference.py `greedy_cached`, via
 * bench/baselines/t5_generate.py), same config, batch, lengths and threads, runs interleaved.
 * Float32, and with `--dtypes float32,bfloat16` also bfloat16 compute (Python: torch.autocast("cpu",
 * bfloat16)). Target: ours >= 1.0x.
 *
 * Run: npx tsc -p tsconfig.build.json && node dist/bench/generate.js
 *      [--threads N] [--reps 4] [--batch 4] [--input 128] [--new 32] [--configs t5-tiny,t5-small]
 *      [--dtypes float32]
 */
import * as path from 'node:path';
import { T5ForConditionalGeneration } from '../lib/model/t5';
import { preset } from '../lib/model/t5_presets';
import { setNumThreads } from '../lib/tensor/tensor';
import { arg } from './args';
import { Baseline, best, t5BenchOptions } from './t5_interleave';

async function main() {
  const { threads, B, S, configs, dtypes, python } = t5BenchOptions();
  const reps = Number(arg('reps', '4'));
  const N = Number(arg('new', '32'));
  setNumThreads(threads);
  const rows: Record<string, unknown>[] = [];
  for (const name of configs)
    for (const dtype of dtypes) {
      const cfg = preset(name);
      const model = T5ForConditionalGeneration.fromConfig(cfg, { seed: 0, computeDtype: dtype });
      const ids = new Int32Array(B * S);
      for (let i = 0; i < ids.length; i++) ids[i] = 2 + ((i * 7919) % (cfg.vocab_size - 2));
      const run = () => {
        const t0 = process.hrtime.bigint();
        const out = model.generate({ data: ids, shape: [B, S] }, null, { maxNewTokens: N });
        const dt = Number(process.hrtime.bigint() - t0) / 1e9;
        const tokens = B * ((out.shape[1] as number) - 1);
        out.dispose();
        return tokens / dt;
      };
      run();
      const script = path.join(__dirname, '..', '..', 'bench', 'baselines', 't5_generate.py');
      const py = new Baseline(python, [
        script,
        JSON.stringify(cfg),
        String(B),
        String(S),
        String(N),
        String(threads),
        dtype,
      ]);
      await py.ready();
      const ours: number[] = [];
      const theirs: number[] = [];
      for (let i = 0; i < reps; i++) {
        ours.push(run());
        const [sec, tokens] = await py.run();
        theirs.push((tokens as number) / (sec as number));
      }
      py.close();
      model.dispose();
      // best = highest throughput
      const o = -best(ours.map((x) => -x));
      const p = -best(theirs.map((x) => -x));
      const row = {
        config: name,
        dtype,
        batch: `${B}x${S} +${N}`,
        threads,
        oursTokensPerS: Math.round(o),
        pythonTokensPerS: Math.round(p),
        ratio: +(o / p).toFixed(3),
      };
      rows.push(row);
      console.log(JSON.stringify(row));
    }
  console.table(rows);
  console.log(JSON.stringify({ bench: 't5_generate', target: 'ratio >= 1.0', rows }));
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
