/**
 * rouge_score's `scoring.BootstrapAggregator` (google-research/google-research `rouge/scoring.py`):
 * 95% confidence intervals of the mean by bootstrap resampling, with numpy's percentile ('linear').
 *
 * The resampling draws indices the way numpy's legacy global generator does for
 * `np.random.choice(np.arange(n), size=n)` after `np.random.seed(seed)`: MT19937 seeded with
 * `init_genrand`, bounded integers by masked rejection on 32-bit outputs. So with the same seed the
 * intervals are the ones rouge_score prints after `np.random.seed(seed)` (checked against numpy).
 */
import { Ext5Error } from '../../util/errors';
import type { RougeScore } from './rouge';

/** The 32-bit Mersenne Twister (MT19937) as numpy's `RandomState` seeds and runs it. */
export class MersenneTwister {
  private readonly mt = new Uint32Array(624);
  private index = 624;

  constructor(seed: number) {
    if (!Number.isInteger(seed) || seed < 0 || seed > 0xffffffff) {
      throw new Ext5Error('E_METRIC_OPTION', `seed must be an integer in [0, 2^32 - 1], got ${seed}`);
    }
    this.mt[0] = seed >>> 0;
    for (let i = 1; i < 624; i++) {
      const prev = this.mt[i - 1]! ^ (this.mt[i - 1]! >>> 30);
      // 1812433253 * prev in 32-bit arithmetic, split to stay exact in doubles.
      this.mt[i] = (Math.imul(1812433253, prev) + i) >>> 0;
    }
  }

  private twist(): void {
    const mt = this.mt;
    for (let i = 0; i < 624; i++) {
      const y = (mt[i]! & 0x80000000) | (mt[(i + 1) % 624]! & 0x7fffffff);
      let v = mt[(i + 397) % 624]! ^ (y >>> 1);
      if (y & 1) v ^= 0x9908b0df;
      mt[i] = v >>> 0;
    }
    this.index = 0;
  }

  /** The next 32-bit output (numpy `genrand_int32`). */
  nextUint32(): number {
    if (this.index >= 624) this.twist();
    let y = this.mt[this.index++]!;
    y ^= y >>> 11;
    y ^= (y << 7) & 0x9d2c5680;
    y ^= (y << 15) & 0xefc60000;
    y ^= y >>> 18;
    return y >>> 0;
  }

  /** A uniform integer in [0, n) by numpy's masked rejection (legacy `randint(0, n)`), n ≤ 2^32. */
  nextBelow(n: number): number {
    const rng = n - 1;
    if (rng <= 0) return 0;
    let mask = rng;
    mask |= mask >>> 1;
    mask |= mask >>> 2;
    mask |= mask >>> 4;
    mask |= mask >>> 8;
    mask |= mask >>> 16;
    mask >>>= 0;
    for (;;) {
      const v = (this.nextUint32() & mask) >>> 0;
      if (v <= rng) return v;
    }
  }
}

/** numpy's `_lerp` as used by `np.percentile(..., method='linear')`. */
function lerp(a: number, b: number, t: number): number {
  const d = b - a;
  return t >= 0.5 ? b - d * (1 - t) : a + d * t;
}

/** numpy `np.percentile(values, q)` with the default 'linear' method; `values` is sorted in place. */
export function percentile(values: number[] | Float64Array, q: number): number {
  const n = values.length;
  if (n === 0) throw new Ext5Error('E_METRIC_INPUT', 'percentile of an empty list');
  values.sort((a, b) => a - b);
  const virtual = (n - 1) * (q / 100);
  const lo = Math.max(0, Math.min(n - 1, Math.floor(virtual)));
  const hi = Math.min(n - 1, lo + 1);
  return lerp(values[lo]!, values[hi]!, virtual - lo);
}

/** low / mid / high bounds of one measure (rouge_score's `AggregateScore`). */
export interface AggregateScore {
  low: RougeScore;
  mid: RougeScore;
  high: RougeScore;
}

/**
 * Collects per-example scores and returns bootstrap confidence intervals: `mid` is the median of the
 * bootstrap means (close to, not equal to, the plain mean), `low`/`high` the (1-ci)/2 and (1+ci)/2
 * percentiles.
 * @example
 * const agg = new BootstrapAggregator({ seed: 123 });
 * agg.addScores(scorer.score('one two three', 'one two'));
 * agg.aggregate().rouge1.mid.fmeasure
 */
export class BootstrapAggregator {
  private readonly scores = new Map<string, RougeScore[]>();
  readonly confidenceInterval: number;
  readonly nSamples: number;
  readonly seed: number;

  constructor(options?: { confidenceInterval?: number; nSamples?: number; seed?: number }) {
    this.confidenceInterval = options?.confidenceInterval ?? 0.95;
    this.nSamples = options?.nSamples ?? 1000;
    this.seed = options?.seed ?? 0;
    if (!(this.confidenceInterval >= 0 && this.confidenceInterval <= 1)) {
      throw new Ext5Error('E_METRIC_OPTION', 'confidence_interval must be in range [0, 1]');
    }
    if (!(Number.isInteger(this.nSamples) && this.nSamples > 0)) {
      throw new Ext5Error('E_METRIC_OPTION', 'n_samples must be a positive integer');
    }
  }

  /** Adds one example's scores (a map from score type to precision/recall/F-measure). */
  addScores(scores: Record<string, RougeScore>): void {
    for (const [k, v] of Object.entries(scores)) {
      let list = this.scores.get(k);
      if (list === undefined) {
        list = [];
        this.scores.set(k, list);
      }
      list.push(v);
    }
  }

  /**
   * Intervals per score type. Each type is resampled with a fresh draw sequence continuing one seeded
   * generator, in insertion order of the types, as rouge_score does with numpy's global generator.
   */
  aggregate(): Record<string, AggregateScore> {
    const rng = new MersenneTwister(this.seed);
    const delta = (1 - this.confidenceInterval) / 2;
    const qs = [100 * delta, 100 * 0.5, 100 * (1 - delta)];
    const out: Record<string, AggregateScore> = {};
    for (const [type, list] of this.scores) {
      const n = list.length;
      const means = [
        new Float64Array(this.nSamples),
        new Float64Array(this.nSamples),
        new Float64Array(this.nSamples),
      ];
      for (let s = 0; s < this.nSamples; s++) {
        let p = 0;
        let r = 0;
        let f = 0;
        for (let i = 0; i < n; i++) {
          const x = list[rng.nextBelow(n)]!;
          p += x.precision;
          r += x.recall;
          f += x.fmeasure;
        }
        means[0]![s] = p / n;
        means[1]![s] = r / n;
        means[2]![s] = f / n;
      }
      const bounds = qs.map((q) => ({
        precision: percentile(means[0]!, q),
        recall: percentile(means[1]!, q),
        fmeasure: percentile(means[2]!, q),
      }));
      out[type] = { low: bounds[0]!, mid: bounds[1]!, high: bounds[2]! };
    }
    return out;
  }
}
