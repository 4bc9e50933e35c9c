/**
 * The Hugging Face T5 checkpoint format: `config.json` plus `model.safetensors` (or shards
 * `model-0000k-of-0000n.safetensors` with `model.safetensors.index.json`), never pickle (pickle
 * can run code on load). transformers' `T5ForConditionalGeneration.from_pretrained(dir)` reads
 * what savePretrained writes, and loadPretrained reads Hugging Face's own T5 / T5.1.1 directories.
 *
 * This module knows the model only as a type: `T5ForConditionalGeneration.fromPretrained` (lib/model/t5.ts)
 * builds the model and calls loadPretrained here, so the class and its format do not import each
 * other (lib/model/hf_checkpoint.ts is the public face of both).
 * The weights files themselves (shards, their index, lazy reads) are lib/model/hf_weights.ts.
 *
 * Saves are atomic (lib/io/durable.ts): everything is written into a hidden sibling directory,
 * fsynced, and renamed over the target; an existing target is renamed aside first and removed
 * only after the new one is in place. A crash (even SIGKILL) leaves either the old or the new
 * checkpoint at the path; the one narrow window between the two renames is repaired by the next
 * save or load (`recoverInterruptedSave`).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { recoverInterruptedSave, writeDirectoryAtomic, writeFileDurable } from '../io/durable';
import { safetensorsDtype, tensorFromBytes, tensorToBytes } from '../io/tensor_io';
import type { Adafactor } from '../optim/adafactor';
import { type Tensor, tidy } from '../tensor/tensor';
import { vocabularyPath } from '../text/vocab_names';
import { didYouMean, Ext5Error } from '../util/errors';
import { writeTokenizerFiles } from './hf_tokenizer';
import {
  CheckpointWeights,
  type CheckpointWriteOptions,
  ckptError,
  DEFAULT_MAX_SHARD_BYTES,
  parseShardSize,
  readCheckpointJson,
  type WeightEntry,
  writeWeights,
} from './hf_weights';
import { OPTIMIZER_FILE } from './optimizer_files';
import type { ModelOptions, T5ForConditionalGeneration } from './t5';
import { configJsonText, type T5Config, toHuggingFaceJson, validateConfig } from './t5_config';

export {
  CheckpointWeights,
  type CheckpointWriteOptions,
  DEFAULT_MAX_SHARD_BYTES,
  parseShardSize,
  planShards,
  WEIGHTS_FILE,
  WEIGHTS_INDEX_FILE,
  type WeightEntry,
  writeWeights,
} from './hf_weights';

export {
  loadOptimizerState,
  OPTIMIZER_FILE,
  OPTIMIZER_INDEX_FILE,
  type OptimizerIndex,
  writeOptimizerIndex,
} from './optimizer_files';

export const CONFIG_FILE = 'config.json';

// HF checkpoints repeat shared.weight under these names; they are checked, not loaded twice.
const EMBED_ALIASES = ['encoder.embed_tokens.weight', 'decoder.embed_tokens.weight'];
// Old T5 checkpoints carry this unused tensor; transformers ignores it on load, and so do we.
const IGNORED_KEYS = new Set(['decoder.block.0.layer.1.EncDecAttention.relative_attention_bias.weight']);
const FLOAT_DTYPES = new Set(['F32', 'F16', 'BF16', 'F64']);

// ---- config ----------------------------------------------------------------------------------

/** Classes whose checkpoints hold a whole T5 encoder-decoder (T5WithLMHeadModel: old exports). */
const T5_ARCHITECTURES = [
  'T5ForConditionalGeneration',
  'T5WithLMHeadModel',
  'T5Model',
  'MT5ForConditionalGeneration',
  'MT5Model',
];
/** model_type values of the T5 family that ext5 does not implement, and what they add. */
const UNSUPPORTED_T5_TYPES: Record<string, string> = {
  umt5: "UMT5 gives every layer its own relative position bias (T5 shares layer 0's)",
  longt5: "LongT5's local / transient-global attention",
  switch_transformers: "Switch Transformers' mixture-of-experts feed-forward layers",
  pix2struct: "Pix2Struct's image encoder",
  pop2piano: 'Pop2Piano (audio inputs)',
};

function isMt5(o: Record<string, unknown>): boolean {
  return (
    o.model_type === 'mt5' ||
    (Array.isArray(o.architectures) &&
      o.architectures.some((a) => typeof a === 'string' && a.startsWith('MT5')))
  );
}

