/**
 * sha256 of files on disk, remembered: a small JSON cache (one per folder it serves) keyed by file name and
 * holding size, mtime and digest, so that "is this file still the one the Hub lists?" costs a stat, not a
 * re-read of gigabytes, until the file changes.
 */
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { writeFileDurable } from '../io/durable';

interface Entry {
  size: number;
  mtimeMs: number;
  sha256: string;
}

/** The cache file name used next to the files it describes. */
export const HASH_CACHE = '.ext5-sha256.json';

/** The sha256 (hex) of a file, read in full. */
export async function sha256File(file: string): Promise<string> {
  const h = createHash('sha256');
  for await (const chunk of fs.createReadStream(file)) h.update(chunk as Buffer);
  return h.digest('hex');
}

function load(cacheFile: string): Record<string, Entry> {
  try {
    const v = JSON.parse(fs.readFileSync(cacheFile, 'utf8')) as unknown;
    return v && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, Entry>) : {};
  } catch {
    return {};
  }
}

function save(cacheFile: string, data: Record<string, Entry>): void {
  // A reader never sees half a cache; a cache that cannot be written only costs a re-hash.
  try {
    writeFileDurable(cacheFile, JSON.stringify(data));
  } catch {
    // keep going without the cache
  }
}

/**
 * The sha256 of `file`, from `cacheFile` (default: `.ext5-sha256.json` in the file's folder) when its size and
 * mtime still match, else computed and recorded.
 */
export async function cachedSha256(
  file: string,
  cacheFile = path.join(path.dirname(file), HASH_CACHE),
): Promise<string> {
  const st = fs.statSync(file);
  const key = path.relative(path.dirname(cacheFile), file);
  const hit = load(cacheFile)[key];
  if (hit && hit.size === st.size && hit.mtimeMs === st.mtimeMs) return hit.sha256;
  const sha256 = await sha256File(file);
  rememberSha256(file, sha256, cacheFile);
  return sha256;
}

/** Records the digest of `file` as it is now (after a verified download). */
export function rememberSha256(
  file: string,
  sha256: string,
  cacheFile = path.join(path.dirname(file), HASH_CACHE),
): void {
  const st = fs.statSync(file);
  const data = load(cacheFile);
  data[path.relative(path.dirname(cacheFile), file)] = { size: st.size, mtimeMs: st.mtimeMs, sha256 };
  save(cacheFile, data);
}
