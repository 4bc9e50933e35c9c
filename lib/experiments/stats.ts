/**
 * The statistics every experiment table and chart uses, in one place: the mean over seeds with a
 * Student-t 95% interval, and a comparison of two arms (Welch's t-interval of the difference) that
 * says plainly when the data do not separate them.
 *
 * The t quantile is computed, not looked up: the Student t CDF through the regularized incomplete
 * beta function (continued fraction, Numerical Recipes 3rd ed. §6.4), inverted by bisection. It
 * matches the printed tables (e.g. t(0.975, 1) = 12.706, t(0.975, 4) = 2.776) to 1e-6.
 */
import { Ext5Error } from '../util/errors';

/** ln Γ(x), Lanczos approximation (g = 7, 9 terms), accurate to ~1e-15 for x > 0. */
export function logGamma(x: number): number {
  const c = [
    0.99999999999980993, 676.5203681218851, -1259.1392167224028, 771.32342877765313, -176.61502916214059,
    12.507343278686905, -0.13857109526572012, 9.9843695780195716e-6, 1.5056327351493116e-7,
  ];
  if (x < 0.5) return Math.log(Math.PI / Math.abs(Math.sin(Math.PI * x))) - logGamma(1 - x);
  const z = x - 1;
  let a = c[0]!;
  const t = z + 7.5;
  for (let i = 1; i < 9; i++) a += c[i]! / (z + i);
  return 0.5 * Math.log(2 * Math.PI) + (z + 0.5) * Math.log(t) - t + Math.log(a);
}

/** Continued fraction of the incomplete beta function (modified Lentz). */
function betaContinuedFraction(a: number, b: number, x: number): number {
  const tiny = 1e-300;
  let c = 1;
  let d = 1 - ((a + b) * x) / (a + 1);
  if (Math.abs(d) < tiny) d = tiny;
  d = 1 / d;
  let h = d;
  for (let m = 1; m <= 300; m++) {
    const m2 = 2 * m;
    let aa = (m * (b - m) * x) / ((a + m2 - 1) * (a + m2));
    d = 1 + aa * d;
    if (Math.abs(d) < tiny) d = tiny;
    c = 1 + aa / c;
    if (Math.abs(c) < tiny) c = tiny;
    d = 1 / d;
    h *= d * c;
    aa = (-(a + m) * (a + b + m) * x) / ((a + m2) * (a + m2 + 1));
    d = 1 + aa * d;
    if (Math.abs(d) < tiny) d = tiny;
    c = 1 + aa / c;
    if (Math.abs(c) < tiny) c = tiny;
    d = 1 / d;
    const del = d * c;
    h *= del;
    if (Math.abs(del - 1) < 1e-15) break;
  }
  return h;
}

/** The regularized incomplete beta function I_x(a, b). */
export function incompleteBeta(x: number, a: number, b: number): number {
  if (x <= 0) return 0;
  if (x >= 1) return 1;
  const lnFront = logGamma(a + b) - logGamma(a) - logGamma(b) + a * Math.log(x) + b * Math.log(1 - x);
  if (x < (a + 1) / (a + b + 2)) return (Math.exp(lnFront) * betaContinuedFraction(a, b, x)) / a;
  return 1 - (Math.exp(lnFront) * betaContinuedFraction(b, a, 1 - x)) / b;
}

/** P(T ≤ t) for Student's t with `df` degrees of freedom (df may be fractional, as Welch's is). */
export function studentTCdf(t: number, df: number): number {
  if (!(df > 0)) throw new Ext5Error('E_STATS', `degrees of freedom must be > 0, got ${df}`);
  const tail = 0.5 * incompleteBeta(df / (df + t * t), df / 2, 0.5);
  return t >= 0 ? 1 - tail : tail;
}

/**
 * The quantile t such that P(T ≤ t) = p.
 * @example
 * tQuantile(0.975, 4); // 2.7764451...
 */