/** config.json of a checkpoint directory as parsed JSON, after the checks of its model type and class. */
function readConfigObject(dir: string): { file: string; raw: Record<string, unknown> } {
  const file = path.join(dir, CONFIG_FILE);
  if (!fs.existsSync(dir))
    throw new Ext5Error('EXT5_NOT_FOUND', `${dir}: no such checkpoint directory`, 'check the path');
  if (!fs.existsSync(file)) {
    throw ckptError(
      `${dir}: no ${CONFIG_FILE}`,
      'a Hugging Face checkpoint directory holds config.json and model.safetensors',
    );
  }
  const raw = readCheckpointJson(file, 'a config.json file');
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw))
    throw ckptError(`${file}: not a JSON object`);
  const o = raw as Record<string, unknown>;
  const archs = Array.isArray(o.architectures) ? (o.architectures as unknown[]) : [];
  if (o.model_type === undefined) {
    if (!archs.some((a) => typeof a === 'string' && T5_ARCHITECTURES.includes(a))) {
      throw ckptError(
        `${file}: no "model_type" (expected "t5")`,
        'add "model_type": "t5" if this is a T5 checkpoint',
      );
    }
  } else if (o.model_type !== 't5' && o.model_type !== 'mt5') {
    const why = typeof o.model_type === 'string' ? UNSUPPORTED_T5_TYPES[o.model_type] : undefined;
    throw ckptError(
      `${file}: "model_type" is ${JSON.stringify(o.model_type)}; ext5 loads T5 checkpoints ("t5", and "mt5") only`,
      why ? `${why} is not implemented in ext5` : 'this is a checkpoint of another architecture',
    );
  }
  const bad = archs.find((a) => typeof a !== 'string' || !/^M?T5/.test(a));
  if (bad !== undefined) {
    throw ckptError(
      `${file}: "architectures" lists ${JSON.stringify(bad)}, not a T5 class`,
      'this is a checkpoint of another architecture',
    );
  }
  const encoderOnly = archs.find((a) => a === 'T5EncoderModel' || a === 'MT5EncoderModel');
  if (encoderOnly !== undefined) {
    throw ckptError(
      `${file}: a ${encoderOnly} checkpoint has no decoder`,
      'load a full encoder-decoder checkpoint',
    );
  }
  const otherHead = archs.find((a) => typeof a === 'string' && !T5_ARCHITECTURES.includes(a));
  if (otherHead !== undefined) {
    throw ckptError(
      `${file}: "architectures" lists ${JSON.stringify(otherHead)}; ext5 implements T5ForConditionalGeneration only`,
      'a classification or question-answering head is not a language-model head',
    );
  }
  return { file, raw: o };
}

/**
 * Reads and validates config.json of a T5 checkpoint folder (a folder only: `readCheckpointConfig`
 * of lib/model/hf_checkpoint.ts also takes a cached Hub id). Whether lm_head is tied can also
 * depend on the weights (a transformers-5 layout says `"tie_word_embeddings": true` and stores its
 * own lm_head.weight when it is not tied): loadPretrained decides that with the weights at hand.
 */
export function readCheckpointFolderConfig(dir: string): T5Config {
  const { file, raw } = readConfigObject(dir);
  return validateConfig(raw, file);
}

/** Where shared.weight comes from: itself, or one of the copies that HF checkpoints may store instead. */
function embeddingSource(weights: CheckpointWeights): string | undefined {
  return ['shared.weight', ...EMBED_ALIASES].find((n) => weights.has(n));
}

/**
 * The steps of a load that read tensor bytes are generators: each `yield name` asks for that
 * tensor's stored bytes and receives them, so one implementation of the checks runs with
 * synchronous reads (fromPretrained) or with asynchronous ones (fromPretrainedAsync); see
 * runLoadSync / runLoadAsync.
 */
type NeedsBytes<T> = Generator<string, T, Uint8Array>;

/** Whether two stored tensors hold the same dtype and bytes. */
function* sameStoredTensor(weights: CheckpointWeights, a: string, b: string): NeedsBytes<boolean> {
  if (weights.info(a).dtype !== weights.info(b).dtype) return false;
  const x = yield a;
  return bytesEqual(x, yield b);
}

