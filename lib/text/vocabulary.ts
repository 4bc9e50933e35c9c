/**
 * T5's vocabulary: a SentencePiece model plus 100 sentinels with reversed ids.
 *
 * Modelled on google/seqio `seqio/vocabularies.py` (SentencePieceVocabulary): the sentinels are
 * appended to the model as user-defined pieces `▁<extra_id_N>` in reverse order, so
 * `<extra_id_0>` = vocabSize − 1 (32099 for T5's 32000-piece model); `<extra_id_N>` in text is
 * encoded to its id when it starts a word (SeqIO's documented caveat) and decoded back to the
 * string; decode maps ids past the vocabulary to UNK and stops after the first EOS. PAD = 0,
 * EOS = 1, UNK = 2 come from the model (T5 models are trained that way; see
 * {@link trainVocabulary}). Encoding and training run in the native SentencePiece library.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { checkTextCorpus } from '../io/text_check';
import { Ext5Error } from '../util/errors';
import { type FlatEncoding, type NativeSpmModel, spmAddon } from './spm_addon';

/** Options of {@link SentencePieceVocabulary.load}. */
export interface VocabularyOptions {
  /** Sentinels to append (default 100, as T5). */
  extraIds?: number;
}

/** Options of the batched encoders. */
export interface BatchOptions {
  /** Threads that share the batch (default 1). */
  threads?: number;
}

const MODEL_NAMES = ['spiece.model', 'sentencepiece.model', 'tokenizer.model'];

/** Resolves a model path: a `.model` file, or a directory holding `spiece.model` / `sentencepiece.model`. */
export function resolveModelPath(p: string): string {
  let stat: fs.Stats | undefined;
  try {
    stat = fs.statSync(p);
  } catch {
    throw new Ext5Error(
      'E_VOCAB_NOT_FOUND',
      `SentencePiece model not found: ${p}`,
      'pass a spiece.model / sentencepiece.model file, or a model directory that holds one; `ext5 vocab train` makes a new one',
    );
  }
  if (!stat.isDirectory()) return p;
  for (const name of MODEL_NAMES) {
    const f = path.join(p, name);
    if (fs.existsSync(f)) return f;
  }
  throw new Ext5Error(
    'E_VOCAB_NOT_FOUND',
    `no SentencePiece model in ${p} (looked for ${MODEL_NAMES.join(', ')})`,
    'put the model file there or pass its path',
  );
}

function toError(err: unknown): never {
  const e = err as { code?: unknown; message?: unknown };
  if (typeof e?.code === 'string' && typeof e.message === 'string') {
    const hints: Record<string, string> = {
      E_VOCAB_NOT_FOUND: 'check the path to the .model file',
      E_VOCAB_CORRUPT: 'the file is not a SentencePiece model (or is truncated): download or train it again',
      E_DISPOSED: 'load the vocabulary again',
    };
    throw new Ext5Error(e.code, e.message, hints[e.code]);
  }
  throw err;
}

/**
 * A T5 SentencePiece vocabulary with sentinels.
 *
 * @example
 * const vocab = SentencePieceVocabulary.load('t5-base/spiece.model');
 * vocab.vocabSize;                          // 32100
 * vocab.sentinelId(0);                      // 32099
 * const ids = vocab.encode('Hello <extra_id_0> world');
 * vocab.decode(ids);                        // 'Hello <extra_id_0> world'
 * const batch = await vocab.encodeBatchAsync(texts, { threads: 4 });
 */
export class SentencePieceVocabulary {
  /** The model file. */
  readonly modelPath: string;
  /** Sentinels appended. */
  readonly extraIds: number;
  /** All ids, sentinels included (32100 for T5). */
  readonly vocabSize: number;
  readonly padId: number;
  readonly eosId: number;
  readonly unkId: number;
  private native: NativeSpmModel | undefined;

  private constructor(modelPath: string, extraIds: number, native: NativeSpmModel) {
    this.modelPath = modelPath;
    this.extraIds = extraIds;
    this.native = native;
    this.vocabSize = native.pieceSize();
    const ids = native.specialIds();
    this.padId = ids.pad;
    this.eosId = ids.eos;
    this.unkId = ids.unk;
  }

