// Child process of helpers/checkpoint_memory.ts (t5_checkpointing.test.ts, bench/checkpointing.ts):
// one configuration per process, so the resident-set high-water mark (VmHWM) is its own. Builds a T5,
// runs one warm-up step at a tiny batch (thread pools, allocator), records VmRSS, then runs
// `steps` forwardBackward() calls at the measured batch and prints one JSON line: the peak
// resident memory during the steps above the resident memory before them, and the step times.
// Run: node -e "$(tsHookSource())" t5_checkpointing_child.ts '<json spec>'
import * as fs from 'node:fs';
import { T5ForConditionalGeneration } from '../../lib/model/t5';
import { manualSeed, setNumThreads } from '../../lib/tensor/tensor';
import type { CheckpointMemoryResult, CheckpointMemorySpec } from './helpers/checkpoint_memory';

function statusKiB(field: 'VmRSS' | 'VmHWM'): number {
  const m = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(fs.readFileSync('/proc/self/status', 'utf8'));
  if (!m) throw new Error(`/proc/self/status has no ${field}`);
  return Number(m[1]);
}

function rows(n: number, len: number, vocab: number, offset: number): number[][] {
  return Array.from({ length: n }, (_, i) =>
    Array.from({ length: len }, (_, j) => 2 + ((i * 31 + j * 7 + offset) % (vocab - 2))),
  );
}

function main(): void {
  const spec = JSON.parse(process.argv[2] ?? '') as CheckpointMemorySpec;
  setNumThreads(spec.threads);
  const model = T5ForConditionalGeneration.fromConfig(spec.config, {
    seed: 1,
    computeDtype: spec.computeDtype ?? 'float32',
  });
  model.train();
  model.gradientCheckpointing = spec.checkpointing;
  const vocab = model.config.vocab_size;
  const batch = (n: number) => ({
    inputIds: rows(n, spec.inputsLength, vocab, 0),
    labels: rows(n, spec.targetsLength, vocab, 5),
  });
  manualSeed(7);
  model.forwardBackward(batch(1));
  if (!spec.gradientsAllocated) model.zeroGrad();
  const big = batch(spec.batch);
  // Writing 5 to clear_refs resets VmHWM to the current RSS (Linux >= 4.0), so the warm-up and
  // model construction do not count; where it is refused, VmHWM still covers the larger steps.
  try {
    fs.writeFileSync('/proc/self/clear_refs', '5');
  } catch {
    // kept: the high-water mark since process start
  }
  const rssBefore = statusKiB('VmRSS');
  const stepMs: number[] = [];
  const losses: number[] = [];
  for (let s = 0; s < spec.steps; s++) {
    const t0 = process.hrtime.bigint();
    losses.push(model.forwardBackward(big).loss);
    stepMs.push(Number(process.hrtime.bigint() - t0) / 1e6);
    if (!spec.gradientsAllocated) model.zeroGrad();
  }
  const result: CheckpointMemoryResult = {
    checkpointing: spec.checkpointing,
    rssBeforeMiB: rssBefore / 1024,
    peakAddedMiB: (statusKiB('VmHWM') - rssBefore) / 1024,
    stepMs,
    losses,
  };
  model.dispose();
  process.stdout.write(`${JSON.stringify(result)}\n`);
}

main();
