import { CONFIG_KEYS } from '../../../lib/run/config_keys';
import {
  noiseCounts,
  randomSpansHelper,
  randomSpansNoiseMask,
  roundHalfEven,
  SPAN_CORRUPTION_DEFAULTS,
  type SpanCorruptedExample,
  SpanCorruption,
  spanCorrupt,
} from '../../../lib/text/span_corruption';
import { Rng } from '../../../lib/util/rng';

const FIRST_SENTINEL = 32099;
const EOS = 1;
const isSentinel = (t: number) => t > 31999;

/** Rebuilds the original segment by filling each input sentinel with its target span. */
function merge(ex: SpanCorruptedExample): number[] {
  const spans = new Map<number, number[]>();
  let cur: number[] | undefined;
  const tg = Array.from(ex.targets);
  expect(tg.at(-1)).toBe(EOS);
  for (const t of tg.slice(0, -1)) {
    if (isSentinel(t)) {
      cur = [];
      spans.set(t, cur);
    } else cur!.push(t);
  }
  const out: number[] = [];
  const inp = Array.from(ex.inputs);
  expect(inp.at(-1)).toBe(EOS);
  for (const t of inp.slice(0, -1)) {
    if (isSentinel(t)) out.push(...(spans.get(t) ?? []));
    else out.push(t);
  }
  return out;
}

/** Sentinels in order of appearance. */
const sentinels = (a: Int32Array) => Array.from(a).filter(isSentinel);

/** Regular tokens 3..31999 (no PAD/EOS/UNK, no sentinel). */
function randomDoc(rng: Rng, n: number): Int32Array {
  const d = new Int32Array(n);
  for (let i = 0; i < n; i++) d[i] = 3 + rng.nextInt(31997);
  return d;
}

describe('length helper (random_spans_helper)', () => {
  test.each([
    [512, 568, 114],
    [1024, 1137, 229],
    [2048, 2274, 456],
    // computed with T5's Python helper logic (float64, round half to even)
    [256, 284, 58],
    [128, 141, 29],
    [64, 70, 14],
  ])('inputs %i -> %i raw tokens, %i targets', (inputs, raw, targets) => {
    expect(randomSpansHelper(inputs)).toEqual({ tokensLength: raw, targetsLength: targets });
  });

  test('noise density 0.5 trims the targets to the inputs length', () => {
    const { tokensLength, targetsLength } = randomSpansHelper(100, 0.5, 3);
    expect(targetsLength).toBeLessThanOrEqual(100);
    expect(tokensLength).toBeGreaterThan(100);
  });

  test('round half to even, as Python and TF', () => {
    expect([0.5, 1.5, 2.5, 3.5, -0.5, 2.4999, 2.5001].map(roundHalfEven)).toEqual([0, 2, 2, 4, -0, 2, 3]);
  });
});

describe('noise counts and mask (random_spans_noise_mask)', () => {
  test('568 tokens: 85 noise tokens in 28 spans', () => {
    expect(noiseCounts(568)).toEqual({
      length: 568,
      numNoiseTokens: 85,
      numNonNoiseTokens: 483,
      numNoiseSpans: 28,
    });
  });

  test('degenerate lengths: at least one noise and one kept token, at least one span', () => {
    expect(noiseCounts(1)).toMatchObject({ length: 2, numNoiseTokens: 1, numNoiseSpans: 1 });
    expect(noiseCounts(3)).toMatchObject({ numNoiseTokens: 1, numNonNoiseTokens: 2, numNoiseSpans: 1 });
    // float32 product: 10 * 0.15 is 1.5000000596 in float32, which rounds to 2
    expect(noiseCounts(10).numNoiseTokens).toBe(2);
    expect(noiseCounts(30).numNoiseTokens).toBe(4); // 4.5 -> 4 (half to even)
  });

  test('for many lengths and seeds the mask has exactly the counted noise tokens and spans, non-noise first', () => {
    const rng = new Rng(7);
    for (let length = 2; length < 700; length += 7) {
      for (let rep = 0; rep < 5; rep++) {
        const c = noiseCounts(length);
        const mask = randomSpansNoiseMask(length, rng);
        let noise = 0;
        let spans = 0;
        for (let i = 0; i < length; i++) {
          noise += mask[i]!;
          if (mask[i] && (i === 0 || !mask[i - 1])) spans++;
        }
        expect(noise).toBe(c.numNoiseTokens);
        expect(spans).toBe(c.numNoiseSpans);
        expect(mask[0]).toBe(0);
        expect(mask[length - 1]).toBe(1);
      }
    }
  });

  test('density 0 marks no noise and draws nothing, as T5 (test_random_spans_noise_mask_no_corruption)', () => {
    // google-research/text-to-text-transfer-transformer t5/data/preprocessors_test.py: length 32,
    // density 0.0, mean span length 2.0 -> 32 zeros.
    const rng = new Rng(5);
    const before = rng.getState();
    expect(Array.from(randomSpansNoiseMask(32, rng, 0.0, 2.0))).toEqual(new Array<number>(32).fill(0));
    expect(rng.getState()).toEqual(before);
  });

  test('densities outside [0, 1) are refused with a coded error', () => {
    const rng = new Rng(5);
    for (const d of [-0.1, 1, 1.5, Number.NaN]) {
      expect(() => randomSpansNoiseMask(32, rng, d)).toThrow(expect.objectContaining({ code: 'E_ARG' }));
    }
    expect(() => randomSpansNoiseMask(32, rng, 0.25, 0)).toThrow(expect.objectContaining({ code: 'E_ARG' }));
  });

  test('span lengths are uniform over compositions (chi-square on a small case)', () => {
    // 12 tokens, density 0.5, mean 2: 6 noise tokens in 3 spans -> C(5,2) = 10 compositions.
    const rng = new Rng(3);
    const counts = new Map<string, number>();
    const N = 20000;
    for (let i = 0; i < N; i++) {
      const mask = randomSpansNoiseMask(12, rng, 0.5, 2);
      const lens: number[] = [];
      let run = 0;
      for (let j = 0; j <= 12; j++) {
        if (j < 12 && mask[j]) run++;
        else if (run > 0) {
          lens.push(run);
          run = 0;
        }
      }
      const key = lens.join(',');
      counts.set(key, (counts.get(key) ?? 0) + 1);
    }
    expect(counts.size).toBe(10);
    const expected = N / 10;
    let chi2 = 0;
    for (const v of counts.values()) chi2 += (v - expected) ** 2 / expected;
    expect(chi2).toBeLessThan(27.9); // p = 0.001 at 9 degrees of freedom
  });
});

