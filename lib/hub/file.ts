/**
 * One file from the Hub to one place on disk: resumable (bytes go to `<dest>.partial`, or `.incomplete` in
 * the huggingface_hub cache; a later run or a retry after a cut connection continues with an HTTP Range
 * request), verified (size, and sha256 when the Hub lists one), with a progress bar. A file already there
 * counts as present only when its size and sha256 match (the digest is cached, see verify.ts).
 * Bounded: no more than the listed size (else the answer's announced size) is ever written, and each
 * attempt has a deadline that grows with the bytes it is to fetch (downloadDeadlineMs).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { asWriteError, commitFile, isDiskFull } from '../io/durable';
import { Ext5Error } from '../util/errors';
import { Progress, type ProgressMode } from '../util/progress';
import { downloadDeadlineMs, downloadTimeoutMs, type HubOptions, isOffline } from './config';
import type { RemoteFile } from './datasets';
import { type HubResponse, hubRequest, offlineModeError } from './http';
import { cachedSha256, rememberSha256, sha256File } from './verify';

export interface DownloadOptions extends HubOptions {
  /** Attempts per file when the connection breaks mid-body (default 4). */
  retries?: number;
  /** Progress display (default 'auto'). */
  progress?: ProgressMode;
  /** Where progress goes (default stderr). */
  stream?: { write(s: string): unknown; isTTY?: boolean; columns?: number };
  /** Called with each chunk's length instead of drawing a per-file bar (a caller's overall bar). */
  onBytes?: (n: number) => void;
  /** Suffix of the file being written (default '.partial'). */
  partialSuffix?: string;
  /** The sha256 cache file (default: verify.ts's, next to `dest`). */
  hashCache?: string;
}

/** What a download did to one file. */
export interface FileResult {
  path: string;
  bytes: number;
  status: 'downloaded' | 'resumed' | 'present';
  /** The commit the Hub served it from (X-Repo-Commit), when it said. */
  commit?: string;
}

