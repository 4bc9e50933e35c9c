import {
  type ENC_DEC_FEATURES,
  type EncDecBatch,
  EncDecPacker,
  type Seq2SeqExample,
} from '../../../lib/text/packing';
import { Rng } from '../../../lib/util/rng';

function rows(b: EncDecBatch, feature: (typeof ENC_DEC_FEATURES)[number]): number[][] {
  const len = feature.startsWith('encoder') ? b.inputsLength : b.targetsLength;
  const a = Array.from(b[feature]);
  return Array.from({ length: b.batchSize }, (_, r) => a.slice(r * len, (r + 1) * len));
}

function packAll(opts: ConstructorParameters<typeof EncDecPacker>[0], exs: Seq2SeqExample[]): EncDecBatch[] {
  return [...new EncDecPacker(opts).packAll(exs)];
}

describe('EncDec feature converter, SeqIO examples', () => {
  test('packed: SeqIO EncDecFeatureConverter docstring / test_encoder_decoder_packed', () => {
    const [b, ...rest] = packAll({ inputsLength: 10, targetsLength: 7, batchSize: 1 }, [
      { inputs: [7, 8, 5, 1], targets: [3, 9, 1] },
      { inputs: [8, 4, 9, 3, 1], targets: [4, 1] },
    ]);
    expect(rest).toEqual([]);
    expect(b!.examples).toBe(2);
    expect(rows(b!, 'encoder_input_tokens')).toEqual([[7, 8, 5, 1, 8, 4, 9, 3, 1, 0]]);
    expect(rows(b!, 'encoder_segment_ids')).toEqual([[1, 1, 1, 1, 2, 2, 2, 2, 2, 0]]);
    expect(rows(b!, 'encoder_positions')).toEqual([[0, 1, 2, 3, 0, 1, 2, 3, 4, 0]]);
    expect(rows(b!, 'decoder_target_tokens')).toEqual([[3, 9, 1, 4, 1, 0, 0]]);
    expect(rows(b!, 'decoder_input_tokens')).toEqual([[0, 3, 9, 0, 4, 0, 0]]);
    expect(rows(b!, 'decoder_loss_weights')).toEqual([[1, 1, 1, 1, 1, 0, 0]]);
    expect(rows(b!, 'decoder_segment_ids')).toEqual([[1, 1, 1, 2, 2, 0, 0]]);
    expect(rows(b!, 'decoder_positions')).toEqual([[0, 1, 2, 0, 1, 0, 0]]);
  });

  test('packed with sequences too long to share a row: test_encoder_decoder_packed_long_sequences', () => {
    const [b] = packAll({ inputsLength: 7, targetsLength: 3, batchSize: 2 }, [
      { inputs: [7, 8, 5, 6, 9, 4, 1], targets: [3, 9, 1] },
      { inputs: [8, 4, 9, 3, 5, 1], targets: [4, 1] },
    ]);
    expect(rows(b!, 'encoder_input_tokens')).toEqual([
      [7, 8, 5, 6, 9, 4, 1],
      [8, 4, 9, 3, 5, 1, 0],
    ]);
    expect(rows(b!, 'encoder_segment_ids')).toEqual([
      [1, 1, 1, 1, 1, 1, 1],
      [1, 1, 1, 1, 1, 1, 0],
    ]);
    expect(rows(b!, 'encoder_positions')).toEqual([
      [0, 1, 2, 3, 4, 5, 6],
      [0, 1, 2, 3, 4, 5, 0],
    ]);
    expect(rows(b!, 'decoder_target_tokens')).toEqual([
      [3, 9, 1],
      [4, 1, 0],
    ]);
    expect(rows(b!, 'decoder_input_tokens')).toEqual([
      [0, 3, 9],
      [0, 4, 0],
    ]);
    expect(rows(b!, 'decoder_loss_weights')).toEqual([
      [1, 1, 1],
      [1, 1, 0],
    ]);
    expect(rows(b!, 'decoder_segment_ids')).toEqual([
      [1, 1, 1],
      [1, 1, 0],
    ]);
  });

  test('trim_and_pack_dataset_long_seq: an over-long example is trimmed (its EOS too)', () => {
    const [b] = packAll({ inputsLength: 7, targetsLength: 3, batchSize: 2 }, [
      { inputs: [7, 8, 5, 6, 9, 4, 1], targets: [3, 9, 1] },
      { inputs: [8, 4, 9, 3, 5, 7, 9, 1], targets: [4, 1] },
    ]);
    expect(rows(b!, 'encoder_input_tokens')[1]).toEqual([8, 4, 9, 3, 5, 7, 9]);
    expect(rows(b!, 'decoder_target_tokens')[1]).toEqual([4, 1, 0]);
    expect(() =>
      packAll({ inputsLength: 7, targetsLength: 3, batchSize: 2, overflow: 'error' }, [
        { inputs: [1, 2, 3, 4, 5, 6, 7, 8], targets: [1] },
      ]),
    ).toThrow(/8 input and 1 target tokens; the limits are 7 and 3/);
  });

  test('trim_and_pack_dataset docstring: padded examples are packed by their non-padding tokens', () => {
    // google/seqio seqio/utils.py, trim_and_pack_dataset: the zero padding each example arrives
    // with is dropped before packing.
    const [b, ...rest] = packAll({ inputsLength: 10, targetsLength: 10, batchSize: 1 }, [
      { inputs: [8, 7, 1, 0], targets: [4, 1, 0] },
      { inputs: [2, 3, 4, 1], targets: [5, 6, 1] },
    ]);
    expect(rest).toEqual([]);
    expect(rows(b!, 'encoder_input_tokens')).toEqual([[8, 7, 1, 2, 3, 4, 1, 0, 0, 0]]);
    expect(rows(b!, 'encoder_segment_ids')).toEqual([[1, 1, 1, 2, 2, 2, 2, 0, 0, 0]]);
    expect(rows(b!, 'encoder_positions')).toEqual([[0, 1, 2, 0, 1, 2, 3, 0, 0, 0]]);
    expect(rows(b!, 'decoder_target_tokens')).toEqual([[4, 1, 5, 6, 1, 0, 0, 0, 0, 0]]);
    expect(rows(b!, 'decoder_segment_ids')).toEqual([[1, 1, 2, 2, 2, 0, 0, 0, 0, 0]]);
    expect(rows(b!, 'decoder_positions')).toEqual([[0, 1, 0, 1, 2, 0, 0, 0, 0, 0]]);
    expect(rows(b!, 'decoder_input_tokens')).toEqual([[0, 4, 0, 5, 6, 0, 0, 0, 0, 0]]);
  });

  test('padding does not count against the lengths: a padded example that fits is neither trimmed nor refused', () => {
    const ex = { inputs: [5, 6, 1, 0, 0, 0, 0, 0], targets: [7, 1, 0, 0] };
    const opts = { inputsLength: 4, targetsLength: 2, batchSize: 2 };
    const [b] = packAll({ ...opts, overflow: 'error' }, [ex, ex]);
    expect(rows(b!, 'encoder_input_tokens')).toEqual([
      [5, 6, 1, 0],
      [5, 6, 1, 0],
    ]);
    expect(rows(b!, 'decoder_target_tokens')).toEqual([
      [7, 1],
      [7, 1],
    ]);
    // Unpacked rows are trimmed and padded as SeqIO's trim_and_pad_dataset does: zeros stay zeros.
    const [u] = packAll({ ...opts, pack: false }, [ex]);
    expect(rows(u!, 'encoder_input_tokens')).toEqual([[5, 6, 1, 0]]);
  });

  test('trim_and_pack_dataset_no_eos: packing works without EOS', () => {
    const [b] = packAll({ inputsLength: 8, targetsLength: 5, batchSize: 1 }, [
      { inputs: [7, 8, 5], targets: [3, 9] },
      { inputs: [8, 4, 9, 3], targets: [4] },
    ]);
    expect(rows(b!, 'encoder_input_tokens')).toEqual([[7, 8, 5, 8, 4, 9, 3, 0]]);
    expect(rows(b!, 'encoder_segment_ids')).toEqual([[1, 1, 1, 2, 2, 2, 2, 0]]);
    expect(rows(b!, 'decoder_target_tokens')).toEqual([[3, 9, 4, 0, 0]]);
    expect(rows(b!, 'decoder_positions')).toEqual([[0, 1, 0, 0, 0]]);
    expect(rows(b!, 'decoder_segment_ids')).toEqual([[1, 1, 2, 0, 0]]);
  });

  test('make_autoregressive_inputs docstring: packed decoder inputs', () => {
    // targets = [3, 8, 1, 9, 1, 5, 4, 1, 0, 0], sequence_id = [1, 1, 1, 2, 2, 3, 3, 3, 0, 0]
    const [b] = packAll({ inputsLength: 6, targetsLength: 10, batchSize: 1 }, [
      { inputs: [5, 1], targets: [3, 8, 1] },
      { inputs: [6, 1], targets: [9, 1] },
      { inputs: [7, 1], targets: [5, 4, 1] },
    ]);
    expect(rows(b!, 'decoder_segment_ids')).toEqual([[1, 1, 1, 2, 2, 3, 3, 3, 0, 0]]);
    expect(rows(b!, 'decoder_input_tokens')).toEqual([[0, 3, 8, 0, 9, 0, 5, 4, 0, 0]]);
  });

  test('unpacked: test_encoder_decoder_unpacked (the shifted EOS stays, as in SeqIO)', () => {
    const [b] = packAll({ inputsLength: 7, targetsLength: 5, batchSize: 1, pack: false }, [
      { inputs: [9, 4, 3, 8, 1], targets: [3, 9, 4, 1] },
    ]);
    expect(b!.packed).toBe(false);
    expect(rows(b!, 'encoder_input_tokens')).toEqual([[9, 4, 3, 8, 1, 0, 0]]);
    expect(rows(b!, 'decoder_target_tokens')).toEqual([[3, 9, 4, 1, 0]]);
    expect(rows(b!, 'decoder_input_tokens')).toEqual([[0, 3, 9, 4, 1]]);
    expect(rows(b!, 'decoder_loss_weights')).toEqual([[1, 1, 1, 1, 0]]);
    // derived masks for the native model: one segment per row
    expect(rows(b!, 'encoder_segment_ids')).toEqual([[1, 1, 1, 1, 1, 0, 0]]);
    expect(rows(b!, 'decoder_positions')).toEqual([[0, 1, 2, 3, 0]]);
  });

  test('unpacked at the exact length: test_encoder_decoder_targets_max_length', () => {
    const [b] = packAll({ inputsLength: 5, targetsLength: 5, batchSize: 1, pack: false }, [
      { inputs: [9, 4, 3, 8, 1], targets: [3, 9, 4, 5, 1] },
    ]);
    expect(rows(b!, 'decoder_input_tokens')).toEqual([[0, 3, 9, 4, 5]]);
    expect(rows(b!, 'decoder_loss_weights')).toEqual([[1, 1, 1, 1, 1]]);
  });
});

