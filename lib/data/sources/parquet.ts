/**
 * Parquet reader over hyparquet (+ hyparquet-compressors for snappy, gzip, zstd, brotli, lz4).
 * The file is read through an AsyncBuffer over an open file handle, one row group at a time, so
 * memory holds the footer and the current row group, never the whole file. Resuming at a row
 * skips whole row groups without reading them.
 */
import { promises as fsp } from 'node:fs';
import * as zlib from 'node:zlib';
import type { AsyncBuffer, FileMetaData } from 'hyparquet';
import { Ext5Error } from '../../util/errors';
import { type DataRecord, type FileReader, MalformedRecord, type RawItem } from './types';

type Hyparquet = typeof import('hyparquet');
type Decompress = (input: Uint8Array, outputLength: number) => Uint8Array;
let hyparquet: Hyparquet | undefined;

// hyparquet is an ES module; loading it on first use keeps it off the start-up path of the CLI.
function loadHyparquet(): Hyparquet {
  hyparquet ??= require('hyparquet') as Hyparquet;
  return hyparquet;
}

// Codecs: hyparquet decodes snappy itself; gzip and brotli go through Node's native zlib (faster
// than the JS ports); zstd and lz4 come from hyparquet-compressors, loaded only when a file uses them.
function fromCompressors(codec: 'ZSTD' | 'LZ4' | 'LZ4_RAW'): Decompress {
  return (input, outputLength) => {
    const { compressors } = require('hyparquet-compressors') as typeof import('hyparquet-compressors');
    return compressors[codec]!(input, outputLength);
  };
}
const toBytes = (b: Buffer): Uint8Array => new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
const COMPRESSORS: Record<string, Decompress> = {
  GZIP: (input) => toBytes(zlib.gunzipSync(input)),
  BROTLI: (input) => toBytes(zlib.brotliDecompressSync(input)),
  ZSTD: fromCompressors('ZSTD'),
  LZ4: fromCompressors('LZ4'),
  LZ4_RAW: fromCompressors('LZ4_RAW'),
};

/** An AsyncBuffer that reads byte ranges of a file through an open handle. */
export class FileHandleBuffer implements AsyncBuffer {
  constructor(
    private readonly handle: fsp.FileHandle,
    readonly byteLength: number,
  ) {}

  /** Opens `file` for range reads. Close it with `close()`. */
  static async open(file: string): Promise<FileHandleBuffer> {
    const handle = await fsp.open(file, 'r');
    try {
      const { size } = await handle.stat();
      return new FileHandleBuffer(handle, size);
    } catch (err) {
      await handle.close();
      throw err;
    }
  }

  async slice(start: number, end?: number): Promise<ArrayBuffer> {
    const stop = Math.min(end ?? this.byteLength, this.byteLength);
    const length = Math.max(0, stop - start);
    const out = new ArrayBuffer(length);
    const view = new Uint8Array(out);
    let done = 0;
    while (done < length) {
      const { bytesRead } = await this.handle.read(view, done, length - done, start + done);
      if (bytesRead === 0) break;
      done += bytesRead;
    }
    if (done < length) throw new Error(`short read: wanted ${length} bytes at ${start}, got ${done}`);
    return out;
  }

  close(): Promise<void> {
    return this.handle.close();
  }
}

/** Turns INT64 values that fit a double exactly into numbers, so labels compare with `===`. */
function normalise(value: unknown): unknown {
  if (typeof value === 'bigint') {
    return value >= BigInt(Number.MIN_SAFE_INTEGER) && value <= BigInt(Number.MAX_SAFE_INTEGER)
      ? Number(value)
      : value;
  }
  return value;
}

/** The footer metadata of a Parquet file (for inspection and tests). */
export async function parquetFileMetadata(file: string): Promise<FileMetaData> {
  const buf = await FileHandleBuffer.open(file);
  try {
    return await loadHyparquet().parquetMetadataAsync(buf);
  } finally {
    await buf.close();
  }
}

/**
 * The rows of a Parquet file by its footer (FileMetaData.num_rows): only the footer is read, no row group.
 * A file that is not Parquet, or a count that is not a non-negative safe integer, is E_DATA_CORRUPT.
 */
export async function parquetRowCount(file: string): Promise<number> {
  let meta: FileMetaData;
  try {
    meta = await parquetFileMetadata(file);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT')
      throw new Ext5Error('E_DATA_NOT_FOUND', `data file not found: ${file}`, 'check the path');
    throw new Ext5Error(
      'E_DATA_CORRUPT',
      `${file}: not a readable Parquet file (${(err as Error).message})`,
      'delete it and download it again',
    );
  }
  const n = Number(meta.num_rows);
  if (!Number.isSafeInteger(n) || n < 0) {
    throw new Ext5Error(
      'E_DATA_CORRUPT',
      `${file}: the Parquet footer's row count ${String(meta.num_rows)} is not a non-negative safe integer`,
      'delete it and download it again',
    );
  }
  return n;
}

/** Builds the Parquet file reader. Raw items are row objects; the index counts rows. */
export function parquetReader(columns?: string[]): FileReader {
  return {
    async *items(file: string, start: number): AsyncGenerator<RawItem> {
      const hp = loadHyparquet();
      let buf: FileHandleBuffer;
      try {
        buf = await FileHandleBuffer.open(file);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'ENOENT') {
          throw new Ext5Error('E_DATA_NOT_FOUND', `data file not found: ${file}`, 'check the path');
        }
        throw err;
      }
      try {
        let metadata: FileMetaData;
        try {
          metadata = await hp.parquetMetadataAsync(buf);
        } catch (err) {
          throw new MalformedRecord(`not a readable Parquet file (${(err as Error).message})`);
        }
        let groupStart = 0;
        for (const group of metadata.row_groups) {
          const rows = Number(group.num_rows);
          const groupEnd = groupStart + rows;
          if (groupEnd <= start || rows === 0) {
            groupStart = groupEnd;
            continue;
          }
          const from = Math.max(start, groupStart);
          let data: Record<string, unknown>[];
          try {
            data = await hp.parquetReadObjects({
              file: buf,
              metadata,
              rowStart: from,
              rowEnd: groupEnd,
              compressors: COMPRESSORS,
              ...(columns ? { columns } : {}),
            });
          } catch (err) {
            throw new MalformedRecord(
              `cannot decode rows ${from}..${groupEnd - 1} (${(err as Error).message})`,
            );
          }
          for (let k = 0; k < data.length; k++) {
            const i = from + k;
            yield { index: i, where: `row ${i}`, raw: data[k] };
          }
          groupStart = groupEnd;
        }
      } finally {
        await buf.close();
      }
    },
    decode(raw: unknown): DataRecord {
      const row = raw as Record<string, unknown>;
      for (const key of Object.keys(row)) row[key] = normalise(row[key]);
      return row;
    },
  };
}