export function tQuantile(p: number, df: number): number {
  if (!(p > 0 && p < 1)) throw new Ext5Error('E_STATS', `probability must be in (0, 1), got ${p}`);
  if (!(df > 0)) throw new Ext5Error('E_STATS', `degrees of freedom must be > 0, got ${df}`);
  if (p === 0.5) return 0;
  if (p < 0.5) return -tQuantile(1 - p, df);
  let lo = 0;
  let hi = 1;
  while (studentTCdf(hi, df) < p) hi *= 2;
  for (let i = 0; i < 200 && hi - lo > 1e-12 * Math.max(1, hi); i++) {
    const mid = (lo + hi) / 2;
    if (studentTCdf(mid, df) < p) lo = mid;
    else hi = mid;
  }
  return (lo + hi) / 2;
}

/** A mean over runs (seeds) with its confidence interval. */
export interface Interval {
  n: number;
  mean: number;
  /** Sample standard deviation (n − 1); 0 for one value. */
  sd: number;
  /** Bounds of the interval; NaN when n < 2 (one seed has no interval). */
  lo: number;
  hi: number;
  /** Half the width; NaN when n < 2. */
  half: number;
  level: number;
}

function finiteValues(values: readonly number[], what: string): number[] {
  const bad = values.find((v) => !Number.isFinite(v));
  if (bad !== undefined) throw new Ext5Error('E_STATS', `${what} holds a non-finite value (${bad})`);
  return [...values];
}

/**
 * The mean of `values` with a Student-t interval (default 95%): mean ± t(1 − α/2, n − 1) · sd / √n.
 * @example
 * meanInterval([1, 2, 3, 4, 5]); // { mean: 3, sd: 1.5811, lo: 1.0368, hi: 4.9632, ... }
 */
export function meanInterval(values: readonly number[], level = 0.95): Interval {
  const xs = finiteValues(values, 'meanInterval input');
  if (xs.length === 0) throw new Ext5Error('E_STATS', 'meanInterval of no values');
  if (!(level > 0 && level < 1)) throw new Ext5Error('E_STATS', `level must be in (0, 1), got ${level}`);
  const n = xs.length;
  const mean = xs.reduce((a, b) => a + b, 0) / n;
  if (n < 2) return { n, mean, sd: 0, lo: Number.NaN, hi: Number.NaN, half: Number.NaN, level };
  const sd = Math.sqrt(xs.reduce((a, x) => a + (x - mean) ** 2, 0) / (n - 1));
  const half = (tQuantile(1 - (1 - level) / 2, n - 1) * sd) / Math.sqrt(n);
  return { n, mean, sd, lo: mean - half, hi: mean + half, half, level };
}

/** Two arms compared. */
export interface Comparison {
  a: Interval;
  b: Interval;
  /** mean(b) − mean(a), with Welch's interval (NaN bounds when either arm has one value). */
  diff: number;
  diffLo: number;
  diffHi: number;
  /** Welch–Satterthwaite degrees of freedom. */
  df: number;
  /** Whether the two arms' own intervals overlap. */
  overlap: boolean;
  /** The difference's interval excludes 0. False when it cannot be computed. */
  significant: boolean;
  /** One line for people: which arm is higher, or that the data do not separate them. */
  verdict: string;
}

/**
 * Compares arm `b` against arm `a` (e.g. ExT5 against T5 over seeds) with Welch's unequal-variance
 * t-interval of the difference of means. The verdict names the higher arm only when that interval
 * excludes zero; otherwise it says "no significant difference".
 * @example
 * compareArms([30, 32, 31], [35, 36, 37], { a: 'T5', b: 'ExT5' }).verdict;
 * // 'ExT5 higher by 5 (95% CI 2.73 to 7.27): significant'
 */
