/**
 * `T5ForConditionalGeneration`: the TypeScript face of the native T5 (native/torch/t5_*.cc).
 * Hugging Face names for the config, the parameters and the methods (forward, generate);
 * one native call per forward, forward+backward, generate or score, each with a Promise
 * version that runs off the JS thread. Checkpoints (fromPretrained/savePretrained) are the
 * format of lib/model/hf_format.ts, which uses namedParameters()/loadParameters() of this class
 * and knows it only as a type (so the two do not import each other).
 */

import { fetchModelDir, type HubModelOptions, localModelDir, splitHubModelOptions } from '../hub';
import {
  BATCH_KEYS,
  checkKnownKeys,
  GENERATE_OPTION_KEYS,
  type GenerateOptions,
  MODEL_OPTION_KEYS,
  type ModelOptions,
  type NativeArray,
  type NativeBatch,
  type NativeForwardResult,
  type NativeT5Model,
  t5Addon,
} from '../native/t5';
import type { TensorArg, TensorHandle } from '../native/torch';
import { Tensor } from '../tensor/tensor';
import { Ext5Error } from '../util/errors';
import {
  checkFromPretrainedArgs,
  type FromPretrainedOptions,
  loadPretrained,
  loadPretrainedAsync,
  type SavePretrainedOptions,
  savePretrained,
} from './hf_format';
import {
  checkTexts,
  checkVocabulary,
  decodeGenerated,
  type PredictOptions,
  padTokenBatch,
  splitPredictOptions,
  type TextVocabulary,
} from './predict';
import { type T5Config, validateConfig } from './t5_config';
import { preset } from './t5_presets';

/**
 * An integer (or, for loss weights, float) 2-D input: a Tensor, a nested array `[[...], ...]`,
 * or a typed array with its shape.
 */
export type ArrayInput =
  | Tensor
  | TensorHandle
  | number[][]
  | { data: Int32Array | BigInt64Array | Float32Array | Float64Array; shape: number[] };

export type { GenerateOptions, ModelOptions };

/**
 * The arguments of forward(): NativeBatch (lib/native/t5.ts, where each key is documented) with
 * array inputs that may also be nested arrays.
 */
export type T5Batch = {
  [K in keyof NativeBatch]: NativeBatch[K] extends number | boolean | undefined ? NativeBatch[K] : ArrayInput;
};

/** A batch with labels: forward() then always computes the loss (forwardBackward() needs them). */
export type T5LabelledBatch = T5Batch & { labels: ArrayInput };

/** What forward() returns. */
export interface T5Output {
  /** The mean loss over non-ignored target tokens (weighted mean with lossWeights); undefined without labels. */
  loss?: number;
  /** The loss denominator (token count, or the sum of loss weights). */
  weightSum: number;
  /** [B, T, V] float32 logits when `returnLogits` was set (dispose it when done). */
  logits?: Tensor;
}

/** What forward() returns for a batch with labels, and forwardBackward() always: the loss is there. */
export interface T5LossOutput extends T5Output {
  loss: number;
}

export type { PredictOptions, TextVocabulary };

/** What score() returns. */
export interface ScoreOutput {
  /** Per sequence: the sum of log p(target token) over targetMask. */
  sums: Float32Array;
  /** [B, T] per-token log-likelihoods, row-major (0 where masked), when `perToken` was asked. */
  perToken?: Float32Array;
}

/** Converts nested arrays to {data, shape}; passes tensors and typed arrays through. */
function toNative(v: ArrayInput | undefined | null, name: string, float = false): NativeArray | undefined {
  if (v === undefined || v === null) return undefined;
  if (Array.isArray(v)) {
    const rows = v.length;
    const cols = rows > 0 && Array.isArray(v[0]) ? (v[0] as number[]).length : 0;
    if (rows === 0 || cols === 0)
      throw new Ext5Error('EXT5_SHAPE', `${name} must be a non-empty 2-D array [batch, length]`);
    // Integers go as int64 (exact for every safe integer), so the addon's range checks see the
    // id that was given: an Int32Array here would wrap 2^32 + 5 to 5 and 2^32 - 100 to -100.
    const data = float ? new Float32Array(rows * cols) : new BigInt64Array(rows * cols);
    for (let r = 0; r < rows; r++) {
      const row = v[r];
      if (!Array.isArray(row) || row.length !== cols) {
        throw new Ext5Error(
          'EXT5_SHAPE',
          `${name}[${r}] must be an array of ${cols} numbers (rows must have equal lengths)`,
        );
      }
      for (let c = 0; c < cols; c++) {
        const x = row[c];
        if (typeof x !== 'number' || (!float && !Number.isSafeInteger(x))) {
          throw new Ext5Error(
            'EXT5_DTYPE',
            `${name}[${r}][${c}] must be ${float ? 'a number' : 'an integer'}, got ${JSON.stringify(x)}`,
          );
        }
        if (data instanceof BigInt64Array) data[r * cols + c] = BigInt(x);
        else data[r * cols + c] = x;
      }
    }
    return { data, shape: [rows, cols] };
  }
  return v as NativeArray;
}

