/**
 * Packing and the encoder-decoder feature converter, as typed arrays for the native model.
 *
 * Ported from the logic of google/seqio `seqio/utils.py` (`trim_and_pack_dataset`,
 * `_pack_with_tf_ops`, `make_autoregressive_inputs`) and `seqio/feature_converters.py`
 * (`EncDecFeatureConverter`):
 * - examples are trimmed to the feature lengths; when packing, each is then cut to as many tokens
 *   as it has non-padding (≠ 0) tokens, as `_pack_with_tf_ops` does, so zero padding that arrives
 *   with an example is not packed as tokens;
 * - packing is greedy over windows of `max(lengths)` examples (SeqIO's padded batch): an example
 *   goes into the current row when both its inputs and targets still fit, else the row is
 *   closed and a new one starts; the row is also closed at the end of each window;
 * - positions restart at 0 per example; segment ids count position-0 entries (1, 2, …) and are
 *   0 where the token is 0 (padding);
 * - decoder inputs are the targets shifted right with BOS = 0 wherever the segment id differs
 *   from the previous position's (every segment start); loss weights are targets ≠ 0.
 * Unpacked mode pads one example per row and, like SeqIO, shifts without segment ids (so the
 * position after the last target holds that target, e.g. EOS).
 *
 * @example SeqIO's documented example
 * const p = new EncDecPacker({ inputsLength: 10, targetsLength: 7, batchSize: 1 });
 * p.push({ inputs: [7, 8, 5, 1], targets: [3, 9, 1] });
 * p.push({ inputs: [8, 4, 9, 3, 1], targets: [4, 1] });
 * p.flush();
 * const b = p.pull()!;
 * // b.encoder_input_tokens  = [7, 8, 5, 1, 8, 4, 9, 3, 1, 0]
 * // b.encoder_segment_ids   = [1, 1, 1, 1, 2, 2, 2, 2, 2, 0]
 * // b.encoder_positions     = [0, 1, 2, 3, 0, 1, 2, 3, 4, 0]
 * // b.decoder_target_tokens = [3, 9, 1, 4, 1, 0, 0]
 * // b.decoder_input_tokens  = [0, 3, 9, 0, 4, 0, 0]
 * // b.decoder_loss_weights  = [1, 1, 1, 1, 1, 0, 0]
 * // b.decoder_segment_ids   = [1, 1, 1, 2, 2, 0, 0]
 * // b.decoder_positions     = [0, 1, 2, 0, 1, 0, 0]
 */
import { Ext5Error } from '../util/errors';
import { base64ToInt32, int32ToBase64 } from './int32_base64';

/** A tokenized text-to-text example (EOS already appended by the task). */
export interface Seq2SeqExample {
  inputs: ArrayLike<number>;
  targets: ArrayLike<number>;
}

/** The model features of one batch: each `[batchSize, length]` row-major int32 (SeqIO names). */
export interface EncDecBatch {
  batchSize: number;
  inputsLength: number;
  targetsLength: number;
  packed: boolean;
  /** Examples that went into this batch. */
  examples: number;
  encoder_input_tokens: Int32Array;
  encoder_segment_ids: Int32Array;
  encoder_positions: Int32Array;
  decoder_target_tokens: Int32Array;
  decoder_input_tokens: Int32Array;
  decoder_segment_ids: Int32Array;
  decoder_positions: Int32Array;
  decoder_loss_weights: Int32Array;
}

/** The eight feature names of {@link EncDecBatch}, in a fixed order. */
export const ENC_DEC_FEATURES = [
  'encoder_input_tokens',
  'encoder_segment_ids',
  'encoder_positions',
  'decoder_target_tokens',
  'decoder_input_tokens',
  'decoder_segment_ids',
  'decoder_positions',
  'decoder_loss_weights',
] as const;
type FeatureName = (typeof ENC_DEC_FEATURES)[number];

/** Options of {@link EncDecPacker}. */
export interface EncDecPackerOptions {
  inputsLength: number;
  targetsLength: number;
  /** Rows per batch. */
  batchSize: number;
  /** Pack several examples per row (default true); false pads one example per row. */
  pack?: boolean;
  /** Examples per packing window (default max(inputsLength, targetsLength), as SeqIO). */
  windowSize?: number;
  /** Decoder start id (default 0). */
  bosId?: number;
  /** What to do with an example longer than the lengths: trim it (default, as SeqIO tasks do) or throw. */
  overflow?: 'trim' | 'error';
}

