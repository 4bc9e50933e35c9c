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

/** Yields the lines of a text file without their `\n` / `\r\n` terminators. */
export async function* textLines(file: string): AsyncGenerator<string> {
  let carry = '';
  for await (const chunk of textChunks(file)) {
    let text = carry.length > 0 ? carry + chunk : chunk;
    let start = 0;
    for (;;) {
      const nl = text.indexOf('\n', start);
      if (nl < 0) break;
      const end = nl > start && text.charCodeAt(nl - 1) === 13 ? nl - 1 : nl;
      yield text.slice(start, end);
      start = nl + 1;
    }
    carry = text.slice(start);
    text = '';
  }
  if (carry.length > 0) yield carry.endsWith('\r') ? carry.slice(0, -1) : carry;
}