function nativeBatch(b: T5Batch): NativeBatch {
  if (b === null || typeof b !== 'object')
    throw new Ext5Error('EXT5_INVALID_ARG', 'forward() needs a batch object');
  checkKnownKeys(b, BATCH_KEYS, 'batch');
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(b)) {
    if (v === undefined || v === null) continue;
    out[k] =
      typeof v === 'number' || typeof v === 'boolean' ? v : toNative(v as ArrayInput, k, k === 'lossWeights');
  }
  return out as unknown as NativeBatch;
}

function wrapOutput(r: NativeForwardResult): T5Output {
  const out: T5Output = { weightSum: r.weightSum };
  if (r.loss !== null) out.loss = r.loss;
  if (r.logits) out.logits = Tensor.fromHandle(r.logits);
  return out;
}

/**
 * A T5 / T5.1.1 encoder-decoder with Hugging Face parameter names.
 *
 * @example
 * const model = T5ForConditionalGeneration.fromConfig('t5-v1_1-tiny', { seed: 1 });
 * const { loss } = model.forwardBackward({ inputIds: [[5, 6, 1]], labels: [[7, 1]] });
 * const out = model.generate([[5, 6, 1]], undefined, { maxNewTokens: 8 });
 */
export class T5ForConditionalGeneration implements Disposable {
  /** The Hugging Face config (validated, defaults filled, extra keys kept). */
  readonly config: T5Config;
  /** @internal */
  readonly native: NativeT5Model;

  constructor(config: T5Config | Record<string, unknown>, options: ModelOptions = {}) {
    this.config = validateConfig(config);
    checkKnownKeys(options, MODEL_OPTION_KEYS, 'model options');
    this.native = new (t5Addon().T5Model)(this.config, options);
  }

  /**
   * A freshly initialised model from a config object or a preset name
   * (t5-small … t5-xxl, t5-v1_1-small … t5-v1_1-xxl, t5-tiny, t5-v1_1-tiny).
   */
  static fromConfig(
    config: T5Config | Record<string, unknown> | string,
    options: ModelOptions = {},
  ): T5ForConditionalGeneration {
    return new T5ForConditionalGeneration(typeof config === 'string' ? preset(config) : config, options);
  }

  /**
   * Loads a Hugging Face T5 / T5.1.1 checkpoint: a directory (config.json + model.safetensors or
   * shards), or a Hub id (`org/name`, `org/name@revision`, or `revision` in the options) whose
   * snapshot is already in the cache (lib/hub localModelDir). This is synchronous and never
   * downloads: a Hub id that is not cached throws HUB_MODEL_NOT_CACHED, whose hint says to use
   * fromPretrainedAsync. The format and its checks are lib/model/hf_format.ts `loadPretrained`.
   *
   * @example
   * const model = T5ForConditionalGeneration.fromPretrained('./t5-small');
   * const cached = T5ForConditionalGeneration.fromPretrained('google-t5/t5-small');
   */
  static fromPretrained(
    dirOrId: string,
    options: FromPretrainedOptions & Pick<HubModelOptions, 'revision' | 'cacheDir'> = {},
  ): T5ForConditionalGeneration {
    checkFromPretrainedArgs('T5ForConditionalGeneration.fromPretrained', dirOrId, options);
    const [rest, hub] = splitHubModelOptions(options);
    return loadPretrained(localModelDir(dirOrId, hub), rest, (config, o) =>
      T5ForConditionalGeneration.fromConfig(config, { ...o, initialize: false }),
    );
  }

