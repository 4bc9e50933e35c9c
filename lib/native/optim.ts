/**
 * The typed contract of the torch addon's optimizer exports (native/torch/adafactor.cc,
 * native/torch/grad_utils.cc). The public wrappers are in lib/optim/. Every entry validates its
 * arguments natively and throws errors with a `code` (EXT5_INVALID_ARG, EXT5_DTYPE, EXT5_BUSY,
 * EXT5_OPTIMIZER_STATE, EXT5_DISPOSED, ...).
 */

import type { AdafactorOptions } from '../optim/adafactor';
import { loadAddon } from './loader';
import { type TensorHandle, torch } from './torch';

/** Anything the addon accepts as a tensor: a raw handle or the TS Tensor (which keeps it in `_h`). */
export type TensorArg = TensorHandle | { readonly _h: TensorHandle };

/**
 * Adafactor options as the native side reads them: the public options (lib/optim/adafactor.ts),
 * resolved, with `lr: null` meaning "no explicit rate".
 */
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