describe('worked examples of our own', () => {
  test('greedy rows: the row closes when either inputs or targets would overflow', () => {
    // lengths 6/4. ex1 3/2, ex2 2/2 (fits: 5/4), ex3 1/1 (targets full -> new row), ex4 5/1 (inputs 1+5=6 fits)
    const [b] = packAll({ inputsLength: 6, targetsLength: 4, batchSize: 3 }, [
      { inputs: [11, 12, 1], targets: [21, 1] },
      { inputs: [13, 1], targets: [22, 1] },
      { inputs: [1], targets: [1] },
      { inputs: [14, 15, 16, 17, 1], targets: [1] },
    ]);
    expect(b!.batchSize).toBe(2);
    expect(rows(b!, 'encoder_input_tokens')).toEqual([
      [11, 12, 1, 13, 1, 0],
      [1, 14, 15, 16, 17, 1],
    ]);
    expect(rows(b!, 'encoder_segment_ids')).toEqual([
      [1, 1, 1, 2, 2, 0],
      [1, 2, 2, 2, 2, 2],
    ]);
    expect(rows(b!, 'decoder_target_tokens')).toEqual([
      [21, 1, 22, 1],
      [1, 1, 0, 0],
    ]);
    expect(rows(b!, 'decoder_input_tokens')).toEqual([
      [0, 21, 0, 22],
      [0, 0, 0, 0],
    ]);
    expect(rows(b!, 'decoder_segment_ids')).toEqual([
      [1, 1, 2, 2],
      [1, 2, 0, 0],
    ]);
  });

  test('the packing window closes a row after max(lengths) examples, as SeqIO does', () => {
    // Window of 3: every row closes after 3 examples although a 4th would still fit.
    const exs = Array.from({ length: 10 }, (_, i) => ({ inputs: [100 + i], targets: [200 + i] }));
    const batches = packAll({ inputsLength: 8, targetsLength: 4, batchSize: 8, windowSize: 3 }, exs);
    const t = rows(batches[0]!, 'decoder_target_tokens');
    expect(t).toEqual([
      [200, 201, 202, 0],
      [203, 204, 205, 0],
      [206, 207, 208, 0],
      [209, 0, 0, 0],
    ]);
  });

  test('full batches stream out as soon as they fill; flush emits the rest', () => {
    const p = new EncDecPacker({ inputsLength: 4, targetsLength: 2, batchSize: 2, pack: false });
    p.push({ inputs: [5, 1], targets: [1] });
    expect(p.pull()).toBeUndefined();
    p.push({ inputs: [6, 1], targets: [1] });
    const b = p.pull()!;
    expect(b.batchSize).toBe(2);
    expect(b.encoder_input_tokens.length).toBe(8);
    p.push({ inputs: [7, 1], targets: [1] });
    p.flush();
    const last = p.pull()!;
    expect(last.batchSize).toBe(1);
    expect(Array.from(last.encoder_input_tokens)).toEqual([7, 1, 0, 0]);
    expect(p.pull()).toBeUndefined();
  });

  test('nothing is dropped or duplicated across rows and batches (random examples)', () => {
    const rng = new Rng(21);
    const exs: Seq2SeqExample[] = [];
    let id = 3;
    for (let i = 0; i < 500; i++) {
      const ni = 1 + rng.nextInt(40);
      const nt = 1 + rng.nextInt(12);
      exs.push({
        inputs: Array.from({ length: ni }, () => id++),
        targets: Array.from({ length: nt }, () => id++),
      });
    }
    for (const pack of [true, false]) {
      const batches = packAll({ inputsLength: 64, targetsLength: 16, batchSize: 7, pack }, exs);
      const seenIn: number[] = [];
      const seenTg: number[] = [];
      let count = 0;
      for (const b of batches) {
        count += b.examples;
        for (const r of rows(b, 'encoder_input_tokens')) seenIn.push(...r.filter((t) => t !== 0));
        for (const r of rows(b, 'decoder_target_tokens')) seenTg.push(...r.filter((t) => t !== 0));
        // segment k of the inputs pairs with segment k of the targets
        const es = rows(b, 'encoder_segment_ids');
        const ds = rows(b, 'decoder_segment_ids');
        for (let r = 0; r < b.batchSize; r++) expect(Math.max(...es[r]!)).toBe(Math.max(...ds[r]!));
      }
      expect(count).toBe(500);
      expect(seenIn).toEqual(exs.flatMap((e) => Array.from(e.inputs)));
      expect(seenTg).toEqual(exs.flatMap((e) => Array.from(e.targets)));
    }
  });

  test('a saved state continues exactly', () => {
    const rng = new Rng(5);
    const exs = Array.from({ length: 120 }, () => ({
      inputs: Array.from({ length: 1 + rng.nextInt(20) }, () => 3 + rng.nextInt(100)),
      targets: Array.from({ length: 1 + rng.nextInt(8) }, () => 3 + rng.nextInt(100)),
    }));
    const opts = { inputsLength: 32, targetsLength: 12, batchSize: 3 };
    const full = packAll(opts, exs);
    const a = new EncDecPacker(opts);
    for (const ex of exs.slice(0, 47)) a.push(ex);
    const head: EncDecBatch[] = [];
    head.push(a.pull()!); // leave other finished batches unpulled in the state
    const b2 = new EncDecPacker(opts);
    b2.setState(JSON.parse(JSON.stringify(a.getState())));
    const rest: EncDecBatch[] = [];
    for (let x = b2.pull(); x; x = b2.pull()) rest.push(x);
    rest.push(...b2.packAll(exs.slice(47)));
    expect([...head, ...rest]).toEqual(full);
    expect(() => new EncDecPacker({ ...opts, batchSize: 4 }).setState(a.getState())).toThrow(
      /other settings/,
    );
  });

  test('bad options are rejected', () => {
    expect(() => new EncDecPacker({ inputsLength: 0, targetsLength: 4, batchSize: 1 })).toThrow(
      /inputsLength/,
    );
    expect(() => new EncDecPacker({ inputsLength: 4, targetsLength: 4, batchSize: 1.5 })).toThrow(
      /batchSize/,
    );
  });
});
