/**
 * `ext5 data download`: fetches the files a task or mixture needs from the Hugging Face Hub into the
 * local layout every task reads:
 *
 *   <data-dir>/<dataset id>/<config>/<split>/<file>.parquet|.jsonl|.json.gz…
 *
 * Resumable (bytes go to `<file>.partial`; a later run or a retry after a cut connection continues with an
 * HTTP Range request), verified (size, and sha256 when the Hub lists one), with a progress bar, and with
 * clear errors when offline, unauthorized, missing, or when a dataset needs a manual download.
 */
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { asWriteError, commitFile, isDiskFull } from '../io/durable';
import type { Mixture } from '../tasks/mixture';
import type { Task } from '../tasks/task';
import { Ext5Error } from '../util/errors';
import { Progress, type ProgressMode } from '../util/progress';
import {
  type HubOptions,
  httpError,
  hubHeaders,
  listParquetFiles,
  listRepoFiles,
  networkError,
  type RemoteFile,
} from './hub';

export interface DownloadOptions extends HubOptions {
  /** Attempts per file when the connection breaks (default 4). */
  retries?: number;
  /** Progress display (default 'auto'). */
  progress?: ProgressMode;
  /** Where progress goes (default stderr). */
  stream?: { write(s: string): unknown; isTTY?: boolean; columns?: number };
  /** Milliseconds to wait before a retry (default 500, doubled each time). */
  retryDelayMs?: number;
}

/** What a download did to one file. */
export interface FileResult {
  path: string;
  bytes: number;
  status: 'downloaded' | 'resumed' | 'present';
}

async function sha256Of(file: string): Promise<string> {
  const h = createHash('sha256');
  for await (const chunk of fs.createReadStream(file)) h.update(chunk as Buffer);
  return h.digest('hex');
}

