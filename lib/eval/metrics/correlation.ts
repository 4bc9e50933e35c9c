/**
 * Pearson and Spearman correlation ×100, as T5 reports them for STS-B
 * (t5/evaluation/metrics.py pearson_corrcoef / spearman_corrcoef, which call scipy.stats).
 * Spearman ranks ties by their average rank, as scipy.stats.spearmanr does.
 */
import { Ext5Error } from '../../util/errors';

function pearson(x: readonly number[], y: readonly number[]): number {
  const n = x.length;
  let mx = 0;
  let my = 0;
  for (let i = 0; i < n; i++) {
    mx += x[i]!;
    my += y[i]!;
  }
  mx /= n;
  my /= n;
  let sxy = 0;
  let sxx = 0;
  let syy = 0;
  for (let i = 0; i < n; i++) {
    const dx = x[i]! - mx;
    const dy = y[i]! - my;
    sxy += dx * dy;
    sxx += dx * dx;
    syy += dy * dy;
  }
  // scipy returns NaN for a constant input; so do we (the caller sees it is undefined).
  return sxy / Math.sqrt(sxx * syy);
}

/** Average ranks (1-based), ties sharing the mean of their positions. */
export function averageRanks(xs: readonly number[]): number[] {
  const order = xs.map((v, i) => [v, i] as const).sort((a, b) => a[0] - b[0]);
  const ranks = new Array<number>(xs.length);
  for (let i = 0; i < order.length; ) {
    let j = i;
    while (j + 1 < order.length && order[j + 1]![0] === order[i]![0]) j++;
    const r = (i + j) / 2 + 1;
    for (let k = i; k <= j; k++) ranks[order[k]![1]] = r;
    i = j + 1;
  }
  return ranks;
}

function check(targets: readonly number[], predictions: readonly number[], name: string): void {
  if (targets.length !== predictions.length || targets.length < 2) {
    throw new Ext5Error(
      'E_METRIC_INPUT',
      `${name}: needs two equally long lists of at least 2 numbers (got ${targets.length} and ${predictions.length})`,
    );
  }
}

/** 100 × Pearson's r. */
export function pearsonCorrcoef(targets: readonly number[], predictions: readonly number[]): number {
  check(targets, predictions, 'pearson_corrcoef');
  return 100 * pearson(targets, predictions);
}

/** 100 × Spearman's ρ (Pearson's r of average ranks). */
export function spearmanCorrcoef(targets: readonly number[], predictions: readonly number[]): number {
  check(targets, predictions, 'spearman_corrcoef');
  return 100 * pearson(averageRanks(targets), averageRanks(predictions));
}
