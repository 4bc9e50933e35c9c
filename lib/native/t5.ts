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
 *
 * Option objects (batches, generate options, model options) and their key lists are declared
 * here and nowhere else. Unknown keys are rejected on the TS side, by checkKnownKeys() with a
 * "did you mean"; the native side reads the keys it knows and checks their types and ranges.
 */
import { didYouMean, Ext5Error } from '../util/errors';
import { loadAddon } from './loader';
import { type ComputeDtype, type TensorArg, type TensorHandle, torch } from './torch';

/** Integer or float array data with its shape, or a tensor. */
export type NativeArray =
  | TensorArg
  | { data: Int32Array | BigInt64Array | Float32Array | Float64Array | Uint8Array; shape: number[] };

/**
 * One forward batch: Hugging Face's forward() arguments (ext5 names), plus SeqIO packing and T5X
 * loss options. lib/model/t5.ts derives its public `T5Batch` from this.
 */
export interface NativeBatch {
  /** [B, S] token ids < vocab_size. */
  inputIds: NativeArray;
  /** [B, S] 1 = real token, 0 = padding. */
  attentionMask?: NativeArray | null;
  /** [B, T]; when absent, labels shifted right (decoder_start_token_id first, -100 -> pad). */
  decoderInputIds?: NativeArray | null;
  /** [B, T] key padding mask of the decoder (combined with the causal mask). */
  decoderAttentionMask?: NativeArray | null;
  /** [B, T] target ids, -100 = ignored. */
  labels?: NativeArray | null;
  /** Packed rows: [B, S] / [B, T] segment ids (1, 2, ...; 0 = padding). Give both or neither. */
  encoderSegmentIds?: NativeArray | null;
  decoderSegmentIds?: NativeArray | null;
  /** Packed rows: positions restarting at 0 in each segment (relative position bias reads them). */
  encoderPositions?: NativeArray | null;
  decoderPositions?: NativeArray | null;
  /** [B, T] per-token loss weights (seqio decoder_loss_weights): loss = Σ w·ce / Σ w. */
  lossWeights?: NativeArray | null;
  /** T5X z-loss coefficient: adds zLoss · log(Z)² per token (T5X uses 1e-4). */
  zLoss?: number;
  /** Label smoothing ε: (1-ε)·nll + ε·mean_v(-log p_v) (PyTorch / HF Trainer convention). */
  labelSmoothing?: number;
  /** Return the [B, T, V] float32 logits. */
  returnLogits?: boolean;
  /** forwardBackward only: backpropagate loss · gradScale (e.g. 1 / accumulation steps). */
  gradScale?: number;
}

/** generate() options (Hugging Face names). */
export interface GenerateOptions {
  /** Tokens to generate at most (default 20). */
  maxNewTokens?: number;
  /** Beam search when > 1 (default 1 = greedy or sampling). */
  numBeams?: number;
  /** Beam hypotheses are ranked by sum(log p) / length^lengthPenalty (default 1). */
  lengthPenalty?: number;
  /**
   * When beam search stops a batch item, with transformers' `early_stopping` meaning (default
   * false); each waits for numBeams finished hypotheses first. true: at once. false: when the best
   * running beam, scored at the current length, cannot beat the worst finished one. 'never': the
   * same with maxNewTokens as its length when lengthPenalty > 0 (a longer hypothesis could still
   * win), so it searches longer.
   */
  earlyStopping?: boolean | 'never';
  /** Sample instead of argmax (default false). */
  doSample?: boolean;
  temperature?: number;
  /** Keep the k most likely tokens (0 = off). */
  topK?: number;
  /** Keep the smallest set of tokens with probability mass >= topP (1 = off). */
  topP?: number;
  /** Seed of the sampling generator: the same seed gives the same tokens. */
  seed?: number;
  /** KV cache (default true); false re-runs the decoder over the prefix each step (for tests). */
  useCache?: boolean;
}

/** Options of the T5 model's constructor. */
export interface ModelOptions {
  /** 'cpu' (default), 'cuda' or 'cuda:N'. CUDA computes in bfloat16 with float32 master weights. */
  device?: string;
  /** Seed of the parameter initialisation (default 0). */
  seed?: number;
  /**
   * Dtype of matmuls and activations (default: float32 on CPU, bfloat16 on CUDA). Parameters,
   * gradients, norms, softmax and the loss stay float32. CPU bfloat16 uses oneDNN's bf16 GEMMs
   * (several times faster on CPUs with AVX-512 BF16).
   */
  computeDtype?: ComputeDtype;
  /**
   * false leaves the parameters' memory as allocated, not drawn (default true): for a model whose
   * every parameter is loaded next, as fromPretrained does (drawing an XL's 2.85B values takes
   * seconds of the JS thread for nothing). Running it before loading computes on whatever the
   * memory held.
   */
  initialize?: boolean;
}

