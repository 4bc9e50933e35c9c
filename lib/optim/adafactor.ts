/**
 * Adafactor (Shazeer & Stern 2018) with T5's defaults, running in one native call per step
 * (native/torch/adafactor.cc; the equations and their sources are in docs/optimizer.md).
 *
 * Defaults (T5's, see docs/optimizer.md): relative step min(1e-2, 1/sqrt(t)) scaled by
 * max(1e-3, RMS(param)), eps1 = 1e-30, update clipping d = 1.0, beta2_t = 1 - t^-0.8, no
 * momentum, second moments factored over the two largest dims when both are >= 128.
 *
 * @example
 * const opt = new Adafactor(model.namedParameters());          // T5 pre-training defaults
 * const ft = new Adafactor(model.namedParameters(), { lr: 1e-3 }); // fine-tuning: constant 1e-3
 * // per step: forward/backward accumulate .grad, then
 * await opt.stepAsync();
 * opt.zeroGrad();
 */

import { SafetensorsReader, writeSafetensors } from '../io/safetensors';
import { safetensorsDtype, tensorFromBytes, tensorToBytes } from '../io/tensor_io';
import {
  ADAFACTOR_OPTION_KEYS,
  type AdafactorOptions,
  type NativeAdafactor,
  type NativeAdafactorOptions,
  optimAddon,
} from '../native/optim';
import type { TensorArg } from '../native/torch';
import { keep, Tensor } from '../tensor/tensor';
import { didYouMean, Ext5Error } from '../util/errors';

export type { AdafactorOptions };

/** Parameters: tensors, named tensors, or a model with namedParameters(). */
export type ParamsInput =
  | readonly TensorArg[]
  | ReadonlyArray<readonly [string, TensorArg]>
  | { namedParameters(): ReadonlyArray<readonly [string, TensorArg]> };

/**
 * Names and tensors of a params input. `owned` is true when the tensors were made here (from a
 * model's namedParameters()), so the caller must dispose the wrappers when done with them.
 */
function normalizeParams(params: ParamsInput): { names: string[]; tensors: TensorArg[]; owned: boolean } {
  const owned = !Array.isArray(params);
  const list: unknown = Array.isArray(params)
    ? (params as ReadonlyArray<TensorArg | readonly [string, TensorArg]>)
    : params !== null &&
        typeof params === 'object' &&
        typeof (params as { namedParameters?: unknown }).namedParameters === 'function'
      ? (params as { namedParameters(): ReadonlyArray<readonly [string, TensorArg]> }).namedParameters()
      : undefined;
  if (!Array.isArray(list)) {
    throw new Ext5Error(
      'EXT5_INVALID_ARG',
      list === undefined
        ? 'Adafactor params must be an array of tensors, an array of [name, tensor] pairs, or a model'
        : `Adafactor params: namedParameters() returned ${list === null ? 'null' : typeof list}, not an array of [name, tensor] pairs`,
    );
  }
  if (list.length === 0) {
    throw new Ext5Error(
      'EXT5_INVALID_ARG',
      'Adafactor needs at least one parameter, got an empty list',
      'pass model.namedParameters() (or the tensors to train)',
    );
  }
  const names: string[] = [];
  const tensors: TensorArg[] = [];
  (list as ReadonlyArray<TensorArg | readonly [string, TensorArg]>).forEach((p, i) => {
    if (Array.isArray(p)) {
      const [name, t] = p as readonly [string, TensorArg];
      if (typeof name !== 'string')
        throw new Ext5Error('EXT5_INVALID_ARG', `params[${i}][0] must be a name string`);
      names.push(name);
      tensors.push(t);
    } else {
      names.push(String(i));
      tensors.push(p as TensorArg);
    }
  });
  return { names, tensors, owned };
}

/** Checks option names (with suggestions) and fills in relativeStep from lr. */
export function resolveAdafactorOptions(options: AdafactorOptions): NativeAdafactorOptions {
  if (options === null || typeof options !== 'object') {
    throw new Ext5Error('EXT5_INVALID_ARG', 'Adafactor options must be an object');
  }
  for (const key of Object.keys(options)) {
    if (!(ADAFACTOR_OPTION_KEYS as readonly string[]).includes(key)) {
      throw new Ext5Error(
        'EXT5_INVALID_ARG',
        `unknown Adafactor option '${key}'${didYouMean(key, ADAFACTOR_OPTION_KEYS)}`,
        `known options: ${ADAFACTOR_OPTION_KEYS.join(', ')}`,
      );
    }
  }
  const out: NativeAdafactorOptions = { ...options };
  if (options.relativeStep === undefined) out.relativeStep = options.lr === undefined;
  return out;
}

