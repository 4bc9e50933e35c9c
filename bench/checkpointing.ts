/**
 * Activation checkpointing, side by side: step time (forward + loss + backward) and the peak
 * memory a training step adds, with and without `gradientCheckpointing`, per model config. Each
 * configuration runs in its own process (test/native/helpers/checkpoint_memory.ts), so the peak is
 * that process's resident-set high-water mark (VmHWM, reset before the measured steps) above its
 * resident memory before them: activations, gradients and libtorch's temporaries, all real
 * allocations. The two sides alternate (off, on, off, on) so that they share the machine's
 * background load; the step time is the best measured step of either run, the peak the larger.
 * Dropout is 0.1 on both sides. Figures go to docs/scale.md.
 *
 * Run: npx tsc -p tsconfig.build.json &&
 *   node -e "$(node -p "require('./dist/test/native/helpers/ts_hook').tsHookSource()")" ./bench/checkpointing.ts
 *   [--threads 1] [--steps 3] [--configs t5-small,tiny-4x128]
 */
import { preset } from '../lib/model/t5_presets';
import {
  type CheckpointMemoryResult,
  type CheckpointModelSpec,
  measureCheckpointMemory,
  wideTinySpec,
} from '../test/native/helpers/checkpoint_memory';
import { arg } from './args';

/** The configs this bench knows: a model config and the batch it is measured at. */
const CONFIGS: Record<string, CheckpointModelSpec> = {
  // T5 v1.0 small (60M parameters, vocab 32128) at 4 rows of 256 input / 64 target tokens.
  't5-small': {
    config: { ...preset('t5-small'), dropout_rate: 0.1 },
    batch: 4,
    inputsLength: 256,
    targetsLength: 64,
  },
  // T5.1.1 small (77M parameters, untied, gated GELU) at the same batch.
  't5-v1_1-small': {
    config: { ...preset('t5-v1_1-small'), dropout_rate: 0.1 },
    batch: 4,
    inputsLength: 256,
    targetsLength: 64,
  },
  // A tiny T5.1.1 widened to d_model 128 and 4 + 4 blocks, where activations dwarf the weights.
  'tiny-4x128': wideTinySpec(),
};

function main(): void {
  const threads = Number(arg('threads', '1'));
  const steps = Number(arg('steps', '3'));
  const names = arg('configs', 't5-small,tiny-4x128').split(',');
  const rows: Record<string, unknown>[] = [];
  for (const name of names) {
    const base = CONFIGS[name];
    if (!base) throw new Error(`unknown config '${name}' (known: ${Object.keys(CONFIGS).join(', ')})`);
    const runs: Record<'off' | 'on', CheckpointMemoryResult[]> = { off: [], on: [] };
    for (let round = 0; round < 2; round++) {
      for (const on of [false, true]) {
        runs[on ? 'on' : 'off'].push(measureCheckpointMemory({ ...base, checkpointing: on, steps, threads }));
      }
    }
    const stepMs = (rs: CheckpointMemoryResult[]) => Math.min(...rs.flatMap((r) => r.stepMs));
    const peak = (rs: CheckpointMemoryResult[]) => Math.max(...rs.map((r) => r.peakAddedMiB));
    const same = runs.off.every((r, i) => r.losses.every((l, j) => l === runs.on[i]!.losses[j]));
    const offMs = stepMs(runs.off);
    const onMs = stepMs(runs.on);
    rows.push({
      config: name,
      batch: `${base.batch}x${base.inputsLength}/${base.targetsLength}`,
      threads,
      stepMsOff: +offMs.toFixed(0),
      stepMsOn: +onMs.toFixed(0),
      timeRatio: +(onMs / offMs).toFixed(2),
      peakMiBOff: +peak(runs.off).toFixed(1),
      peakMiBOn: +peak(runs.on).toFixed(1),
      memoryRatio: +(peak(runs.on) / peak(runs.off)).toFixed(2),
      rssBeforeMiB: +runs.off[0]!.rssBeforeMiB.toFixed(0),
      sameLosses: same,
    });
    console.error(JSON.stringify(rows[rows.length - 1]));
  }
  console.table(rows);
}

main();