/** The JSON state of an {@link EncDecPacker}. */
export interface EncDecPackerState {
  version: 1;
  settings: {
    inputsLength: number;
    targetsLength: number;
    batchSize: number;
    pack: boolean;
    windowSize: number;
    bosId: number;
  };
  row: number;
  inUsed: number;
  tgUsed: number;
  inSeg: number;
  tgSeg: number;
  rowExamples: number;
  windowCount: number;
  batchExamples: number;
  current: Record<FeatureName, string>;
  done: { examples: number; rows: number; features: Record<FeatureName, string> }[];
}

/**
 * Streaming packer + EncDec feature converter: push examples, pull full batches of typed arrays.
 * `flush()` at the end of data closes the last row and emits a final, smaller batch.
 */
export class EncDecPacker {
  readonly inputsLength: number;
  readonly targetsLength: number;
  readonly batchSize: number;
  readonly pack: boolean;
  readonly windowSize: number;
  private readonly bos: number;
  private readonly overflow: 'trim' | 'error';
  private cur!: Record<FeatureName, Int32Array>;
  private row = 0; // current row in `cur`
  private inUsed = 0; // tokens used in the current row
  private tgUsed = 0;
  private inSeg = 0; // segment counters of the current row
  private tgSeg = 0;
  private rowExamples = 0;
  private windowCount = 0;
  private batchExamples = 0;
  private out: EncDecBatch[] = [];

  constructor(opts: EncDecPackerOptions) {
    for (const k of ['inputsLength', 'targetsLength', 'batchSize'] as const) {
      const v = opts[k];
      if (!Number.isInteger(v) || v < 1)
        throw new Ext5Error('E_ARG', `${k} must be a positive integer, got ${v}`);
    }
    this.inputsLength = opts.inputsLength;
    this.targetsLength = opts.targetsLength;
    this.batchSize = opts.batchSize;
    this.pack = opts.pack ?? true;
    this.windowSize = opts.windowSize ?? Math.max(opts.inputsLength, opts.targetsLength);
    if (!Number.isInteger(this.windowSize) || this.windowSize < 1) {
      throw new Ext5Error('E_ARG', `windowSize must be a positive integer, got ${opts.windowSize}`);
    }
    this.bos = opts.bosId ?? 0;
    this.overflow = opts.overflow ?? 'trim';
    this.cur = this.newArrays(this.batchSize);
  }

  /** Adds one example; full batches become available through `pull()`. */
  push(ex: Seq2SeqExample): void {
    // Packing drops padding (SeqIO keeps as many tokens as are non-zero after trimming to the
    // feature length), so a padded example is judged and placed by its real length.
    const realIn = this.pack ? countNonPadding(ex.inputs, ex.inputs.length) : ex.inputs.length;
    const realTg = this.pack ? countNonPadding(ex.targets, ex.targets.length) : ex.targets.length;
    if (this.overflow === 'error' && (realIn > this.inputsLength || realTg > this.targetsLength)) {
      throw new Ext5Error(
        'E_EXAMPLE_TOO_LONG',
        `example has ${realIn} input and ${realTg} target tokens; the limits are ${this.inputsLength} and ${this.targetsLength}`,
        'raise the sequence lengths or trim examples (overflow: "trim")',
      );
    }
    const nIn = this.pack
      ? countNonPadding(ex.inputs, this.inputsLength)
      : Math.min(realIn, this.inputsLength);
    const nTg = this.pack
      ? countNonPadding(ex.targets, this.targetsLength)
      : Math.min(realTg, this.targetsLength);
    if (!this.pack) {
      this.writeExample(ex, nIn, nTg);
      this.closeRow();
      return;
    }
    if (
      this.rowExamples > 0 &&
      (this.inUsed + nIn > this.inputsLength || this.tgUsed + nTg > this.targetsLength)
    ) {
      this.closeRow();
    }
    this.writeExample(ex, nIn, nTg);
    if (++this.windowCount >= this.windowSize) {
      this.closeRow();
      this.windowCount = 0;
    }
  }