  /**
   * fromPretrained for a directory or a Hub id, downloading the snapshot (config.json, safetensors
   * weights and tokenizer files, never a pickle) into huggingface_hub's cache first; offline
   * (HF_HUB_OFFLINE=1) from the cache. The download runs on the event loop, and so do the weight
   * reads: each tensor's bytes are read by asynchronous file I/O (libuv's thread pool), one tensor
   * at a time, with the same checks as fromPretrained (lib/model/hf_format.ts `loadPretrainedAsync`).
   * On the JS thread stay reading config.json and the safetensors headers, building the model from
   * its config, and copying each tensor into its parameter. Any error rejects the Promise.
   *
   * @throws Ext5Error HUB_NO_SAFETENSORS for a repo with only pytorch_model.bin; HUB_* for Hub answers.
   * @example
   * const model = await T5ForConditionalGeneration.fromPretrainedAsync('google-t5/t5-small');
   * await model.savePretrained('./copy');
   */
  static async fromPretrainedAsync(
    dirOrId: string,
    options: FromPretrainedOptions & HubModelOptions = {},
  ): Promise<T5ForConditionalGeneration> {
    checkFromPretrainedArgs('T5ForConditionalGeneration.fromPretrainedAsync', dirOrId, options);
    const [rest, hub] = splitHubModelOptions(options);
    const dir = await fetchModelDir(dirOrId, hub);
    // Every parameter is loaded (a missing one is an error before any is), so none is drawn first.
    return loadPretrainedAsync(dir, rest, (config, o) =>
      T5ForConditionalGeneration.fromConfig(config, { ...o, initialize: false }),
    );
  }

  /** Writes config.json + model.safetensors that transformers can load (lib/model/hf_format.ts). */
  savePretrained(dir: string, options: SavePretrainedOptions = {}): Promise<void> {
    return savePretrained(this, dir, options);
  }

  /** [name, Tensor] pairs with HF names; the tensors share storage (and .grad) with the live parameters. */
  namedParameters(): Array<[string, Tensor]> {
    return this.native.namedParameters().map(([n, h]) => [n, Tensor.fromHandle(h)]);
  }

  /** The parameters in namedParameters() order. */
  parameters(): Tensor[] {
    return this.namedParameters().map(([, t]) => t);
  }

  /**
   * Copies parameter values in (any floating dtype, converted to float32). With strict (default),
   * missing or unexpected names throw EXT5_CHECKPOINT and nothing is loaded.
   */
  loadParameters(
    entries: ReadonlyArray<readonly [string, Tensor | TensorArg]>,
    strict = true,
  ): { missing: string[]; unexpected: string[]; loaded: number } {
    return this.native.loadParameters(entries, strict);
  }

  /** Total number of parameter elements. */
  numParameters(): number {
    return this.native.numParameters();
  }

  /** Moves the parameters (take fresh namedParameters() handles afterwards; optimizers must be rebuilt). */
  to(device: string): this {
    this.native.to(device);
    return this;
  }

  /** Training mode: dropout on. */
  train(mode = true): this {
    this.native.train(mode);
    return this;
  }

  /** Inference mode: dropout off. */
  eval(): this {
    this.native.train(false);
    return this;
  }

  get training(): boolean {
    return this.native.training;
  }

  get device(): string {
    return this.native.device;
  }

  /** 'float32' or 'bfloat16': the dtype of matmuls and activations. */
  get computeDtype(): string {
    return this.native.computeDtype;
  }

  /**
   * Activation checkpointing (default false; docs/scale.md): forwardBackward() keeps only each
   * encoder and decoder block's inputs and recomputes the block during backward, with the same
   * dropout masks, so the gradients are those of a pass without it. Less activation memory, one
   * more forward pass of the blocks per step. forward(), score() and generate() are unaffected.
   */
  get gradientCheckpointing(): boolean {
    return this.native.gradientCheckpointing;
  }

  set gradientCheckpointing(on: boolean) {
    this.native.gradientCheckpointing = on;
  }

  /**
   * Sharded data parallelism (`training.sharding` `gradients`/`full`; the training loop sets it up
   * from lib/train/sharding.ts). `owners` and `freed` follow namedParameters() order: the rank that
   * owns each parameter, and whether ranks that do not own it free their copy between uses (block
   * parameters under `full`; a freed copy reads as an empty tensor). With `reduceInBackward`
   * (needs gradientCheckpointing) each block's gradients go to their owners as its backward ends.
   * `null` turns sharding off (gather freed parameters first). Every rank must make the same calls.
   */
  setSharding(
    group: { readonly nativeId: number } | null,
    owners: readonly number[] = [],
    freed: readonly boolean[] = [],
    reduceInBackward = false,
  ): void {
    if (group === null) this.native.setSharding(null);
    else this.native.setSharding(group.nativeId, owners, freed, reduceInBackward);
  }

  /** Sharded: reduces the gradients in `.grad` to their owners (sums kept by the owners) and drops them. Once per micro-batch. */
  reduceShardedGradsAsync(): Promise<void> {
    return this.native.reduceShardedGradsAsync();
  }

  /** Sharded: puts the owners' reduced sums, averaged over ranks, into `.grad` for the optimizer step. */
  finishShardedGrads(): void {
    this.native.finishShardedGrads();
  }