describe('spanCorrupt on one segment', () => {
  test('inputs/targets lengths, sentinel order, EOS, round trip, for many seeds and lengths', () => {
    const docRng = new Rng(11);
    for (let seed = 0; seed < 40; seed++) {
      const rng = new Rng(seed);
      for (const length of [2, 3, 5, 17, 100, 283, 568, 1137]) {
        const seg = randomDoc(docRng, length);
        const ex = spanCorrupt(seg, rng);
        const c = noiseCounts(length);
        expect(ex.inputs.length).toBe(c.numNonNoiseTokens + c.numNoiseSpans + 1);
        expect(ex.targets.length).toBe(c.numNoiseTokens + c.numNoiseSpans + 1);
        const s = Array.from({ length: c.numNoiseSpans }, (_, i) => FIRST_SENTINEL - i);
        expect(sentinels(ex.inputs)).toEqual(s);
        expect(sentinels(ex.targets)).toEqual(s);
        expect(ex.targets[0]).toBe(FIRST_SENTINEL);
        // every sequence ends in a noise span: the last input before EOS is a sentinel
        expect(isSentinel(ex.inputs[ex.inputs.length - 2]!)).toBe(true);
        expect(merge(ex)).toEqual(Array.from(seg));
      }
    }
  });

  test('a one-token segment keeps its token; the targets are just the sentinel (T5 crop)', () => {
    const ex = spanCorrupt(Int32Array.of(42), new Rng(0));
    expect(Array.from(ex.inputs)).toEqual([42, EOS]);
    expect(Array.from(ex.targets)).toEqual([FIRST_SENTINEL, EOS]);
  });

  test('512 inputs: a 568-token segment gives exactly 512 inputs and 114 targets', () => {
    const ex = spanCorrupt(randomDoc(new Rng(1), 568), new Rng(2));
    expect(ex.inputs.length).toBe(512);
    expect(ex.targets.length).toBe(114);
  });

  test('bad options are rejected', () => {
    expect(() => spanCorrupt(Int32Array.of(5, 6), new Rng(0), { noiseDensity: 1.5 })).toThrow(
      /noise density/,
    );
    expect(() => spanCorrupt(new Int32Array(0), new Rng(0))).toThrow(/at least one token/);
    expect(() => new SpanCorruption({ inputsLength: 512, targetsLength: 100 })).toThrow(
      /more than the configured 100/,
    );
  });
});