/** The format tag of optimizer state files. */
const STATE_FORMAT = 'ext5-adafactor-1';

/**
 * The Adafactor optimizer over a fixed list of parameters. Gradients are read from each
 * parameter's `.grad` (accumulated by backward passes); parameters without one are skipped.
 */
export class Adafactor implements Disposable {
  /** Parameter names, in order (indices as strings when plain tensors were given). */
  readonly names: readonly string[];
  readonly options: Readonly<NativeAdafactorOptions>;
  private readonly params: TensorArg[];
  /** Whether `params` are wrappers made from a model here (disposed with the optimizer). */
  private readonly ownsParams: boolean;
  private readonly native: NativeAdafactor;

  constructor(params: ParamsInput, options: AdafactorOptions = {}) {
    const resolved = resolveAdafactorOptions(options);
    const { names, tensors, owned } = normalizeParams(params);
    const addon = optimAddon();
    this.native = new addon.Adafactor(tensors, names, resolved);
    this.names = names;
    this.params = tensors;
    this.ownsParams = owned;
    // Wrappers made here live as long as the optimizer, even when it is built inside tidy().
    if (owned) for (const t of tensors) if (t instanceof Tensor) keep(t);
    this.options = Object.freeze(resolved);
  }

  /** Number of step() calls so far (restored by loadState). */
  get stepCount(): number {
    return this.native.stepCount;
  }

  /** Bytes the state holds now: second moments (factored or not) and momentum. None before the first step. */
  get stateBytes(): number {
    return this.native.stateBytes;
  }

  /**
   * One update of every parameter with a gradient. `lr` overrides the options' rate for this
   * step (needs relativeStep: false); pass a schedule's value here. Returns how many
   * parameters were updated.
   */
  step(lr?: number): number {
    return this.native.step(lr ?? null);
  }

  /** step() on a worker thread; the JS thread stays free. One at a time (EXT5_BUSY otherwise). */
  stepAsync(lr?: number): Promise<number> {
    try {
      return this.native.stepAsync(lr ?? null);
    } catch (e) {
      return Promise.reject(e);
    }
  }

  /** Drops the gradients (setToNone, the default) or zeroes them in place. */
  zeroGrad(setToNone = true): void {
    this.native.zeroGrad(setToNone);
  }

  /** The parameters, for clipGradNorm/scaleGrads. */
  parameters(): TensorArg[] {
    return [...this.params];
  }

  /** Which parameters have factored second moments, and over which dims. */
  paramInfo(): ReturnType<NativeAdafactor['paramInfo']> {
    return this.native.paramInfo();
  }

  /**
   * The state as a flat key -> tensor list (copies; dispose them when done) plus string
   * metadata: the format, the step count, the options and the parameter list.
   */
  stateDict(): { entries: Array<[string, Tensor]>; metadata: Record<string, string> } {
    const raw = this.native.stateDict();
    const stepCount = raw.stepCount;
    const entries = raw.entries.map(([k, h]) => [k, Tensor.fromHandle(h)] as [string, Tensor]);
    const info = this.native.paramInfo();
    return {
      entries,
      metadata: {
        format: STATE_FORMAT,
        step_count: String(stepCount),
        options: JSON.stringify(this.options),
        params: JSON.stringify(info.map((p) => [p.name, p.shape])),
      },
    };
  }

