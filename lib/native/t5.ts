/**
 * The typed contract of the torch addon's T5 exports (native/torch/t5_binding.cc over
 * t5_model.cc and t5_decode.cc). The public wrapper is lib/model/t5.ts.
 *
 * Construction: `new T5Model(config, {device, seed})` where `config` is a plain object with the
 * Hugging Face T5 config.json keys (validated natively too; missing required keys and bad values
 * throw EXT5_CONFIG). Parameters are float32 master weights initialised from `seed` on the CPU
 * (Hugging Face's T5 initialisation), then moved to `device`. `computeDtype` (default float32
 * on CPU, bfloat16 on CUDA) is the dtype of matmuls and activations; norms, softmax and the loss
 * stay float32 and the parameters and their gradients stay float32 (master weights).
 *
 * Parameter exchange (the interface with checkpoints and Adafactor):
 *  - `namedParameters()` returns [name, handle] pairs in a stable order with Hugging Face names;
 *    the handles SHARE storage (and `.grad`) with the live parameters (they are not copies).
 *    `to(device)` replaces the parameters: take fresh handles after it.
 *  - `loadParameters(entries, strict)` copies values in (shape checked, any floating dtype,
 *    converted to float32 on the model's device). `encoder.embed_tokens.weight`,
 *    `decoder.embed_tokens.weight` (and `lm_head.weight` of a tied model) are accepted as
 *    aliases of `shared.weight`. strict: missing or unexpected names throw EXT5_CHECKPOINT
 *    listing them, and nothing is loaded.
 *
 * Every call validates its arguments before touching libtorch. A model runs one call at a time:
 * a call made while an *Async call is in flight throws/rejects with EXT5_BUSY.
 */
import { loadAddon } from './loader';
import { type TensorHandle, torch } from './torch';

/** A tensor argument: a raw handle or the TS Tensor (which keeps its handle in `_h`). */
export type NativeTensorArg = TensorHandle | { readonly _h: TensorHandle };

/** Integer or float array data with its shape, or a tensor. */
export type NativeArray =
  | NativeTensorArg
  | { data: Int32Array | BigInt64Array | Float32Array | Float64Array | Uint8Array; shape: number[] };

/** One forward batch: the ext5 names of Hugging Face's forward() arguments plus packing and loss options. */
export interface NativeBatch {
  inputIds: NativeArray;
  attentionMask?: NativeArray | null;
  decoderInputIds?: NativeArray | null;
  decoderAttentionMask?: NativeArray | null;
  labels?: NativeArray | null;
  encoderSegmentIds?: NativeArray | null;
  decoderSegmentIds?: NativeArray | null;
  encoderPositions?: NativeArray | null;
  decoderPositions?: NativeArray | null;
  lossWeights?: NativeArray | null;
  zLoss?: number;
  labelSmoothing?: number;
  returnLogits?: boolean;
  /** forwardBackward only: gradients are those of loss * gradScale (e.g. 1/accumulation steps). */
  gradScale?: number;
}

export interface NativeForwardResult {
  /** Mean loss (null without labels). */
  loss: number | null;
  /** The loss denominator: non-ignored target tokens, or the sum of their loss weights. */
  weightSum: number;
  /** [B, T, V] float32 when returnLogits was set. */
  logits?: TensorHandle;
}

export interface NativeGenerateOptions {
  maxNewTokens?: number;
  numBeams?: number;
  lengthPenalty?: number;
  earlyStopping?: boolean;
  doSample?: boolean;
  temperature?: number;
  topK?: number;
  topP?: number;
  seed?: number;
  useCache?: boolean;
}

export interface NativeScoreResult {
  /** [B] float32 sums of target log-likelihoods under targetMask. */
  sums: TensorHandle;
  /** [B, T] float32 per-token log-likelihoods (0 where masked). */
  perToken: TensorHandle;
}

export interface NativeT5Model {
  namedParameters(): Array<[string, TensorHandle]>;
  loadParameters(
    entries: ReadonlyArray<readonly [string, NativeTensorArg]>,
    strict?: boolean,
  ): { missing: string[]; unexpected: string[]; loaded: number };
  numParameters(): number;
  forward(batch: NativeBatch): NativeForwardResult;
  forwardAsync(batch: NativeBatch): Promise<NativeForwardResult>;
  forwardBackward(batch: NativeBatch): NativeForwardResult;
  forwardBackwardAsync(batch: NativeBatch): Promise<NativeForwardResult>;
  /** [B, 1 + n] int64: decoder start token first, rows padded with pad after EOS. */
  generate(
    inputIds: NativeArray,
    attentionMask?: NativeArray | null,
    options?: NativeGenerateOptions,
  ): TensorHandle;
  generateAsync(
    inputIds: NativeArray,
    attentionMask?: NativeArray | null,
    options?: NativeGenerateOptions,
  ): Promise<TensorHandle>;
  score(
    inputIds: NativeArray,
    attentionMask: NativeArray | null | undefined,
    targets: NativeArray,
    targetMask?: NativeArray | null,
  ): NativeScoreResult;
  scoreAsync(
    inputIds: NativeArray,
    attentionMask: NativeArray | null | undefined,
    targets: NativeArray,
    targetMask?: NativeArray | null,
  ): Promise<NativeScoreResult>;
  train(mode?: boolean): void;
  zeroGrad(): void;
  to(device: string): void;
  dispose(): void;
  readonly training: boolean;
  readonly device: string;
  readonly config: Record<string, number | string | boolean>;
  readonly busy: boolean;
  readonly disposed: boolean;
  /** The dtype of matmuls and activations: 'float32' (CPU default) or 'bfloat16' (CUDA default). */
  readonly computeDtype: string;
}

export interface T5Addon {
  T5Model: new (
    config: Record<string, unknown>,
    options?: { device?: string; seed?: number },
  ) => NativeT5Model;
  /** HF `_relative_position_bucket` on an integer tensor of (key - query) offsets. */
  t5RelativePositionBucket(
    relativePosition: NativeTensorArg,
    bidirectional: boolean,
    numBuckets: number,
    maxDistance: number,
  ): TensorHandle;
}

/** The T5 exports of the torch addon (loads it on first use and sets the thread count). */
export function t5Addon(): T5Addon {
  torch();
  return loadAddon<T5Addon>('torch');
}