/**
 * Decides the output head (tied or not, decoder output rescaled or not) as transformers reads the
 * checkpoint, in each config layout:
 *  - 4.x layout (no "scale_decoder_outputs"): tie_word_embeddings decides both (tied = rescaled);
 *  - 5.x layout ("scale_decoder_outputs" present: transformers 5 writes it, and its T5Config
 *    always says "tie_word_embeddings": true): the key decides the rescale, and lm_head is untied
 *    exactly when the checkpoint stores an lm_head.weight that differs from shared.weight
 *    (transformers 5 does not tie two stored tensors that differ). A "tie_word_embeddings": false
 *    still needs its lm_head.weight (4.x readers would otherwise get a random head);
 *  - mT5 ("model_type": "mt5"): transformers 5's MT5 never rescales and 4.x rescales only when
 *    tied, so an mT5 checkpoint loads when the two agree: untied (tie_word_embeddings false, or an
 *    lm_head.weight of its own, which is what transformers 5 re-saves) and not rescaled.
 * What neither layout pins down is refused (EXT5_CONFIG naming the keys), never guessed.
 */
function* resolveOutputHead(
  raw: Record<string, unknown>,
  config: T5Config,
  weights: CheckpointWeights,
  file: string,
): NeedsBytes<T5Config> {
  const shared = embeddingSource(weights);
  function* ownHead(): NeedsBytes<boolean> {
    if (!weights.has('lm_head.weight') || shared === undefined) return false;
    return !(yield* sameStoredTensor(weights, 'lm_head.weight', shared));
  }
  if (isMt5(raw)) {
    if (raw.scale_decoder_outputs === true) {
      throw new Ext5Error(
        'EXT5_CONFIG',
        `${file}: an mT5 config with "scale_decoder_outputs": true`,
        'transformers never rescales mT5 decoder outputs (its MT5 model has no such step); write "model_type": "t5" if this is a T5 checkpoint',
      );
    }
    if (raw.tie_word_embeddings === false || (yield* ownHead()))
      return { ...config, tie_word_embeddings: false, scale_decoder_outputs: false };
    throw new Ext5Error(
      'EXT5_CONFIG',
      `${file}: an mT5 checkpoint whose lm_head is tied ("tie_word_embeddings" is ${JSON.stringify(raw.tie_word_embeddings ?? null)} and no lm_head.weight of its own)`,
      'transformers 4.x rescales a tied mT5 decoder output by d_model^-0.5 and transformers 5 does not; ' +
        'write "model_type": "t5" with "scale_decoder_outputs" true or false to say which',
    );
  }
  const layout5 = raw.scale_decoder_outputs !== undefined && raw.scale_decoder_outputs !== null;
  if (layout5 && config.tie_word_embeddings && (yield* ownHead()))
    return { ...config, tie_word_embeddings: false };
  return config;
}

// ---- fromPretrained / savePretrained ---------------------------------------------------------

export interface FromPretrainedOptions {
  /** 'cpu' (default), 'cuda' or 'cuda:N'. */
  device?: string;
  /** Matmul dtype (parameters stay float32): default float32 on CPU, bfloat16 on CUDA. */
  computeDtype?: 'float32' | 'bfloat16';
  /**
   * Load weights holding NaN or Infinity (default false: EXT5_CHECKPOINT names the tensor).
   * Safetensors has no checksum; a non-finite weight is the one corruption that is detectable.
   */
  allowNonFinite?: boolean;
}

function sameShape(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}

function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  return (
    Buffer.compare(
      Buffer.from(a.buffer, a.byteOffset, a.byteLength),
      Buffer.from(b.buffer, b.byteOffset, b.byteLength),
    ) === 0
  );
}

/**
 * Checks the arguments of the fromPretrained entry points before anything reads them: a model is
 * named by a non-empty string (a checkpoint folder or a Hub id), options by a plain object or
 * nothing. Anything else is EXT5_INVALID_ARG naming the function and what it got.
 */
