/**
 * The one place where what the Hub (or a file it served) says is checked before it becomes a path, a size, a
 * URL or a loop bound. Commits are 40 lowercase hex digits; blob names 40 (git oid) or 64 (sha256) hex
 * digits; repo paths relative, `/`-separated, without empty, `.` or `..` segments, backslashes, control
 * characters or a drive prefix; sizes non-negative safe integers. Anything else is refused with an
 * Ext5Error naming the field and where it came from: HUB_BAD_ANSWER for an answer of the Hub, HUB_BAD_REPO
 * for a file of the repo, HUB_BAD_CACHE for the cache on disk, HUB_BAD_ID for a name the caller gave.
 */
import { Ext5Error } from '../util/errors';

/** A tree listing entry, as checked by parseTreePage. */
export interface TreeEntry {
  type: 'file' | 'directory';
  path: string;
  /** Always set for files. */
  size?: number;
  /** The git oid (40 hex). */
  oid?: string;
  /** LFS files: the sha256 (64 hex) and size of the stored bytes. */
  lfs?: { oid?: string; size?: number };
}

/** True for a full 40-hex commit id (already pinned). */
export function isCommit(rev: string): boolean {
  return /^[0-9a-f]{40}$/.test(rev);
}

/** A value for a message: quoted, control characters escaped, cut at 120 characters. */
function show(v: unknown): string {
  let s: string;
  try {
    s = JSON.stringify(v) ?? String(v);
  } catch {
    s = String(v);
  }
  return s.length > 120 ? `${s.slice(0, 117)}...` : s;
}

/** The error for a value from the Hub that is refused: `field` from `source` (a URL) is `problem`. */
export function badAnswer(field: string, value: unknown, problem: string, source: string): Ext5Error {
  return new Ext5Error(
    'HUB_BAD_ANSWER',
    `${source}: ${field} ${problem} (${show(value)}); refusing it`,
    'the server is not answering as the Hub does: check HF_ENDPOINT (or --endpoint) and any proxy in between',
  );
}

/** Why `p` is not a safe relative repo path, or undefined when it is one. */
export function pathProblem(p: unknown): string | undefined {
  if (typeof p !== 'string') return 'is not a string';
  if (p === '') return 'is empty';
  if (p.length > 4096) return 'is longer than 4096 characters';
  if (/[\u0000-\u001f\u007f]/.test(p)) return 'holds a control character (NUL, newline…)';
  if (p.includes('\\')) return 'holds a backslash';
  if (p.startsWith('/')) return 'is absolute';
  if (/^[A-Za-z]:/.test(p)) return 'starts with a drive letter';
  if (p.split('/').some((s) => s === '' || s === '.' || s === '..')) {
    return 'has an empty, "." or ".." segment';
  }
  return undefined;
}

/** A repo path from the Hub (relative, see pathProblem), else HUB_BAD_ANSWER. */
export function checkRepoPath(v: unknown, field: string, source: string): string {
  const problem = pathProblem(v);
  if (problem) throw badAnswer(field, v, problem, source);
  return v as string;
}

/** A commit id from the Hub (40 lowercase hex), else HUB_BAD_ANSWER. */
export function checkCommit(v: unknown, field: string, source: string): string {
  if (typeof v !== 'string' || !isCommit(v))
    throw badAnswer(field, v, 'is not a commit id (40 hex digits)', source);
  return v;
}

/** A byte count from the Hub (a non-negative safe integer), else HUB_BAD_ANSWER. */
export function checkSize(v: unknown, field: string, source: string): number {
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0) {
    throw badAnswer(field, v, 'is not a size (a non-negative integer)', source);
  }
  return v;
}

/** A byte count from an HTTP header (digits only, a safe integer), undefined when absent. */
export function headerSize(v: string | null, field: string, source: string): number | undefined {
  if (v === null) return undefined;
  const n = /^\s*\d{1,16}\s*$/.test(v) ? Number(v) : Number.NaN;
  if (!Number.isSafeInteger(n)) throw badAnswer(field, v, 'is not a size (a non-negative integer)', source);
  return n;
}

function checkHex(v: unknown, len: 40 | 64, field: string, source: string): string {
  if (typeof v !== 'string' || !new RegExp(`^[0-9a-f]{${len}}$`).test(v)) {
    throw badAnswer(field, v, `is not ${len} hex digits`, source);
  }
  return v;
}

