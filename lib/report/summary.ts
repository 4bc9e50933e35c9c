/**
 * Numbers for the report's tables and `ext5 report --json`: per run, its length and duration, and per
 * metric its final and best values; plus the smoothing used for noisy training curves.
 */
import type { MetricPoint, ReportRun } from './runs';

/**
 * TensorBoard's scalar smoothing: an exponential moving average debiased like Adam's first moment, so
 * the first points are not pulled towards zero (tensorboard `vz_line_chart2` `resmoothDataset`, logic
 * ported). Non-finite values pass through and do not disturb the average.
 * @example
 * smoothEma([1, 1, 1], 0.9); // [1, 1, 1] (debiasing keeps a constant constant)
 */
export function smoothEma(values: readonly number[], weight: number): number[] {
  if (weight <= 0) return [...values];
  let last = 0;
  let n = 0;
  return values.map((v) => {
    if (!Number.isFinite(v)) return v;
    last = last * weight + (1 - weight) * v;
    n++;
    return last / (1 - weight ** n);
  });
}

/** Whether smaller (min) or larger (max) is better for a metric name; null when neither (lr). */
export function bestDirection(name: string): 'min' | 'max' | null {
  const n = name.toLowerCase();
  if (n === 'lr' || n.endsWith('/lr') || n.includes('grad_norm')) return null;
  if (/loss|perplexity|error|step_time|seconds/.test(n)) return 'min';
  return 'max';
}

/** Final and best value of one metric. */
export interface MetricSummary {
  split: string;
  name: string;
  count: number;
  final: MetricPoint | null;
  best: MetricPoint | null;
  direction: 'min' | 'max' | null;
}

/** One run in numbers. */
export interface RunSummary {
  label: string;
  dir: string;
  kind: string | null;
  model: string | null;
  data: string | null;
  /** The largest step logged. */
  steps: number;
  /** Planned steps (config training.steps), when known. */
  plannedSteps: number | null;
  /** Seconds from the start (env.json) or the first record to the last record. */
  wallSeconds: number | null;
  startTime: string | null;
  metrics: MetricSummary[];
  warnings: string[];
}

function lastFinite(points: readonly MetricPoint[]): MetricPoint | null {
  for (let i = points.length - 1; i >= 0; i--) if (Number.isFinite(points[i]!.value)) return points[i]!;
  return null;
}

/** Summarises a loaded run. */
export function summarizeRun(run: ReportRun): RunSummary {
  const metrics: MetricSummary[] = run.series.map((s) => {
    const direction = bestDirection(s.name);
    let best: MetricPoint | null = null;
    if (direction) {
      for (const p of s.points) {
        if (!Number.isFinite(p.value)) continue;
        if (!best || (direction === 'min' ? p.value < best.value : p.value > best.value)) best = p;
      }
    }
    return {
      split: s.split,
      name: s.name,
      count: s.points.length,
      final: lastFinite(s.points),
      best,
      direction,
    };
  });
  const all = run.series.flatMap((s) => s.points);
  const steps = all.reduce((m, p) => Math.max(m, p.step), 0);
  const times = all.map((p) => p.time).filter(Number.isFinite);
  const start = run.env?.startTime ? Date.parse(run.env.startTime) / 1000 : Number.NaN;
  const lo = times.reduce((m, t) => Math.min(m, t), Number.POSITIVE_INFINITY);
  const hi = times.reduce((m, t) => Math.max(m, t), Number.NEGATIVE_INFINITY);
  const first = Number.isFinite(start) ? start : times.length ? lo : Number.NaN;
  const last = times.length ? hi : Number.NaN;
  const cfg = run.config as {
    run?: { kind?: unknown };
    model?: { config?: unknown };
    data?: { mixtureOrTask?: unknown };
    training?: { steps?: unknown };
  } | null;
  const str = (v: unknown) => (typeof v === 'string' ? v : null);
  return {
    label: run.label,
    dir: run.dir,
    kind: str(cfg?.run?.kind),
    model: str(cfg?.model?.config),
    data: str(cfg?.data?.mixtureOrTask),
    steps,
    plannedSteps: typeof cfg?.training?.steps === 'number' ? cfg.training.steps : null,
    wallSeconds: Number.isFinite(last - first) ? last - first : null,
    startTime: run.env?.startTime ?? null,
    metrics,
    warnings: run.warnings,
  };
}
