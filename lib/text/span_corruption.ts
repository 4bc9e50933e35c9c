/**
 * T5's span corruption, the self-supervised objective of C4 pre-training, on Int32Array tokens.
 *
 * Ported from the logic of google-research/text-to-text-transfer-transformer
 * `t5/data/preprocessors.py`: `span_corruption`, `random_spans_helper`, `random_spans_noise_mask`,
 * `noise_span_to_unique_sentinel` / `nonnoise_span_to_unique_sentinel`, `select_random_chunk`,
 * `reduce_concat_tokens` and `split_tokens`. The pipeline:
 *
 * 1. each tokenized document (no EOS) contributes one random aligned chunk of ≤ 65536 tokens;
 * 2. 128 chunks are concatenated (PAD = 0 tokens dropped, as the padded batch in
 *    `reduce_concat_tokens` does) and split into segments of `raw_length` tokens (the last one of
 *    each batch may be shorter);
 * 3. each segment gets a noise mask: `n_noise = round(len · density)` clipped to [1, len − 1],
 *    `n_spans = max(round(n_noise / mean), 1)` (float32 arithmetic, round half to even, as in
 *    TF); noise and non-noise tokens are each cut into `n_spans` positive-length pieces uniformly
 *    at random, interleaved starting with non-noise;
 * 4. inputs = kept tokens with each noise span replaced by one sentinel (vocab_size − 1,
 *    vocab_size − 2, …) + EOS; targets = sentinel, noise span, sentinel, … + EOS.
 *
 * The randomness is ext5's own seeded xoshiro128** stream (T5 uses TF stateless ops, whose bit
 * streams are not reproduced): the distributions are T5's, the draws are not bit-identical.
 * Like T5, more than 100 spans (inputs ≥ ~1800) make sentinel ids run into regular vocabulary ids.
 */
import { Ext5Error } from '../util/errors';
import { Rng, type RngState } from '../util/rng';
import { base64ToInt32, int32ToBase64 } from './int32_base64';

/**
 * T5's span-corruption settings, the defaults of `span_corruption` in t5/data/preprocessors.py:
 * 15% of the tokens masked, in spans of mean length 3. Every default of ext5 (these functions,
 * the training pipeline, the run configuration's data.noiseDensity and data.meanNoiseSpanLength)
 * reads this one declaration.
 */
export const SPAN_CORRUPTION_DEFAULTS: Readonly<{ noiseDensity: number; meanNoiseSpanLength: number }> =
  Object.freeze({
    noiseDensity: 0.15,
    meanNoiseSpanLength: 3,
  });
const { noiseDensity: DENSITY, meanNoiseSpanLength: MEAN_SPAN } = SPAN_CORRUPTION_DEFAULTS;