  /** The next full batch, or undefined. */
  pull(): EncDecBatch | undefined {
    return this.out.shift();
  }

  /** Pushes every example of `examples` and yields each batch as soon as it is full. */
  *packAll(examples: Iterable<Seq2SeqExample>, flush = true): Generator<EncDecBatch> {
    for (const ex of examples) {
      this.push(ex);
      for (let b = this.pull(); b; b = this.pull()) yield b;
    }
    if (flush) {
      this.flush();
      for (let b = this.pull(); b; b = this.pull()) yield b;
    }
  }

  /** End of data: closes the open row and the open batch (which may then hold fewer rows). */
  flush(): void {
    if (this.rowExamples > 0) this.closeRow();
    this.windowCount = 0;
    if (this.row > 0) this.emit(this.row);
  }

  /** Batches ready to pull. */
  get available(): number {
    return this.out.length;
  }

  /** A JSON snapshot of the open row, open batch and unpulled batches. */
  getState(): EncDecPackerState {
    const enc = (f: Record<FeatureName, Int32Array>) =>
      Object.fromEntries(ENC_DEC_FEATURES.map((k) => [k, int32ToBase64(f[k])])) as Record<
        FeatureName,
        string
      >;
    return {
      version: 1,
      settings: this.settings(),
      row: this.row,
      inUsed: this.inUsed,
      tgUsed: this.tgUsed,
      inSeg: this.inSeg,
      tgSeg: this.tgSeg,
      rowExamples: this.rowExamples,
      windowCount: this.windowCount,
      batchExamples: this.batchExamples,
      current: enc(this.cur),
      done: this.out.map((b) => ({ examples: b.examples, rows: b.batchSize, features: enc(b) })),
    };
  }

  /** Restores a snapshot from {@link getState}; refuses one taken with other settings. */
  setState(s: EncDecPackerState): void {
    if (s === null || typeof s !== 'object' || s.version !== 1) {
      throw new Ext5Error('E_BAD_STATE', 'not a packer state (version 1)');
    }
    if (JSON.stringify(s.settings) !== JSON.stringify(this.settings())) {
      throw new Ext5Error(
        'E_BAD_STATE',
        `packer state was saved with other settings: ${JSON.stringify(s.settings)}`,
        'resume with the same lengths, batch size and packing mode',
      );
    }
    const dec = (f: Record<FeatureName, string>, rows: number, what: string) => {
      const out = {} as Record<FeatureName, Int32Array>;
      for (const k of ENC_DEC_FEATURES) {
        const a = base64ToInt32(f?.[k], `${what}.${k}`);
        const want = rows * (k.startsWith('encoder') ? this.inputsLength : this.targetsLength);
        if (a.length !== want)
          throw new Ext5Error('E_BAD_STATE', `${what}.${k} has ${a.length} values, expected ${want}`);
        out[k] = a;
      }
      return out;
    };
    const ints = [s.row, s.inUsed, s.tgUsed, s.inSeg, s.tgSeg, s.rowExamples, s.windowCount, s.batchExamples];
    if (
      !ints.every((v) => Number.isInteger(v) && v >= 0) ||
      s.row >= this.batchSize ||
      s.inUsed > this.inputsLength ||
      s.tgUsed > this.targetsLength ||
      !Array.isArray(s.done)
    ) {
      throw new Ext5Error('E_BAD_STATE', 'packer state has counters out of range');
    }
    const cur = dec(s.current, this.batchSize, 'packer.current');
    const done = s.done.map((d, i) => ({
      ...dec(d.features, d.rows, `packer.done[${i}]`),
      examples: d.examples,
      rows: d.rows,
    }));
    this.cur = cur;
    Object.assign(this, {
      row: s.row,
      inUsed: s.inUsed,
      tgUsed: s.tgUsed,
      inSeg: s.inSeg,
      tgSeg: s.tgSeg,
      rowExamples: s.rowExamples,
      windowCount: s.windowCount,
      batchExamples: s.batchExamples,
    });
    this.out = done.map((d) => this.makeBatch(d, d.rows, d.examples));
  }

  private settings(): EncDecPackerState['settings'] {
    return {
      inputsLength: this.inputsLength,
      targetsLength: this.targetsLength,
      batchSize: this.batchSize,
      pack: this.pack,
      windowSize: this.windowSize,
      bosId: this.bos,
    };
  }

