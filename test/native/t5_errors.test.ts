// Bad input to the T5 model: each a clear error with a code, and the process lives on.

import { T5ForConditionalGeneration } from '../../lib/model/t5';
import { validateConfig } from '../../lib/model/t5_config';
import { preset, presetNames } from '../../lib/model/t5_presets';
import { t5Addon } from '../../lib/native/t5';
import { fromTypedArray } from '../../lib/tensor/tensor';

const TINY = { vocab_size: 32, d_model: 8, d_kv: 4, d_ff: 16, num_layers: 1, num_heads: 2 };

function codeOf(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (e) {
    return (e as { code?: string }).code;
  }
  return undefined;
}

describe('config validation', () => {
  test('missing keys and bad values name the key (TS and native)', () => {
    const { d_ff: _, ...noFf } = TINY;
    expect(() => validateConfig(noFf, 'my/config.json')).toThrow(
      /my\/config.json: missing required key 'd_ff'/,
    );
    expect(() => validateConfig({ ...noFf, dff: 16 })).toThrow(
      /missing required key 'd_ff' \(is 'dff' a misspelling of it\?\)/,
    );
    expect(() => validateConfig({ ...TINY, d_model: 0 })).toThrow(/'d_model' must be >= 1/);
    expect(() => validateConfig({ ...TINY, d_model: 8.5 })).toThrow(/'d_model' must be an integer/);
    expect(() => validateConfig({ ...TINY, feed_forward_proj: 'gated-silu' })).toThrow(/feed_forward_proj/);
    expect(() => validateConfig({ ...TINY, dropout_rate: 1.5 })).toThrow(/dropout_rate/);
    expect(() => validateConfig({ ...TINY, eos_token_id: 32 })).toThrow(/eos_token_id.*< vocab_size/);
    expect(() => validateConfig({ ...TINY, tie_word_embeddings: 'yes' })).toThrow(/tie_word_embeddings/);
    expect(() => validateConfig([1, 2])).toThrow(/JSON object/);
    const native = t5Addon().T5Model;
    expect(codeOf(() => new native(noFf))).toBe('EXT5_CONFIG');
    expect(() => new native(noFf)).toThrow(/missing required key 'd_ff'/);
    expect(() => new native({ ...TINY, num_heads: -1 })).toThrow(/config.num_heads must be >= 1/);
    expect(() => new native({ ...TINY, feed_forward_proj: 'swish' })).toThrow(/feed_forward_proj 'swish'/);
    expect(() => new native({ ...TINY, vocab_size: 2 ** 40 })).toThrow(/unreasonably large/);
  });

  test('defaults follow HF T5Config; extra keys are kept; presets are valid', () => {
    const c = validateConfig({ ...TINY, model_type: 't5' });
    expect(c.num_decoder_layers).toBe(1);
    expect(c.relative_attention_num_buckets).toBe(32);
    expect(c.relative_attention_max_distance).toBe(128);
    expect(c.feed_forward_proj).toBe('relu');
    expect(c.tie_word_embeddings).toBe(true);
    expect(c.model_type).toBe('t5');
    expect(preset('t5-v1_1-base')).toMatchObject({
      d_model: 768,
      num_layers: 12,
      d_ff: 2048,
      num_heads: 12,
      d_kv: 64,
    });
    expect(preset('t5-small')).toMatchObject({
      d_model: 512,
      num_layers: 6,
      d_ff: 2048,
      num_heads: 8,
      tie_word_embeddings: true,
    });
    expect(preset('t5-v1_1-xxl')).toMatchObject({
      d_model: 4096,
      d_ff: 10240,
      num_heads: 64,
      feed_forward_proj: 'gated-gelu',
    });
    expect(presetNames()).toEqual(expect.arrayContaining(['t5-large', 't5-v1_1-xl', 't5-tiny']));
    expect(() => preset('t5-v11-small')).toThrow(/did you mean 't5-v1_1-small'/);
  });
});

