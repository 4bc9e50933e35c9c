/**
 * Line-by-line reading of plain or gzip text files with bounded memory. Written by hand rather
 * than with `readline` so that a corrupt gzip stream or a read error rejects the iteration
 * (readline does not forward input errors to its async iterator) and the file name is attached.
 */
import * as fs from 'node:fs';
import { pipeline, type Readable } from 'node:stream';
import { StringDecoder } from 'node:string_decoder';
import * as zlib from 'node:zlib';
import { Ext5Error } from '../../util/errors';

/** True when the file name says gzip (`.gz`). */
export function isGzipName(file: string): boolean {
  return file.toLowerCase().endsWith('.gz');
}

/** A readable stream of the file's bytes, gunzipped when the name ends in `.gz`. */
export function openByteStream(file: string): Readable {
  const raw = fs.createReadStream(file, { highWaterMark: 1 << 16 });
  if (!isGzipName(file)) return raw;
  // pipeline destroys every stage with the first error, so iterating the last stage rejects.
  return pipeline(raw, zlib.createGunzip(), () => {});
}

/** Wraps a low-level stream error with the file name and a fix. */
export function streamError(file: string, err: unknown): Ext5Error {
  if (err instanceof Ext5Error) return err;
  const e = err as NodeJS.ErrnoException;
  if (e?.code === 'ENOENT') {
    return new Ext5Error(
      'E_DATA_NOT_FOUND',
      `data file not found: ${file}`,
      'check the path and the data directory',
    );
  }
  if (e?.code === 'Z_DATA_ERROR' || e?.code === 'Z_BUF_ERROR' || e?.code === 'ERR_BUFFER_TOO_LARGE') {
    return new Ext5Error(
      'E_DATA_CORRUPT',
      `${file}: not a valid gzip stream (${e.message})`,
      'the download may be truncated or corrupt: delete the file and download it again',
    );
  }
  return new Ext5Error('E_DATA_READ', `${file}: read failed: ${e?.message ?? String(err)}`);
}

/**
 * Yields the text of a file in decoded string chunks (UTF-8, BOM stripped). A UTF-8 sequence
 * split across chunk boundaries is kept whole by the StringDecoder.
 */
export async function* textChunks(file: string): AsyncGenerator<string> {
  const stream = openByteStream(file);
  const decoder = new StringDecoder('utf8');
  let first = true;
  try {
    for await (const chunk of stream) {
      let text = decoder.write(chunk as Buffer);
      if (first && text.length > 0) {
        if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
        first = false;
      }
      if (text.length > 0) yield text;
    }
    const rest = decoder.end();
    if (rest.length > 0) yield rest;
  } catch (err) {
    throw streamError(file, err);
  } finally {
    stream.destroy();
  }
}

/**
 * The most characters one record (a line, a CSV row) may hold: 1 Mi unless EXT5_MAX_RECORD_CHARS
 * says otherwise. Training and evaluation examples are at most a few thousand tokens; a record far
 * larger is a broken file (a missing line break, a whole dump on one line) whose reading,
 * tokenizing and decoding would cost memory in proportion, so it is refused before it is held.
 */
export function maxRecordChars(): number {
  const env = process.env.EXT5_MAX_RECORD_CHARS;
  if (env === undefined || env === '') return 1 << 20;
  const n = Number(env);
  if (!Number.isInteger(n) || n < 1) {
    throw new Ext5Error(
      'E_DATA_LIMIT',
      `EXT5_MAX_RECORD_CHARS must be a positive integer, got ${JSON.stringify(env)}`,
    );
  }
  return n;
}

/** The error for a record over {@link maxRecordChars}, naming the file and where the record starts. */
export function recordTooLarge(file: string, where: string, limit: number): Ext5Error {
  return new Ext5Error(
    'E_RECORD_TOO_LARGE',
    `${file}, ${where}: one record holds more than ${limit} characters`,
    'check the file for a missing line break or an unterminated quote; a record that large is refused (raise the limit with EXT5_MAX_RECORD_CHARS=N if it is meant)',
  );
}

/**
 * Yields the lines of a text file without their `\n` / `\r\n` terminators.
 * @throws Ext5Error E_RECORD_TOO_LARGE for a line over `maxChars`, before it is held whole.
 */
export async function* textLines(file: string, maxChars = maxRecordChars()): AsyncGenerator<string> {
  let carry = '';
  let line = 1;
  for await (const chunk of textChunks(file)) {
    let text = carry.length > 0 ? carry + chunk : chunk;
    let start = 0;
    for (;;) {
      const nl = text.indexOf('\n', start);
      if (nl < 0) break;
      const end = nl > start && text.charCodeAt(nl - 1) === 13 ? nl - 1 : nl;
      if (end - start > maxChars) throw recordTooLarge(file, `line ${line}`, maxChars);
      yield text.slice(start, end);
      line++;
      start = nl + 1;
    }
    carry = text.slice(start);
    text = '';
    if (carry.length > maxChars + 1) throw recordTooLarge(file, `line ${line}`, maxChars);
  }
  if (carry.length > 0) yield carry.endsWith('\r') ? carry.slice(0, -1) : carry;
}
