// The training data pipeline on the built-in mini mixture: well-formed batches, R:1 mixing of
// processed examples, and an exact resume from a saved state.
import '../../lib/tasks';
import { loadVocabulary } from '../../lib/text/vocab_names';
import { batchToModelInputs, TrainingPipeline, targetTokens } from '../../lib/train/pipeline';

const vocab = loadVocabulary('mini');
afterAll(() => vocab.dispose());

const opts = { vocab, inputsLength: 64, targetsLength: 32, batchSize: 4, seed: 3 };

test('mini_ext5_pretrain gives packed batches with both span-corrupted and supervised examples', async () => {
  const p = new TrainingPipeline({ ...opts, mixture: 'mini_ext5_pretrain' });
  for (let i = 0; i < 5; i++) {
    const { batch } = await p.next();
    expect(batch.encoder_input_tokens.length).toBe(4 * 64);
    expect(batch.decoder_target_tokens.length).toBe(4 * 32);
    expect(targetTokens(batch)).toBeGreaterThan(0);
    for (const t of batch.encoder_input_tokens) expect(t).toBeLessThan(vocab.vocabSize);
    // Decoder inputs are the targets shifted right with BOS 0 at each segment start.
    for (let r = 0; r < 4; r++) {
      for (let j = 0; j < 32; j++) {
        const k = r * 32 + j;
        const seg = batch.decoder_segment_ids[k]!;
        if (seg === 0) continue;
        const startsSegment = j === 0 || batch.decoder_segment_ids[k - 1] !== seg;
        expect(batch.decoder_input_tokens[k]).toBe(startsSegment ? 0 : batch.decoder_target_tokens[k - 1]);
      }
    }
    const m = batchToModelInputs(batch);
    expect(m.inputIds.shape).toEqual([4, 64]);
    expect(m.lossWeights.data).toBeInstanceOf(Float32Array);
  }
  const counts = p.taskCounts();
  const c4 = counts.mini_c4_span_corruption ?? 0;
  const supervised = Object.entries(counts)
    .filter(([k]) => k !== 'mini_c4_span_corruption')
    .reduce((a, [, v]) => a + v, 0);
  expect(c4).toBeGreaterThan(0);
  expect(supervised).toBeGreaterThan(0);
});

test('a restored state continues with exactly the same batches', async () => {
  const a = new TrainingPipeline({ ...opts, mixture: 'mini_ext5_pretrain' });
  for (let i = 0; i < 3; i++) await a.next();
  const saved = JSON.parse(JSON.stringify((await a.next()).state));
  const expected = [];
  for (let i = 0; i < 3; i++) expected.push((await a.next()).batch);

  const b = new TrainingPipeline({ ...opts, mixture: 'mini_ext5_pretrain' });
  b.setState(saved);
  for (let i = 0; i < 3; i++) {
    const got = (await b.next()).batch;
    expect(Array.from(got.encoder_input_tokens)).toEqual(Array.from(expected[i]!.encoder_input_tokens));
    expect(Array.from(got.decoder_target_tokens)).toEqual(Array.from(expected[i]!.decoder_target_tokens));
    expect(Array.from(got.decoder_segment_ids)).toEqual(Array.from(expected[i]!.decoder_segment_ids));
  }
});

test('an unknown mixture name gets a suggestion', () => {
  expect(() => new TrainingPipeline({ ...opts, mixture: 'mini_ext5_pretrian' })).toThrow(
    /mini_ext5_pretrain/,
  );
});
