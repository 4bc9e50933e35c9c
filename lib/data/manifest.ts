/**
 * The record `ext5 data download` keeps in each split folder, `<split folder>/.ext5-download.json`: which
 * Hub repository, config, split and commit the files came from, each file (its URL, size, sha256 and the name
 * it has on disk), whether the Hub's Parquet export of the split is partial (a `partial-{split}` folder: the
 * Hub converted only the first rows of a very large split), and, once every listed Parquet file is on disk,
 * `rows`: the sum of their footers' row counts, i.e. the rows actually present.
 *
 * The file is read back with HF_HUB_OFFLINE=1 (what to verify) and by examples-proportional mixing (rows
 * present), so every value is checked before use: a value that is missing or of the wrong kind is an
 * E_DATA_MANIFEST error naming the file and the key, never a silent default.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { RemoteFile } from '../hub/datasets';
import { pathProblem } from '../hub/validate';
import { writeFileDurable } from '../io/durable';
import { Ext5Error } from '../util/errors';

/** The record of a split folder's expected contents. */
export const MANIFEST = '.ext5-download.json';

/** A remote file and the name it gets in its split folder. */
export interface PlannedFile extends RemoteFile {
  name: string;
}

/** What `.ext5-download.json` holds. */
export interface Manifest {
  repo: string;
  config: string;
  split: string;
  layout: 'parquet' | 'files';
  /** The commit the listing was pinned to. */
  commit?: string;
  /** The Hub exported only the first rows of this split (a `partial-{split}` Parquet export). */
  partial: boolean;
  files: PlannedFile[];
  /**
   * Rows in `files` (the sum of each Parquet footer's num_rows), recorded once they are all on disk; absent
   * before that, after a --dry-run, and for the 'files' layout (JSON Lines and the like have no footer).
   */
  rows?: number;
}

/** What a split folder's record says of its rows: how many are present, and whether the export is partial. */
export interface RecordedRows {
  /** Rows present (undefined while the record has no count: see {@link Manifest.rows}). */
  rows: number | undefined;
  partial: boolean;
  /** The record it comes from. */
  manifest: string;
}

function show(v: unknown): string {
  const s = JSON.stringify(v) ?? String(v);
  return s.length > 80 ? `${s.slice(0, 77)}...` : s;
}

function badManifest(file: string, key: string, value: unknown, problem: string): Ext5Error {
  return new Ext5Error(
    'E_DATA_MANIFEST',
    `${file}: ${key} ${problem} (${show(value)})`,
    `this record is written by \`ext5 data download\`: delete it and download that split again (online), which writes it anew`,
  );
}

const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

/** Checks one record read from `file`; throws E_DATA_MANIFEST naming the first bad key. */
export function checkManifest(raw: unknown, file: string): Manifest {
  if (!isObject(raw)) throw badManifest(file, 'the record', raw, 'is not a JSON object');
  const str = (key: string, v: unknown): string => {
    if (typeof v !== 'string' || v === '') throw badManifest(file, key, v, 'is not a non-empty string');
    return v;
  };
  const count = (key: string, v: unknown): number => {
    if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0)
      throw badManifest(file, key, v, 'is not a count (a non-negative safe integer)');
    return v;
  };
  const repo = str('repo', raw.repo);
  const config = str('config', raw.config);
  const split = str('split', raw.split);
  if (raw.layout !== 'parquet' && raw.layout !== 'files')
    throw badManifest(file, 'layout', raw.layout, 'is neither "parquet" nor "files"');
  if (typeof raw.partial !== 'boolean')
    throw badManifest(file, 'partial', raw.partial, 'is not true or false');
  if (!Array.isArray(raw.files)) throw badManifest(file, 'files', raw.files, 'is not a list');
  const files = raw.files.map((f: unknown, i: number): PlannedFile => {
    const at = `files[${i}]`;
    if (!isObject(f)) throw badManifest(file, at, f, 'is not an object');
    const p = str(`${at}.path`, f.path);
    const pathIssue = pathProblem(p);
    if (pathIssue) throw badManifest(file, `${at}.path`, p, pathIssue);
    // The name becomes a path in the split folder: one plain file name.
    const name = str(`${at}.name`, f.name);
    const nameIssue = pathProblem(name) ?? (name.includes('/') ? 'holds a "/"' : undefined);
    if (nameIssue) throw badManifest(file, `${at}.name`, name, nameIssue);
    const url = str(`${at}.url`, f.url);
    if (!/^https?:\/\//.test(url)) throw badManifest(file, `${at}.url`, url, 'is not an http(s) URL');
    const out: PlannedFile = {
      repo: str(`${at}.repo`, f.repo),
      revision: str(`${at}.revision`, f.revision),
      path: p,
      url,
      name,
    };
    if (f.size !== undefined) out.size = count(`${at}.size`, f.size);
    if (f.sha256 !== undefined) {
      if (typeof f.sha256 !== 'string' || !/^[0-9a-f]{64}$/.test(f.sha256))
        throw badManifest(file, `${at}.sha256`, f.sha256, 'is not 64 hex digits');
      out.sha256 = f.sha256;
    }
    return out;
  });
  const m: Manifest = { repo, config, split, layout: raw.layout, partial: raw.partial, files };
  if (raw.commit !== undefined) m.commit = str('commit', raw.commit);
  if (raw.rows !== undefined) m.rows = count('rows', raw.rows);
  return m;
}

/** What a split folder's record must say of itself: the folder's dataset, config and Hub split. */
export interface ManifestOwner {
  repo: string;
  config: string;
  split: string;
}

/**
 * The checked record of split folder `dir`, or undefined when it has none (E_DATA_MANIFEST when unreadable,
 * malformed, or, given `owner`, a record of another dataset, config or split).
 */
export function readManifest(dir: string, owner?: ManifestOwner): Manifest | undefined {
  const file = path.join(dir, MANIFEST);
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new Ext5Error('E_DATA_MANIFEST', `${file}: cannot be read (${(e as Error).message})`);
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (e) {
    throw badManifest(file, 'the record', text.slice(0, 40), `is not JSON (${(e as Error).message})`);
  }
  const m = checkManifest(raw, file);
  for (const key of ['repo', 'config', 'split'] as const) {
    if (owner && m[key] !== owner[key]) {
      throw new Ext5Error(
        'E_DATA_MANIFEST',
        `${file}: ${key} is ${show(m[key])}, but the folder holds ${owner.repo} ${owner.config}/${owner.split}`,
        'delete the record and download that split again (online), which writes it anew',
      );
    }
  }
  return m;
}

/** Writes the record of split folder `dir` (durably: a crash leaves the old record or the new one). */
export function writeManifest(dir: string, m: Manifest): void {
  fs.mkdirSync(dir, { recursive: true });
  writeFileDurable(path.join(dir, MANIFEST), `${JSON.stringify(m, null, 1)}\n`);
}

/** What the record of split folder `dir` (of `owner`) says of its rows, or undefined when it has no record. */
export function recordedRows(dir: string, owner: ManifestOwner): RecordedRows | undefined {
  const m = readManifest(dir, owner);
  if (!m) return undefined;
  return { rows: m.rows, partial: m.partial, manifest: path.join(dir, MANIFEST) };
}
