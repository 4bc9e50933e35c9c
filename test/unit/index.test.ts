// The public API: everything a user imports from 'ext5' is there, and importing it loads no
// native addon (libtorch costs ~0.3 s and ~150 MB; it loads on first use).
import * as ext5 from '../../lib/index';

test('importing ext5 loads no native addon', () => {
  expect(ext5.isAddonLoaded('torch')).toBe(false);
  expect(ext5.isAddonLoaded('spm')).toBe(false);
});

test('the documented entry points are exported', () => {
  for (const name of [
    'Tensor',
    'tensor',
    'tidy',
    'T5ForConditionalGeneration',
    'fromPretrained',
    'fromPretrainedAsync',
    'savePretrained',
    'Adafactor',
    'SentencePieceVocabulary',
    'MixtureSampler',
    'readRecords',
    'loadRunConfig',
    'train',
    'evaluateTask',
    'Ext5Error',
  ]) {
    expect({ name, type: typeof (ext5 as Record<string, unknown>)[name] }).toEqual({
      name,
      type: 'function',
    });
  }
  expect(typeof ext5.metrics.computeMetrics).toBe('function');
  expect(ext5.TaskRegistry.has('super_glue_boolq')).toBe(true);
  expect(ext5.MixtureRegistry.has('ext5_pretrain')).toBe(true);
});
