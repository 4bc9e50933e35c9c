/**
 * Scores over seeds, shared by every study's analysis: the interval of a held-out score, the range a
 * score can take (so that shown intervals are cut to it), chart points, and the per-task breakdown
 * (each downstream task, each arm's mean with its interval).
 */
import type { PageTable } from '../report/experiment_page';
import type { IntervalPoint } from '../report/stat_charts';
import { type CellResult, taskScore } from './cell';
import { clipInterval, formatInterval, type Interval, meanInterval, type ValueRange } from './stats';

export type Results = ReadonlyMap<string, CellResult>;

/** Percentage scores (accuracy, F1, BLEU, ROUGE …) are 0–100. */
export const PERCENT: ValueRange = [0, 100];
/** Correlation metrics (`*_corrcoef`: Pearson, Spearman, Matthews) are −100–100 on T5's scale. */
const CORRELATION: ValueRange = [-100, 100];
/** A loss is at least 0. */
export const LOSS: ValueRange = [0, Number.POSITIVE_INFINITY];

/** The range of one metric's values (T5's metrics are all on a 0–100 scale; correlations go to −100). */
export function metricRange(key: string): ValueRange {
  return key.endsWith('_corrcoef') ? CORRELATION : PERCENT;
}

/** The range of a score averaged over `tasks`' metrics, from the metric keys the results hold. */
export function scoreRange(results: Results, tasks: readonly string[]): ValueRange {
  let lo = PERCENT[0];
  let hi = PERCENT[1];
  for (const r of results.values()) {
    for (const t of tasks) {
      for (const key of Object.keys(r.evals[t] ?? {})) {
        const [a, b] = metricRange(key);
        lo = Math.min(lo, a);
        hi = Math.max(hi, b);
      }
    }
  }
  return [lo, hi];
}

/** An interval over the finite values, or null when there are none. */
export function iv(values: readonly number[]): Interval | null {
  const xs = values.filter((x) => Number.isFinite(x));
  return xs.length ? meanInterval(xs) : null;
}

/** "mean ± half (n=…)", cut to `range` where the interval runs outside it; '—' for no value. */
export function show(i: Interval | null, range?: ValueRange): string {
  return i ? formatInterval(i, 1, { range }) : '—';
}

/** A chart point with its interval cut to `range`. */
export function pt(x: number, i: Interval | null, range?: ValueRange): IntervalPoint {
  if (!i) return { x, mean: Number.NaN, lo: Number.NaN, hi: Number.NaN, n: 0 };
  const c = clipInterval(i, range);
  return { x, mean: i.mean, lo: c.lo, hi: c.hi, n: i.n };
}

/** Whether any of the intervals is cut by `range` when shown. */
export function anyClipped(ivs: readonly (Interval | null)[], range: ValueRange): boolean {
  return ivs.some((i) => i !== null && clipInterval(i, range).clipped);
}

/** The chart note of a range that cut an interval, e.g. '95% intervals clipped to 0–100'. */
export function clipNote(range: ValueRange): string {
  const hi = Number.isFinite(range[1]) ? `–${range[1]}` : '';
  return `95% intervals clipped to ${hi ? `${range[0]}${hi}` : `≥ ${range[0]}`} (results.json keeps the raw bounds)`;
}

export const seedList = (p: { seeds: number }) => Array.from({ length: p.seeds }, (_, i) => i);

/** The mean score over `tasks` of one seed, `cellOf(task)` naming the cell fine-tuned on it (NaN if one is missing). */
export function heldOutMean(r: Results, tasks: readonly string[], cellOf: (task: string) => string): number {
  const scores = tasks.map((t) => taskScore(r.get(cellOf(t))?.evals[t]));
  return scores.some((s) => !Number.isFinite(s))
    ? Number.NaN
    : scores.reduce((a, b) => a + b, 0) / scores.length;
}

/** One arm of a per-task breakdown: its label and the cell fine-tuned on `task` for `seed`. */
export interface TaskArm {
  label: string;
  cell: (seed: number, task: string) => string;
}

/**
 * Per downstream task, each arm's mean score over seeds with its interval: a table (rows arms,
 * columns tasks, intervals cut to the score range) and the raw intervals for results.json.
 */
export function perTaskBreakdown(
  p: { seeds: number; heldOut: readonly string[] },
  r: Results,
  arms: readonly TaskArm[],
): { table: PageTable; numbers: Record<string, Record<string, Interval | null>> } {
  const numbers: Record<string, Record<string, Interval | null>> = {};
  const ranges = p.heldOut.map((t) => scoreRange(r, [t]));
  const rows = arms.map((a) => [
    a.label,
    ...p.heldOut.map((t, j) => {
      const i = iv(seedList(p).map((s) => taskScore(r.get(a.cell(s, t))?.evals[t])));
      numbers[t] ??= {};
      numbers[t]![a.label] = i;
      return show(i, ranges[j]);
    }),
  ]);
  return {
    numbers,
    table: {
      id: 'per-task',
      title:
        'Per held-out task (mean ± 95% half-width over seeds; [lo, hi] where clipped to the score range)',
      head: ['arm', ...p.heldOut],
      numeric: p.heldOut.map((_, j) => j + 1),
      rows,
    },
  };
}
