/**
 * Classification and grouped metrics of T5's SuperGLUE evaluation, ported from
 * google-research/text-to-text-transfer-transformer `t5/evaluation/metrics.py`: accuracy,
 * sequence accuracy, mean multi-class F1 (sklearn `fbeta_score(average='macro', labels=range(n))`),
 * F1 with invalid predictions counted wrong, all-match, mean-group metric (MultiRC exact match) and
 * deduplicated metrics (ReCoRD); and the Matthews correlation T5 scores CoLA with
 * (`t5/data/glue_utils.py` GLUE_METRICS: sklearn `matthews_corrcoef` × 100). Scores are in [0, 100]
 * (Matthews: [-100, 100]).
 */
import { Ext5Error } from '../../util/errors';

type Label = string | number | boolean;

function checkLengths(metric: string, targets: readonly unknown[], predictions: readonly unknown[]): void {
  if (targets.length !== predictions.length) {
    throw new Ext5Error(
      'E_METRIC_INPUT',
      `${metric}: ${predictions.length} predictions but ${targets.length} targets`,
      'give exactly one target per prediction.',
    );
  }
}

/**
 * Percentage of predictions equal to their target (sklearn `accuracy_score` × 100).
 * @example accuracy([0, 1, 1], [0, 1, 0]) // 66.666...
 */
export function accuracy(targets: readonly Label[], predictions: readonly Label[]): number {
  checkLengths('accuracy', targets, predictions);
  if (targets.length === 0) return Number.NaN;
  let ok = 0;
  for (let i = 0; i < targets.length; i++) if (targets[i] === predictions[i]) ok++;
  return (100 * ok) / targets.length;
}

/** T5's `sequence_accuracy`: exact string match per example, × 100. */
export function sequenceAccuracy(targets: readonly string[], predictions: readonly string[]): number {
  return accuracy(targets, predictions);
}

/**
 * Unweighted mean over classes 0..numClasses-1 of the per-class F1 (T5 `mean_multiclass_f1`, the CB
 * metric). Predictions outside the classes (e.g. -1 for an unknown label) match no class, so they
 * count as a miss of the true class; a class with no true and no predicted example has F1 0, as in
 * sklearn.
 * @example meanMulticlassF1([0, 1, 2, 0], [0, 1, 1, -1], 3) // 100 * (2/3 + 2/3 + 0) / 3
 */
export function meanMulticlassF1(
  targets: readonly number[],
  predictions: readonly number[],
  numClasses: number,
): number {
  checkLengths('mean_multiclass_f1', targets, predictions);
  if (!Number.isInteger(numClasses) || numClasses < 1) {
    throw new Ext5Error('E_METRIC_OPTION', `numClasses must be a positive integer, got ${numClasses}`);
  }
  let sum = 0;
  for (let c = 0; c < numClasses; c++) sum += binaryF1(targets, predictions, c);
  return (100 * sum) / numClasses;
}

/** F1 of one class as the positive label, in [0, 1] (0 when undefined, like sklearn's zero_division). */
function binaryF1(targets: readonly Label[], predictions: readonly Label[], positive: Label): number {
  let tp = 0;
  let fp = 0;
  let fn = 0;
  for (let i = 0; i < targets.length; i++) {
    const t = targets[i] === positive;
    const p = predictions[i] === positive;
    if (t && p) tp++;
    else if (p) fp++;
    else if (t) fn++;
  }
  const denom = 2 * tp + fp + fn;
  return denom === 0 ? 0 : (2 * tp) / denom;
}

/**
 * Binary F1 (positive class 1) where any prediction other than 0 or 1 is counted as wrong
 * (T5 `f1_score_with_invalid`, the MultiRC F1a metric), × 100.
 * @example f1ScoreWithInvalid([1, 0, 1], [1, -1, -1]) // 66.666... (the -1s become 1 and 0)
 */
export function f1ScoreWithInvalid(targets: readonly number[], predictions: readonly number[]): number {
  checkLengths('f1_score_with_invalid', targets, predictions);
  const fixed = predictions.map((p, i) => (p === 0 || p === 1 ? p : 1 - targets[i]!));
  return 100 * binaryF1(targets, fixed, 1);
}

/**
 * Matthews correlation coefficient × 100 over every label that occurs (multi-class, as sklearn's
 * `matthews_corrcoef` computes it from the confusion matrix: (c·s − t·p) / √((s² − p·p)(s² − t·t))
 * with t, p the true and predicted counts per label, c the correct and s all predictions). An
 * unknown prediction (class id -1) is one more label, so it counts wrong. 0 when undefined (one
 * label only on either side), as sklearn returns.
 * @example matthewsCorrcoef([0, 0, 2, 1], [0, 1, 2, 1]) // 70 (T5 metrics_test)
 */
