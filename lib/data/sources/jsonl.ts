/**
 * JSON Lines reader (`.jsonl`, `.json`, `.ndjson`, each optionally `.gz`): one JSON object per
 * line, blank lines ignored. A line that is not valid JSON, or is JSON but not an object, is a
 * malformed record named by its 1-based line number.
 */
import { textLines } from './lines';
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
