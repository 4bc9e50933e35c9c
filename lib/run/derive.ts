/**
 * What a run's config means in numbers, each derived in exactly one place: rows per (micro-)batch
 * and per rank, the learning-rate schedule, Adafactor's options, libtorch threads, and whether ext5
 * can run it at all. The trainer, `ext5 plan` and the benchmarks call these instead of translating
 * config keys themselves; the data pipeline's options are built in lib/train/pipeline_options.ts.
 *
 * @example
 * const cfg = loadRunConfig({ preset: 'tiny-demo' });
 * scheduleSpec(cfg); // { name: 'constant', lr: ... }
 */
import * as os from 'node:os';
import type { AdafactorOptions } from '../optim/adafactor';
import { makeSchedule, type ScheduleSpec } from '../optim/schedules';
import { Ext5Error } from '../util/errors';
import type { ConfigSources, RunConfig } from './config_keys';

/** A config error that involves several keys, naming where each of them came from. */
export function crossError(message: string, keys: string[], sources: ConfigSources, hint: string): Ext5Error {
  const from = [...new Set(keys.map((k) => sources[k] ?? 'default'))].join(', ');
  return new Ext5Error('EXT5_CONFIG', `${message} (from ${from})`, hint);
}

/** Rows (sequences) per optimizer step and per micro-batch. */
export interface BatchRows {
  rowsPerStep: number;
  microBatchRows: number;
  gradAccumulation: number;
  /** Encoder tokens per step (rows x inputsLength), the unit of tokens/s. */
  tokensPerStep: number;
}

/**
 * Turns training.batchSize (in examples or tokens) and gradAccumulation into rows per micro-batch.
 * @example
 * batchRows(loadRunConfig({ set: ['training.batchUnit=tokens', 'training.batchSize=65536'] }));
 * // { rowsPerStep: 128, microBatchRows: 128, gradAccumulation: 1, tokensPerStep: 65536 }
 */
export function batchRows(c: RunConfig, sources: ConfigSources = {}): BatchRows {
  const t = c.training;
  let rows = t.batchSize;
  if (t.batchUnit === 'tokens') {
    if (t.batchSize % c.data.inputsLength !== 0) {
      throw crossError(
        `training.batchSize: ${t.batchSize} tokens is not a whole number of rows of data.inputsLength ${c.data.inputsLength}`,
        ['training.batchSize', 'data.inputsLength'],
        sources,
        `use a multiple of ${c.data.inputsLength}, e.g. ${Math.max(1, Math.round(t.batchSize / c.data.inputsLength)) * c.data.inputsLength}.`,
      );
    }
    rows = t.batchSize / c.data.inputsLength;
  }
  if (rows % t.gradAccumulation !== 0) {
    throw crossError(
      `training.gradAccumulation: ${rows} rows per step do not split into ${t.gradAccumulation} equal micro-batches`,
      ['training.batchSize', 'training.gradAccumulation'],
      sources,
      'make the rows per step a multiple of training.gradAccumulation.',
    );
  }
  return {
    rowsPerStep: rows,
    microBatchRows: rows / t.gradAccumulation,
    gradAccumulation: t.gradAccumulation,
    tokensPerStep: rows * c.data.inputsLength,
  };
}

/**
 * The learning-rate schedule of a config, in the form `makeSchedule` (lib/optim/schedules) takes.
 * @example
 * scheduleSpec(defaultRunConfig()); // { name: 'rsqrt', warmupSteps: 10000, scale: 1, offset: 0 }
 */
export function scheduleSpec(c: RunConfig): ScheduleSpec {
  const o = c.optimizer;
  switch (o.schedule) {
    case 'rsqrt':
      return { name: 'rsqrt', warmupSteps: o.warmupSteps ?? 10_000, scale: o.lr ?? 1, offset: o.offset };
    case 'constant':
      return { name: 'constant', lr: o.lr ?? 1e-3 };
    case 'linear':
    case 'cosine':
      return {
        name: o.schedule,
        peak: o.lr ?? 1e-3,
        warmupSteps: o.warmupSteps ?? 0,
        totalSteps: o.decaySteps ?? c.training.steps,
        minLr: o.minLr,
      };
  }
}

/**
 * Adafactor options of a config (lib/optim/adafactor). The rate comes from the schedule every step
 * (`relativeStep: false`), so `lr` here is the rate at step 0.
 */
export function adafactorOptions(c: RunConfig): AdafactorOptions {
  const o = c.optimizer;
  return {
    lr: makeSchedule(scheduleSpec(c))(0),
    relativeStep: false,
    scaleParameter: o.scaleParameter,
    eps1: o.eps1,
    eps2: o.eps2,
    clipThreshold: o.clipThreshold,
    decayRate: o.decayRate,
    beta1: o.beta1,
    weightDecay: o.weightDecay,
    factored: o.factored,
    minDimSizeToFactor: o.minDimSizeToFactor,
  };
}

/** libtorch threads for a config: training.threads, or every core. */
export function resolveThreads(c: RunConfig): number {
  return c.training.threads ?? os.availableParallelism();
}

/**
 * Rows of one rank's micro-batch: the micro-batch split evenly over the data-parallel processes.
 * @throws Ext5Error EXT5_CONFIG when the rows do not split.
 */
export function rankRows(c: RunConfig, worldSize: number): number {
  const rows = batchRows(c);
  if (rows.microBatchRows % worldSize !== 0) {
    throw new Ext5Error(
      'EXT5_CONFIG',
      `training.batchSize: ${rows.microBatchRows} rows per micro-batch do not split over ${worldSize} processes`,
      `use a batch size divisible by ${worldSize * rows.gradAccumulation}`,
    );
  }
  return rows.microBatchRows / worldSize;
}

/**
 * Refuses a config that asks for what ext5 cannot run: sharding `full` gathers each block's
 * parameters inside the checkpointed block (native/torch/t5_shard.cc), so it needs
 * model.gradientCheckpointing.
 * @throws Ext5Error EXT5_NOT_RUNNABLE naming the setting and the fix.
 */
export function checkRunnable(c: RunConfig): void {
  if (c.training.sharding !== 'full' || c.model.gradientCheckpointing) return;
  throw new Ext5Error(
    'EXT5_NOT_RUNNABLE',
    "training.sharding 'full' gathers each block's parameters from their owners while the block runs and frees them after, which runs through activation checkpointing; model.gradientCheckpointing is false",
    "set model.gradientCheckpointing=true (--gradient-checkpointing), or use training.sharding 'gradients'",
  );
}