export function checkFromPretrainedArgs(fn: string, dirOrId: unknown, options: unknown): void {
  if (typeof dirOrId !== 'string' || dirOrId.trim() === '') {
    const got =
      typeof dirOrId === 'string'
        ? 'an empty string'
        : dirOrId === null
          ? 'null'
          : `${typeof dirOrId} ${String(dirOrId)}`;
    throw new Ext5Error(
      'EXT5_INVALID_ARG',
      `${fn}() takes a checkpoint folder path or a Hugging Face Hub id as a string, got ${got}`,
      "e.g. fromPretrained('checkpoints/step-1000') or fromPretrained('google-t5/t5-small')",
    );
  }
  if (options !== undefined && (options === null || typeof options !== 'object' || Array.isArray(options))) {
    throw new Ext5Error(
      'EXT5_INVALID_ARG',
      `${fn}() options must be an object (or left out), got ${options === null ? 'null' : Array.isArray(options) ? 'an array' : typeof options}`,
      "e.g. { device: 'cpu' }",
    );
  }
}

type BuildModel = (config: T5Config, options: ModelOptions) => T5ForConditionalGeneration;

/**
 * Loads a Hugging Face T5 / T5.1.1 checkpoint directory (config.json + model.safetensors or
 * shards) into the model that `build` makes from its config. Names, shapes and dtypes are checked
 * against the config before any weight is read; tied copies of shared.weight
 * (encoder/decoder.embed_tokens, lm_head of tied models) are accepted when they equal it.
 * Parameters are kept in float32 whatever the stored dtype. Use `fromPretrained`
 * (lib/model/hf_checkpoint.ts) or `T5ForConditionalGeneration.fromPretrained`.
 *
 * @throws Ext5Error EXT5_CHECKPOINT / EXT5_CONFIG / EXT5_SAFETENSORS naming the file and tensor.
 */
export function loadPretrained(
  dir: string,
  opts: FromPretrainedOptions,
  build: BuildModel,
): T5ForConditionalGeneration {
  const read = openPretrained(dir, opts);
  using weights = CheckpointWeights.open(dir);
  return runLoadSync(loadSteps(read, weights, opts, build), weights);
}

/**
 * loadPretrained with the tensor bytes read by asynchronous file I/O (libuv's thread pool), one
 * tensor at a time, so the event loop runs between and during the reads; the same checks in the
 * same order. What stays on the JS thread: config.json and the safetensors headers (small, read
 * first), building the model from its config, and copying each tensor's bytes into its parameter.
 */
export async function loadPretrainedAsync(
  dir: string,
  opts: FromPretrainedOptions,
  build: BuildModel,
): Promise<T5ForConditionalGeneration> {
  const read = openPretrained(dir, opts);
  using weights = CheckpointWeights.open(dir);
  return await runLoadAsync(loadSteps(read, weights, opts, build), weights);
}

/** A checkpoint's config.json: its file, its JSON, and the config validated from it. */
interface ReadConfig {
  file: string;
  raw: Record<string, unknown>;
  config: T5Config;
}

/** The checks before a checkpoint's weights are opened: options, an interrupted save, config.json. */
function openPretrained(dir: string, opts: FromPretrainedOptions): ReadConfig {
  checkFromPretrainedArgs('T5ForConditionalGeneration.fromPretrained', dir, opts);
  const known = ['device', 'computeDtype', 'allowNonFinite'];
  for (const k of Object.keys(opts)) {
    if (!known.includes(k))
      throw new Ext5Error('EXT5_INVALID_ARG', `unknown fromPretrained option '${k}'${didYouMean(k, known)}`);
  }
  recoverInterruptedSave(dir);
  const { file, raw } = readConfigObject(dir);
  return { file, raw, config: validateConfig(raw, file) };
}

/** Everything of a load from the opened weights on: the head, the sizes, the model, its weights. */
function* loadSteps(
  { file, raw, config: read }: ReadConfig,
  weights: CheckpointWeights,
  opts: FromPretrainedOptions,
  build: BuildModel,
): NeedsBytes<T5ForConditionalGeneration> {
  const config = yield* resolveOutputHead(raw, read, weights, file);
  checkConfigAgainstWeights(config, weights);
  const model = build(config, {
    device: opts.device ?? 'cpu',
    seed: 0,
    ...(opts.computeDtype ? { computeDtype: opts.computeDtype } : {}),
  });
  try {
    yield* loadWeights(model, weights, opts.allowNonFinite === true);
  } catch (e) {
    model.dispose();
    throw e;
  }
  return model;
}

/** Runs load steps, answering each request for bytes with a synchronous read; a failed read is thrown into the steps. */
function runLoadSync<T>(steps: NeedsBytes<T>, weights: CheckpointWeights): T {
  let r = steps.next();
  while (!r.done) {
    let bytes: Uint8Array;
    try {
      bytes = weights.read(r.value);
    } catch (e) {
      r = steps.throw(e);
      continue;
    }
    r = steps.next(bytes);
  }
  return r.value;
}