/**
 * The key lists of the option objects above, the only place they are listed: a
 * `Record<keyof T, true>` must name every key of T and nothing else, so a key added to an
 * interface without its entry here (or the reverse) fails to compile. The native side reads the
 * keys it knows and does not look for unknown ones: checkKnownKeys() below does that, once.
 */
const BATCH_KEY_SET: Readonly<Record<keyof NativeBatch, true>> = {
  inputIds: true,
  attentionMask: true,
  decoderInputIds: true,
  decoderAttentionMask: true,
  labels: true,
  encoderSegmentIds: true,
  decoderSegmentIds: true,
  encoderPositions: true,
  decoderPositions: true,
  lossWeights: true,
  zLoss: true,
  labelSmoothing: true,
  returnLogits: true,
  gradScale: true,
};
const GENERATE_OPTION_KEY_SET: Readonly<Record<keyof GenerateOptions, true>> = {
  maxNewTokens: true,
  numBeams: true,
  lengthPenalty: true,
  earlyStopping: true,
  doSample: true,
  temperature: true,
  topK: true,
  topP: true,
  seed: true,
  useCache: true,
};
const MODEL_OPTION_KEY_SET: Readonly<Record<keyof ModelOptions, true>> = {
  device: true,
  seed: true,
  computeDtype: true,
  initialize: true,
};

export const BATCH_KEYS = Object.freeze(Object.keys(BATCH_KEY_SET) as Array<keyof NativeBatch>);
export const GENERATE_OPTION_KEYS = Object.freeze(
  Object.keys(GENERATE_OPTION_KEY_SET) as Array<keyof GenerateOptions>,
);
export const MODEL_OPTION_KEYS = Object.freeze(
  Object.keys(MODEL_OPTION_KEY_SET) as Array<keyof ModelOptions>,
);

/**
 * Throws EXT5_INVALID_ARG, with a suggestion, when `o` has a key outside `known`:
 * "<what> has an unknown key 'k' (did you mean 'x'?)", and when `o` is not an object at all.
 */
export function checkKnownKeys(o: object, known: readonly string[], what: string): void {
  if (o === null || typeof o !== 'object' || Array.isArray(o)) {
    throw new Ext5Error(
      'EXT5_INVALID_ARG',
      `${what} must be an object, got ${o === null ? 'null' : Array.isArray(o) ? 'an array' : typeof o}`,
      'leave the argument out for the defaults',
    );
  }
  for (const k of Object.keys(o)) {
    if (!known.includes(k)) {
      throw new Ext5Error(
        'EXT5_INVALID_ARG',
        `${what} has an unknown key '${k}'${didYouMean(k, known)}`,
        `known keys: ${known.join(', ')}`,
      );
    }
  }
}

export interface NativeForwardResult {
  /** Mean loss (null without labels). */
  loss: number | null;
  /** The loss denominator: non-ignored target tokens, or the sum of their loss weights. */
  weightSum: number;
  /** [B, T, V] float32 when returnLogits was set. */
  logits?: TensorHandle;
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
    entries: ReadonlyArray<readonly [string, TensorArg]>,
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
    options?: GenerateOptions,
  ): TensorHandle;
  generateAsync(
    inputIds: NativeArray,
    attentionMask?: NativeArray | null,
    options?: GenerateOptions,
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
  setSharding(
    groupId: number | null,
    owners?: readonly number[],
    freed?: readonly boolean[],
    reduceInBackward?: boolean,
  ): void;
  reduceShardedGradsAsync(): Promise<void>;
  finishShardedGrads(): void;
  gatherShardedParametersAsync(): Promise<void>;
  releaseShardedParameters(): void;
  shardBytes(): { parameters: number; gradients: number };
  to(device: string): void;
  dispose(): void;
  readonly training: boolean;
  readonly device: string;
  readonly config: Record<string, number | string | boolean>;
  readonly busy: boolean;
  readonly disposed: boolean;
  /** The dtype of matmuls and activations: 'float32' (CPU default) or 'bfloat16' (CUDA default). */
  readonly computeDtype: string;
  /**
   * Activation checkpointing per encoder/decoder block (default false): passes with gradients
   * keep only each block's inputs and recompute the block, with the same dropout masks, during
   * backward. Setting a non-boolean throws EXT5_INVALID_ARG; setting it during an async call, EXT5_BUSY.
   */
  gradientCheckpointing: boolean;
}

export interface T5Addon {
  T5Model: new (config: Record<string, unknown>, options?: ModelOptions) => NativeT5Model;
  /** HF `_relative_position_bucket` on an integer tensor of (key - query) offsets. */
  t5RelativePositionBucket(
    relativePosition: TensorArg,
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
