/**
 * `ext5 data download`: fetches the files a task, a mixture or a benchmark needs from the Hugging Face Hub
 * into the local layout every task reads:
 *
 *   <data-dir>/<dataset id>/<config>/<split>/<file>.parquet|.jsonl|.json.gz…
 *
 * Listing and downloads are pinned to the commit the revision pointed to when listed (lib/hub/datasets.ts);
 * each file is resumable and verified (lib/hub/file.ts). What a split folder should hold is recorded in
 * `<split folder>/.ext5-download.json` (commit, files, sizes, sha256, whether the export is partial), so that
 * with HF_HUB_OFFLINE=1 a download (or a --dry-run) works from disk alone.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { isOffline } from '../hub/config';
import { listParquetExport, listRepoFiles, localParquetName, type RemoteFile } from '../hub/datasets';
import { type DownloadOptions, downloadFile, type FileResult, isPresent, sizeOf } from '../hub/file';
import { offlineModeError } from '../hub/http';
import { writeFileDurable } from '../io/durable';
import type { Mixture } from '../tasks/mixture';
import type { Task } from '../tasks/task';
import { Ext5Error } from '../util/errors';
import { formatBytes, Progress } from '../util/progress';

export { type DownloadOptions, downloadFile, type FileResult } from '../hub/file';

/** The record of a split folder's expected contents. */
export const MANIFEST = '.ext5-download.json';

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

/** A remote file and the name it gets in its split folder. */
export interface PlannedFile extends RemoteFile {
  name: string;
}

/** What one unit resolved to. */
export interface UnitPlan {
  unit: DownloadUnit;
  files: PlannedFile[];
  /** The commit the listing was pinned to. */
  commit?: string;
  /** The Hub exported only the first rows of this split (a `partial-{split}` Parquet export). */
  partial: boolean;
  /** Planned from the folder's record on disk (offline), not from a listing. */
  fromDisk: boolean;
}

interface Manifest {
  repo: string;
  config: string;
  split: string;
  layout: string;
  commit?: string;
  partial: boolean;
  files: PlannedFile[];
}

export interface DownloadReport {
  files: FileResult[];
  /** Units that need a manual download (with instructions), skipped. */
  manual: DownloadUnit[];
  plan: UnitPlan[];
  /** Bytes of all planned files (those with a listed size). */
  totalBytes: number;
}

function readManifest(dir: string): Manifest | undefined {
  try {
    return JSON.parse(fs.readFileSync(path.join(dir, MANIFEST), 'utf8')) as Manifest;
  } catch {
    return undefined;
  }
}

function writeManifest(dir: string, m: Manifest): void {
  fs.mkdirSync(dir, { recursive: true });
  writeFileDurable(path.join(dir, MANIFEST), `${JSON.stringify(m, null, 1)}\n`);
}

async function planUnit(unit: DownloadUnit, opts: DownloadOptions): Promise<UnitPlan> {
  const manualHint = `Or put the files yourself in ${unit.dir}`;
  if (isOffline(opts)) {
    const m = readManifest(unit.dir);
    if (!m) {
      throw offlineModeError(
        `the file list of ${unit.hfId} ${unit.config}/${unit.hfSplit} (an online download records it in ${path.join(unit.dir, MANIFEST)})`,
        manualHint,
      );
    }
    return {
      unit,
      files: m.files,
      partial: m.partial,
      fromDisk: true,
      ...(m.commit ? { commit: m.commit } : {}),
    };
  }
  let files: PlannedFile[];
  let commit: string | undefined;
  let partial = false;
  if (unit.layout === 'files') {
    const list = await listRepoFiles(unit.hfId, unit.pattern ?? '*', { ...opts, manualHint });
    files = list.map((f) => ({ ...f, name: path.basename(f.path) }));
    commit = list[0]?.revision;
  } else {
    const exp = await listParquetExport(unit.hfId, unit.config, unit.hfSplit, { ...opts, manualHint }).catch(
      (e: unknown) => {
        // A 404 for the export's config or split: say which task needs it and what to do.
        if (e instanceof Ext5Error && (e.code === 'HUB_NOT_FOUND' || e.code === 'HUB_ENTRY_NOT_FOUND'))
          throw new Ext5Error(e.code, `task ${unit.tasks.join(', ')}: ${e.message}`, missingExportHint(unit));
        throw e;
      },
    );
    files = exp.files.map((f) => ({ ...f, name: localParquetName(f.path) }));
    commit = exp.commit;
    partial = exp.partial;
  }
  if (files.length === 0) {
    throw new Ext5Error(
      'HUB_NO_FILES',
      `task ${unit.tasks.join(', ')}: the Hub lists no ${unit.layout === 'files' ? `files matching ${unit.pattern}` : 'Parquet export'} for ${unit.hfId} config ${unit.config} split ${unit.hfSplit}${commit ? ` (commit ${commit})` : ''}`,
      missingExportHint(unit),
    );
  }
  return { unit, files, partial, fromDisk: false, ...(commit ? { commit } : {}) };
}

