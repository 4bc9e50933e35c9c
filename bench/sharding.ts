/**
 * Sharded data parallelism side by side with replicated data parallelism (`training.sharding`
 * none, the baseline): for each world size, the same short pre-training run under every mode,
 * launched with `ext5 launch` on this machine (Gloo over loopback), all with activation
 * checkpointing so that only the sharding differs. Reports, per mode, what the largest rank holds
 * after its first step (the run's `memory` record: parameters, gradients, optimizer state, in MB
 * and as a fraction of `none`), the median step time and its ratio to `none`, and whether the
 * losses equal `none`'s (largest relative difference). The modes alternate within a round so that
 * they share the machine's background load.
 *
 * The default model is T5.1.1 small's blocks over the mini vocabulary: 8 + 8 blocks of d_model 512,
 * where, as in the paper's sizes, the blocks hold nearly all parameters.
 *
 * Run: npm run bench -- sharding [--world 2,4] [--steps 6] [--config t5-v1_1-small] [--rounds 1]
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { MEMORY_SPLIT, readMetrics } from '../lib/run/metrics_log';
import { arg } from './args';

const MODES = ['none', 'optimizer', 'gradients', 'full'] as const;
const PARTS = ['parameters', 'gradients', 'optimizer'] as const;
const CLI = path.join(__dirname, '..', 'bin', 'ext5.js');

interface Outcome {
  losses: number[];
  stepTimes: number[];
  memory: Record<string, number>;
}

function runOnce(world: number, mode: string, dir: string, steps: number, config: string): Outcome {
  const r = spawnSync(
    process.execPath,
    [
      CLI,
      'launch',
      '--nproc',
      String(world),
      '--timeout',
      '600',
      '--',
      'pretrain',
      '--preset',
      'tiny-test',
      '--no-progress',
      '--steps',
      String(steps),
      '--batch-size',
      String(2 * world),
      '--gradient-checkpointing',
      '--set',
      `model.config=${config}`,
      '--set',
      'data.mixtureOrTask=mini_nli_counts',
      '--set',
      'eval.every=0',
      '--set',
      'checkpoint.every=0',
      '--set',
      'training.threads=1',
      '--set',
      `training.sharding=${mode}`,
      '--run-dir',
      dir,
    ],
    { encoding: 'utf8' },
  );
  if (r.status !== 0) throw new Error(`${mode} on ${world} ranks failed:\n${r.stderr.slice(-2000)}`);
  const { records } = readMetrics(path.join(dir, 'metrics.jsonl'));
  const train = records.filter((x) => x.split === 'train');
  return {
    losses: train.map((x) => x.values.loss!),
    stepTimes: train.slice(1).map((x) => x.values.step_time!), // the first step allocates the state
    memory: records.find((x) => x.split === MEMORY_SPLIT)!.values,
  };
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
};
const mb = (b: number) => (b / 1e6).toFixed(2);

function main(): void {
  const worlds = arg('world', '2,4').split(',').map(Number);
  const steps = Number(arg('steps', '6'));
  const rounds = Number(arg('rounds', '1'));
  const config = arg('config', 't5-v1_1-small');
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'ext5-bench-sharding-'));
  console.log(
    `sharded data parallelism, ${config} blocks, mini vocabulary, 2 rows per rank, 64/16 tokens, checkpointing on, ${steps} steps; ${os.cpus().length} cores, 1 thread per rank, Gloo on loopback`,
  );
  try {
    for (const world of worlds) {
      const got: Record<string, Outcome[]> = {};
      for (let round = 0; round < rounds; round++) {
        for (const mode of MODES) {
          const dir = path.join(tmp, `${world}-${mode}-${round}`);
          const list = got[mode] ?? [];
          list.push(runOnce(world, mode, dir, steps, config));
          got[mode] = list;
        }
      }
      const base = got.none!;
      const baseTime = median(base.flatMap((o) => o.stepTimes));
      console.log(
        `\n${world} ranks (model: ${mb(base[0]!.memory.model_parameters!)} MB of float32 parameters)`,
      );
      console.log(
        `${'mode'.padEnd(10)} ${PARTS.map((p) => `${p} MB (×none)`.padStart(24)).join('')} ${'step s'.padStart(8)} ${'×none'.padStart(7)} ${'loss vs none'.padStart(13)}`,
      );
      for (const mode of MODES) {
        const os_ = got[mode]!;
        const m = os_[0]!.memory;
        const cells = PARTS.map((p) => {
          const v = m[`max.${p}`]!;
          const ref = base[0]!.memory[`max.${p}`]!;
          return `${mb(v)} (${(v / ref).toFixed(3)})`.padStart(24);
        }).join('');
        const t = median(os_.flatMap((o) => o.stepTimes));
        const diff = Math.max(
          ...os_[0]!.losses.map((l, i) => Math.abs(l - base[0]!.losses[i]!) / Math.max(1, Math.abs(l))),
        );
        console.log(
          `${mode.padEnd(10)} ${cells} ${t.toFixed(3).padStart(8)} ${(t / baseTime).toFixed(2).padStart(7)} ${diff.toExponential(1).padStart(13)}`,
        );
      }
    }
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}

main();
