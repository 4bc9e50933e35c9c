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

// The pipeline options of a run come from one derivation (lib/train/pipeline_options.ts): training and the
// validation loss both corrupt spans with the run's noise settings, not the T5 defaults.
describe('pipelineOptions and the validation loss', () => {
  const { loadRunConfig } = require('../../lib/run/run_config') as typeof import('../../lib/run/run_config');
  const { pipelineOptions } =
    require('../../lib/train/pipeline_options') as typeof import('../../lib/train/pipeline_options');
  const { buildModel } = require('../../lib/train/assemble') as typeof import('../../lib/train/assemble');
  const { validationLoss } = require('../../lib/train/trainer') as typeof import('../../lib/train/trainer');
  const noisy = loadRunConfig({
    preset: 'tiny-test',
    set: [
      'data.noiseDensity=0.5',
      'data.meanNoiseSpanLength=5',
      'data.targetsLength=64',
      'data.mixtureOrTask=mini_c4_span_corruption',
    ],
  });

  /** The noise fraction of a span-corrupted batch: target tokens that are not sentinels or EOS. */
  const noiseFraction = (b: import('../../lib/text/packing').EncDecBatch) => {
    const sentinel = (t: number) => t >= vocab.vocabSize - 100 || t === vocab.eosId;
    let noise = 0;
    let kept = 0;
    for (let i = 0; i < b.decoder_target_tokens.length; i++) {
      const t = b.decoder_target_tokens[i]!;
      if (b.decoder_loss_weights[i]! > 0 && !sentinel(t)) noise += 1;
    }
    for (let i = 0; i < b.encoder_input_tokens.length; i++) {
      const t = b.encoder_input_tokens[i]!;
      if (t !== 0 && !sentinel(t)) kept += 1;
    }
    return noise / (noise + kept);
  };

  test('both splits carry the run noise, split, seed and rows', () => {
    const v = pipelineOptions(noisy, 'validation', { vocab });
    const t = pipelineOptions(noisy, 'train', { vocab, shard: { rank: 1, worldSize: 2 } });
    for (const o of [v, t]) {
      expect(o.noiseDensity).toBe(0.5);
      expect(o.meanNoiseSpanLength).toBe(5);
      expect(o.pack).toBe(noisy.data.pack);
      expect(o.inputsLength).toBe(64);
      expect(o.targetsLength).toBe(64);
    }
    expect([v.split, v.seed, v.batchSize, v.shard]).toEqual(['validation', 1, 4, undefined]);
    expect([t.split, t.seed, t.batchSize, t.shard]).toEqual(['train', 0, 2, { rank: 1, worldSize: 2 }]);
  });

  test('validation batches are corrupted at the run noise density', async () => {
    const fraction = async (c: typeof noisy) => {
      const p = new TrainingPipeline(pipelineOptions(c, 'validation', { vocab }));
      let sum = 0;
      for (let i = 0; i < 4; i++) sum += noiseFraction((await p.next()).batch);
      return sum / 4;
    };
    const defaults = loadRunConfig({
      preset: 'tiny-test',
      set: ['data.mixtureOrTask=mini_c4_span_corruption'],
    });
    expect(await fraction(noisy)).toBeGreaterThan(0.35);
    expect(await fraction(defaults)).toBeLessThan(0.25);
  });

  test('validationLoss reads the batches the run options give, not the default noise', async () => {
    const model = buildModel(noisy, vocab.vocabSize);
    try {
      const lossOf = async (opts: import('../../lib/train/pipeline').PipelineOptions) => {
        const p = new TrainingPipeline(opts);
        let sum = 0;
        let weight = 0;
        for (let i = 0; i < noisy.eval.lossBatches; i++) {
          const out = await model.forwardAsync(batchToModelInputs((await p.next()).batch));
          sum += (out.loss ?? 0) * out.weightSum;
          weight += out.weightSum;
        }
        return sum / weight;
      };
      model.eval();
      const written = {
        mixture: 'mini_c4_span_corruption',
        vocab,
        split: 'validation',
        inputsLength: 64,
        targetsLength: 64,
        batchSize: 4,
        seed: 1,
      };
      const atRunNoise = await lossOf({ ...written, noiseDensity: 0.5, meanNoiseSpanLength: 5 });
      const atDefaultNoise = await lossOf(written);
      expect(atRunNoise).not.toBeCloseTo(atDefaultNoise, 3);
      model.train();
      expect(await validationLoss(noisy, model, vocab)).toBeCloseTo(atRunNoise, 5);
    } finally {
      model.dispose();
    }
  });
});