/** runLoadSync with asynchronous reads: each request is answered on a later turn of the event loop. */
async function runLoadAsync<T>(steps: NeedsBytes<T>, weights: CheckpointWeights): Promise<T> {
  let r = steps.next();
  while (!r.done) {
    let bytes: Uint8Array;
    try {
      bytes = await weights.readAsync(r.value);
    } catch (e) {
      r = steps.throw(e);
      continue;
    }
    r = steps.next(bytes);
  }
  return r.value;
}

/**
 * Checks the sizes config.json implies against the checkpoint's headers before a model is built:
 * unchecked, a config with 100,000 decoder layers builds the whole model (minutes, gigabytes)
 * before the names show the mismatch. The block counts and the embedding's shape are enough to tie
 * every size to the file; loadWeights then checks every name and shape.
 */
function checkConfigAgainstWeights(config: T5Config, weights: CheckpointWeights): void {
  const blocks = { encoder: 0, decoder: 0 };
  for (const name of weights.names()) {
    const m = /^(encoder|decoder)\.block\.(\d+)\./.exec(name);
    if (m) {
      const stack = m[1] as 'encoder' | 'decoder';
      blocks[stack] = Math.max(blocks[stack], Number(m[2]) + 1);
    }
  }
  const wrong: string[] = [];
  if (config.num_layers !== blocks.encoder)
    wrong.push(`num_layers is ${config.num_layers} but the weights hold ${blocks.encoder} encoder block(s)`);
  if (config.num_decoder_layers !== blocks.decoder) {
    wrong.push(
      `num_decoder_layers is ${config.num_decoder_layers} but the weights hold ${blocks.decoder} decoder block(s)`,
    );
  }
  const embed = embeddingSource(weights);
  if (embed) {
    const shape = weights.info(embed).shape;
    if (!sameShape(shape, [config.vocab_size, config.d_model])) {
      wrong.push(
        `vocab_size x d_model is ${config.vocab_size} x ${config.d_model} but '${embed}' has shape [${shape.join(', ')}]`,
      );
    }
  }
  if (wrong.length > 0) {
    throw ckptError(
      `${weights.dir}: config.json does not match the weights (${wrong.join('; ')})`,
      'the config belongs to another checkpoint, or was edited; nothing was built',
    );
  }
}

/**
 * Throws EXT5_CHECKPOINT naming `name` when `t` holds NaN or Infinity. A full max and min answer
 * that (torch's max/min propagate NaN) without a temporary tensor: 5 ms on t5-small's 66 MB
 * embedding where isfinite-not-sum took 130-300 ms; the bad values are counted only on failure.
 */
function checkFinite(t: Tensor, name: string, file: string): void {
  if (t.shape.some((d) => d === 0)) return;
  const finite = tidy(() => Number.isFinite(t.max().item()) && Number.isFinite(t.min().item()));
  if (finite) return;
  const bad = tidy(() => t.isfinite().logicalNot().sum().item() as number);
  if (bad > 0) {
    throw ckptError(
      `${file}: tensor '${name}' holds ${bad} NaN or infinite value(s)`,
      'the file is corrupted (safetensors has no checksum); re-download it, or pass allowNonFinite: true to load it anyway',
    );
  }
}