export function sizeOf(file: string): number {
  try {
    return fs.statSync(file).size;
  } catch {
    return -1;
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Whether a 206's `Content-Range: bytes START-END/TOTAL` starts at `offset`. */
function rangeStartsAt(header: string | null, offset: number): boolean {
  const m = /^\s*bytes\s+(\d+)-\d+\/(\d+|\*)\s*$/.exec(header ?? '');
  return m !== null && Number(m[1]) === offset;
}

/** Whether `dest` already is `file`: same size and (when listed) same sha256. */
export async function isPresent(
  file: Pick<RemoteFile, 'size' | 'sha256'>,
  dest: string,
  hashCache?: string,
): Promise<boolean> {
  if (!fs.existsSync(dest)) return false;
  if (file.size !== undefined && sizeOf(dest) !== file.size) return false;
  if (file.sha256 && (await cachedSha256(dest, hashCache)) !== file.sha256) return false;
  return true;
}

/**
 * Downloads one file to `dest`, resuming `dest.partial` when present; verifies size and sha256.
 * @example
 * await downloadFile({ url, repo, revision, path, size, sha256 }, '/data/aps/super_glue/cb/train/0000.parquet');
 */
export async function downloadFile(
  file: RemoteFile,
  dest: string,
  opts: DownloadOptions = {},
): Promise<FileResult> {
  const manual = `You can also download ${file.url} yourself and save it as ${dest}.`;
  if (await isPresent(file, dest, opts.hashCache))
    return { path: dest, bytes: sizeOf(dest), status: 'present' };
  if (isOffline(opts)) throw offlineModeError(`${file.repo}/${file.path}`, manual);
  if (fs.existsSync(dest)) fs.rmSync(dest);
  fs.mkdirSync(path.dirname(dest), { recursive: true });
  const partial = `${dest}${opts.partialSuffix ?? '.partial'}`;
  const retries = opts.retries ?? 4;
  let delay = opts.retryDelayMs ?? 500;
  const startedWith = Math.max(0, sizeOf(partial));
  let progress: Progress | undefined;
  let commit: string | undefined;
  for (let attempt = 1; ; attempt++) {
    const have = Math.max(0, sizeOf(partial));
    if (file.size !== undefined && have === file.size) break;
    if (file.size !== undefined && have > file.size) fs.rmSync(partial);
    // Without a listed size, a partial file cannot be judged: start over.
    const offset = file.size === undefined ? 0 : Math.max(0, sizeOf(partial));
    // 429/5xx are retried inside hubRequest; a cut body is retried here, resuming from what arrived.
    // No compression: the listed size is the size of the bytes on the wire.
    const r: HubResponse = await hubRequest(file.url, {
      ...opts,
      headers: { 'accept-encoding': 'identity', ...(offset > 0 ? { range: `bytes=${offset}-` } : {}) },
      timeoutMs: downloadTimeoutMs(opts),
      deadlineMs: (announced) =>
        downloadDeadlineMs(Math.max(0, (file.size ?? announced ?? 0) - offset), opts),
      what: `downloading ${file.repo}/${file.path}`,
      manualHint: manual,
    });
    commit ??= r.commit;
    if (r.res.status === 416) {
      // The partial file is at least as long as the remote one: verify it below, or start over.
      await r.cancel();
      fs.rmSync(partial, { force: true });
      continue;
    }
    const append = offset > 0 && r.res.status === 206;
    const base = append ? offset : 0;
    const total = file.size ?? r.size;
    const refuse = async (e: Ext5Error) => {
      await r.cancel().catch(() => undefined);
      fs.rmSync(partial, { force: true });
      return e;
    };
    if (total === undefined) {
      throw await refuse(
        new Ext5Error(
          'HUB_BAD_ANSWER',
          `${file.url}: neither the listing nor the answer gives the file's size, so the download cannot be bounded`,
          'pass the size the listing gives (RemoteFile.size)',
        ),
      );
    }
    if (append && !rangeStartsAt(r.res.headers.get('content-range'), offset)) {
      throw await refuse(
        new Ext5Error(
          'HUB_BAD_ANSWER',
          `${file.url}: asked for bytes from ${offset}, the answer's Content-Range is ${JSON.stringify(r.res.headers.get('content-range'))}`,
          'run the command again to re-download',
        ),
      );
    }
    const room = total - base;
    if (r.length !== undefined && r.length > room) {
      throw await refuse(
        new Ext5Error(
          'HUB_TOO_LARGE',
          `${file.url}: the answer's Content-Length is ${r.length} bytes, more than the ${room} bytes expected (${total} in all)`,
          `the server sends more than the listing says: check HF_ENDPOINT (or --endpoint) and any proxy in between. ${manual}`,
        ),
      );
    }
    const fh = await fs.promises.open(partial, append ? 'a' : 'w');
    if (opts.onBytes) {
      // The caller's bar counts what is left to fetch; a refused Range (200) re-fetches from 0.
    } else if (!progress) {
      progress = new Progress({
        label: `${file.repo} ${file.path}`,
        total: file.size,
        unit: 'bytes',
        start: base,
        mode: opts.progress ?? 'auto',
        ...(opts.stream ? { stream: opts.stream } : {}),
      });
    } else {
      progress.update(base);
    }
    let written = base;
    try {
      for await (const chunk of r.chunks(room, `expected (${total} in all)`)) {
        await fh.write(chunk);
        written += chunk.length;
        progress?.update(written);
        opts.onBytes?.(chunk.length);
      }
      await fh.close();
      // The body ended cleanly (a cut connection errors instead): the size check below judges it.
      break;
    } catch (err) {
      await fh.close().catch(() => undefined);
      // A full disk is not a network hiccup: retrying cannot help, and the partial file stays
      // for the next run to resume once there is space.
      if (isDiskFull(err)) throw asWriteError(err, partial);
      // A body longer than promised is the server's doing, not the network's: what came is not kept.
      if (err instanceof Ext5Error && err.code === 'HUB_TOO_LARGE') {
        fs.rmSync(partial, { force: true });
        throw err;
      }
      if (attempt <= retries) {
        await sleep(delay);
        delay *= 2;
        continue;
      }
      throw new Ext5Error(
        'DOWNLOAD_INTERRUPTED',
        `download of ${file.url} broke off at ${sizeOf(partial)} bytes: ${err instanceof Error ? err.message : String(err)}`,
        `run the same command again: it resumes from ${partial}`,
      );
    }
  }
  const got = sizeOf(partial);
  if (file.size !== undefined && got !== file.size) {
    fs.rmSync(partial, { force: true });
    throw new Ext5Error(
      'SIZE_MISMATCH',
      `${file.url}: got ${got} bytes, the Hub lists ${file.size}`,
      'run the command again to re-download',
    );
  }
  const digest = file.sha256 ? await sha256File(partial) : undefined;
  if (file.sha256 && digest !== file.sha256) {
    fs.rmSync(partial, { force: true });
    throw new Ext5Error(
      'HASH_MISMATCH',
      `${file.url}: sha256 ${digest} does not match the Hub's ${file.sha256}`,
      'the file was damaged in transit or changed on the Hub; run the command again to re-download',
    );
  }
  commitFile(partial, dest);
  if (digest) rememberSha256(dest, digest, opts.hashCache);
  progress?.done();
  return {
    path: dest,
    bytes: got,
    status: startedWith > 0 ? 'resumed' : 'downloaded',
    ...(commit ? { commit } : {}),
  };
}
