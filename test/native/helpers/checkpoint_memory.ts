/**
 * Peak memory and step time of training steps with and without activation checkpointing, one
 * configuration per child process (test/native/t5_checkpointing_child.ts), so the kernel's
 * resident-set high-water mark belongs to that configuration alone. Used by
 * test/native/t5_checkpointing.test.ts and bench/checkpointing.ts.
 */
import { spawnSync } from 'node:child_process';
import * as path from 'node:path';
import { preset } from '../../../lib/model/t5_presets';
import { tsHookSource } from './ts_hook';

export interface CheckpointMemorySpec {
  /** A Hugging Face T5 config (validated by the model). */
  config: Record<string, unknown>;
  checkpointing: boolean;
  batch: number;
  inputsLength: number;
  targetsLength: number;
  steps: number;
  threads: number;
  /**
   * Keep the float32 gradients of the warm-up step allocated, so the measured steps accumulate into
   * them as a micro-batch of gradient accumulation does: the peak added is then activations and
   * transients only (test/native/memory_plan.test.ts compares it with the planner's).
   */
  gradientsAllocated?: boolean;
  /** Compute dtype of the model (default float32). */
  computeDtype?: 'float32' | 'bfloat16';
  /**
   * glibc's MALLOC_MMAP_THRESHOLD_ for the child: fixed (which also stops glibc from raising it),
   * every allocation from this size up gets its own mapping and goes back to the kernel when freed,
   * so the resident-set peak follows the bytes of live tensors instead of what the heap retains.
   */
  mallocMmapThreshold?: number;
}

/** The model and batch of a measurement, without the per-run settings. */
export type CheckpointModelSpec = Omit<
  CheckpointMemorySpec,
  'checkpointing' | 'steps' | 'threads' | 'gradientsAllocated' | 'computeDtype' | 'mallocMmapThreshold'
>;

export interface CheckpointMemoryResult {
  checkpointing: boolean;
  /** VmRSS before the measured steps, MiB. */
  rssBeforeMiB: number;
  /** VmHWM after the measured steps minus rssBeforeMiB: the peak memory the steps added, MiB. */
  peakAddedMiB: number;
  /** Wall time of each measured step, ms. */
  stepMs: number[];
  losses: number[];
}

/**
 * A tiny T5.1.1 widened to d_model 128 with 4 + 4 blocks, at 16 rows of 128 input / 64 target
 * tokens: activations dwarf its 1.5M parameters, so checkpointing shows in a second of CPU time.
 */
export function wideTinySpec(): CheckpointModelSpec {
  return {
    config: {
      ...preset('t5-v1_1-tiny'),
      vocab_size: 256,
      d_model: 128,
      d_kv: 32,
      num_heads: 4,
      d_ff: 512,
      num_layers: 4,
      num_decoder_layers: 4,
      dropout_rate: 0.1,
    },
    batch: 16,
    inputsLength: 128,
    targetsLength: 64,
  };
}

/** Runs one configuration in a fresh process and returns what it measured. */
export function measureCheckpointMemory(
  spec: CheckpointMemorySpec,
  timeoutMs = 600_000,
): CheckpointMemoryResult {
  const root = path.join(__dirname, '..', '..', '..');
  const r = spawnSync(
    process.execPath,
    [
      '-e',
      tsHookSource(),
      path.join(root, 'test', 'native', 't5_checkpointing_child.ts'),
      JSON.stringify(spec),
    ],
    {
      cwd: root,
      encoding: 'utf8',
      timeout: timeoutMs,
      env:
        spec.mallocMmapThreshold === undefined
          ? process.env
          : { ...process.env, MALLOC_MMAP_THRESHOLD_: String(spec.mallocMmapThreshold) },
    },
  );
  if (r.status !== 0) throw new Error(`measurement child failed (status ${r.status}): ${r.stderr}`);
  return JSON.parse(r.stdout.trim()) as CheckpointMemoryResult;
}
