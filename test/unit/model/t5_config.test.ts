// config.json as transformers 5 reads it: float-typed T5Config keys are written as floats (its strict
// T5Config refuses "initializer_factor": 1), scale_decoder_outputs follows tie_word_embeddings when a
// 4.x config leaves it out, and one dtype is stated.
import { configJsonText, T5_CONFIG_FIELDS, validateConfig } from '../../../lib/model/t5_config';

const TINY = { vocab_size: 128, d_model: 32, d_kv: 8, d_ff: 64, num_layers: 2, num_heads: 4 };

describe('configJsonText', () => {
  test('writes the exact bytes, with every float-typed key as a float', () => {
    expect(
      configJsonText({
        d_model: 8,
        initializer_factor: 1,
        dropout_rate: 0,
        layer_norm_epsilon: 1e-6,
        classifier_dropout: 0,
        tie_word_embeddings: true,
        architectures: ['T5ForConditionalGeneration'],
        task_specific_params: { summarization: { num_beams: 4 } },
        skipped: undefined,
      }),
    ).toBe(
      '{\n' +
        '  "d_model": 8,\n' +
        '  "initializer_factor": 1.0,\n' +
        '  "dropout_rate": 0.0,\n' +
        '  "layer_norm_epsilon": 0.000001,\n' +
        '  "classifier_dropout": 0.0,\n' +
        '  "tie_word_embeddings": true,\n' +
        '  "architectures": [\n' +
        '    "T5ForConditionalGeneration"\n' +
        '  ],\n' +
        '  "task_specific_params": {\n' +
        '    "summarization": {\n' +
        '      "num_beams": 4\n' +
        '    }\n' +
        '  }\n' +
        '}\n',
    );
  });

  test('float values that are not integral, and integers of int keys, are written as JSON writes them', () => {
    const text = configJsonText({
      dropout_rate: 0.1,
      layer_norm_epsilon: 1e-12,
      d_ff: 2048,
      vocab_size: 32128,
    });
    expect(text).toBe(
      '{\n  "dropout_rate": 0.1,\n  "layer_norm_epsilon": 1e-12,\n  "d_ff": 2048,\n  "vocab_size": 32128\n}\n',
    );
    expect(JSON.parse(text)).toEqual({
      dropout_rate: 0.1,
      layer_norm_epsilon: 1e-12,
      d_ff: 2048,
      vocab_size: 32128,
    });
  });

  test('a validated config round-trips through the text, every float key written with a decimal point', () => {
    const cfg = validateConfig({ ...TINY, dropout_rate: 0, initializer_factor: 1 });
    const text = configJsonText(cfg);
    expect(JSON.parse(text)).toEqual(JSON.parse(JSON.stringify(cfg)));
    for (const [k, f] of Object.entries(T5_CONFIG_FIELDS)) {
      if (f.type !== 'float' || cfg[k] === undefined) continue;
      expect(text).toMatch(new RegExp(`"${k}": -?[0-9]+(\\.[0-9]+|e-?[0-9]+|\\.[0-9]+e-?[0-9]+)[,\\n]`));
    }
    expect(text).toContain('"dropout_rate": 0.0,');
    expect(text).toContain('"initializer_factor": 1.0');
  });
});

describe('validateConfig', () => {
  test('scale_decoder_outputs follows tie_word_embeddings when absent (4.x) and stands alone when given (5.x)', () => {
    expect(validateConfig({ ...TINY }).scale_decoder_outputs).toBe(true);
    expect(validateConfig({ ...TINY, tie_word_embeddings: false }).scale_decoder_outputs).toBe(false);
    const v5 = validateConfig({ ...TINY, tie_word_embeddings: true, scale_decoder_outputs: false });
    expect([v5.tie_word_embeddings, v5.scale_decoder_outputs]).toEqual([true, false]);
    expect(() => validateConfig({ ...TINY, scale_decoder_outputs: 'no' })).toThrow(
      /'scale_decoder_outputs' must be true or false, got "no"/,
    );
  });

  test('keys ext5 does not read are still checked against their declared type', () => {
    expect(() => validateConfig({ ...TINY, initializer_factor: '1.0' })).toThrow(
      /'initializer_factor' must be a float, got "1.0"/,
    );
    expect(validateConfig({ ...TINY, initializer_factor: 0.5 }).initializer_factor).toBe(0.5);
  });

  test('dtype and torch_dtype: either is accepted; two that disagree are refused, naming both', () => {
    expect(validateConfig({ ...TINY, dtype: 'bfloat16' }).dtype).toBe('bfloat16');
    expect(validateConfig({ ...TINY, torch_dtype: 'float32' }).torch_dtype).toBe('float32');
    expect(validateConfig({ ...TINY, dtype: 'float32', torch_dtype: 'float32' }).dtype).toBe('float32');
    expect(() =>
      validateConfig({ ...TINY, dtype: 'float32', torch_dtype: 'bfloat16' }, 'x/config.json'),
    ).toThrow(
      expect.objectContaining({
        code: 'EXT5_CONFIG',
        message: 'x/config.json: "dtype" is "float32" but "torch_dtype" is "bfloat16"',
      }),
    );
  });
});
