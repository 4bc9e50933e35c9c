/**
 * The text side of generation, shared by `T5ForConditionalGeneration.predict`, the evaluator and
 * `ext5 predict`: encode texts, cut and pad them into one [B, S] batch with EOS, and turn generated
 * ids back into text. Nothing here loads libtorch; the model calls live in lib/model/t5.ts.
 */
import type { GenerateOptions } from '../native/t5';
import { Ext5Error } from '../util/errors';

/** What text generation needs of a vocabulary (`SentencePieceVocabulary` has it). */
export interface TextVocabulary {
  readonly eosId: number;
  encodeBatchAsync(texts: string[]): Promise<Int32Array[]>;
  decode(ids: readonly number[]): string;
}

/** Options of `predict`: the generate options plus how inputs are batched and cut. */
export interface PredictOptions extends GenerateOptions {
  /** Input tokens kept per text, EOS included (default 512, T5's inputs length). */
  maxInputLength?: number;
  /** Texts per generate call (default 16). */
  batchSize?: number;
}

/** Splits predict options into the batching settings and the generate options, checking both. */
export function splitPredictOptions(options: PredictOptions): {
  maxInputLength: number;
  batchSize: number;
  generate: GenerateOptions;
} {
  const { maxInputLength = 512, batchSize = 16, ...generate } = options;
  for (const [k, v] of [
    ['maxInputLength', maxInputLength],
    ['batchSize', batchSize],
  ] as const) {
    if (!Number.isInteger(v) || v < 1) {
      throw new Ext5Error('EXT5_INVALID_ARG', `predict option ${k} must be a positive integer, got ${v}`);
    }
  }
  return { maxInputLength, batchSize, generate };
}

/**
 * Encoded texts as one right-padded batch: each row cut to `maxLen − 1` tokens and ended with EOS
 * (as T5's tasks append it), the batch as long as its longest row, mask 1 on real tokens.
 *
 * @example
 * padTokenBatch([Int32Array.of(5, 6), Int32Array.of(7)], 512, 1)
 * // ids [[5, 6, 1], [7, 1, 0]], mask [[1, 1, 1], [1, 1, 0]] (as { data, shape })
 */
export function padTokenBatch(
  rows: readonly Int32Array[],
  maxLen: number,
  eos: number,
): {
  ids: { data: Int32Array; shape: [number, number] };
  mask: { data: Int32Array; shape: [number, number] };
} {
  const len = Math.max(1, Math.min(maxLen, Math.max(...rows.map((r) => Math.min(r.length + 1, maxLen)))));
  const data = new Int32Array(rows.length * len);
  const mask = new Int32Array(rows.length * len);
  rows.forEach((r, i) => {
    const n = Math.min(r.length, len - 1);
    data.set(r.subarray(0, n), i * len);
    data[i * len + n] = eos;
    mask.fill(1, i * len, i * len + n + 1);
  });
  return { ids: { data, shape: [rows.length, len] }, mask: { data: mask, shape: [rows.length, len] } };
}

/** Generated id rows (from `sequencesToArrays`) as text: EOS and padding (0) left out. */
export function decodeGenerated(rows: readonly number[][], vocab: TextVocabulary): string[] {
  return rows.map((r) => vocab.decode(r.filter((t) => t !== vocab.eosId && t !== 0)));
}

/** Refuses anything but an array of strings, naming the first bad entry. */
export function checkTexts(texts: unknown): asserts texts is string[] {
  if (!Array.isArray(texts)) {
    throw new Ext5Error('EXT5_INVALID_ARG', 'predict() needs a string or an array of strings');
  }
  texts.forEach((t, i) => {
    if (typeof t !== 'string') {
      throw new Ext5Error('EXT5_INVALID_ARG', `predict() text ${i} is ${typeof t}, expected a string`);
    }
  });
}

/** Refuses a vocabulary without the three members generation needs. */
export function checkVocabulary(vocab: unknown): asserts vocab is TextVocabulary {
  const v = vocab as Partial<TextVocabulary> | null | undefined;
  if (
    v === null ||
    typeof v !== 'object' ||
    typeof v.eosId !== 'number' ||
    typeof v.encodeBatchAsync !== 'function' ||
    typeof v.decode !== 'function'
  ) {
    throw new Ext5Error(
      'EXT5_INVALID_ARG',
      'predict() needs a vocabulary with eosId, encodeBatchAsync() and decode()',
      "load one with SentencePieceVocabulary.load('spiece.model')",
    );
  }
}