describe('SpanCorruption stream', () => {
  function docs(seed: number, n: number): Int32Array[] {
    const rng = new Rng(seed);
    return Array.from({ length: n }, () => randomDoc(rng, 1 + rng.nextInt(900)));
  }

  function run(sc: SpanCorruption, ds: Int32Array[]): SpanCorruptedExample[] {
    const out: SpanCorruptedExample[] = [];
    for (const d of ds) {
      sc.addDocument(d);
      out.push(...sc.drain());
    }
    sc.flush();
    out.push(...sc.drain());
    return out;
  }

  test('concatenates 128 documents and splits them into 568-token segments; nothing lost', () => {
    const ds = docs(1, 300);
    const sc = new SpanCorruption({ seed: 5 });
    expect([sc.tokensLength, sc.inputsLength, sc.targetsLength]).toEqual([568, 512, 114]);
    const exs = run(sc, ds);
    const all = exs.flatMap(merge);
    expect(all).toEqual(ds.flatMap((d) => Array.from(d)));
    // full segments are exactly 512/114; one short segment per 128-document batch (3 batches)
    const short = exs.filter((e) => e.inputs.length !== 512);
    expect(short.length).toBeLessThanOrEqual(3);
    expect(exs.filter((e) => e.inputs.length === 512).every((e) => e.targets.length === 114)).toBe(true);
  });

  test('no examples until a batch of 128 documents is complete', () => {
    const sc = new SpanCorruption({ seed: 1 });
    const ds = docs(2, 128);
    for (let i = 0; i < 127; i++) sc.addDocument(ds[i]!);
    expect(sc.next()).toBeUndefined();
    sc.addDocument(ds[127]!);
    expect(sc.next()).toBeDefined();
  });

  test('a long document contributes one aligned chunk of at most maxChunkLength tokens', () => {
    const sc = new SpanCorruption({ seed: 3, maxChunkLength: 1000, documentsPerBatch: 1, inputsLength: 64 });
    const doc = Int32Array.from({ length: 3500 }, (_, i) => 3 + i);
    sc.addDocument(doc);
    const tokens = [...sc.drain()].flatMap(merge);
    expect([1000, 500]).toContain(tokens.length);
    expect((tokens[0]! - 3) % 1000).toBe(0);
    expect(tokens).toEqual(Array.from(doc.subarray(tokens[0]! - 3, tokens[0]! - 3 + tokens.length)));
  });

  test('PAD tokens are dropped and empty documents ignored, as reduce_concat_tokens does', () => {
    const sc = new SpanCorruption({ seed: 3, documentsPerBatch: 2, inputsLength: 32 });
    sc.addDocument([]);
    sc.addDocument([5, 0, 6]);
    sc.addDocument([7, 0]);
    expect([...sc.drain()].flatMap(merge)).toEqual([5, 6, 7]);
  });

  test('the same seed gives the same output; another seed a different one', () => {
    const ds = docs(9, 200);
    const a = run(new SpanCorruption({ seed: 'c4' }), ds);
    const b = run(new SpanCorruption({ seed: 'c4' }), ds);
    const c = run(new SpanCorruption({ seed: 'other' }), ds);
    expect(b).toEqual(a);
    expect(c).not.toEqual(a);
  });

  test('a restored state continues identically (JSON round trip mid-batch and mid-split)', () => {
    const ds = docs(4, 400);
    const full = run(new SpanCorruption({ seed: 8 }), ds);
    for (const cut of [1, 100, 128, 129, 250]) {
      const sc = new SpanCorruption({ seed: 8 });
      const head: SpanCorruptedExample[] = [];
      for (const d of ds.slice(0, cut)) {
        sc.addDocument(d);
        head.push(...sc.drain());
      }
      // leave some segments unconsumed in the ready queue
      const extra = sc.next();
      if (extra) head.push(extra);
      const saved = JSON.parse(JSON.stringify(sc.getState()));
      const resumed = new SpanCorruption({ seed: 12345 });
      resumed.setState(saved);
      const tail: SpanCorruptedExample[] = [...resumed.drain()];
      for (const d of ds.slice(cut)) {
        resumed.addDocument(d);
        tail.push(...resumed.drain());
      }
      resumed.flush();
      tail.push(...resumed.drain());
      expect([...head, ...tail]).toEqual(full);
    }
  });

  test('a state from other settings or a damaged state is refused', () => {
    const st = new SpanCorruption({ seed: 1 }).getState();
    expect(() => new SpanCorruption({ inputsLength: 256 }).setState(st)).toThrow(/other settings/);
    expect(() => new SpanCorruption().setState({ ...st, batch: 'abc' })).toThrow(/whole number of int32/);
    expect(() => new SpanCorruption().setState({ ...st, version: 2 } as never)).toThrow(
      /not a span corruption state/,
    );
  });
});

test("T5's defaults are declared once: SpanCorruption and the run config read them", () => {
  expect(SPAN_CORRUPTION_DEFAULTS).toEqual({ noiseDensity: 0.15, meanNoiseSpanLength: 3 });
  const { settings } = new SpanCorruption({}).getState();
  expect(settings.noiseDensity).toBe(SPAN_CORRUPTION_DEFAULTS.noiseDensity);
  expect(settings.meanNoiseSpanLength).toBe(SPAN_CORRUPTION_DEFAULTS.meanNoiseSpanLength);
  const key = (p: string) => CONFIG_KEYS.find((k) => k.path === p)?.default;
  expect(key('data.noiseDensity')).toBe(SPAN_CORRUPTION_DEFAULTS.noiseDensity);
  expect(key('data.meanNoiseSpanLength')).toBe(SPAN_CORRUPTION_DEFAULTS.meanNoiseSpanLength);
  // The default counts match the explicit ones at every length.
  for (const n of [2, 10, 568, 1000]) {
    expect(noiseCounts(n)).toEqual(noiseCounts(n, 0.15, 3));
  }
  expect(randomSpansHelper(512)).toEqual({ tokensLength: 568, targetsLength: 114 });
});
