/**
 * Resolving a source path to its sorted list of files: a file, a directory (its supported files,
 * recursively), or a pattern with `*` / `?` in the last path component. Sorting makes the list,
 * and therefore sharding and saved positions, identical on every rank and every run.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Ext5Error } from '../../util/errors';
import type { SourceFormat } from './types';

const EXTENSIONS: [string, SourceFormat][] = [
  ['.jsonl', 'jsonl'],
  ['.ndjson', 'jsonl'],
  ['.json', 'jsonl'],
  ['.csv', 'csv'],
  ['.tsv', 'tsv'],
  ['.parquet', 'parquet'],
];

/** The format of a file from its name (`.gz` allowed for text formats), or undefined. */
export function formatOf(file: string): SourceFormat | undefined {
  let name = file.toLowerCase();
  const gz = name.endsWith('.gz');
  if (gz) name = name.slice(0, -3);
  for (const [ext, fmt] of EXTENSIONS) {
    if (name.endsWith(ext)) return gz && fmt === 'parquet' ? undefined : fmt;
  }
  return undefined;
}

function globToRegExp(glob: string): RegExp {
  let re = '^';
  for (const ch of glob) {
    if (ch === '*') re += '[^/]*';
    else if (ch === '?') re += '[^/]';
    else re += ch.replace(/[.+^${}()|[\]\\]/g, '\\$&');
  }
  return new RegExp(`${re}$`);
}

function walk(dir: string, out: string[]): void {
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) walk(full, out);
    else if (formatOf(entry.name) !== undefined) out.push(full);
  }
}

/** All files of a source path, sorted; throws a helpful Ext5Error when there are none. */
export function listSourceFiles(source: string, format?: SourceFormat): string[] {
  const base = path.basename(source);
  let files: string[];
  if (/[*?]/.test(base)) {
    const dir = path.dirname(source);
    if (/[*?]/.test(dir)) {
      throw new Ext5Error('E_DATA_PATTERN', `only the last part of a path may hold * or ?: ${source}`);
    }
    if (!fs.existsSync(dir)) throw notFound(source);
    const re = globToRegExp(base);
    files = fs
      .readdirSync(dir)
      .filter((name) => re.test(name))
      .map((name) => path.join(dir, name));
    files = files.filter((f) => fs.statSync(f).isFile());
  } else {
    let stat: fs.Stats;
    try {
      stat = fs.statSync(source);
    } catch {
      throw notFound(source);
    }
    if (stat.isDirectory()) {
      files = [];
      walk(source, files);
    } else {
      files = [source];
    }
  }
  if (files.length === 0) {
    throw new Ext5Error(
      'E_DATA_EMPTY',
      `no data files at ${source}`,
      'a source is a .jsonl[.gz], .json[.gz], .csv[.gz], .tsv[.gz] or .parquet file, a directory of them, or a pattern like dir/part-*.jsonl.gz',
    );
  }
  if (format === undefined) {
    for (const f of files) {
      if (formatOf(f) === undefined) {
        throw new Ext5Error(
          'E_DATA_FORMAT',
          `cannot tell the format of ${f} from its name`,
          'rename it to .jsonl, .csv, .tsv or .parquet (optionally .gz), or pass the format explicitly',
        );
      }
    }
  }
  return files.sort();
}

function notFound(source: string): Ext5Error {
  return new Ext5Error(
    'E_DATA_NOT_FOUND',
    `data source not found: ${source}`,
    'check the path (and the data directory)',
  );
}