/** Checks a checkpoint's tensors against the model, then loads them one at a time. */
function* loadWeights(
  model: T5ForConditionalGeneration,
  weights: CheckpointWeights,
  allowNonFinite: boolean,
): NeedsBytes<void> {
  const params = model.namedParameters();
  const expected = new Map(params.map(([n, t]) => [n, t.shape] as [string, number[]]));
  for (const [, t] of params) t.dispose();
  const tied = model.config.tie_word_embeddings;
  const aliases = new Set([...EMBED_ALIASES, ...(tied ? ['lm_head.weight'] : [])]);

  // 1. Names: every parameter present (shared.weight may come from an alias), nothing unknown.
  const sharedSource = embeddingSource(weights);
  const missing = [...expected.keys()].filter(
    (n) => !weights.has(n) && !(n === 'shared.weight' && sharedSource),
  );
  const unexpected = weights
    .names()
    .filter((n) => !expected.has(n) && !aliases.has(n) && !IGNORED_KEYS.has(n));
  if (missing.length > 0 || unexpected.length > 0) {
    const parts: string[] = [];
    if (missing.length)
      parts.push(
        `missing ${missing.length} tensor(s): ${missing.slice(0, 8).join(', ')}${missing.length > 8 ? ', ...' : ''}`,
      );
    if (unexpected.length) {
      parts.push(
        `unexpected ${unexpected.length} tensor(s): ${unexpected.slice(0, 8).join(', ')}${unexpected.length > 8 ? ', ...' : ''}` +
          (unexpected[0] ? didYouMean(unexpected[0], expected.keys()) : ''),
      );
    }
    throw ckptError(
      `${weights.dir}: the weights do not match config.json (${parts.join('; ')})`,
      tied && weights.has('lm_head.weight') === false && missing.includes('lm_head.weight')
        ? 'is tie_word_embeddings right in config.json?'
        : 'the checkpoint is of another T5 variant or another architecture; check feed_forward_proj, num_layers and tie_word_embeddings',
    );
  }
  // 2. Shapes and dtypes, before reading any bytes.
  for (const name of [...expected.keys(), ...[...aliases].filter((a) => weights.has(a))]) {
    const source = name === 'shared.weight' ? sharedSource! : name;
    if (!weights.has(source)) continue;
    const info = weights.info(source);
    const want = expected.get(name) ?? expected.get('shared.weight')!;
    if (!sameShape(info.shape, want)) {
      throw ckptError(
        `${weights.fileOf(source)}: tensor '${source}' has shape [${info.shape.join(', ')}] but the model built from config.json needs [${want.join(', ')}]`,
        'config.json does not match the weights (a checkpoint of another size or architecture?)',
      );
    }
    if (!FLOAT_DTYPES.has(info.dtype)) {
      throw ckptError(
        `${weights.fileOf(source)}: tensor '${source}' has dtype ${info.dtype}; T5 weights are floating point`,
      );
    }
  }
  // 3. Aliases must be copies of shared.weight (tied weights).
  if (sharedSource) {
    const present = [...aliases].filter((a) => weights.has(a) && a !== sharedSource);
    if (present.length > 0) {
      const shared: Uint8Array = yield sharedSource;
      for (const a of present) {
        if (weights.info(a).dtype !== weights.info(sharedSource).dtype || !bytesEqual(yield a, shared)) {
          throw ckptError(
            `${weights.fileOf(a)}: '${a}' differs from '${sharedSource}', but T5 ties them`,
            a === 'lm_head.weight'
              ? 'if the output embedding is separate, set "tie_word_embeddings": false in config.json ' +
                  '(a config with "scale_decoder_outputs", as transformers 5 writes, reads a distinct lm_head.weight as untied)'
              : 'the checkpoint is inconsistent; re-export it',
          );
        }
      }
    }
  }
  // 4. Load, one tensor at a time (only one is in host memory at once).
  for (const name of expected.keys()) {
    const source = name === 'shared.weight' ? sharedSource! : name;
    const info = weights.info(source);
    const t = tensorFromBytes(yield source, info.dtype, info.shape);
    try {
      if (!allowNonFinite) checkFinite(t, source, weights.fileOf(source));
      model.loadParameters([[name, t]], false);
    } finally {
      t.dispose();
    }
  }
}

export interface SavePretrainedOptions extends CheckpointWriteOptions {
  /** Stored dtype of the weights (default: as the parameters are, float32). */
  dtype?: 'float32' | 'bfloat16' | 'float16';
  /** Shard above this size (bytes or "5GB"; default 5 GB like transformers). */
  maxShardSize?: number | string;
  /** Also store this optimizer's state (optimizer.safetensors) in the same atomic write. */
  optimizer?: Adafactor;
  /**
   * The vocabulary the model was trained with (a name such as 't5' or 'mini', or a SentencePiece model
   * path): also writes spiece.model, tokenizer_config.json and special_tokens_map.json, so the folder is a
   * complete Hugging Face T5 model (lib/model/hf_tokenizer.ts).
   */
  vocabulary?: string;
  /** Writes more files (trainer state, ...) into the temporary directory before the swap. */
  extra?: (tmpDir: string) => void | Promise<void>;
}

const SAVE_KEYS = ['dtype', 'maxShardSize', 'optimizer', 'vocabulary', 'extra', 'write', 'onProgress'];