  /** Loads a model file (or a directory with `spiece.model`) and appends `extraIds` sentinels. */
  static load(modelPath: string, opts: VocabularyOptions = {}): SentencePieceVocabulary {
    const extraIds = opts.extraIds ?? 100;
    if (!Number.isInteger(extraIds) || extraIds < 0) {
      throw new Ext5Error('E_ARG', `extraIds must be a non-negative integer, got ${extraIds}`);
    }
    const file = resolveModelPath(modelPath);
    const { SpmModel } = spmAddon();
    let native: NativeSpmModel;
    try {
      native = new SpmModel(file, extraIds);
    } catch (err) {
      toError(err);
    }
    return new SentencePieceVocabulary(file, extraIds, native);
  }

  private model(): NativeSpmModel {
    if (!this.native) throw new Ext5Error('E_DISPOSED', 'this vocabulary was disposed', 'load it again');
    return this.native;
  }

  /** Size of the SentencePiece model without the sentinels (32000 for T5). */
  get baseVocabSize(): number {
    return this.vocabSize - this.extraIds;
  }

  /** The id of `<extra_id_i>`: vocabSize − 1 − i. */
  sentinelId(i: number): number {
    if (!Number.isInteger(i) || i < 0 || i >= this.extraIds) {
      throw new Ext5Error('E_ARG', `sentinel index ${i} is outside [0, ${this.extraIds})`);
    }
    return this.vocabSize - 1 - i;
  }

  /** Token ids of `text` (no EOS). */
  encode(text: string): Int32Array {
    try {
      return this.model().encode(text);
    } catch (err) {
      toError(err);
    }
  }

  /** SentencePiece pieces of `text` (e.g. `['▁Hello', '▁world']`). */
  encodePieces(text: string): string[] {
    try {
      return this.model().encodePieces(text);
    } catch (err) {
      toError(err);
    }
  }

  /** Text of `ids`, up through the first EOS; ids past the vocabulary decode as UNK (SeqIO). */
  decode(ids: Int32Array | readonly number[]): string {
    // A tag check rather than instanceof: arrays may come from another realm (vm, jest).
    const isInt32 = Object.prototype.toString.call(ids) === '[object Int32Array]';
    let arr: Int32Array | number[] = isInt32 ? (ids as Int32Array) : Array.from(ids);
    const eos = arr.indexOf(this.eosId);
    if (eos >= 0) arr = arr.slice(0, eos + 1);
    try {
      return this.model().decode(arr);
    } catch (err) {
      toError(err);
    }
  }

  /** The piece of one id. */
  idToPiece(id: number): string {
    try {
      return this.model().idToPiece(id);
    } catch (err) {
      toError(err);
    }
  }

  /** The id of one piece (UNK when absent). */
  pieceToId(piece: string): number {
    try {
      return this.model().pieceToId(piece);
    } catch (err) {
      toError(err);
    }
  }

  /** Encodes many texts on this thread (split over `threads` native threads); one array per text. */
  encodeBatch(texts: string[], opts: BatchOptions = {}): Int32Array[] {
    return splitFlat(this.encodeBatchFlat(texts, opts));
  }

  /** Like {@link encodeBatch}, as one flat array with offsets. */
  encodeBatchFlat(texts: string[], opts: BatchOptions = {}): FlatEncoding {
    checkTexts(texts);
    try {
      return this.model().encodeBatch(texts, threadsOf(opts));
    } catch (err) {
      toError(err);
    }
  }

  /** Encodes many texts off the JS thread (split over `threads` native threads). */
  async encodeBatchAsync(texts: string[], opts: BatchOptions = {}): Promise<Int32Array[]> {
    return splitFlat(await this.encodeBatchFlatAsync(texts, opts));
  }

  /** Like {@link encodeBatchAsync}, as one flat array with offsets. */
  async encodeBatchFlatAsync(texts: string[], opts: BatchOptions = {}): Promise<FlatEncoding> {
    checkTexts(texts);
    let p: Promise<FlatEncoding>;
    try {
      p = this.model().encodeBatchAsync(texts, threadsOf(opts));
    } catch (err) {
      toError(err);
    }
    try {
      return await p;
    } catch (err) {
      toError(err);
    }
  }

  /** Releases the native model (in-flight batches finish first). */
  dispose(): void {
    this.native?.dispose();
    this.native = undefined;
  }

  [Symbol.dispose](): void {
    this.dispose();
  }
}

function threadsOf(opts: BatchOptions): number {
  const t = opts.threads ?? 1;
  if (!Number.isInteger(t) || t < 1 || t > 256) {
    throw new Ext5Error('E_ARG', `threads must be an integer in [1, 256], got ${t}`);
  }
  return t;
}