  /** Sharded `full`: gathers every freed parameter from its owner (a collective), e.g. before evaluating. */
  gatherShardedParametersAsync(): Promise<void> {
    return this.native.gatherShardedParametersAsync();
  }

  /** Sharded `full`: frees again the parameters gatherShardedParametersAsync gathered. */
  releaseShardedParameters(): void {
    this.native.releaseShardedParameters();
  }

  /** Bytes this rank holds now in parameters and gradients (reduced sums included). */
  shardBytes(): { parameters: number; gradients: number } {
    return this.native.shardBytes();
  }

  /** Forward pass without gradients: loss (with labels, then typed as present) and optionally logits. */
  forward(batch: T5LabelledBatch): T5LossOutput;
  forward(batch: T5Batch): T5Output;
  forward(batch: T5Batch): T5Output {
    return wrapOutput(this.native.forward(nativeBatch(batch)));
  }

  /** forward() on a worker thread. */
  forwardAsync(batch: T5LabelledBatch): Promise<T5LossOutput>;
  forwardAsync(batch: T5Batch): Promise<T5Output>;
  async forwardAsync(batch: T5Batch): Promise<T5Output> {
    return wrapOutput(await this.native.forwardAsync(nativeBatch(batch)));
  }

  /**
   * Forward + loss + backward in one native call; gradients accumulate into the parameters'
   * .grad (call zeroGrad() or the optimizer's zeroGrad() between steps). Needs labels.
   */
  forwardBackward(batch: T5LabelledBatch): T5LossOutput {
    return wrapOutput(this.native.forwardBackward(nativeBatch(batch))) as T5LossOutput;
  }

  /** forwardBackward() on a worker thread (one call in flight per model: EXT5_BUSY otherwise). */
  async forwardBackwardAsync(batch: T5LabelledBatch): Promise<T5LossOutput> {
    return wrapOutput(await this.native.forwardBackwardAsync(nativeBatch(batch))) as T5LossOutput;
  }

  /** Drops every parameter's gradient. */
  zeroGrad(): void {
    this.native.zeroGrad();
  }

  /**
   * Decodes with a KV cache in one native call: greedy, beam search or sampling. Returns
   * [B, 1 + n] int64 sequences that start with decoder_start_token_id (as Hugging Face does);
   * rows that ended are padded with pad_token_id. Dropout is off whatever the mode.
   */
  generate(inputIds: ArrayInput, attentionMask?: ArrayInput | null, options: GenerateOptions = {}): Tensor {
    checkKnownKeys(options, GENERATE_OPTION_KEYS, 'generate options');
    return Tensor.fromHandle(
      this.native.generate(
        toNative(inputIds, 'inputIds') as NativeArray,
        toNative(attentionMask, 'attentionMask') ?? null,
        options,
      ),
    );
  }

  /** generate() on a worker thread. */
  async generateAsync(
    inputIds: ArrayInput,
    attentionMask?: ArrayInput | null,
    options: GenerateOptions = {},
  ): Promise<Tensor> {
    checkKnownKeys(options, GENERATE_OPTION_KEYS, 'generate options');
    return Tensor.fromHandle(
      await this.native.generateAsync(
        toNative(inputIds, 'inputIds') as NativeArray,
        toNative(attentionMask, 'attentionMask') ?? null,
        options,
      ),
    );
  }

  /**
   * generate() as plain arrays: one number[] per input, without the start token, cut after its
   * EOS (config.eos_token_id, kept); no Tensor to dispose.
   *
   * @example
   * model.generateIds([[5, 6, 1]], null, { maxNewTokens: 8 }); // [[12, 9, 1]]
   */
  generateIds(
    inputIds: ArrayInput,
    attentionMask?: ArrayInput | null,
    options: GenerateOptions = {},
  ): number[][] {
    const seqs = this.generate(inputIds, attentionMask, options);
    try {
      return T5ForConditionalGeneration.sequencesToArrays(seqs, this.config.eos_token_id);
    } finally {
      seqs.dispose();
    }
  }

  /** generateIds() on a worker thread. */
  async generateIdsAsync(
    inputIds: ArrayInput,
    attentionMask?: ArrayInput | null,
    options: GenerateOptions = {},
  ): Promise<number[][]> {
    const seqs = await this.generateAsync(inputIds, attentionMask, options);
    try {
      return T5ForConditionalGeneration.sequencesToArrays(seqs, this.config.eos_token_id);
    } finally {
      seqs.dispose();
    }
  }