describe('bad model inputs', () => {
  const model = T5ForConditionalGeneration.fromConfig(TINY, { seed: 1 });
  afterAll(() => model.dispose());
  const ok = { inputIds: [[3, 4, 1]], labels: [[5, 1]] };

  test.each<[string, Record<string, unknown>, string, RegExp]>([
    [
      'token id >= vocab',
      { inputIds: [[3, 32, 1]], labels: [[5, 1]] },
      'EXT5_INDEX',
      /token id 32 but vocab_size is 32/,
    ],
    [
      'negative input id',
      { inputIds: [[3, -1, 1]], labels: [[5, 1]] },
      'EXT5_INDEX',
      /inputIds holds negative values/,
    ],
    [
      'negative label other than -100',
      { inputIds: [[3, 1]], labels: [[-5, 1]] },
      'EXT5_INDEX',
      /other than -100/,
    ],
    [
      'label id >= vocab',
      { inputIds: [[3, 1]], labels: [[99, 1]] },
      'EXT5_INDEX',
      /labels holds token id 99/,
    ],
    [
      'mask shape',
      { ...ok, attentionMask: [[1, 1]] },
      'EXT5_SHAPE',
      /attentionMask has shape \[1, 2\] but must be \[1, 3\]/,
    ],
    [
      'ragged nested array',
      {
        inputIds: [[3, 4], [5]],
        labels: [
          [5, 1],
          [5, 1],
        ],
      },
      'EXT5_SHAPE',
      /inputIds\[1\]/,
    ],
    [
      'batch size mismatch',
      {
        inputIds: [
          [3, 1],
          [4, 1],
        ],
        labels: [[5, 1]],
      },
      'EXT5_SHAPE',
      /batch size/,
    ],
    [
      'labels vs decoder inputs',
      { ...ok, decoderInputIds: [[0, 5, 6]] },
      'EXT5_SHAPE',
      /labels has shape \[1, 2\] but must be \[1, 3\]/,
    ],
    [
      'float ids',
      { inputIds: { data: new Float32Array([3, 1]), shape: [1, 2] }, labels: [[5, 1]] },
      'EXT5_DTYPE',
      /must hold integers/,
    ],
    [
      '1-D ids',
      { inputIds: { data: new Int32Array([3, 1]), shape: [2] }, labels: [[5, 1]] },
      'EXT5_SHAPE',
      /must be 2-D/,
    ],
    [
      'data/shape mismatch',
      { inputIds: { data: new Int32Array([3, 1]), shape: [1, 3] }, labels: [[5, 1]] },
      'EXT5_SHAPE',
      /needs 3/,
    ],
    [
      'no labels or decoder inputs',
      { inputIds: [[3, 1]] },
      'EXT5_INVALID_ARG',
      /needs labels or decoderInputIds/,
    ],
    [
      'one segment id array only',
      { ...ok, encoderSegmentIds: [[1, 1, 1]] },
      'EXT5_INVALID_ARG',
      /both encoderSegmentIds/,
    ],
    ['negative loss weight', { ...ok, lossWeights: [[1, -1]] }, 'EXT5_VALUE', /finite and >= 0/],
    ['bad label smoothing', { ...ok, labelSmoothing: 1 }, 'EXT5_INVALID_ARG', /labelSmoothing/],
    [
      'unknown key',
      { ...ok, decoder_input_ids: [[0, 5]] },
      'EXT5_INVALID_ARG',
      /unknown key 'decoder_input_ids'/,
    ],
  ])('%s', (_name, batch, code, message) => {
    expect(codeOf(() => model.forward(batch as never))).toBe(code);
    expect(() => model.forward(batch as never)).toThrow(message);
    expect(codeOf(() => model.forwardBackward(batch as never))).toBe(code);
  });

  test('the native layer checks what the TS layer passes through', () => {
    const n = model.native;
    expect(
      codeOf(() =>
        n.forward({
          inputIds: { data: new Int32Array([3, 40]), shape: [1, 2] },
          labels: { data: new Int32Array([1]), shape: [1, 1] },
        }),
      ),
    ).toBe('EXT5_INDEX');
    // Unknown keys are rejected once, by the TS layer (with a suggestion); the native layer reads
    // the keys it knows and checks what they hold.
    expect(() => model.forward({ ...ok, foo: 1 } as never)).toThrow(/batch has an unknown key 'foo'/);
    expect(() => n.forward({ foo: 1 } as never)).toThrow(/batch.inputIds is required/);
    expect(() => n.forward(42 as never)).toThrow(/batch must be an object/);
    expect(() => n.generate({ data: new Int32Array([3, 1]), shape: [1, 2] }, null, { numBeams: 0 })).toThrow(
      /numBeams/,
    );
    expect(() => n.generate({ data: new Int32Array([3, 1]), shape: [1, 2] }, null, { topP: 0 })).toThrow(
      /topP/,
    );
    expect(() =>
      n.generate({ data: new Int32Array([3, 1]), shape: [1, 2] }, null, { numBeams: 2, doSample: true }),
    ).toThrow(/beam sampling/);
    expect(() =>
      n.loadParameters([['shared.weight', fromTypedArray(new Float32Array(4), [2, 2])]], false),
    ).toThrow(/shared.weight' has shape \[2, 2\] but the model expects \[32, 8\]/);
    expect(() =>
      n.loadParameters([['shared.weight', fromTypedArray(new Int32Array(256), [32, 8])]], false),
    ).toThrow(/floating dtype/);
  });

  test('generate and score options and shapes', () => {
    expect(() => model.generate([[3, 1]], undefined, { maxNewTokens: 0 })).toThrow(/maxNewTokens/);
    expect(() => model.generate([[3, 1]], undefined, { temprature: 2 } as never)).toThrow(
      /did you mean 'temperature'/,
    );
    expect(() => model.generate([[3, 1]], [[1, 1, 1]])).toThrow(/attentionMask has shape/);
    expect(() =>
      model.score([[3, 1]], undefined, [
        [5, 1],
        [6, 1],
      ]),
    ).toThrow(/targets batch size 2/);
    expect(() => model.score([[3, 1]], undefined, [[5, 1]], [[1]])).toThrow(/targetMask has shape/);
  });

  test('wrong device, bad options, disposed tensors', () => {
    expect(() => T5ForConditionalGeneration.fromConfig(TINY, { device: 'tpu' })).toThrow(
      /unknown device 'tpu'/,
    );
    expect(codeOf(() => T5ForConditionalGeneration.fromConfig(TINY, { device: 'cuda' }))).toMatch(
      /EXT5_NO_CUDA|EXT5_INVALID_DEVICE/,
    );
    expect(() => T5ForConditionalGeneration.fromConfig(TINY, { devise: 'cpu' } as never)).toThrow(
      /did you mean 'device'/,
    );
    expect(() => model.to('cuda:7')).toThrow(/CUDA|does not exist/);
    expect(() => T5ForConditionalGeneration.fromConfig(TINY, { computeDtype: 'float16' as never })).toThrow(
      /computeDtype must be 'float32' or 'bfloat16'/,
    );
    expect(codeOf(() => T5ForConditionalGeneration.fromConfig(TINY, { initialize: 'no' as never }))).toBe(
      'EXT5_INVALID_ARG',
    );
    const t = fromTypedArray(new Int32Array([3, 1]), [1, 2]);
    t.dispose();
    expect(codeOf(() => model.forward({ inputIds: t, labels: [[5, 1]] }))).toBe('EXT5_DISPOSED');
    // still fine afterwards
    expect(model.forward(ok).loss).toBeGreaterThan(0);
  });

  test('concurrent calls: EXT5_BUSY while an async call is in flight, then usable again', async () => {
    const p = model.forwardBackwardAsync(ok);
    expect(codeOf(() => model.forward(ok))).toBe('EXT5_BUSY');
    await expect(model.generateAsync([[3, 1]])).rejects.toMatchObject({ code: 'EXT5_BUSY' });
    expect(codeOf(() => model.namedParameters())).toBe('EXT5_BUSY');
    expect(codeOf(() => model.dispose())).toBe('EXT5_BUSY');
    await p;
    expect((await model.forwardAsync(ok)).loss).toBeGreaterThan(0);
    await expect(model.forwardBackwardAsync({ inputIds: [[99, 1]], labels: [[5, 1]] })).rejects.toMatchObject(
      {
        code: 'EXT5_INDEX',
      },
    );
    expect(model.native.busy).toBe(false);
  });

  test('a disposed model says so', () => {
    const m = T5ForConditionalGeneration.fromConfig(TINY);
    m.dispose();
    expect(codeOf(() => m.forward(ok))).toBe('EXT5_DISPOSED');
    expect(m.native.disposed).toBe(true);
  });
});
