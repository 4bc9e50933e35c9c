import {
  compareArms,
  formatInterval,
  incompleteBeta,
  logGamma,
  meanInterval,
  studentTCdf,
  tQuantile,
} from '../../../lib/experiments/stats';

describe('t quantiles', () => {
  // Two-sided 95% critical values from the standard tables (R: qt(0.975, df)).
  test.each([
    [1, 12.706204736],
    [2, 4.30265273],
    [3, 3.182446305],
    [4, 2.776445105],
    [5, 2.570581836],
    [9, 2.262157163],
    [10, 2.228138852],
    [30, 2.042272456],
    [100, 1.983971519],
  ])('t(0.975, %d) = %f', (df, expected) => {
    expect(tQuantile(0.975, df)).toBeCloseTo(expected, 6);
  });

  test('one-sided and lower quantiles', () => {
    expect(tQuantile(0.95, 1)).toBeCloseTo(6.313751515, 6); // qt(0.95, 1)
    expect(tQuantile(0.025, 4)).toBeCloseTo(-2.776445105, 6);
    expect(tQuantile(0.5, 7)).toBe(0);
  });

  test('fractional degrees of freedom lie between their neighbours', () => {
    const t = tQuantile(0.975, 4.5);
    expect(t).toBeLessThan(tQuantile(0.975, 4));
    expect(t).toBeGreaterThan(tQuantile(0.975, 5));
  });

  test('CDF at known points', () => {
    expect(studentTCdf(0, 3)).toBeCloseTo(0.5, 12);
    // With 1 df, t is Cauchy: P(T <= 1) = 3/4.
    expect(studentTCdf(1, 1)).toBeCloseTo(0.75, 10);
    expect(studentTCdf(-1, 1)).toBeCloseTo(0.25, 10);
    // With 2 df, P(T <= t) = 1/2 + t / (2 sqrt(2 + t^2)).
    expect(studentTCdf(2, 2)).toBeCloseTo(0.5 + 2 / (2 * Math.sqrt(6)), 10);
  });

  test('helpers: ln Γ and the incomplete beta', () => {
    expect(logGamma(5)).toBeCloseTo(Math.log(24), 12);
    expect(logGamma(0.5)).toBeCloseTo(0.5 * Math.log(Math.PI), 12);
    expect(incompleteBeta(0.3, 1, 1)).toBeCloseTo(0.3, 12); // uniform
    expect(incompleteBeta(0.5, 2, 2)).toBeCloseTo(0.5, 12); // symmetric
  });

  test('bad input is a coded error', () => {
    expect(() => tQuantile(1, 3)).toThrow(expect.objectContaining({ code: 'E_STATS' }));
    expect(() => tQuantile(0.9, 0)).toThrow(expect.objectContaining({ code: 'E_STATS' }));
  });
});

describe('meanInterval', () => {
  test('worked example: 1..5', () => {
    const iv = meanInterval([1, 2, 3, 4, 5]);
    expect(iv.mean).toBe(3);
    expect(iv.sd).toBeCloseTo(Math.sqrt(2.5), 12);
    // half = 2.776445 * 1.581139 / sqrt(5) = 1.963243
    expect(iv.half).toBeCloseTo(1.963243, 5);
    expect(iv.lo).toBeCloseTo(1.036757, 5);
    expect(iv.hi).toBeCloseTo(4.963243, 5);
  });

  test('two values: the interval is wide (t = 12.71)', () => {
    const iv = meanInterval([10, 12]);
    // sd = sqrt(2), half = 12.7062 * sqrt(2) / sqrt(2) = 12.7062
    expect(iv.half).toBeCloseTo(12.706205, 5);
  });

  test('one value has no interval', () => {
    const iv = meanInterval([7]);
    expect(iv.mean).toBe(7);
    expect(Number.isNaN(iv.lo)).toBe(true);
    expect(formatInterval(iv)).toBe('7.0 (n=1)');
  });

  test('formats as mean ± half', () => {
    expect(formatInterval(meanInterval([1, 2, 3, 4, 5]))).toBe('3.0 ± 2.0 (n=5)');
  });

  test('rejects no values and NaN', () => {
    expect(() => meanInterval([])).toThrow(expect.objectContaining({ code: 'E_STATS' }));
    expect(() => meanInterval([1, Number.NaN])).toThrow(expect.objectContaining({ code: 'E_STATS' }));
  });
});

describe('compareArms', () => {
  test('worked example: a clear difference is significant', () => {
    const c = compareArms([30, 32, 31], [35, 36, 37], { a: 'T5', b: 'ExT5' });
    // Equal variances and sizes: Welch df = 4, se = sqrt(2/3), half = 2.776445 * 0.816497 = 2.266958
    expect(c.df).toBeCloseTo(4, 10);
    expect(c.diff).toBe(5);
    expect(c.diffLo).toBeCloseTo(2.733042, 5);
    expect(c.diffHi).toBeCloseTo(7.266958, 5);
    expect(c.significant).toBe(true);
    expect(c.overlap).toBe(false);
    expect(c.verdict).toBe('ExT5 higher by 5 (95% CI 2.73 to 7.27): significant');
  });

  test('overlapping noisy arms: no significant difference', () => {
    const c = compareArms([30, 40, 35], [33, 45, 36], { a: 'T5', b: 'ExT5' });
    expect(c.significant).toBe(false);
    expect(c.overlap).toBe(true);
    expect(c.verdict).toMatch(/^no significant difference \(ExT5 − T5 = 3/);
  });

  test('Welch df with unequal variances (worked example)', () => {
    // a: mean 2, var 1, n 3 -> va = 1/3; b: mean 10, var 16, n 3 -> vb = 16/3
    const c = compareArms([1, 2, 3], [6, 10, 14]);
    const va = 1 / 3;
    const vb = 16 / 3;
    expect(c.df).toBeCloseTo((va + vb) ** 2 / (va ** 2 / 2 + vb ** 2 / 2), 10);
    expect(c.df).toBeCloseTo(2.2490272, 6);
  });

  test('the lower arm can be the winner', () => {
    const c = compareArms([50, 51, 52], [40, 41, 42], { a: 'T5', b: 'ExT5' });
    expect(c.significant).toBe(true);
    expect(c.verdict).toMatch(/^T5 higher by 10/);
  });

  test('one seed: no conclusion', () => {
    const c = compareArms([30], [35], { a: 'T5', b: 'ExT5' });
    expect(c.significant).toBe(false);
    expect(c.verdict).toMatch(/no conclusion/);
  });

  test('identical constant arms: no difference', () => {
    const c = compareArms([3, 3], [3, 3]);
    expect(c.significant).toBe(false);
  });
});