  /**
   * Text in, text out: encodes the texts with `vocab` (EOS appended, cut to maxInputLength),
   * generates in batches of batchSize on a worker thread, and decodes each output (EOS and padding
   * left out). Decoding options are generate()'s; dropout is off whatever the mode.
   *
   * @example
   * const vocab = SentencePieceVocabulary.load('spiece.model');
   * await model.predict(['translate English to German: Thank you.'], vocab, { maxNewTokens: 32 });
   * // ['Vielen Dank.']
   * await model.predict('summarize: …', vocab); // one text in, one string out
   */
  predict(texts: string, vocab: TextVocabulary, options?: PredictOptions): Promise<string>;
  predict(texts: readonly string[], vocab: TextVocabulary, options?: PredictOptions): Promise<string[]>;
  async predict(
    texts: string | readonly string[],
    vocab: TextVocabulary,
    options: PredictOptions = {},
  ): Promise<string | string[]> {
    const list = typeof texts === 'string' ? [texts] : texts;
    checkTexts(list);
    checkVocabulary(vocab);
    const { maxInputLength, batchSize, generate } = splitPredictOptions(options);
    checkKnownKeys(generate, GENERATE_OPTION_KEYS, 'predict options');
    const out: string[] = [];
    for (let i = 0; i < list.length; i += batchSize) {
      const enc = await vocab.encodeBatchAsync(list.slice(i, i + batchSize));
      const { ids, mask } = padTokenBatch(enc, maxInputLength, vocab.eosId);
      const seqs = await this.generateAsync(ids, mask, generate);
      try {
        out.push(...decodeGenerated(T5ForConditionalGeneration.sequencesToArrays(seqs, vocab.eosId), vocab));
      } finally {
        seqs.dispose();
      }
    }
    return typeof texts === 'string' ? out[0]! : out;
  }

  /** Generated token ids as plain arrays, each cut after its EOS and without the start token. */
  static sequencesToArrays(seqs: Tensor, eosTokenId = 1): number[][] {
    const [B, L] = seqs.shape as [number, number];
    const data = seqs.data();
    const out: number[][] = [];
    for (let b = 0; b < B; b++) {
      const row: number[] = [];
      for (let i = 1; i < L; i++) {
        const tok = Number(data[b * L + i]);
        row.push(tok);
        if (tok === eosTokenId) break;
      }
      out.push(row);
    }
    return out;
  }

  /**
   * Log-likelihood of each target sequence (rank classification), teacher-forced in one pass.
   *
   * @example
   * // which of two answers is more likely for one input?
   * const { sums } = model.score([[5, 6, 1], [5, 6, 1]], undefined, [[7, 1], [8, 1]]);
   */
  score(
    inputIds: ArrayInput,
    attentionMask: ArrayInput | null | undefined,
    targets: ArrayInput,
    targetMask?: ArrayInput | null,
    options: { perToken?: boolean } = {},
  ): ScoreOutput {
    checkKnownKeys(options, ['perToken'], 'score options');
    const r = this.native.score(
      toNative(inputIds, 'inputIds') as NativeArray,
      toNative(attentionMask, 'attentionMask') ?? null,
      toNative(targets, 'targets') as NativeArray,
      toNative(targetMask, 'targetMask') ?? null,
    );
    return readScore(r.sums, r.perToken, options.perToken === true);
  }

  /** score() on a worker thread. */
  async scoreAsync(
    inputIds: ArrayInput,
    attentionMask: ArrayInput | null | undefined,
    targets: ArrayInput,
    targetMask?: ArrayInput | null,
    options: { perToken?: boolean } = {},
  ): Promise<ScoreOutput> {
    checkKnownKeys(options, ['perToken'], 'score options');
    const r = await this.native.scoreAsync(
      toNative(inputIds, 'inputIds') as NativeArray,
      toNative(attentionMask, 'attentionMask') ?? null,
      toNative(targets, 'targets') as NativeArray,
      toNative(targetMask, 'targetMask') ?? null,
    );
    return readScore(r.sums, r.perToken, options.perToken === true);
  }

  /** Frees the parameters now (the finalizer does it eventually otherwise). */
  dispose(): void {
    this.native.dispose();
  }

  [Symbol.dispose](): void {
    this.dispose();
  }
}

function readScore(sums: TensorHandle, perToken: TensorHandle, wantPerToken: boolean): ScoreOutput {
  const s = Tensor.fromHandle(sums);
  const p = Tensor.fromHandle(perToken);
  try {
    const out: ScoreOutput = { sums: s.data() as Float32Array };
    if (wantPerToken) out.perToken = p.data() as Float32Array;
    return out;
  } finally {
    s.dispose();
    p.dispose();
  }
}
