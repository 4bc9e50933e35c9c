/**
 * Text pipeline: T5's SentencePiece vocabulary (native), span corruption, and the SeqIO
 * encoder-decoder packer. The vocabulary loads its addon only when first used.
 */
export {
  ENC_DEC_FEATURES,
  type EncDecBatch,
  EncDecPacker,
  type EncDecPackerOptions,
  type EncDecPackerState,
  type Seq2SeqExample,
} from './packing';
export {
  type NoiseCounts,
  noiseCounts,
  randomSegmentation,
  randomSpansHelper,
  randomSpansNoiseMask,
  roundHalfEven,
  type SpanCorruptedExample,
  SpanCorruption,
  type SpanCorruptionOptions,
  type SpanCorruptionState,
  spanCorrupt,
} from './span_corruption';
export type { FlatEncoding } from './spm_addon';
export { type BatchEncoder, type TokenizeStreamOptions, tokenizeStream } from './tokenize_stream';
export {
  type BatchOptions,
  resolveModelPath,
  SentencePieceVocabulary,
  splitFlat,
  type TrainVocabularyOptions,
  trainVocabulary,
  type VocabularyOptions,
} from './vocabulary';