function checkTexts(texts: unknown): void {
  if (!Array.isArray(texts)) throw new Ext5Error('E_ARG', 'texts must be an array of strings');
  for (let i = 0; i < texts.length; i++) {
    if (typeof texts[i] !== 'string') {
      throw new Ext5Error(
        'E_ARG',
        `texts[${i}] is ${texts[i] === null ? 'null' : typeof texts[i]}, not a string`,
      );
    }
  }
}

/** Views of each text's ids on the flat buffer (no copy). */
export function splitFlat(flat: FlatEncoding): Int32Array[] {
  const out: Int32Array[] = new Array(flat.offsets.length - 1);
  for (let i = 0; i + 1 < flat.offsets.length; i++)
    out[i] = flat.ids.subarray(flat.offsets[i]!, flat.offsets[i + 1]!);
  return out;
}

/** Options of {@link trainVocabulary}; defaults are T5's settings. */
export interface TrainVocabularyOptions {
  /** Text file(s), one sentence or document per line. */
  input: string | string[];
  /** Output prefix: writes `<prefix>.model` and `<prefix>.vocab`. */
  modelPrefix: string;
  /** Pieces, PAD/EOS/UNK included (T5: 32000). */
  vocabSize: number;
  /** Default 'unigram' (T5). */
  modelType?: 'unigram' | 'bpe' | 'char' | 'word';
  /** Default 0.9995 (SentencePiece's default). */
  characterCoverage?: number;
  /** Sample at most this many sentences (0 = all). */
  inputSentenceSize?: number;
  /** Training threads (default 1). */
  numThreads?: number;
  /** More SentencePieceTrainer flags, e.g. `{ split_digits: 'true' }`. */
  extraFlags?: Record<string, string>;
}

/**
 * Trains a SentencePiece model with T5's conventions (pad 0, eos 1, unk 2, no bos), off the JS thread.
 *
 * @example
 * const { modelPath } = await trainVocabulary({ input: 'corpus.txt', modelPrefix: 'out/spiece', vocabSize: 32000 });
 */
export async function trainVocabulary(
  opts: TrainVocabularyOptions,
): Promise<{ modelPath: string; vocabPath: string }> {
  const inputs = Array.isArray(opts.input) ? opts.input : [opts.input];
  if (inputs.length === 0) throw new Ext5Error('E_ARG', 'no training input given');
  for (const f of inputs) {
    if (f.includes(',')) {
      throw new Ext5Error(
        'E_ARG',
        `input path '${f}' contains a comma, which SentencePiece reads as a list separator`,
      );
    }
    if (!fs.existsSync(f))
      throw new Ext5Error('E_DATA_NOT_FOUND', `training input not found: ${f}`, 'check the path');
    checkTextCorpus(f); // before SentencePiece, whose own message names neither the file nor the fix
  }
  if (!Number.isInteger(opts.vocabSize) || opts.vocabSize < 4) {
    throw new Ext5Error('E_ARG', `vocabSize must be an integer ≥ 4, got ${opts.vocabSize}`);
  }
  const dir = path.dirname(path.resolve(opts.modelPrefix));
  if (!fs.existsSync(dir)) {
    throw new Ext5Error('E_ARG', `output directory does not exist: ${dir}`, 'create it first');
  }
  const flags: Record<string, string> = {
    input: inputs.join(','),
    model_prefix: opts.modelPrefix,
    vocab_size: String(opts.vocabSize),
    model_type: opts.modelType ?? 'unigram',
    character_coverage: String(opts.characterCoverage ?? 0.9995),
    pad_id: '0',
    eos_id: '1',
    unk_id: '2',
    bos_id: '-1',
    num_threads: String(opts.numThreads ?? 1),
    minloglevel: '2',
    ...(opts.inputSentenceSize
      ? { input_sentence_size: String(opts.inputSentenceSize), shuffle_input_sentence: 'true' }
      : {}),
    ...opts.extraFlags,
  };
  try {
    await spmAddon().train(flags);
  } catch (err) {
    const e = err as { message?: string };
    throw new Ext5Error(
      'E_VOCAB_TRAIN',
      e?.message ?? String(err),
      /Vocabulary size too high/i.test(e?.message ?? '')
        ? 'the corpus has too few distinct pieces for that vocabulary size: lower --vocab-size or add text'
        : 'check the input file and the flags',
    );
  }
  return { modelPath: `${opts.modelPrefix}.model`, vocabPath: `${opts.modelPrefix}.vocab` };
}
