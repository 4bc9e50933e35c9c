import { Rng } from '../../../lib/util/rng';

describe('Rng (xoshiro128**)', () => {
  it('matches the reference xoshiro128** outputs for state [1, 2, 3, 4]', () => {
    // First outputs of prng.di.unimi.it/xoshiro128starstar.c from s = {1, 2, 3, 4}.
    const r = Rng.fromState({ algorithm: 'xoshiro128**', s: [1, 2, 3, 4] });
    expect([r.nextU32(), r.nextU32(), r.nextU32(), r.nextU32(), r.nextU32(), r.nextU32()]).toEqual([
      11520, 0, 5927040, 70819200, 2031721883, 1637235492,
    ]);
  });

  it('is deterministic per seed and differs across seeds', () => {
    const a = new Rng(7);
    const b = new Rng(7);
    const c = new Rng(8);
    const xs = Array.from({ length: 5 }, () => a.nextU32());
    expect(Array.from({ length: 5 }, () => b.nextU32())).toEqual(xs);
    expect(Array.from({ length: 5 }, () => c.nextU32())).not.toEqual(xs);
    expect(new Rng('exmix').nextU32()).toBe(new Rng('exmix').nextU32());
  });

  it('saves and restores its state through JSON', () => {
    const r = new Rng(3);
    r.nextU32();
    const saved = JSON.parse(JSON.stringify(r.getState()));
    const next = [r.nextU32(), r.nextFloat(), r.nextInt(10)];
    const q = new Rng(99);
    q.setState(saved);
    expect([q.nextU32(), q.nextFloat(), q.nextInt(10)]).toEqual(next);
  });

  it('gives floats in [0, 1) with mean near 1/2, and unbiased ints', () => {
    const r = new Rng(1);
    let sum = 0;
    const counts = [0, 0, 0];
    let outside = 0;
    for (let i = 0; i < 30000; i++) {
      const f = r.nextFloat();
      if (f < 0 || f >= 1) outside++;
      sum += f;
      counts[r.nextInt(3)]! += 1;
    }
    expect(outside).toBe(0);
    expect(Math.abs(sum / 30000 - 0.5)).toBeLessThan(0.01);
    for (const c of counts) expect(Math.abs(c / 30000 - 1 / 3)).toBeLessThan(0.015);
  });

  it('rejects bad seeds, bad states and bad bounds', () => {
    expect(() => new Rng(1.5)).toThrow(/integer/);
    expect(() => new Rng(0).setState({ algorithm: 'xoshiro128**', s: [0, 0, 0, 0] })).toThrow(/xoshiro128/);
    expect(() => new Rng(0).setState({ bad: 1 } as never)).toThrow(/not an xoshiro128/);
    expect(() => new Rng(0).nextInt(0)).toThrow(/nextInt/);
  });

  it('shuffles deterministically, keeping the elements', () => {
    const a = new Rng(5).shuffle([1, 2, 3, 4, 5, 6]);
    expect(new Rng(5).shuffle([1, 2, 3, 4, 5, 6])).toEqual(a);
    expect([...a].sort()).toEqual([1, 2, 3, 4, 5, 6]);
  });
});
