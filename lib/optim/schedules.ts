/**
 * Learning-rate schedules: pure functions of the step (0-based, the number of optimizer steps
 * already taken). Pass the value to `Adafactor.step(lr)` with `relativeStep: false`.
 *
 * Sources (logic ported, not copied):
 *  - T5 pre-training: mesh/mesh_tensorflow/transformer/learning_rate_schedules.py `rsqrt_decay`
 *    (lr = 1/sqrt(max(step - offset, warmup)), 0.01 for the first 10^4 steps; T5 paper §3.1.2);
 *  - linear and cosine with warm-up: huggingface/transformers src/transformers/optimization.py
 *    `get_linear_schedule_with_warmup`, `get_cosine_schedule_with_warmup` and
 *    `get_cosine_with_min_lr_schedule_with_warmup` (warm-up from 0 at step 0).
 *
 * @example
 * const lr = makeSchedule({ name: 'rsqrt' });   // T5 pre-training
 * lr(0);      // 0.01
 * lr(40_000); // 0.005
 * makeSchedule({ name: 'constant', lr: 1e-3 })(123); // 0.001 (T5 fine-tuning)
 */
import { didYouMean, Ext5Error } from '../util/errors';

/** A learning rate as a function of the 0-based step. */
export type Schedule = (step: number) => number;

function checkStep(step: number): void {
  if (!Number.isFinite(step) || step < 0) {
    throw new Ext5Error('EXT5_INVALID_ARG', `schedule step must be a finite number >= 0, got ${step}`);
  }
}

function positive(name: string, v: number, allowZero = false): void {
  if (!Number.isFinite(v) || v < 0 || (!allowZero && v === 0)) {
    throw new Ext5Error(
      'EXT5_INVALID_ARG',
      `${name} must be a finite number ${allowZero ? '>=' : '>'} 0, got ${v}`,
    );
  }
}

/**
 * T5's inverse square root: `scale / sqrt(max(step - offset, warmupSteps))`.
 * Defaults give 0.01 for the first 10^4 steps, then 1/sqrt(step).
 */
export function inverseSqrt(opts: { warmupSteps?: number; scale?: number; offset?: number } = {}): Schedule {
  const { warmupSteps = 10_000, scale = 1, offset = 0 } = opts;
  positive('warmupSteps', warmupSteps);
  positive('scale', scale);
  positive('offset', offset, true);
  return (step) => {
    checkStep(step);
    return scale / Math.sqrt(Math.max(step - offset, warmupSteps));
  };
}

/** A constant rate (T5 fine-tuning uses 1e-3). */
export function constant(lr = 1e-3): Schedule {
  positive('lr', lr);
  return (step) => {
    checkStep(step);
    return lr;
  };
}

interface WarmupDecay {
  /** The rate at the end of warm-up. */
  peak: number;
  warmupSteps?: number;
  totalSteps: number;
  /** Floor reached at totalSteps (default 0). */
  minLr?: number;
}

function checkWarmupDecay(o: WarmupDecay): Required<WarmupDecay> {
  const { peak, warmupSteps = 0, totalSteps, minLr = 0 } = o;
  positive('peak', peak);
  positive('warmupSteps', warmupSteps, true);
  positive('totalSteps', totalSteps);
  positive('minLr', minLr, true);
  if (warmupSteps > totalSteps) {
    throw new Ext5Error(
      'EXT5_INVALID_ARG',
      `warmupSteps (${warmupSteps}) must not exceed totalSteps (${totalSteps})`,
    );
  }
  if (minLr > peak)
    throw new Ext5Error('EXT5_INVALID_ARG', `minLr (${minLr}) must not exceed peak (${peak})`);
  return { peak, warmupSteps, totalSteps, minLr };
}

/** Linear warm-up from 0 to `peak`, then linear decay to `minLr` at `totalSteps` (and after). */
export function linearWarmupDecay(opts: WarmupDecay): Schedule {
  const { peak, warmupSteps, totalSteps, minLr } = checkWarmupDecay(opts);
  return (step) => {
    checkStep(step);
    if (step < warmupSteps) return (peak * step) / Math.max(1, warmupSteps);
    const frac = Math.max(0, (totalSteps - step) / Math.max(1, totalSteps - warmupSteps));
    return minLr + (peak - minLr) * frac;
  };
}

/** Linear warm-up from 0 to `peak`, then a half cosine down to `minLr` at `totalSteps`. */
export function cosineWarmupDecay(opts: WarmupDecay): Schedule {
  const { peak, warmupSteps, totalSteps, minLr } = checkWarmupDecay(opts);
  return (step) => {
    checkStep(step);
    if (step < warmupSteps) return (peak * step) / Math.max(1, warmupSteps);
    const progress = Math.min(1, (step - warmupSteps) / Math.max(1, totalSteps - warmupSteps));
    return minLr + (peak - minLr) * 0.5 * (1 + Math.cos(Math.PI * progress));
  };
}

/** A schedule as it appears in a config file. */
export type ScheduleSpec =
  | { name: 'rsqrt'; warmupSteps?: number; scale?: number; offset?: number }
  | { name: 'constant'; lr?: number }
  | ({ name: 'linear' } & WarmupDecay)
  | ({ name: 'cosine' } & WarmupDecay);

const KEYS: Record<ScheduleSpec['name'], readonly string[]> = {
  rsqrt: ['warmupSteps', 'scale', 'offset'],
  constant: ['lr'],
  linear: ['peak', 'warmupSteps', 'totalSteps', 'minLr'],
  cosine: ['peak', 'warmupSteps', 'totalSteps', 'minLr'],
};

/**
 * Builds a schedule from a config object, rejecting unknown names and keys with suggestions.
 * @param where names the config location in errors (e.g. 'train.yaml: schedule')
 */
export function makeSchedule(spec: ScheduleSpec, where = 'schedule'): Schedule {
  if (spec === null || typeof spec !== 'object') {
    throw new Ext5Error('EXT5_CONFIG', `${where} must be an object with a 'name'`);
  }
  const name = (spec as { name?: unknown }).name;
  if (typeof name !== 'string' || !Object.hasOwn(KEYS, name)) {
    throw new Ext5Error(
      'EXT5_CONFIG',
      `${where}: unknown schedule ${JSON.stringify(name)}${typeof name === 'string' ? didYouMean(name, Object.keys(KEYS)) : ''}`,
      `use one of ${Object.keys(KEYS).join(', ')}`,
    );
  }
  const allowed = KEYS[name as ScheduleSpec['name']];
  for (const key of Object.keys(spec)) {
    if (key !== 'name' && !allowed.includes(key)) {
      throw new Ext5Error(
        'EXT5_CONFIG',
        `${where}: '${name}' has no option '${key}'${didYouMean(key, allowed)}`,
        `options of '${name}': ${allowed.join(', ')}`,
      );
    }
  }
  for (const key of allowed) {
    const v = (spec as unknown as Record<string, unknown>)[key];
    if (v !== undefined && typeof v !== 'number') {
      throw new Ext5Error('EXT5_CONFIG', `${where}: '${key}' must be a number, got ${JSON.stringify(v)}`);
    }
  }
  try {
    switch (spec.name) {
      case 'rsqrt':
        return inverseSqrt(spec);
      case 'constant':
        return constant(spec.lr);
      case 'linear':
        return linearWarmupDecay(spec);
      case 'cosine':
        return cosineWarmupDecay(spec);
    }
  } catch (e) {
    if (e instanceof Ext5Error) throw new Ext5Error('EXT5_CONFIG', `${where}: ${e.message}`, e.hint);
    throw e;
  }
}