export function compareArms(
  a: readonly number[],
  b: readonly number[],
  names: { a: string; b: string } = { a: 'A', b: 'B' },
  level = 0.95,
): Comparison {
  const ia = meanInterval(a, level);
  const ib = meanInterval(b, level);
  const diff = ib.mean - ia.mean;
  const overlap = !(ia.hi < ib.lo || ib.hi < ia.lo);
  if (ia.n < 2 || ib.n < 2) {
    return {
      a: ia,
      b: ib,
      diff,
      diffLo: Number.NaN,
      diffHi: Number.NaN,
      df: Number.NaN,
      overlap: true,
      significant: false,
      verdict: `${formatStat(diff)} difference from one seed: no interval, no conclusion (run more seeds)`,
    };
  }
  const va = ia.sd ** 2 / ia.n;
  const vb = ib.sd ** 2 / ib.n;
  const se = Math.sqrt(va + vb);
  let df: number;
  let half: number;
  if (se === 0) {
    df = ia.n + ib.n - 2;
    half = 0;
  } else {
    df = (va + vb) ** 2 / (va ** 2 / (ia.n - 1) + vb ** 2 / (ib.n - 1));
    half = tQuantile(1 - (1 - level) / 2, df) * se;
  }
  const diffLo = diff - half;
  const diffHi = diff + half;
  const significant = diff !== 0 && (diffLo > 0 || diffHi < 0);
  const pct = Math.round(level * 100);
  const ci = `${pct}% CI ${formatStat(diffLo)} to ${formatStat(diffHi)}`;
  const verdict = significant
    ? `${diff > 0 ? names.b : names.a} higher by ${formatStat(Math.abs(diff))} (${ci}): significant`
    : `no significant difference (${names.b} − ${names.a} = ${formatStat(diff)}, ${ci}${overlap ? '; the intervals overlap' : ''})`;
  return { a: ia, b: ib, diff, diffLo, diffHi, df, overlap, significant, verdict };
}

/** A number for tables: two significant decimals at most, no trailing zeros. */
export function formatStat(v: number): string {
  if (!Number.isFinite(v)) return '—';
  const r = Math.abs(v) >= 100 ? v.toFixed(1) : Math.abs(v) >= 1 ? v.toFixed(2) : v.toPrecision(2);
  return r.includes('.') && !r.includes('e') ? r.replace(/\.?0+$/, '') : r;
}

/** The range a value can take, e.g. [0, 100] for a percentage score, [0, Infinity] for a loss. */
export type ValueRange = readonly [number, number];

/**
 * The bounds of an interval as shown: cut to `range` (a score's interval never runs below 0 on the
 * page); `clipped` says whether a bound was cut. The Interval itself keeps the raw bounds.
 * @example
 * clipInterval(meanInterval([0, 58]), [0, 100]); // { lo: 0, hi: 100, clipped: true }
 */
export function clipInterval(iv: Interval, range?: ValueRange): { lo: number; hi: number; clipped: boolean } {
  if (!range || !Number.isFinite(iv.lo) || !Number.isFinite(iv.hi)) {
    return { lo: iv.lo, hi: iv.hi, clipped: false };
  }
  const lo = Math.max(range[0], iv.lo);
  const hi = Math.min(range[1], iv.hi);
  return { lo, hi, clipped: lo !== iv.lo || hi !== iv.hi };
}

/**
 * "31.0 ± 2.5 (n=3)", or "31.0 (n=1)" for a single value. With a `range` the interval is shown cut to
 * it, as bounds, when it runs outside: "29.0 [0, 92.5] (n=2)". `n: false` leaves out the count.
 */
export function formatInterval(
  iv: Interval,
  digits = 1,
  opts: { range?: ValueRange; n?: boolean } = {},
): string {
  const n = opts.n === false ? '' : ` (n=${iv.n})`;
  if (iv.n < 2 || !Number.isFinite(iv.half)) return `${iv.mean.toFixed(digits)}${n}`;
  const c = clipInterval(iv, opts.range);
  if (c.clipped) return `${iv.mean.toFixed(digits)} [${formatStat(c.lo)}, ${formatStat(c.hi)}]${n}`;
  return `${iv.mean.toFixed(digits)} ± ${iv.half.toFixed(digits)}${n}`;
}
