/**
 * The typed contract of the SentencePiece addon (native/spm/spm.cc). Loaded lazily through
 * lib/native/loader.ts, so nothing pays for it until a vocabulary is opened.
 */
import { loadAddon } from '../native/loader';

/** Ids of a batch, back to back; text i is `ids.subarray(offsets[i], offsets[i + 1])`. */
export interface FlatEncoding {
  ids: Int32Array;
  offsets: Int32Array;
}

/** One loaded SentencePiece model with `extraIds` sentinels appended. */
export interface NativeSpmModel {
  pieceSize(): number;
  specialIds(): { pad: number; eos: number; unk: number; bos: number };
  encode(text: string): Int32Array;
  encodePieces(text: string): string[];
  encodeBatch(texts: string[], threads?: number): FlatEncoding;
  encodeBatchAsync(texts: string[], threads?: number): Promise<FlatEncoding>;
  decode(ids: Int32Array | number[]): string;
  idToPiece(id: number): string;
  pieceToId(piece: string): number;
  dispose(): void;
}

/** The addon's exports. */
export interface SpmAddon {
  SpmModel: new (path: string, extraIds: number) => NativeSpmModel;
  /** SentencePieceTrainer::Train with string flags (`input`, `model_prefix`, `vocab_size`, …). */
  train(flags: Record<string, string>): Promise<void>;
  hardwareConcurrency: number;
}

/** Loads (once) the SentencePiece addon. */
export function spmAddon(): SpmAddon {
  return loadAddon<SpmAddon>('spm');
}
