/**
 * Reader for C4 as TFDS / Hugging Face `allenai/c4` lay it out: a directory `c4/en` (or any
 * directory) of `c4-train.00000-of-01024.json.gz` … and `c4-validation.00000-of-00008.json.gz`,
 * each a gzip JSON Lines file of `{ "text", "timestamp", "url" }`. A record without a string
 * `text` is malformed.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Ext5Error } from '../../util/errors';
import { RecordSource } from './read_records';
import type { DataRecord, ReadRecordsOptions } from './types';

/** One C4 document. */
export interface C4Document extends DataRecord {
  text: string;
  timestamp?: string;
  url?: string;
}

const C4_NAME = /^c4-([a-z]+)\.(\d{5})-of-(\d{5})\.json(\.gz)?$/;

/** What a C4 directory holds for one split: its files in order, and how many the full split has. */
export interface C4Files {
  files: string[];
  /** The `NNNNN` total in the names (1024 for `en` train), so a partial download is visible. */
  expected: number;
  missing: number[];
}

/** Lists the files of one C4 split in `dir`; throws when there are none. */
export function c4Files(dir: string, split = 'train'): C4Files {
  if (!fs.existsSync(dir) || !fs.statSync(dir).isDirectory()) {
    throw new Ext5Error(
      'E_DATA_NOT_FOUND',
      `C4 directory not found: ${dir}`,
      'point at the folder holding c4-train.*.json.gz (e.g. .../c4/en)',
    );
  }
  const files: string[] = [];
  let expected = 0;
  const present = new Set<number>();
  for (const name of fs.readdirSync(dir).sort()) {
    const m = C4_NAME.exec(name);
    if (!m || m[1] !== split) continue;
    files.push(path.join(dir, name));
    present.add(Number(m[2]));
    expected = Math.max(expected, Number(m[3]));
  }
  if (files.length === 0) {
    throw new Ext5Error(
      'E_DATA_EMPTY',
      `no C4 files for split '${split}' in ${dir}`,
      `expected names like c4-${split}.00000-of-01024.json.gz`,
    );
  }
  const missing: number[] = [];
  for (let i = 0; i < expected; i++) if (!present.has(i)) missing.push(i);
  return { files, expected, missing };
}

/**
 * Streams the documents of one C4 split, resumable like `readRecords` (shard with `shardFor`).
 *
 * @example
 * const docs = readC4('/data/c4/en', { split: 'train' });
 * for await (const doc of docs) console.log(doc.text.length);
 */
export function readC4(dir: string, opts: ReadRecordsOptions & { split?: string } = {}): C4Source {
  const { files } = c4Files(dir, opts.split ?? 'train');
  return new C4Source(files, { ...opts, format: 'jsonl' });
}

/** A RecordSource whose records are checked to be C4 documents. */
export class C4Source extends RecordSource {
  override async *[Symbol.asyncIterator](): AsyncGenerator<C4Document> {
    for await (const rec of super[Symbol.asyncIterator]()) {
      if (typeof rec.text !== 'string') {
        const pos = this.position();
        throw new Ext5Error(
          'E_MALFORMED_RECORD',
          `${pos.fileName}, record ${pos.recordIndex}: a C4 document needs a string 'text' field`,
          'this file does not look like C4: check the directory',
        );
      }
      yield rec as C4Document;
    }
  }
}