  private newArrays(rows: number): Record<FeatureName, Int32Array> {
    const out = {} as Record<FeatureName, Int32Array>;
    for (const k of ENC_DEC_FEATURES) {
      out[k] = new Int32Array(rows * (k.startsWith('encoder') ? this.inputsLength : this.targetsLength));
    }
    return out;
  }

  /** Appends the (trimmed) example to the current row: tokens, positions and segment ids. */
  private writeExample(ex: Seq2SeqExample, nIn: number, nTg: number): void {
    const c = this.cur;
    let o = this.row * this.inputsLength + this.inUsed;
    if (nIn > 0) this.inSeg++;
    for (let i = 0; i < nIn; i++, o++) {
      const t = ex.inputs[i]!;
      c.encoder_input_tokens[o] = t;
      c.encoder_positions[o] = i;
      c.encoder_segment_ids[o] = t !== 0 ? this.inSeg : 0;
    }
    o = this.row * this.targetsLength + this.tgUsed;
    if (nTg > 0) this.tgSeg++;
    for (let i = 0; i < nTg; i++, o++) {
      const t = ex.targets[i]!;
      c.decoder_target_tokens[o] = t;
      c.decoder_positions[o] = i;
      c.decoder_segment_ids[o] = t !== 0 ? this.tgSeg : 0;
      c.decoder_loss_weights[o] = t !== 0 ? 1 : 0;
    }
    this.inUsed += nIn;
    this.tgUsed += nTg;
    this.rowExamples++;
    this.batchExamples++;
  }

  /** Finishes the current row (decoder inputs) and moves to the next, emitting a full batch. */
  private closeRow(): void {
    const c = this.cur;
    const L = this.targetsLength;
    const base = this.row * L;
    const tg = c.decoder_target_tokens;
    const din = c.decoder_input_tokens;
    if (this.pack) {
      const seg = c.decoder_segment_ids;
      din[base] = this.bos;
      for (let i = 1; i < L; i++) {
        din[base + i] = seg[base + i] === seg[base + i - 1] ? tg[base + i - 1]! : this.bos;
      }
    } else {
      din[base] = this.bos;
      for (let i = 1; i < L; i++) din[base + i] = tg[base + i - 1]!;
    }
    this.row++;
    this.inUsed = 0;
    this.tgUsed = 0;
    this.inSeg = 0;
    this.tgSeg = 0;
    this.rowExamples = 0;
    if (this.row === this.batchSize) this.emit(this.batchSize);
  }

  private emit(rows: number): void {
    const c = this.cur;
    const feats = {} as Record<FeatureName, Int32Array>;
    for (const k of ENC_DEC_FEATURES) {
      const len = rows * (k.startsWith('encoder') ? this.inputsLength : this.targetsLength);
      feats[k] = rows === this.batchSize ? c[k] : c[k].slice(0, len);
    }
    this.out.push(this.makeBatch(feats, rows, this.batchExamples));
    this.cur = this.newArrays(this.batchSize);
    this.row = 0;
    this.batchExamples = 0;
  }

  private makeBatch(f: Record<FeatureName, Int32Array>, rows: number, examples: number): EncDecBatch {
    return {
      batchSize: rows,
      inputsLength: this.inputsLength,
      targetsLength: this.targetsLength,
      packed: this.pack,
      examples,
      encoder_input_tokens: f.encoder_input_tokens,
      encoder_segment_ids: f.encoder_segment_ids,
      encoder_positions: f.encoder_positions,
      decoder_target_tokens: f.decoder_target_tokens,
      decoder_input_tokens: f.decoder_input_tokens,
      decoder_segment_ids: f.decoder_segment_ids,
      decoder_positions: f.decoder_positions,
      decoder_loss_weights: f.decoder_loss_weights,
    };
  }
}

/**
 * Non-padding (≠ 0) tokens among the first `limit` of `seq`: the length SeqIO's
 * `_pack_with_tf_ops` keeps of each (already trimmed) example.
 */
function countNonPadding(seq: ArrayLike<number>, limit: number): number {
  const n = Math.min(seq.length, limit);
  let c = 0;
  for (let i = 0; i < n; i++) if (seq[i] !== 0) c++;
  return c;
}
