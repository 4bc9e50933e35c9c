/**
 * Text inputs checked before use: a file that should be UTF-8 text and is not (another encoding,
 * a binary file) or holds nothing gets one coded error naming it and the place, instead of being
 * read with replacement characters or handed to a native library that fails with its own words.
 *
 * @example
 * const text = decodeUtf8(fs.readFileSync('hyp.txt'), "predictions file 'hyp.txt'", 'E_SCORE_INPUT');
 * checkTextCorpus('corpus.txt'); // before SentencePiece trains on it
 */
import * as fs from 'node:fs';
import { Ext5Error } from '../util/errors';

/** The byte offset of the first invalid UTF-8 sequence in `bytes` (a valid prefix re-encodes to itself). */
function firstInvalidByte(bytes: Uint8Array, text: string): number {
  const back = Buffer.from(text, 'utf8');
  let i = 0;
  while (i < bytes.length && i < back.length && bytes[i] === back[i]) i++;
  return i;
}

function lineAt(bytes: Uint8Array, offset: number): number {
  let line = 1;
  for (let i = 0; i < offset; i++) if (bytes[i] === 10) line++;
  return line;
}

/**
 * Decodes UTF-8 strictly, exactly as the bytes are (a leading BOM stays, as Node's 'utf8' keeps it).
 * @param what how to name the input in the message, e.g. `predictions file 'hyp.txt'`
 * @throws Ext5Error `code` naming the line and byte offset of the first invalid sequence.
 */
export function decodeUtf8(bytes: Uint8Array, what: string, code: string): string {
  try {
    return new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(bytes);
  } catch {
    const loose = new TextDecoder('utf-8', { ignoreBOM: true }).decode(bytes);
    const at = firstInvalidByte(bytes, loose);
    throw new Ext5Error(
      code,
      `${what} is not UTF-8 text: invalid byte 0x${(bytes[at] ?? 0).toString(16).padStart(2, '0')} at line ${lineAt(bytes, at)} (byte offset ${at})`,
      'convert it to UTF-8 (e.g. `iconv -f latin1 -t utf-8 FILE`), or check that it is the text file you meant',
    );
  }
}

/** How much of a corpus is checked for binary content and encoding (the way `file` and git sniff). */
const SNIFF_BYTES = 1 << 20;

/**
 * Checks that a training corpus is UTF-8 text with something in it: no NUL byte and no invalid
 * UTF-8 in its first MiB, and a non-blank character somewhere (reading stops at the first).
 * @throws Ext5Error E_VOCAB_INPUT naming the file and what is wrong.
 */
export function checkTextCorpus(file: string): void {
  const st = fs.statSync(file);
  if (!st.isFile()) {
    throw new Ext5Error('E_VOCAB_INPUT', `training input ${file} is not a regular file`, 'pass a text file');
  }
  const fd = fs.openSync(file, 'r');
  try {
    const buf = Buffer.alloc(Math.min(SNIFF_BYTES, Math.max(1, st.size)));
    let offset = 0;
    let sawText = false;
    for (;;) {
      const n = fs.readSync(fd, buf, 0, buf.length, offset);
      if (n === 0) break;
      const chunk = buf.subarray(0, n);
      if (offset === 0) {
        // The first read covers the whole sniffed part (a regular file reads in full up to its end).
        const nul = chunk.indexOf(0);
        if (nul >= 0) {
          throw new Ext5Error(
            'E_VOCAB_INPUT',
            `training input ${file} is not text: it holds a NUL byte at byte offset ${nul} (a binary file?)`,
            'train on plain UTF-8 text, one sentence or paragraph per line',
          );
        }
        try {
          // Streaming: a sequence cut at the end of the sniffed part is not an error.
          new TextDecoder('utf-8', { fatal: true }).decode(chunk, { stream: true });
        } catch {
          decodeUtf8(chunk, `training input ${file}`, 'E_VOCAB_INPUT');
        }
      }
      const body =
        offset === 0 && chunk[0] === 0xef && chunk[1] === 0xbb && chunk[2] === 0xbf
          ? chunk.subarray(3)
          : chunk;
      if (!sawText && /\S/.test(body.toString('latin1'))) sawText = true;
      offset += n;
      if (sawText) break;
    }
    if (!sawText) {
      throw new Ext5Error(
        'E_VOCAB_INPUT',
        `training input ${file} is ${st.size === 0 ? 'empty' : 'blank (only white space)'}`,
        'train on a text corpus, one sentence or paragraph per line',
      );
    }
  } finally {
    fs.closeSync(fd);
  }
}