  /** Replaces the state; checks the parameter list and every tensor before changing anything. */
  loadStateDict(
    entries: ReadonlyArray<readonly [string, TensorArg]>,
    metadata: Record<string, string>,
    source = 'state',
  ): void {
    if (metadata.format !== STATE_FORMAT) {
      throw new Ext5Error(
        'EXT5_OPTIMIZER_STATE',
        `${source}: not an ext5 Adafactor state (format ${JSON.stringify(metadata.format)}, expected '${STATE_FORMAT}')`,
      );
    }
    const stepCount = Number(metadata.step_count);
    if (!Number.isSafeInteger(stepCount) || stepCount < 0) {
      throw new Ext5Error(
        'EXT5_OPTIMIZER_STATE',
        `${source}: bad step_count ${JSON.stringify(metadata.step_count)}`,
      );
    }
    let saved: Array<[string, number[]]>;
    try {
      saved = JSON.parse(metadata.params ?? '');
      if (!Array.isArray(saved)) throw new Error('not an array');
    } catch {
      throw new Ext5Error(
        'EXT5_OPTIMIZER_STATE',
        `${source}: metadata 'params' is missing or not a JSON list`,
      );
    }
    const current = this.native.paramInfo();
    if (saved.length !== current.length) {
      throw new Ext5Error(
        'EXT5_OPTIMIZER_STATE',
        `${source}: saved for ${saved.length} parameters, but this optimizer has ${current.length}`,
        'load the state into an optimizer over the same model',
      );
    }
    current.forEach((p, i) => {
      const s = saved[i];
      if (!Array.isArray(s) || s[0] !== p.name || JSON.stringify(s[1]) !== JSON.stringify(p.shape)) {
        throw new Ext5Error(
          'EXT5_OPTIMIZER_STATE',
          `${source}: parameter ${i} was ${JSON.stringify(s)} when saved, but is ['${p.name}', ${JSON.stringify(p.shape)}] now`,
          'load the state into an optimizer over the same model',
        );
      }
    });
    this.native.loadStateDict(
      entries.map(([k, v]) => [k, v] as [string, TensorArg]),
      stepCount,
    );
  }

  /** Writes the state to a safetensors file (fsynced). */
  saveState(file: string): void {
    const { entries, metadata } = this.stateDict();
    try {
      writeSafetensors(
        file,
        entries.map(([name, h]) => ({
          name,
          dtype: safetensorsDtype(h.dtype),
          shape: h.shape,
          data: () => tensorToBytes(h),
        })),
        metadata,
      );
    } finally {
      for (const [, h] of entries) h.dispose();
    }
  }

  /** Reads a state written by saveState() (strictly checked against this optimizer). */
  loadState(file: string): void {
    using reader = SafetensorsReader.open(file);
    const handles: Array<[string, Tensor]> = [];
    try {
      for (const name of reader.names()) {
        const info = reader.info(name);
        handles.push([name, tensorFromBytes(reader.read(name), info.dtype, info.shape)]);
      }
      this.loadStateDict(handles, reader.metadata, file);
    } finally {
      for (const [, h] of handles) h.dispose();
    }
  }

  /** Frees the optimizer state now. */
  dispose(): void {
    this.native.dispose();
    if (this.ownsParams) for (const t of this.params) if (t instanceof Tensor) t.dispose();
  }
  [Symbol.dispose](): void {
    this.dispose();
  }
}

/** Runs `fn` over the tensors of a params input, disposing wrappers made for it. */
function withParams<R>(params: ParamsInput | Adafactor, fn: (tensors: TensorArg[]) => R): R {
  if (params instanceof Adafactor) return fn(params.parameters());
  const { tensors, owned } = normalizeParams(params);
  try {
    return fn(tensors);
  } finally {
    if (owned) for (const t of tensors) if (t instanceof Tensor) t.dispose();
  }
}

/**
 * Scales all gradients so that their global L2 norm is at most `maxNorm` (one native call).
 * Returns the norm before clipping. A NaN or infinite norm is returned as is and nothing is
 * scaled: the training loop should skip the step (or stop).
 *
 * @example
 * const norm = clipGradNorm(opt, 1.0);
 * if (!Number.isFinite(norm)) throw new Error(`gradient norm is ${norm}`);
 */
export function clipGradNorm(params: ParamsInput | Adafactor, maxNorm: number, normType = 2): number {
  return withParams(params, (ts) => optimAddon().clipGradNorm(ts, maxNorm, normType));
}

/** The global gradient norm (L2 by default) without changing anything. */
export function gradNorm(params: ParamsInput | Adafactor, normType = 2): number {
  return withParams(params, (ts) => optimAddon().gradNorm(ts, normType));
}

/**
 * Multiplies every gradient by `factor`. Gradients accumulate across backward calls, so after
 * k micro-batches call `scaleGrads(params, 1 / k)` to average them.
 */
export function scaleGrads(params: ParamsInput | Adafactor, factor: number): void {
  withParams(params, (ts) => optimAddon().scaleGrads(ts, factor));
}