const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

/** One tree listing entry from `source`, checked: its type, path, size, oid and lfs fields. */
export function parseTreeEntry(raw: unknown, field: string, source: string): TreeEntry {
  if (!isObject(raw)) throw badAnswer(field, raw, 'is not an object', source);
  const { type } = raw;
  if (type !== 'file' && type !== 'directory') {
    throw badAnswer(`${field}.type`, type, 'is neither "file" nor "directory"', source);
  }
  const entry: TreeEntry = { type, path: checkRepoPath(raw.path, `${field}.path`, source) };
  if (raw.size !== undefined || type === 'file') entry.size = checkSize(raw.size, `${field}.size`, source);
  if (raw.oid !== undefined) entry.oid = checkHex(raw.oid, 40, `${field}.oid`, source);
  if (raw.lfs !== undefined && raw.lfs !== null) {
    if (!isObject(raw.lfs)) throw badAnswer(`${field}.lfs`, raw.lfs, 'is not an object', source);
    const lfs: { oid?: string; size?: number } = {};
    if (raw.lfs.oid !== undefined) lfs.oid = checkHex(raw.lfs.oid, 64, `${field}.lfs.oid`, source);
    if (raw.lfs.size !== undefined) lfs.size = checkSize(raw.lfs.size, `${field}.lfs.size`, source);
    entry.lfs = lfs;
  }
  return entry;
}

/** One page of a tree listing from `source`: a JSON array of entries, each checked (see parseTreeEntry). */
export function parseTreePage(raw: unknown, source: string): TreeEntry[] {
  if (!Array.isArray(raw)) throw badAnswer('the listing', raw, 'is not a JSON array', source);
  return raw.map((e, i) => parseTreeEntry(e, `entry [${i}]`, source));
}

/**
 * Refuses a listing in which a file is listed under another file (`a` and `a/b`): the two cannot both be
 * laid out on disk.
 */
export function checkTreeLayout(entries: TreeEntry[], source: string): void {
  const files = new Set(entries.filter((e) => e.type === 'file').map((e) => e.path));
  for (const f of files) {
    const parts = f.split('/');
    for (let i = 1; i < parts.length; i++) {
      const dir = parts.slice(0, i).join('/');
      if (files.has(dir)) throw badAnswer('the listed path', f, `lies under the file ${dir}`, source);
    }
  }
}

/**
 * The next page's URL from a `Link: <…>; rel="next"` header, resolved against the page's own URL; only
 * http(s) is followed.
 */
export function nextLink(header: string | null, source: string): string | undefined {
  if (!header) return undefined;
  const m = /<([^>]*)>\s*;\s*rel="?next"?/.exec(header);
  if (!m) return undefined;
  let u: URL;
  try {
    u = new URL(m[1]!, source);
  } catch {
    throw badAnswer('the Link header', header, 'holds no valid URL', source);
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') {
    throw badAnswer('the Link header', header, 'points to something that is not http(s)', source);
  }
  return u.toString();
}

/**
 * A single path segment the caller names (a dataset config or split, a shard file name), else an error of
 * `code` saying what `what` is.
 */
export function checkSegment(v: unknown, what: string, code: string, where: string): string {
  const problem = pathProblem(v) ?? (typeof v === 'string' && v.includes('/') ? 'holds a "/"' : undefined);
  if (problem) {
    throw new Ext5Error(
      code,
      `${what} ${show(v)} ${where ? `(${where}) ` : ''}${problem}`,
      `${what} must be one plain name`,
    );
  }
  return v as string;
}

/**
 * A revision (branch, tag, `refs/pr/N`, or commit) the caller names: it becomes a file under `refs/`, so it
 * must be a relative path without whitespace; else HUB_BAD_ID.
 */
export function checkRevision(rev: string, spec = rev): string {
  const problem = pathProblem(rev) ?? (/\s/.test(rev) ? 'holds whitespace' : undefined);
  if (problem) {
    throw new Ext5Error(
      'HUB_BAD_ID',
      `'${spec}': revision ${show(rev)} ${problem}`,
      'give a branch, tag or commit, such as main, v1.0, refs/pr/3 or a 40-hex commit id',
    );
  }
  return rev;
}
