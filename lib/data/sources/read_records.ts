/**
 * The streaming record source behind `readRecords`: walks the sorted files of a source, decodes
 * each raw record, names malformed ones by file and line (or skips and counts them), and keeps a
 * position that a resumed source continues from exactly. It reads every record: data-parallel
 * sharding is done once, above it, by `Task.records` with lib/data/sources/shard.ts.
 */
import * as path from 'node:path';
import { Ext5Error } from '../../util/errors';
import { delimitedReader } from './delimited';
import { formatOf, listSourceFiles } from './files';
import { jsonlReader } from './jsonl';
import { parquetReader } from './parquet';
import {
  type DataRecord,
  type FileReader,
  MalformedRecord,
  type ReadRecordsOptions,
  type SourceFormat,
  type SourcePosition,
  type SourceStats,
} from './types';

function readerFor(format: SourceFormat, opts: ReadRecordsOptions): FileReader {
  switch (format) {
    case 'jsonl':
      return jsonlReader;
    case 'csv':
    case 'tsv':
      return delimitedReader({
        delimiter: format === 'csv' ? ',' : '\t',
        quoting: opts.quoting ?? true,
        ...(opts.header ? { header: opts.header } : {}),
      });
    case 'parquet':
      return parquetReader(opts.columns);
  }
}

/**
 * A resumable stream of records. Iterate it once with `for await`; call `position()`
 * at any time to get a JSON-serialisable place that `resumeFrom` continues from.
 */
export class RecordSource implements AsyncIterable<DataRecord> {
  /** The sorted files of the source. */
  readonly files: readonly string[];
  private readonly opts: ReadRecordsOptions;
  private pos: SourcePosition;
  private counters: SourceStats = { records: 0, malformed: 0, filesOpened: 0 };
  private started = false;
  private where: string | undefined;

  constructor(source: string | readonly string[], opts: ReadRecordsOptions = {}) {
    this.opts = opts;
    if (typeof source === 'string') {
      this.files = listSourceFiles(source, opts.format);
    } else {
      if (source.length === 0) throw new Ext5Error('E_DATA_EMPTY', 'no data files given');
      this.files = [...source];
    }
    this.pos = {
      fileIndex: 0,
      recordIndex: 0,
      globalIndex: 0,
      files: this.files.length,
      fileName: '',
    };
    if (opts.resumeFrom) this.pos = this.checkResume(opts.resumeFrom);
    this.pos.fileName = path.basename(this.files[this.pos.fileIndex] ?? '');
  }

  private checkResume(p: SourcePosition): SourcePosition {
    const ok =
      p !== null &&
      typeof p === 'object' &&
      [p.fileIndex, p.recordIndex, p.globalIndex].every((v) => Number.isInteger(v) && v >= 0) &&
      p.fileIndex <= this.files.length;
    if (!ok) {
      throw new Ext5Error('E_DATA_RESUME', `invalid saved data position ${JSON.stringify(p)}`);
    }
    if (
      p.files !== this.files.length ||
      (p.fileIndex < this.files.length && path.basename(this.files[p.fileIndex]!) !== p.fileName)
    ) {
      throw new Ext5Error(
        'E_DATA_RESUME',
        `the data source changed since the position was saved (saved: ${p.files} files, at '${p.fileName}'; now: ${this.files.length} files)`,
        'resume with the same data files, or start the data stream afresh',
      );
    }
    return { ...p };
  }

  /** Where the next record will come from; save it and pass it as `resumeFrom` to continue. */
  position(): SourcePosition {
    return { ...this.pos };
  }

  /** Where the record handed out last came from (`line 17`, `element 3`), or undefined before the first. */
  lastWhere(): string | undefined {
    return this.where;
  }

  /** Records handed out, malformed records skipped, files opened. */
  stats(): SourceStats {
    return { ...this.counters };
  }

  async *[Symbol.asyncIterator](): AsyncGenerator<DataRecord> {
    if (this.started)
      throw new Ext5Error(
        'E_DATA_ITER',
        'a RecordSource can be iterated only once; open a new one with resumeFrom',
      );
    this.started = true;
    for (let f = this.pos.fileIndex; f < this.files.length; f++) {
      const file = this.files[f]!;
      const format = this.opts.format ?? formatOf(file)!;
      const reader = readerFor(format, this.opts);
      const start = f === this.pos.fileIndex ? this.pos.recordIndex : 0;
      // The global index counts the raw records of the files read so far (a resume restores it).
      let global = this.pos.globalIndex;
      this.pos = { ...this.pos, fileIndex: f, recordIndex: start, fileName: path.basename(file) };
      this.counters.filesOpened++;
      let lastIndex = start - 1;
      try {
        for await (const item of reader.items(file, start)) {
          global += item.index - lastIndex;
          lastIndex = item.index;
          this.pos.recordIndex = item.index + 1;
          this.pos.globalIndex = global;
          let record: DataRecord;
          try {
            if (item.error) throw new MalformedRecord(item.error);
            record = reader.decode(item.raw);
          } catch (err) {
            if (!(err instanceof MalformedRecord)) throw err;
            if (!this.opts.skipMalformed) {
              throw new Ext5Error(
                'E_MALFORMED_RECORD',
                `${file}, ${item.where}: ${err.message}`,
                'fix or delete that record, or skip malformed records (skipMalformed / --skip-malformed) to count and drop them',
              );
            }
            this.counters.malformed++;
            this.opts.onMalformed?.({ file, where: item.where, reason: err.message });
            continue;
          }
          this.counters.records++;
          this.where = item.where;
          yield record;
        }
      } catch (err) {
        if (err instanceof MalformedRecord) {
          throw new Ext5Error('E_DATA_CORRUPT', `${file}: ${err.message}`, 'check or re-create that file');
        }
        throw err;
      }
      // A file fully read: the next one starts at record 0 (its records still count globally).
      this.pos = {
        ...this.pos,
        fileIndex: f + 1,
        recordIndex: 0,
        fileName: path.basename(this.files[f + 1] ?? ''),
      };
    }
  }
}
