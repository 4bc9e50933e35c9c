/**
 * What `ext5 data download` fetches for a task, a mixture or a benchmark: the (dataset, config, Hub split)
 * units their splits read, deduplicated, handed to lib/data/download.ts, which lists, records and fetches
 * them into `<data-dir>/<dataset id>/<config>/<split>/`.
 */
import {
  type DownloadReport,
  type DownloadUnit,
  type DownloadUnitsOptions,
  downloadUnits,
} from '../data/download';
import { Ext5Error } from '../util/errors';
import type { Mixture } from './mixture';
import type { Task } from './task';

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

/** The tasks of a provider: a task, a mixture (its members) or a list of tasks (a benchmark). */
function tasksOf(provider: Task | Mixture | Task[]): Task[] {
  if (Array.isArray(provider)) return provider;
  return 'resolve' in provider ? provider.tasks() : [provider];
}

/**
 * Downloads what `provider` (a task, a mixture, or the tasks of a benchmark) needs into `dataDir`: lists
 * everything first, reports the total size, then fetches with one progress bar (see downloadUnits).
 * @example
 * await downloadProvider(TaskRegistry.get('super_glue_cb'), { dataDir: '/data', splits: ['train', 'validation'] });
 */
export async function downloadProvider(
  provider: Task | Mixture | Task[],
  opts: DownloadUnitsOptions & { dataDir: string; splits?: string[] },
): Promise<DownloadReport> {
  const tasks = tasksOf(provider);
  // A task's unknown split is an error; a mixture's tasks simply skip splits they lack.
  if (!Array.isArray(provider) && !('resolve' in provider))
    for (const s of opts.splits ?? []) provider.splitSpec(s);
  const report = await downloadUnits(planDownloads(tasks, opts.dataDir, opts.splits), opts);
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
