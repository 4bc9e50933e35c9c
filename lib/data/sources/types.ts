/**
 * Shared shapes of the streaming record readers: a record is one JSON-like object, a position
 * says where a resumed reader continues, and a file reader yields raw items that the
 * orchestrator in `read_records.ts` shards, decodes and counts.
 */

/** One record of a data source: a JSON object, a CSV/TSV row keyed by the header, or a Parquet row. */
export type DataRecord = Record<string, unknown>;

/**
 * Where a reader stands, JSON-serialisable. `fileIndex` indexes the sorted list of all files
 * of the source (not only this rank's), `recordIndex` is the next raw record of that file (a
 * line for JSONL, a data row for CSV/TSV and Parquet), `globalIndex` counts raw records before
 * this point across the files this reader visited. `files`
 * and `fileName` let a restore detect that the source changed under it.
 */
export interface SourcePosition {
  fileIndex: number;
  recordIndex: number;
  globalIndex: number;
  files: number;
  fileName: string;
}

/** File formats the readers know; the extension picks one unless `format` is given. */
export type SourceFormat = 'jsonl' | 'csv' | 'tsv' | 'parquet';

/** Options of `readRecords`. */
export interface ReadRecordsOptions {
  /** Skip malformed records (and count them in `stats().malformed`) instead of throwing. */
  skipMalformed?: boolean;
  /** Continue from a position saved with `position()`. */
  resumeFrom?: SourcePosition;
  /** Force a format instead of guessing it from the file extension. */
  format?: SourceFormat;
  /** CSV/TSV: honour RFC 4180 double quotes (default true). Turn off for TSV files whose quotes are literal text. */
  quoting?: boolean;
  /** CSV/TSV: field names to use when the file has no header row. */
  header?: string[];
  /** Parquet: read only these columns. */
  columns?: string[];
  /** Called with each malformed record that `skipMalformed` skips. */
  onMalformed?: (info: MalformedInfo) => void;
}

/** What is known about a skipped malformed record. */
export interface MalformedInfo {
  file: string;
  /** Human-readable place, e.g. `line 17` or `row 3`. */
  where: string;
  reason: string;
}

/** Counters of a reader, for logs. */
export interface SourceStats {
  /** Records handed out. */
  records: number;
  /** Malformed records skipped (only with `skipMalformed`). */
  malformed: number;
  /** Files opened so far. */
  filesOpened: number;
}

/** One raw record as a file reader sees it, before decoding. */
export interface RawItem {
  /** Zero-based ordinal of the raw record inside its file. */
  index: number;
  /** Human-readable place for error messages (`line 17`). */
  where: string;
  /** Format-specific raw value, given to the reader's `decode`. */
  raw: unknown;
  /** Set when the reader already knows the record is malformed (e.g. a broken CSV quote). */
  error?: string;
}

/** A per-format reader of one file. */
export interface FileReader {
  /** Raw records of `file`, starting at raw record `start` (earlier ones may be skipped cheaply). */
  items(file: string, start: number): AsyncGenerator<RawItem>;
  /** Turns a raw value into a record; throws `MalformedRecord` when it cannot. */
  decode(raw: unknown): DataRecord;
}

/** Thrown by a decoder for one bad record; the orchestrator adds the file and place. */
export class MalformedRecord extends Error {
  override readonly name = 'MalformedRecord';
}
