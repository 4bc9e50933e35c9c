/**
 * Downloading dataset splits from the Hugging Face Hub into the local layout every task reads:
 *
 *   <data-dir>/<dataset id>/<config>/<split>/<file>.parquet|.jsonl|.json.gz…
 *
 * The input is a list of units (a dataset, config and Hub split, and the folder it goes to); which units a
 * task, a mixture or a benchmark needs is decided above this layer (lib/tasks/download_plan.ts).
 * Listing and downloads are pinned to the commit the revision pointed to when listed (lib/hub/datasets.ts);
 * each file is resumable and verified (lib/hub/file.ts). What a split folder should hold is recorded in
 * `<split folder>/.ext5-download.json` (lib/data/manifest.ts: commit, files, sizes, sha256, whether the
 * export is partial, and the rows present), so that with HF_HUB_OFFLINE=1 a download (or a --dry-run)
 * works from disk alone.
 */
import * as path from 'node:path';
import { isOffline } from '../hub/config';
import { listParquetExport, listRepoFiles, localParquetName } from '../hub/datasets';
import { type DownloadOptions, downloadFile, type FileResult, isPresent, sizeOf } from '../hub/file';
import { offlineModeError } from '../hub/http';
import { Ext5Error } from '../util/errors';
import { formatBytes, Progress } from '../util/progress';
import { MANIFEST, type Manifest, type PlannedFile, readManifest, writeManifest } from './manifest';
import { parquetRowCount } from './sources/parquet';

export { type DownloadOptions, downloadFile, type FileResult } from '../hub/file';

export type { PlannedFile } from './manifest';

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
  /** The record it was planned from (offline). */
  recorded?: Manifest;
  /** Rows present, counted from the Parquet footers once every file is on disk (not in a dry run). */
  rows?: number;
}

export interface DownloadReport {
  files: FileResult[];
  /** Units that need a manual download (with instructions), skipped. */
  manual: DownloadUnit[];
  plan: UnitPlan[];
  /** Bytes of all planned files (those with a listed size). */
  totalBytes: number;
}

async function planUnit(unit: DownloadUnit, opts: DownloadOptions): Promise<UnitPlan> {
  const manualHint = `Or put the files yourself in ${unit.dir}`;
  if (isOffline(opts)) {
    const m = readManifest(unit.dir, { repo: unit.hfId, config: unit.config, split: unit.hfSplit });
    if (!m) {
      throw offlineModeError(
        `the file list of ${unit.hfId} ${unit.config}/${unit.hfSplit} (an online download records it in ${path.join(unit.dir, MANIFEST)})`,
        manualHint,
      );
    }
    if (m.layout !== unit.layout) {
      throw new Ext5Error(
        'E_DATA_MANIFEST',
        `${path.join(unit.dir, MANIFEST)}: layout is ${JSON.stringify(m.layout)}, but ${unit.tasks.join(', ')} read${unit.tasks.length === 1 ? 's' : ''} ${JSON.stringify(unit.layout)}`,
        'delete the record and download that split again (online), which writes it anew',
      );
    }
    return {
      unit,
      files: m.files,
      partial: m.partial,
      fromDisk: true,
      recorded: m,
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

/** Options of {@link downloadUnits}. */
export interface DownloadUnitsOptions extends DownloadOptions {
  /** At most this many files per unit (the first ones of the listing). */
  maxFiles?: number;
  /** List and record only; fetch nothing. */
  dryRun?: boolean;
  log?: (line: string) => void;
}

/** Whether two file lists name the same files (name, path, revision, size, sha256), in order. */
function sameFiles(a: PlannedFile[], b: PlannedFile[]): boolean {
  const key = (f: PlannedFile) => JSON.stringify([f.name, f.path, f.revision, f.size, f.sha256]);
  return a.length === b.length && a.every((f, i) => key(f) === key(b[i]!));
}

/** The record a plan writes; `rows` as given (counted, or carried over from an identical record). */
function manifestOf(p: UnitPlan, rows: number | undefined): Manifest {
  const { unit } = p;
  return {
    repo: unit.hfId,
    config: unit.config,
    split: unit.hfSplit,
    layout: unit.layout,
    partial: p.partial,
    files: p.files,
    ...(p.commit ? { commit: p.commit } : {}),
    ...(rows !== undefined ? { rows } : {}),
  };
}

/** The rows of a unit's Parquet files on disk: the sum of their footers' counts. */
async function countRows(p: UnitPlan): Promise<number> {
  let rows = 0;
  for (const f of p.files) rows += await parquetRowCount(path.join(p.unit.dir, f.name));
  return rows;
}

/**
 * Downloads `units` (see lib/tasks/download_plan.ts for the units a task, a mixture or a benchmark
 * needs): lists everything first, records each split folder's files, reports the total size, then
 * fetches with one progress bar. Once a Parquet unit's files are all on disk, its record gets the rows
 * present (the sum of the footers' num_rows), which examples-proportional mixing reads.
 * Units that need a manual download are skipped and returned in `manual`.
 */
export async function downloadUnits(
  units: DownloadUnit[],
  opts: DownloadUnitsOptions,
): Promise<DownloadReport> {
  const report: DownloadReport = { files: [], manual: [], plan: [], totalBytes: 0 };
  for (const unit of units) {
    if (unit.manual) {
      report.manual.push(unit);
      continue;
    }
    const p = await planUnit(unit, opts);
    if (opts.maxFiles !== undefined) p.files = p.files.slice(0, opts.maxFiles);
    if (!p.fromDisk) {
      // A dry run counts nothing; it keeps the count of an earlier download of these very files.
      const owner = { repo: unit.hfId, config: unit.config, split: unit.hfSplit };
      const old = opts.dryRun ? readManifest(unit.dir, owner) : undefined;
      writeManifest(unit.dir, manifestOf(p, old && sameFiles(old.files, p.files) ? old.rows : undefined));
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
    // Every file is on disk and verified: record the rows present. A record read from disk is
    // rewritten only when this download covered all of its files.
    for (const p of report.plan) {
      if (p.unit.layout !== 'parquet') continue;
      if (p.fromDisk && p.recorded && !sameFiles(p.recorded.files, p.files)) continue;
      p.rows = await countRows(p);
      if (p.recorded?.rows !== p.rows) writeManifest(p.unit.dir, manifestOf(p, p.rows));
      if (p.partial)
        opts.log?.(
          `note: ${p.unit.hfId} ${p.unit.config}/${p.unit.hfSplit}: ${p.rows} rows present (a partial export); examples-proportional mixing counts these, not the declared size`,
        );
    }
  }
  return report;
}