/** What to do when a task's Parquet export (or its config or split) is not on the Hub. */
function missingExportHint(unit: DownloadUnit): string {
  return (
    `check config ${unit.config} and split ${unit.hfSplit} on https://huggingface.co/datasets/${unit.hfId}: ` +
    'the Hub converts a dataset to Parquet (refs/convert/parquet) from its data files, and an export made ' +
    'while it still used a loading script may lack configs or splits, or be missing. ' +
    `Otherwise get the files by hand and put them (.parquet, .jsonl, .jsonl.gz, .csv, .tsv) in ${unit.dir}; ` +
    `\`ext5 tasks inspect ${unit.tasks[0]}\` shows the columns the task reads once they are there.`
  );
}

/** The tasks of a provider: a task, a mixture (its members) or a list of tasks (a benchmark). */
function tasksOf(provider: Task | Mixture | Task[]): Task[] {
  if (Array.isArray(provider)) return provider;
  return 'resolve' in provider ? provider.tasks() : [provider];
}

/**
 * Downloads what `provider` (a task, a mixture, or the tasks of a benchmark) needs into `dataDir`: lists
 * everything first, reports the total size, then fetches with one progress bar.
 * @example
 * await downloadProvider(TaskRegistry.get('super_glue_cb'), { dataDir: '/data', splits: ['train', 'validation'] });
 */
export async function downloadProvider(
  provider: Task | Mixture | Task[],
  opts: DownloadOptions & {
    dataDir: string;
    splits?: string[];
    maxFiles?: number;
    dryRun?: boolean;
    log?: (line: string) => void;
  },
): Promise<DownloadReport> {
  const tasks = tasksOf(provider);
  // A task's unknown split is an error; a mixture's tasks simply skip splits they lack.
  if (!Array.isArray(provider) && !('resolve' in provider))
    for (const s of opts.splits ?? []) provider.splitSpec(s);
  const units = planDownloads(tasks, opts.dataDir, opts.splits);
  const report: DownloadReport = { files: [], manual: [], plan: [], totalBytes: 0 };
  for (const unit of units) {
    if (unit.manual) {
      report.manual.push(unit);
      continue;
    }
    const p = await planUnit(unit, opts);
    if (opts.maxFiles !== undefined) p.files = p.files.slice(0, opts.maxFiles);
    if (!p.fromDisk) {
      writeManifest(unit.dir, {
        repo: unit.hfId,
        config: unit.config,
        split: unit.hfSplit,
        layout: unit.layout,
        partial: p.partial,
        files: p.files,
        ...(p.commit ? { commit: p.commit } : {}),
      });
    }
    if (p.partial) {
      opts.log?.(
        `note: ${unit.hfId} ${unit.config}/${unit.hfSplit} is a partial Parquet export (the Hub converted only its first rows)`,
      );
    }
    report.plan.push(p);
  }
  report.totalBytes = report.plan.reduce((s, p) => s + p.files.reduce((t, f) => t + (f.size ?? 0), 0), 0);
  const nFiles = report.plan.reduce((s, p) => s + p.files.length, 0);
  let missing = 0;
  if (!opts.dryRun) {
    for (const p of report.plan) {
      for (const f of p.files) {
        const dest = path.join(p.unit.dir, f.name);
        if (!(await isPresent(f, dest)))
          missing += Math.max(0, (f.size ?? 0) - Math.max(0, sizeOf(`${dest}.partial`)));
      }
    }
  }
  opts.log?.(
    `${nFiles} files, ${formatBytes(report.totalBytes)} in all${opts.dryRun ? '' : `, ${formatBytes(missing)} to download`}`,
  );
  if (!opts.dryRun) {
    const bar =
      missing > 0
        ? new Progress({
            label: 'download',
            total: missing,
            unit: 'bytes',
            mode: opts.progress ?? 'auto',
            ...(opts.stream ? { stream: opts.stream } : {}),
          })
        : undefined;
    for (const p of report.plan) {
      for (const f of p.files) {
        const dest = path.join(p.unit.dir, f.name);
        const r = await downloadFile(f, dest, { ...opts, onBytes: (n) => bar?.tick(n) });
        report.files.push(r);
        opts.log?.(`${r.status}: ${dest}`);
      }
    }
    bar?.done();
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
