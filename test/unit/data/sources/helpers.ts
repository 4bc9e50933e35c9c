import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { DataRecord } from '../../../../lib/data/sources';

/** A fresh temporary directory for one test file. */
export function tempDir(prefix: string): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), `ext5-${prefix}-`));
}

/** Drains an async iterable into an array. */
export async function collect<T = DataRecord>(
  it: AsyncIterable<T>,
  limit = Number.POSITIVE_INFINITY,
): Promise<T[]> {
  const out: T[] = [];
  for await (const x of it) {
    out.push(x);
    if (out.length >= limit) break;
  }
  return out;
}
