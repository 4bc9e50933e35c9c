/**
 * Runs as the report sees them: the run directory's config and environment, and its metrics.jsonl
 * turned into one series per (split, metric name), sorted by step, the last write of a step winning
 * (a resumed run logs the re-run steps again).
 */
import * as path from 'node:path';
import { readMetrics } from '../run/metrics_log';
import { type EnvFile, openRunDir } from '../run/run_dir';
import { Ext5Error } from '../util/errors';

/** One point of a metric. */
export interface MetricPoint {
  step: number;
  value: number;
  /** Wall-clock seconds. */
  time: number;
}

/** One metric of one split over the run. */
export interface MetricSeries {
  split: string;
  name: string;
  points: MetricPoint[];
}

/** A run loaded for the report. */
export interface ReportRun {
  /** Short name in legends and tables: config run.name, else the directory name (made unique). */
  label: string;
  dir: string;
  config: Record<string, unknown> | null;
  env: EnvFile | null;
  series: MetricSeries[];
  /** Things the reader skipped (a partial last line from a killed run). */
  warnings: string[];
}

/** Groups records into series. */
export function toSeries(
  records: readonly { step: number; time: number; split: string; values: Record<string, number> }[],
): MetricSeries[] {
  const byKey = new Map<string, { split: string; name: string; byStep: Map<number, MetricPoint> }>();
  for (const r of records) {
    for (const [name, value] of Object.entries(r.values)) {
      const key = `${r.split}\u0000${name}`;
      let s = byKey.get(key);
      if (!s) {
        s = { split: r.split, name, byStep: new Map() };
        byKey.set(key, s);
      }
      s.byStep.set(r.step, { step: r.step, value, time: r.time });
    }
  }
  return [...byKey.values()].map((s) => ({
    split: s.split,
    name: s.name,
    points: [...s.byStep.values()].sort((a, b) => a.step - b.step),
  }));
}

/**
 * Loads one run directory.
 * @throws Ext5Error EXT5_RUN_DIR for a missing directory or one that is not a run, EXT5_REPORT_EMPTY when
 * metrics.jsonl holds no records yet.
 */
export function loadReportRun(dir: string): ReportRun {
  const opened = openRunDir(dir);
  const { records, warnings } = readMetrics(opened.metricsPath);
  if (records.length === 0) {
    throw new Ext5Error(
      'EXT5_REPORT_EMPTY',
      `'${dir}' has no metrics yet (${path.basename(opened.metricsPath)} is empty)`,
      'metrics appear after the first logging step (logging.every); wait for the run to log, then try again.',
    );
  }
  const raw = opened.rawConfig;
  const config =
    raw !== null && typeof raw === 'object' && !Array.isArray(raw) ? (raw as Record<string, unknown>) : null;
  const runName = (config?.run as { name?: unknown } | undefined)?.name;
  return {
    label: typeof runName === 'string' && runName !== '' ? runName : path.basename(opened.root),
    dir: opened.root,
    config,
    env: opened.env,
    series: toSeries(records),
    warnings,
  };
}

/** Loads several runs and makes their labels unique (directory names break ties). */
export function loadReportRuns(dirs: readonly string[]): ReportRun[] {
  if (dirs.length === 0) {
    throw new Ext5Error(
      'EXT5_INVALID_ARG',
      'no run directory given',
      'e.g. ext5 report runs/tiny-demo-20261126-020538',
    );
  }
  const runs = dirs.map(loadReportRun);
  const seen = new Map<string, number>();
  for (const r of runs) seen.set(r.label, (seen.get(r.label) ?? 0) + 1);
  for (const r of runs) {
    if ((seen.get(r.label) ?? 0) > 1) r.label = `${r.label} (${path.basename(r.dir)})`;
  }
  const again = new Map<string, number>();
  for (const r of runs) {
    const n = (again.get(r.label) ?? 0) + 1;
    again.set(r.label, n);
    if (n > 1) r.label = `${r.label} #${n}`;
  }
  return runs;
}
