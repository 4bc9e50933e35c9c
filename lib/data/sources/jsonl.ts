/**
 * JSON Lines reader (`.jsonl`, `.json`, `.ndjson`, each optionally `.gz`): one JSON object per
 * line, blank lines ignored. A line that is not valid JSON, or is JSON but not an object, is a
 * malformed record named by its 1-based line number. A `.json` file whose first character is `[`
 * is a JSON array of records instead: it is parsed whole (so its memory is not bounded), and its
 * records are named by their element index.
 */
import { Ext5Error } from '../../util/errors';
import { maxRecordChars, recordTooLarge, textChunks, textLines } from './lines';
import { type DataRecord, type FileReader, MalformedRecord, type RawItem } from './types';

/** Parses one JSONL line into a record, or throws MalformedRecord saying what is wrong. */
export function parseJsonLine(line: string): DataRecord {
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch (err) {
    throw new MalformedRecord(`invalid JSON (${(err as Error).message})`);
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    const kind = value === null ? 'null' : Array.isArray(value) ? 'an array' : `a ${typeof value}`;
    throw new MalformedRecord(`expected a JSON object, found ${kind}`);
  }
  return value as DataRecord;
}

/** The JSONL file reader: raw items are lines; the index counts lines, blank ones included. */
export const jsonlReader: FileReader = {
  async *items(file: string, start: number): AsyncGenerator<RawItem> {
    if (/\.json(\.gz)?$/i.test(file) && (await firstNonSpace(file)) === '[') {
      yield* arrayItems(file, start);
      return;
    }
    let index = 0;
    for await (const line of textLines(file)) {
      const i = index++;
      if (i < start) continue;
      if (line.length === 0 || line.trim().length === 0) continue;
      yield { index: i, where: `line ${i + 1}`, raw: line };
    }
  },
  decode(raw: unknown): DataRecord {
    return parseJsonLine(raw as string);
  },
};

async function firstNonSpace(file: string): Promise<string | undefined> {
  for await (const chunk of textChunks(file)) {
    const m = /\S/.exec(chunk);
    if (m) return m[0];
  }
  return undefined;
}

async function* arrayItems(file: string, start: number): AsyncGenerator<RawItem> {
  const parts: string[] = [];
  for await (const chunk of textChunks(file)) parts.push(chunk);
  let value: unknown;
  try {
    value = JSON.parse(parts.join(''));
  } catch (err) {
    throw new Ext5Error(
      'E_DATA_CORRUPT',
      `${file}: not valid JSON (${(err as Error).message})`,
      'fix the file, or store it as JSON Lines',
    );
  }
  const arr = value as unknown[];
  const limit = maxRecordChars();
  for (let i = start; i < arr.length; i++) {
    const el = arr[i];
    // Re-serialising keeps one decode path (parseJsonLine) for both layouts.
    const raw = JSON.stringify(el) ?? 'undefined';
    if (raw.length > limit) throw recordTooLarge(file, `element ${i}`, limit);
    yield { index: i, where: `element ${i}`, raw };
  }
}
