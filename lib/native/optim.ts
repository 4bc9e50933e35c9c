/**
 * The typed contract of the torch addon's optimizer exports (native/torch/adafactor.cc,
 * native/torch/grad_utils.cc). The public wrappers are in lib/optim/. Every entry validates its
 * arguments natively and throws errors with a `code` (EXT5_INVALID_ARG, EXT5_DTYPE, EXT5_BUSY,
 * EXT5_OPTIMIZER_STATE, EXT5_DISPOSED, ...).
 */

import { loadAddon } from './loader';
import { type DType, type TensorArg, type TensorHandle, torch } from './torch';

/** Adafactor options. Leave everything out for T5 pre-training; pass `lr` for a fixed/scheduled rate. */
export interface AdafactorOptions {
  /** Explicit learning rate (turns relativeStep off unless it was set). Schedules pass it to step(lr). */
  lr?: number;
  /** rho_t = min(1e-2, 1/sqrt(t)). Default: true when no lr is given. */
  relativeStep?: boolean;
  /** With relativeStep: rho_t = min(1e-6 t, 1/sqrt(t)). Default false. */
  warmupInit?: boolean;
  /** Multiply the rate by max(eps2, RMS(param)). Default true. */
  scaleParameter?: boolean;
  /** Added to g^2; must be > 0 (0 turns a zero gradient into NaN). Default 1e-30. */
  eps1?: number;
  /** Floor of the parameter scale. Default 1e-3. */
  eps2?: number;
  /** Update clipping threshold d (RMS clipping); 0 or Infinity disables, negative is refused. Default 1.0. */
  clipThreshold?: number;
  /** beta2_t = 1 - t^-decayRate. Default 0.8. (HF writes this exponent as -0.8.) */
  decayRate?: number;
  /** Momentum coefficient; null/absent = no momentum (T5). */
  beta1?: number | null;
  /** Momentum buffer dtype. Default 'float32'. */
  momentumDtype?: Extract<DType, 'float32' | 'bfloat16'>;
  /** Decoupled weight decay, scaled by the step's rate: p -= weightDecay * lr_t * p. Default 0. */
  weightDecay?: number;
  /** Factor second moments at all. Default true. */
  factored?: boolean;
  /** Factor only when the second largest dim is at least this. Default 128. */
  minDimSizeToFactor?: number;
}

/**
 * The option names, listed once: the Record type makes the compiler reject a key missing here or
 * one that AdafactorOptions lacks. Unknown keys are rejected on the TS side only
 * (lib/optim/adafactor.ts); the native side reads the keys it knows.
 */
const ADAFACTOR_OPTION_KEY_SET: Readonly<Record<keyof AdafactorOptions, true>> = {
  lr: true,
  relativeStep: true,
  warmupInit: true,
  scaleParameter: true,
  eps1: true,
  eps2: true,
  clipThreshold: true,
  decayRate: true,
  beta1: true,
  momentumDtype: true,
  weightDecay: true,
  factored: true,
  minDimSizeToFactor: true,
};
export const ADAFACTOR_OPTION_KEYS = Object.freeze(
  Object.keys(ADAFACTOR_OPTION_KEY_SET) as Array<keyof AdafactorOptions>,
);

/** Adafactor options as the native side reads them: resolved, with `lr: null` meaning "no explicit rate". */
export type NativeAdafactorOptions = Omit<AdafactorOptions, 'lr'> & { lr?: number | null };

/** What `paramInfo()` reports per parameter. */
export interface NativeAdafactorParamInfo {
  name: string;
  shape: number[];
  dtype: string;
  /** [largest dim, second largest dim] when the second moment is factored, else null. */
  factoredDims: [number, number] | null;
}

/** The native Adafactor object. */
export interface NativeAdafactor {
  /** Updates every parameter that has a gradient; returns how many were updated. */
  step(lr?: number | null): number;
  /** step() on a worker thread; a second call before it settles rejects with EXT5_BUSY. */
  stepAsync(lr?: number | null): Promise<number>;
  zeroGrad(setToNone?: boolean): void;
  /** Copies of the state: keys `state.<name>.step|v_row|v_col|v|m`. */
  stateDict(): { entries: Array<[string, TensorHandle]>; stepCount: number };
  loadStateDict(entries: Array<[string, TensorArg]>, stepCount: number): void;
  paramInfo(): NativeAdafactorParamInfo[];
  dispose(): void;
  readonly stepCount: number;
  /** Bytes the state holds now (its second moments and momentum), counted without a copy. */
  readonly stateBytes: number;
  readonly busy: boolean;
  readonly disposed: boolean;
}

export interface OptimAddon {
  Adafactor: new (params: TensorArg[], names: string[], options?: NativeAdafactorOptions) => NativeAdafactor;
  /** Clips the global gradient norm in place; returns the norm before clipping (NaN/Infinity: nothing scaled). */
  clipGradNorm(params: TensorArg[], maxNorm: number, normType?: number): number;
  gradNorm(params: TensorArg[], normType?: number): number;
  scaleGrads(params: TensorArg[], factor: number): void;
}

/** The optimizer exports of the torch addon (loads it on first use). */
export function optimAddon(): OptimAddon {
  torch(); // configures libtorch's thread count on first load
  return loadAddon<OptimAddon>('torch');
}
