/**
 * A small, fast, seedable PRNG: xoshiro128** (Blackman & Vigna, https://prng.di.unimi.it/xoshiro128starstar.c),
 * seeded through splitmix32 so that nearby seeds give unrelated streams. 32-bit arithmetic only (Math.imul),
 * so it is exact in JavaScript and its state is four uint32 words that round-trip through JSON.
 * Every part of ext5 that needs randomness (mixture sampling, span corruption, shuffling) owns one Rng, so
 * saving `getState()` and restoring it with `setState()` resumes the exact stream.
 */
import { Ext5Error } from './errors';

/** The saved state of an {@link Rng}: plain JSON. */
export interface RngState {
  algorithm: 'xoshiro128**';
  s: [number, number, number, number];
}

function splitmix32(seed: number): () => number {
  let x = seed >>> 0;
  return () => {
    x = (x + 0x9e3779b9) >>> 0;
    let z = x;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
    return (z ^ (z >>> 16)) >>> 0;
  };
}

/** Hashes a string seed to 32 bits (FNV-1a), so that seeds such as 'mixture:exmix' are allowed. */
function hashSeed(seed: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < seed.length; i++) {
    h ^= seed.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h >>> 0;
}

/**
 * Seeded pseudo-random generator.
 * @example
 * const rng = new Rng(42);
 * rng.nextFloat();          // in [0, 1)
 * const saved = rng.getState();
 * const a = rng.nextU32();
 * rng.setState(saved);
 * rng.nextU32() === a;      // true
 */
export class Rng {
  private s0 = 0;
  private s1 = 0;
  private s2 = 0;
  private s3 = 0;

  constructor(seed: number | string = 0) {
    if (typeof seed === 'number' && (!Number.isFinite(seed) || !Number.isInteger(seed))) {
      throw new Ext5Error('BAD_SEED', `seed must be an integer or a string, got ${seed}`);
    }
    const sm = splitmix32(
      typeof seed === 'string' ? hashSeed(seed) : (seed >>> 0) ^ Math.floor(seed / 2 ** 32),
    );
    this.s0 = sm();
    this.s1 = sm();
    this.s2 = sm();
    this.s3 = sm();
    if ((this.s0 | this.s1 | this.s2 | this.s3) === 0) this.s0 = 1;
  }

  /** The next 32-bit unsigned integer. */
  nextU32(): number {
    const result = Math.imul(rotl(Math.imul(this.s1, 5), 7), 9) >>> 0;
    const t = this.s1 << 9;
    this.s2 ^= this.s0;
    this.s3 ^= this.s1;
    this.s1 ^= this.s2;
    this.s0 ^= this.s3;
    this.s2 ^= t;
    this.s3 = rotl(this.s3, 11);
    return result;
  }

  /** A float in [0, 1) with 53 random bits. */
  nextFloat(): number {
    const hi = this.nextU32() >>> 5; // 27 bits
    const lo = this.nextU32() >>> 6; // 26 bits
    return (hi * 67108864 + lo) / 9007199254740992;
  }

  /** An integer uniform in [0, n), without modulo bias (n ≤ 2^32). */
  nextInt(n: number): number {
    if (!Number.isInteger(n) || n <= 0 || n > 2 ** 32) {
      throw new Ext5Error('BAD_ARGUMENT', `nextInt(n) needs an integer 1 ≤ n ≤ 2^32, got ${n}`);
    }
    const limit = 2 ** 32 - (2 ** 32 % n);
    for (;;) {
      const x = this.nextU32();
      if (x < limit) return x % n;
    }
  }

  /** Shuffles `items` in place (Fisher–Yates) and returns it. */
  shuffle<T>(items: T[]): T[] {
    for (let i = items.length - 1; i > 0; i--) {
      const j = this.nextInt(i + 1);
      const tmp = items[i]!;
      items[i] = items[j]!;
      items[j] = tmp;
    }
    return items;
  }

  /** A JSON-serializable snapshot of the generator. */
  getState(): RngState {
    return { algorithm: 'xoshiro128**', s: [this.s0 >>> 0, this.s1 >>> 0, this.s2 >>> 0, this.s3 >>> 0] };
  }

  /** Restores a snapshot from {@link getState}; validates it first. */
  setState(state: RngState): void {
    const ok =
      state !== null &&
      typeof state === 'object' &&
      state.algorithm === 'xoshiro128**' &&
      Array.isArray(state.s) &&
      state.s.length === 4 &&
      state.s.every((w) => Number.isInteger(w) && w >= 0 && w < 2 ** 32) &&
      state.s.some((w) => w !== 0);
    if (!ok) {
      throw new Ext5Error(
        'BAD_RNG_STATE',
        `not an xoshiro128** state: ${JSON.stringify(state)}`,
        'pass the object that Rng.getState() returned (four uint32 words, not all zero)',
      );
    }
    [this.s0, this.s1, this.s2, this.s3] = state.s.map((w) => w >>> 0) as [number, number, number, number];
  }

  /** A new generator whose stream continues from this one's saved state. */
  static fromState(state: RngState): Rng {
    const r = new Rng(0);
    r.setState(state);
    return r;
  }
}

function rotl(x: number, k: number): number {
  return ((x << k) | (x >>> (32 - k))) >>> 0;
}