/**
 * Saves a model as a Hugging Face checkpoint directory, atomically: config.json (with
 * "architectures": ["T5ForConditionalGeneration"], "model_type": "t5", "dtype" and "torch_dtype"
 * with one value, both head keys "tie_word_embeddings" and "scale_decoder_outputs", and every
 * float-typed key written as a float: lib/model/t5_config.ts configJsonText) and
 * model.safetensors (or shards with an index), plus optimizer.safetensors when asked. Tied
 * weights are stored once, as shared.weight (transformers re-ties them on load).
 *
 * @throws Ext5Error EXT5_DISK_FULL / EXT5_IO; the previous checkpoint at `dir` is kept.
 */
export async function savePretrained(
  model: T5ForConditionalGeneration,
  dir: string,
  opts: SavePretrainedOptions = {},
): Promise<void> {
  for (const k of Object.keys(opts)) {
    if (!SAVE_KEYS.includes(k))
      throw new Ext5Error(
        'EXT5_INVALID_ARG',
        `unknown savePretrained option '${k}'${didYouMean(k, SAVE_KEYS)}`,
      );
  }
  const dtype = opts.dtype ?? 'float32';
  if (!['float32', 'bfloat16', 'float16'].includes(dtype)) {
    throw new Ext5Error(
      'EXT5_INVALID_ARG',
      `savePretrained dtype must be float32, bfloat16 or float16, got '${dtype}'`,
    );
  }
  const maxShard = parseShardSize(opts.maxShardSize ?? DEFAULT_MAX_SHARD_BYTES);
  const params = model.namedParameters();
  try {
    const entries = checkpointWeightEntries(model, params, dtype);
    const config = checkpointConfigText(model, dtype);
    await writeDirectoryAtomic(dir, async (tmp) => {
      writeWeights(tmp, entries, maxShard, opts);
      if (opts.optimizer) opts.optimizer.saveState(path.join(tmp, OPTIMIZER_FILE));
      if (opts.vocabulary !== undefined) {
        writeTokenizerFiles(tmp, vocabularyPath(opts.vocabulary), {
          modelVocabSize: model.config.vocab_size,
        });
      }
      if (opts.extra) await opts.extra(tmp);
      // config.json last: a directory with a config but no weights never exists, even in tmp.
      writeFileDurable(path.join(tmp, CONFIG_FILE), config);
    });
  } finally {
    for (const [, t] of params) t.dispose();
  }
}

type StoredDtype = NonNullable<SavePretrainedOptions['dtype']>;

/**
 * The weight entries a checkpoint stores of `params` (some or all of `model.namedParameters()`):
 * tied copies are left out (the embedding aliases, and lm_head when tied: transformers re-ties
 * them on load); each tensor's bytes are produced, as `dtype`, only when its entry is written.
 */
export function checkpointWeightEntries(
  model: T5ForConditionalGeneration,
  params: ReadonlyArray<readonly [string, Tensor]>,
  dtype: StoredDtype = 'float32',
): WeightEntry[] {
  return params
    .filter(
      ([name]) =>
        !EMBED_ALIASES.includes(name) && !(name === 'lm_head.weight' && model.config.tie_word_embeddings),
    )
    .map(([name, t]) => ({
      name,
      dtype: safetensorsDtype(dtype),
      shape: t.shape,
      data: () => bytesAs(t, dtype),
    }));
}

/** The config.json text a checkpoint of `model` stored as `dtype` holds. */
export function checkpointConfigText(
  model: T5ForConditionalGeneration,
  dtype: StoredDtype = 'float32',
): string {
  // A config loaded from an old export may name a legacy class (T5WithLMHeadModel): write the
  // class this checkpoint is, as transformers' save_pretrained would.
  // An mT5 is written as the T5 it is (same layers), with its head spelled out by both keys.
  // "dtype" is what transformers 5 (and 4.56+) reads, "torch_dtype" what older 4.x reads: both
  // are written, with one value.
  return configJsonText({
    ...toHuggingFaceJson(model.config),
    architectures: ['T5ForConditionalGeneration'],
    model_type: 't5',
    dtype,
    torch_dtype: dtype,
  });
}

function bytesAs(t: Tensor, dtype: string): Uint8Array {
  if (t.dtype === dtype) return tensorToBytes(t);
  const c = t.to(dtype as Tensor['dtype']);
  try {
    return tensorToBytes(c);
  } finally {
    c.dispose();
  }
}