export function matthewsCorrcoef(targets: readonly Label[], predictions: readonly Label[]): number {
  checkLengths('matthews_corrcoef', targets, predictions);
  const n = targets.length;
  if (n === 0) return Number.NaN;
  const trueCount = new Map<Label, number>();
  const predCount = new Map<Label, number>();
  let correct = 0;
  for (let i = 0; i < n; i++) {
    const t = targets[i]!;
    const p = predictions[i]!;
    trueCount.set(t, (trueCount.get(t) ?? 0) + 1);
    predCount.set(p, (predCount.get(p) ?? 0) + 1);
    if (t === p) correct++;
  }
  let tp = 0;
  let pp = 0;
  let tt = 0;
  for (const [label, c] of trueCount) {
    tp += c * (predCount.get(label) ?? 0);
    tt += c * c;
  }
  for (const c of predCount.values()) pp += c * c;
  const covTP = correct * n - tp;
  const covPP = n * n - pp;
  const covTT = n * n - tt;
  if (covPP * covTT === 0) return 0;
  return (100 * covTP) / Math.sqrt(covTT * covPP);
}

/** T5 `all_match`: 100 if every prediction equals its target, else 0. */
export function allMatch(targets: readonly Label[], predictions: readonly Label[]): number {
  checkLengths('all_match', targets, predictions);
  for (let i = 0; i < targets.length; i++) if (targets[i] !== predictions[i]) return 0;
  return 100;
}

/** A target or prediction with a grouping key, as T5's MultiRC and ReCoRD postprocessors make them. */
export interface Grouped<V> {
  group?: string | number | readonly (string | number)[];
  value: V;
}

function groupKey(g: Grouped<unknown>['group'], i: number, metric: string): string {
  if (g === undefined) {
    throw new Ext5Error(
      'E_METRIC_INPUT',
      `${metric}: target ${i} has no 'group'`,
      'targets of grouped metrics need a group key (e.g. the MultiRC question index or the ReCoRD (passage, query) pair).',
    );
  }
  return typeof g === 'object' ? JSON.stringify(g) : String(g);
}

/**
 * T5 `mean_group_metric`: computes `metricFn` on each group of examples (grouped by the targets'
 * `group`) and averages each metric over groups. With `allMatch` this is MultiRC's exact match.
 * @example meanGroupMetric((t, p) => ({ exact_match: allMatch(t, p) }), targets, predictions)
 */
export function meanGroupMetric<T, P>(
  metricFn: (targets: T[], predictions: P[]) => Record<string, number>,
  targets: readonly Grouped<T>[],
  predictions: readonly Grouped<P>[],
): Record<string, number> {
  checkLengths('mean_group_metric', targets, predictions);
  const groups = new Map<string, [T[], P[]]>();
  for (let i = 0; i < targets.length; i++) {
    const k = groupKey(targets[i]!.group, i, 'mean_group_metric');
    let g = groups.get(k);
    if (g === undefined) {
      g = [[], []];
      groups.set(k, g);
    }
    g[0].push(targets[i]!.value);
    g[1].push(predictions[i]!.value);
  }
  const sums = new Map<string, [number, number]>();
  for (const [t, p] of groups.values()) {
    for (const [m, v] of Object.entries(metricFn(t, p))) {
      const s = sums.get(m) ?? [0, 0];
      s[0] += v;
      s[1]++;
      sums.set(m, s);
    }
  }
  const out: Record<string, number> = {};
  for (const [m, [s, n]] of sums) out[m] = s / n;
  return out;
}

/**
 * T5 `deduplicate_metric`: keeps the first example of each group (ReCoRD repeats an input once per gold
 * answer during training) and runs `metricFn` on the values.
 */
export function deduplicateMetric<T, P, R>(
  metricFn: (targets: T[], predictions: P[]) => R,
  targets: readonly Grouped<T>[],
  predictions: readonly Grouped<P>[],
): R {
  checkLengths('deduplicate_metric', targets, predictions);
  const seen = new Set<string>();
  const t: T[] = [];
  const p: P[] = [];
  for (let i = 0; i < targets.length; i++) {
    const k = groupKey(targets[i]!.group, i, 'deduplicate_metric');
    if (seen.has(k)) continue;
    seen.add(k);
    t.push(targets[i]!.value);
    p.push(predictions[i]!.value);
  }
  return metricFn(t, p);
}