/** Round half to even, as Python's `round` and `tf.round` do. */
export function roundHalfEven(x: number): number {
  const r = Math.round(x);
  return Math.abs(x - Math.trunc(x)) === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

/**
 * `random_spans_helper`: the raw segment length that, after corruption (sentinels + EOS), fills
 * exactly `inputsLength`, and the resulting targets length.
 *
 * @example
 * randomSpansHelper(512); // { tokensLength: 568, targetsLength: 114 }
 */
export function randomSpansHelper(
  inputsLength: number,
  noiseDensity = DENSITY,
  meanNoiseSpanLength = MEAN_SPAN,
  extraTokensPerSpanInputs = 1,
  extraTokensPerSpanTargets = 1,
): { tokensLength: number; targetsLength: number } {
  checkPositiveInt('inputsLength', inputsLength);
  checkDensity(noiseDensity, meanNoiseSpanLength);
  // Python float64 arithmetic here (the helper runs in Python, not TF).
  const lengths = (t: number): [number, number] => {
    const noise = roundHalfEven(t * noiseDensity);
    const spans = roundHalfEven(noise / meanNoiseSpanLength);
    return [t - noise + spans * extraTokensPerSpanInputs + 1, noise + spans * extraTokensPerSpanTargets + 1];
  };
  let tokensLength = inputsLength - 1;
  while (lengths(tokensLength + 1)[0] <= inputsLength) tokensLength++;
  let targetsLength = lengths(tokensLength)[1];
  const inputsOut = lengths(tokensLength)[0];
  if (noiseDensity === 0.5 && targetsLength > inputsOut) {
    tokensLength--;
    targetsLength--;
  }
  return { tokensLength, targetsLength };
}

/** Noise token and span counts of one segment, exactly as `random_spans_noise_mask` computes them. */
export interface NoiseCounts {
  /** The (possibly raised to 2) length the mask is built for. */
  length: number;
  numNoiseTokens: number;
  numNonNoiseTokens: number;
  numNoiseSpans: number;
}

/**
 * The counts of `random_spans_noise_mask` for a segment of `length` tokens: TF float32 products
 * and quotients, round half to even, noise clipped to [1, length − 1], at least one span.
 */
export function noiseCounts(
  length: number,
  noiseDensity = DENSITY,
  meanNoiseSpanLength = MEAN_SPAN,
): NoiseCounts {
  const len = Math.max(length, 2);
  const f = Math.fround;
  let noise = roundHalfEven(f(f(len) * f(noiseDensity)));
  noise = Math.min(Math.max(noise, 1), len - 1);
  const spans = Math.max(roundHalfEven(f(f(noise) / f(meanNoiseSpanLength))), 1);
  return { length: len, numNoiseTokens: noise, numNonNoiseTokens: len - noise, numNoiseSpans: spans };
}

/**
 * Cuts `numItems` into `numSegments` positive lengths, every such split equally likely: picks
 * `numSegments − 1` distinct cut points among the `numItems − 1` gaps (Floyd's sampling), as
 * T5's shuffle of a 0/1 indicator does. Writes the lengths to `out[0..numSegments)`.
 * `mark` is scratch of at least `numItems` zero bytes and is left zeroed.
 */
export function randomSegmentation(
  numItems: number,
  numSegments: number,
  rng: Rng,
  out: Int32Array,
  mark: Uint8Array,
  cuts: Int32Array,
): void {
  const k = numSegments - 1;
  const m = numItems - 1; // gaps 1..m
  // Floyd: for j = m-k+1..m pick t in [1, j]; take t unless taken, else take j.
  for (let j = m - k + 1; j <= m; j++) {
    const t = 1 + rng.nextInt(j);
    const pick = mark[t] ? j : t;
    mark[pick] = 1;
  }
  // Collect cut points in order. Scanning the marks costs O(numItems), which the copy of the
  // tokens costs anyway; sorting k picks would cost O(k log k) but allocate.
  let c = 0;
  if (k > 0) {
    for (let g = 1; g <= m; g++) {
      if (mark[g]) {
        cuts[c++] = g;
        mark[g] = 0;
      }
    }
  }
  let prev = 0;
  for (let s = 0; s < k; s++) {
    out[s] = cuts[s]! - prev;
    prev = cuts[s]!;
  }
  out[k] = numItems - prev;
}

/** Scratch buffers for corrupting segments of up to `maxLength` tokens without allocating. */
class Scratch {
  readonly noiseLens: Int32Array;
  readonly keepLens: Int32Array;
  readonly cuts: Int32Array;
  readonly mark: Uint8Array;
  constructor(maxLength: number) {
    const n = Math.max(maxLength, 2) + 1;
    this.noiseLens = new Int32Array(n);
    this.keepLens = new Int32Array(n);
    this.cuts = new Int32Array(n);
    this.mark = new Uint8Array(n);
  }
}

/** Draws the span lengths of one segment: non-noise piece i precedes noise piece i. */
function drawSpans(c: NoiseCounts, rng: Rng, s: Scratch): void {
  randomSegmentation(c.numNoiseTokens, c.numNoiseSpans, rng, s.noiseLens, s.mark, s.cuts);
  randomSegmentation(c.numNonNoiseTokens, c.numNoiseSpans, rng, s.keepLens, s.mark, s.cuts);
}

/**
 * `random_spans_noise_mask` for one segment: 1 = noise. Non-noise first, so the (uncropped) mask
 * ends in noise. Density 0 gives an all-zero mask without drawing from `rng`, as T5's early return
 * does (t5/data/preprocessors.py, `test_random_spans_noise_mask_no_corruption`); any other density
 * must lie in (0, 1), where T5 then forces at least one noise and one kept token.
 */
export function randomSpansNoiseMask(
  length: number,
  rng: Rng,
  noiseDensity = DENSITY,
  meanNoiseSpanLength = MEAN_SPAN,
): Uint8Array {
  checkPositiveInt('length', length);
  if (noiseDensity === 0) return new Uint8Array(length);
  checkDensity(noiseDensity, meanNoiseSpanLength);
  const c = noiseCounts(length, noiseDensity, meanNoiseSpanLength);
  const s = new Scratch(c.length);
  drawSpans(c, rng, s);
  const mask = new Uint8Array(c.length);
  let p = 0;
  for (let i = 0; i < c.numNoiseSpans; i++) {
    p += s.keepLens[i]!;
    mask.fill(1, p, p + s.noiseLens[i]!);
    p += s.noiseLens[i]!;
  }
  return mask.subarray(0, length);
}

/** One corrupted example: `inputs` and `targets`, each ending in EOS. */
export interface SpanCorruptedExample {
  inputs: Int32Array;
  targets: Int32Array;
}

/**
 * Corrupts one segment: the noise mask, sentinels in inputs and targets, EOS on both.
 * `firstSentinel` is `<extra_id_0>` (vocab_size − 1, 32099 for T5).
 */
function corruptSegment(
  seg: Int32Array,
  rng: Rng,
  s: Scratch,
  counts: NoiseCounts,
  firstSentinel: number,
  eos: number,
): SpanCorruptedExample {
  const n = seg.length;
  if (n < 2) {
    // T5 builds the mask for length 2 and crops it to [keep]: the lone token stays in the inputs,
    // and the targets are only the sentinel that replaced that non-noise span.
    drawSpans(counts, rng, s);
    const inputs = new Int32Array(n + 1);
    inputs.set(seg);
    inputs[n] = eos;
    return { inputs, targets: Int32Array.of(firstSentinel, eos) };
  }
  drawSpans(counts, rng, s);
  const spans = counts.numNoiseSpans;
  const inputs = new Int32Array(counts.numNonNoiseTokens + spans + 1);
  const targets = new Int32Array(counts.numNoiseTokens + spans + 1);
  let p = 0;
  let ip = 0;
  let tp = 0;
  const keep = s.keepLens;
  const noise = s.noiseLens;
  for (let i = 0; i < spans; i++) {
    const k = keep[i]!;
    inputs.set(seg.subarray(p, p + k), ip);
    ip += k;
    p += k;
    const sentinel = firstSentinel - i;
    inputs[ip++] = sentinel;
    targets[tp++] = sentinel;
    const z = noise[i]!;
    targets.set(seg.subarray(p, p + z), tp);
    tp += z;
    p += z;
  }
  inputs[ip] = eos;
  targets[tp] = eos;
  return { inputs, targets };
}

/**
 * Corrupts one token segment (no EOS) with T5's random spans.
 *
 * @example
 * const rng = new Rng(0);
 * const { inputs, targets } = spanCorrupt(Int32Array.from({ length: 20 }, (_, i) => 100 + i), rng);
 * // inputs: kept tokens, 32099 where the first noise span was, …, then 1 (EOS)
 */
export function spanCorrupt(
  tokens: Int32Array,
  rng: Rng,
  opts: { noiseDensity?: number; meanNoiseSpanLength?: number; vocabSize?: number; eosId?: number } = {},
): SpanCorruptedExample {
  const density = opts.noiseDensity ?? DENSITY;
  const mean = opts.meanNoiseSpanLength ?? MEAN_SPAN;
  checkDensity(density, mean);
  if (tokens.length === 0) throw new Ext5Error('E_ARG', 'spanCorrupt needs at least one token');
  const counts = noiseCounts(tokens.length, density, mean);
  return corruptSegment(
    tokens,
    rng,
    new Scratch(counts.length),
    counts,
    (opts.vocabSize ?? 32100) - 1,
    opts.eosId ?? 1,
  );
}

/** Options of {@link SpanCorruption}. Defaults are T5's C4 pre-training settings. */
export interface SpanCorruptionOptions {
  /** Length of the corrupted inputs including sentinels and EOS (default 512 → 568 raw tokens). */
  inputsLength?: number;
  /** If given, must be at least the computed targets length (T5 raises otherwise). */
  targetsLength?: number;
  /** Fraction of tokens masked (default SPAN_CORRUPTION_DEFAULTS: 0.15). */
  noiseDensity?: number;
  /** Mean noise span length (default SPAN_CORRUPTION_DEFAULTS: 3). */
  meanNoiseSpanLength?: number;
  /** Vocabulary size including the sentinels: `<extra_id_0>` = vocabSize − 1 (default 32100). */
  vocabSize?: number;
  /** EOS id appended to inputs and targets (default 1). */
  eosId?: number;
  /** Longest chunk taken from one document (default 65536). */
  maxChunkLength?: number;
  /** Documents concatenated before splitting (default 128); 1 disables merging. */
  documentsPerBatch?: number;
  /** Tokens kept free in the inputs for packing (T5's `reserved_for_packing`). */
  reservedForPacking?: number;
  /** Seed of the RNG stream (default 0). */
  seed?: number | string;
}

/** The JSON state of a {@link SpanCorruption}: its RNG, its buffers and the settings they hold. */
export interface SpanCorruptionState {
  version: 1;
  settings: {
    tokensLength: number;
    noiseDensity: number;
    meanNoiseSpanLength: number;
    vocabSize: number;
    eosId: number;
    maxChunkLength: number;
    documentsPerBatch: number;
  };
  rng: RngState;
  docsInBatch: number;
  /** Concatenated chunks of the batch being collected (base64 int32). */
  batch: string;
  /** Sealed batches not yet fully split: tokens and how far they have been consumed. */
  ready: { tokens: string; offset: number }[];
}

/**
 * Streaming span corruption: push tokenized documents, pull corrupted examples. Seeded and
 * resumable: `getState()` is plain JSON and `setState()` continues the exact same stream.
 *
 * @example
 * const sc = new SpanCorruption({ inputsLength: 512, seed: 1 });
 * for (const doc of docs) {
 *   sc.addDocument(vocab.encode(doc.text));
 *   for (let ex = sc.next(); ex; ex = sc.next()) packer.push(ex);
 * }
 */
export class SpanCorruption {
  /** Raw tokens per segment (568 for inputs 512). */
  readonly tokensLength: number;
  /** Length of a full segment's targets, EOS included (114 for inputs 512). */
  readonly targetsLength: number;
  /** Length of a full segment's inputs, EOS included (≤ inputsLength). */
  readonly inputsLength: number;
  private readonly density: number;
  private readonly mean: number;
  private readonly vocabSize: number;
  private readonly eos: number;
  private readonly maxChunk: number;
  private readonly perBatch: number;
  private readonly fullCounts: NoiseCounts;
  private readonly scratch: Scratch;
  private rng: Rng;
  private batch: Int32Array;
  private batchLen = 0;
  private docsInBatch = 0;
  private ready: { tokens: Int32Array; offset: number }[] = [];

  constructor(opts: SpanCorruptionOptions = {}) {
    this.density = opts.noiseDensity ?? DENSITY;
    this.mean = opts.meanNoiseSpanLength ?? MEAN_SPAN;
    checkDensity(this.density, this.mean);
    const inputsLength = (opts.inputsLength ?? 512) - (opts.reservedForPacking ?? 0);
    checkPositiveInt('inputsLength', inputsLength);
    const { tokensLength, targetsLength } = randomSpansHelper(inputsLength, this.density, this.mean);
    if (opts.targetsLength !== undefined && opts.targetsLength < targetsLength) {
      throw new Ext5Error(
        'E_SPAN_LENGTHS',
        `span corruption with inputs ${inputsLength} makes targets of ${targetsLength} tokens, more than the configured ${opts.targetsLength}`,
        `set the targets length to at least ${targetsLength}`,
      );
    }
    this.tokensLength = tokensLength;
    this.targetsLength = targetsLength;
    this.fullCounts = noiseCounts(tokensLength, this.density, this.mean);
    this.inputsLength = this.fullCounts.numNonNoiseTokens + this.fullCounts.numNoiseSpans + 1;
    this.vocabSize = opts.vocabSize ?? 32100;
    this.eos = opts.eosId ?? 1;
    this.maxChunk = opts.maxChunkLength ?? 65536;
    this.perBatch = opts.documentsPerBatch ?? 128;
    checkPositiveInt('vocabSize', this.vocabSize);
    checkPositiveInt('maxChunkLength', this.maxChunk);
    checkPositiveInt('documentsPerBatch', this.perBatch);
    this.scratch = new Scratch(tokensLength);
    this.rng = new Rng(opts.seed ?? 0);
    this.batch = new Int32Array(Math.min(1 << 16, this.maxChunk * this.perBatch));
  }

  /**
   * Adds one tokenized document (without EOS). Empty documents are ignored, as T5 filters them.
   * A document longer than the chunk limit contributes one random aligned chunk.
   */
  addDocument(tokens: Int32Array | ArrayLike<number>): void {
    const n = tokens.length;
    if (n === 0) return;
    let start = 0;
    let end = n;
    if (n > this.maxChunk) {
      const chunks = Math.ceil(n / this.maxChunk);
      start = this.maxChunk * this.rng.nextInt(chunks);
      end = Math.min(start + this.maxChunk, n);
    }
    this.reserve(this.batchLen + (end - start));
    const buf = this.batch;
    let w = this.batchLen;
    for (let i = start; i < end; i++) {
      const t = tokens[i]!;
      if (t !== 0) buf[w++] = t; // reduce_concat_tokens drops PAD (0) with the padding
    }
    this.batchLen = w;
    if (++this.docsInBatch >= this.perBatch) this.seal();
  }

  /** The next corrupted example, or undefined until more documents arrive (or `flush()`). */
  next(): SpanCorruptedExample | undefined {
    while (this.ready.length > 0) {
      const head = this.ready[0]!;
      const remaining = head.tokens.length - head.offset;
      if (remaining <= 0) {
        this.ready.shift();
        continue;
      }
      const len = Math.min(this.tokensLength, remaining);
      const seg = head.tokens.subarray(head.offset, head.offset + len);
      head.offset += len;
      const counts = len === this.tokensLength ? this.fullCounts : noiseCounts(len, this.density, this.mean);
      return corruptSegment(seg, this.rng, this.scratch, counts, this.vocabSize - 1, this.eos);
    }
    return undefined;
  }

  /** Ends the current document batch early (end of data), so its segments become available. */
  flush(): void {
    if (this.docsInBatch > 0) this.seal();
  }

  /** Yields every example available now. */
  *drain(): Generator<SpanCorruptedExample> {
    for (let ex = this.next(); ex; ex = this.next()) yield ex;
  }

  /** Raw tokens buffered and not yet turned into examples. */
  pendingTokens(): number {
    let n = this.batchLen;
    for (const r of this.ready) n += r.tokens.length - r.offset;
    return n;
  }

  /** A JSON snapshot (RNG and buffers) that {@link setState} restores exactly. */
  getState(): SpanCorruptionState {
    return {
      version: 1,
      settings: this.settings(),
      rng: this.rng.getState(),
      docsInBatch: this.docsInBatch,
      batch: int32ToBase64(this.batch.subarray(0, this.batchLen)),
      ready: this.ready.map((r) => ({ tokens: int32ToBase64(r.tokens), offset: r.offset })),
    };
  }

  /** Restores a snapshot; refuses one taken with other settings. */
  setState(state: SpanCorruptionState): void {
    if (state === null || typeof state !== 'object' || state.version !== 1) {
      throw new Ext5Error('E_BAD_STATE', 'not a span corruption state (version 1)');
    }
    const mine = JSON.stringify(this.settings());
    const theirs = JSON.stringify(state.settings);
    if (mine !== theirs) {
      throw new Ext5Error(
        'E_BAD_STATE',
        `span corruption state was saved with other settings: ${theirs} (now ${mine})`,
        'resume with the same span corruption options',
      );
    }
    const rng = Rng.fromState(state.rng);
    const batch = base64ToInt32(state.batch, 'span corruption batch');
    const ready = (Array.isArray(state.ready) ? state.ready : []).map((r, i) => {
      const tokens = base64ToInt32(r.tokens, `span corruption ready[${i}]`);
      if (!Number.isInteger(r.offset) || r.offset < 0 || r.offset > tokens.length) {
        throw new Ext5Error('E_BAD_STATE', `span corruption ready[${i}].offset is out of range`);
      }
      return { tokens, offset: r.offset };
    });
    if (!Number.isInteger(state.docsInBatch) || state.docsInBatch < 0 || state.docsInBatch >= this.perBatch) {
      throw new Ext5Error('E_BAD_STATE', 'span corruption docsInBatch is out of range');
    }
    this.rng = rng;
    this.batchLen = 0;
    this.reserve(batch.length);
    this.batch.set(batch);
    this.batchLen = batch.length;
    this.docsInBatch = state.docsInBatch;
    this.ready = ready;
  }

  private settings(): SpanCorruptionState['settings'] {
    return {
      tokensLength: this.tokensLength,
      noiseDensity: this.density,
      meanNoiseSpanLength: this.mean,
      vocabSize: this.vocabSize,
      eosId: this.eos,
      maxChunkLength: this.maxChunk,
      documentsPerBatch: this.perBatch,
    };
  }

  private seal(): void {
    if (this.batchLen > 0) this.ready.push({ tokens: this.batch.slice(0, this.batchLen), offset: 0 });
    this.batchLen = 0;
    this.docsInBatch = 0;
  }

  private reserve(n: number): void {
    if (n <= this.batch.length) return;
    let cap = this.batch.length * 2;
    while (cap < n) cap *= 2;
    const grown = new Int32Array(cap);
    grown.set(this.batch.subarray(0, this.batchLen));
    this.batch = grown;
  }
}

function checkPositiveInt(name: string, v: number): void {
  if (!Number.isInteger(v) || v < 1)
    throw new Ext5Error('E_ARG', `${name} must be a positive integer, got ${v}`);
}

function checkDensity(density: number, mean: number): void {
  if (!(density > 0 && density < 1)) {
    throw new Ext5Error('E_ARG', `noise density must be in (0, 1), got ${density}`);
  }
  if (!(mean >= 1)) throw new Ext5Error('E_ARG', `mean noise span length must be ≥ 1, got ${mean}`);
}
