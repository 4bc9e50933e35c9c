/**
 * Streaming data sources with bounded memory: JSON Lines (plain or gzip), CSV/TSV, Parquet and
 * the C4 layout, resumable from a saved position; `shardFor` deals records to data-parallel ranks.
 */
import { RecordSource } from './read_records';
import type { ReadRecordsOptions } from './types';

export { type C4Document, type C4Files, C4Source, c4Files, readC4 } from './c4';
export { parseDelimited } from './delimited';
export { formatOf, listSourceFiles } from './files';
export { parseJsonLine } from './jsonl';
export { FileHandleBuffer, parquetFileMetadata, parquetRowCount } from './parquet';
export { RecordSource } from './read_records';
export { type Shard, shardFor } from './shard';
export type {
  DataRecord,
  MalformedInfo,
  ReadRecordsOptions,
  SourceFormat,
  SourcePosition,
  SourceStats,
} from './types';

/**
 * Streams the records of a file, a directory of files, or a `dir/part-*.jsonl.gz` pattern; the
 * format comes from each file's extension (`.jsonl`/`.json`/`.ndjson`, `.csv`, `.tsv`, each
 * optionally `.gz`, and `.parquet`). The result is a `RecordSource`: iterate it once, and call
 * `position()` / `stats()` on it.
 *
 * @example
 * const src = readRecords('data/train.jsonl.gz', { skipMalformed: true });
 * for await (const rec of shardFor(1, 4).takeAsync(src)) use(rec.text); // rank 1 of 4
 * const saved = src.position(); // later: readRecords(path, { resumeFrom: saved })
 */
export function readRecords(path: string, opts: ReadRecordsOptions = {}): RecordSource {
  return new RecordSource(path, opts);
}