function sizeOf(file: string): number {
  try {
    return fs.statSync(file).size;
  } catch {
    return -1;
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

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
  if (fs.existsSync(dest) && (file.size === undefined || sizeOf(dest) === file.size)) {
    return { path: dest, bytes: sizeOf(dest), status: 'present' };
  }
  fs.mkdirSync(path.dirname(dest), { recursive: true });
  const partial = `${dest}.partial`;
  const retries = opts.retries ?? 4;
  let delay = opts.retryDelayMs ?? 500;
  const startedWith = Math.max(0, sizeOf(partial));
  let progress: Progress | undefined;
  for (let attempt = 1; ; attempt++) {
    const have = Math.max(0, sizeOf(partial));
    if (file.size !== undefined && have === file.size) break;
    if (file.size !== undefined && have > file.size) fs.rmSync(partial);
    const offset = Math.max(0, sizeOf(partial));
    const headers: Record<string, string> = {
      ...hubHeaders(opts),
      ...(offset > 0 ? { range: `bytes=${offset}-` } : {}),
    };
    let res: Response;
    try {
      res = await fetch(file.url, { headers });
    } catch (err) {
      if (attempt <= retries) {
        await sleep(delay);
        delay *= 2;
        continue;
      }
      throw networkError(err, file.url, `check the network (or HF_ENDPOINT). ${manual}`);
    }
    if (res.status === 416 && offset > 0) {
      // The partial file is at least as long as the remote one: verify it below, or start over.
      await res.body?.cancel();
      if (file.size === undefined) break;
      fs.rmSync(partial);
      continue;
    }
    if (!res.ok) {
      await res.body?.cancel();
      throw httpError(res.status, file.url, `downloading ${file.repo}/${file.path}`, manual);
    }
    const append = offset > 0 && res.status === 206;
    const fh = await fs.promises.open(partial, append ? 'a' : 'w');
    const base = append ? offset : 0;
    if (!progress) {
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
      if (res.body) {
        for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
          await fh.write(chunk);
          written += chunk.length;
          progress.update(written);
        }
      }
      await fh.close();
      // The body ended cleanly (a cut connection errors instead): the size check below judges it.
      break;
    } catch (err) {
      await fh.close().catch(() => undefined);
      // A full disk is not a network hiccup: retrying cannot help, and the partial file stays
      // for the next run to resume once there is space.
      if (isDiskFull(err)) throw asWriteError(err, partial);
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
  if (file.sha256) {
    const digest = await sha256Of(partial);
    if (digest !== file.sha256) {
      fs.rmSync(partial, { force: true });
      throw new Ext5Error(
        'HASH_MISMATCH',
        `${file.url}: sha256 ${digest} does not match the Hub's ${file.sha256}`,
        'the file was damaged in transit or changed on the Hub; run the command again to re-download',
      );
    }
  }
  commitFile(partial, dest);
  progress?.done();
  return { path: dest, bytes: got, status: startedWith > 0 ? 'resumed' : 'downloaded' };
}

/** One (dataset, config, Hub split) to fetch, and the tasks that need it. */
export interface DownloadUnit {
  hfId: string;
  config: string;
  hfSplit: string;
  dir: string;
  layout: 'parquet' | 'files';
  pattern?: string;
  manual?: string;
  tasks: string[];
}

/** The units a set of tasks needs (deduplicated; built-in tasks need none). */
export function planDownloads(tasks: Task[], dataDir: string, splits?: string[]): DownloadUnit[] {
  const units = new Map<string, DownloadUnit>();
  for (const t of tasks) {
    if (t.source.builtin) continue;
    for (const split of splits ?? t.splits) {
      if (!t.source.splits[split]) continue;
      const spec = t.splitSpec(split);
      const key = `${t.source.hfId}|${t.source.config}|${spec.hfSplit}`;
      const u = units.get(key);
      if (u) {
        if (!u.tasks.includes(t.name)) u.tasks.push(t.name);
        continue;
      }
      units.set(key, {
        hfId: t.source.hfId,
        config: t.source.config,
        hfSplit: spec.hfSplit,
        dir: t.splitDir(split, dataDir),
        layout: t.source.layout ?? 'parquet',
        ...(t.source.filePatterns?.[spec.hfSplit] ? { pattern: t.source.filePatterns[spec.hfSplit] } : {}),
        ...(t.source.manual ? { manual: t.source.manual } : {}),
        tasks: [t.name],
      });
    }
  }
  return [...units.values()];
}

export interface DownloadReport {
  files: FileResult[];
  /** Units that need a manual download (with instructions), skipped. */
  manual: DownloadUnit[];
}

/**
 * Downloads what `provider` (a task or a mixture) needs into `dataDir`.
 * @example
 * await downloadProvider(TaskRegistry.get('super_glue_cb'), { dataDir: '/data', splits: ['train', 'validation'] });
 */
export async function downloadProvider(
  provider: Task | Mixture,
  opts: DownloadOptions & {
    dataDir: string;
    splits?: string[];
    maxFiles?: number;
    dryRun?: boolean;
    log?: (line: string) => void;
  },
): Promise<DownloadReport & { plan: Array<{ unit: DownloadUnit; files: RemoteFile[] }> }> {
  const tasks = 'resolve' in provider ? provider.tasks() : [provider];
  // A task's unknown split is an error; a mixture's tasks simply skip splits they lack.
  if (!('resolve' in provider)) for (const s of opts.splits ?? []) provider.splitSpec(s);
  const units = planDownloads(tasks, opts.dataDir, opts.splits);
  const report: DownloadReport & { plan: Array<{ unit: DownloadUnit; files: RemoteFile[] }> } = {
    files: [],
    manual: [],
    plan: [],
  };
  for (const unit of units) {
    if (unit.manual) {
      report.manual.push(unit);
      continue;
    }
    const manualHint = `Or put the files yourself in ${unit.dir}`;
    let files =
      unit.layout === 'files'
        ? await listRepoFiles(unit.hfId, unit.pattern ?? '*', { ...opts, manualHint })
        : await listParquetFiles(unit.hfId, unit.config, unit.hfSplit, { ...opts, manualHint });
    if (files.length === 0) {
      throw new Ext5Error(
        'HUB_NO_FILES',
        `the Hub lists no ${unit.layout === 'files' ? `files matching ${unit.pattern}` : 'Parquet export'} for ${unit.hfId} config ${unit.config} split ${unit.hfSplit}`,
        `the dataset may need a manual download; put its files (.parquet, .jsonl, .jsonl.gz, .csv, .tsv) in ${unit.dir}`,
      );
    }
    if (opts.maxFiles !== undefined) files = files.slice(0, opts.maxFiles);
    report.plan.push({ unit, files });
    if (opts.dryRun) continue;
    for (const f of files) {
      const dest = path.join(unit.dir, path.basename(f.path));
      const r = await downloadFile(f, dest, opts);
      report.files.push(r);
      opts.log?.(`${r.status === 'present' ? 'present' : r.status}: ${dest}`);
    }
  }
  if (report.manual.length > 0 && tasks.length === 1) {
    const u = report.manual[0]!;
    throw new Ext5Error(
      'MANUAL_DOWNLOAD',
      `${u.hfId} (${u.tasks.join(', ')}) cannot be downloaded automatically`,
      `${u.manual} Target folder: ${u.dir}`,
    );
  }
  return report;
}
