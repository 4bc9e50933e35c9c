// The memory planner's formulas: parameter counts of the published T5 sizes, Adafactor's factored
// state, and activations that checkpointing shrinks. The real model's parameter shapes are checked
// against parameterShapes() in test/native/t5_checkpointing.test.ts.
import { adafactorStateElements, parameterShapes, planMemory } from '../../../lib/model/memory_plan';
import { preset } from '../../../lib/model/t5_presets';

const count = (name: string) =>
  parameterShapes(preset(name)).reduce((a, p) => a + p.shape.reduce((x, y) => x * y, 1), 0);

test('parameter counts are those of the published checkpoints', () => {
  // Hugging Face num_parameters() of t5-small and google/t5-v1_1-small.
  expect(count('t5-small')).toBe(60506624);
  expect(count('t5-v1_1-small')).toBe(76961152);
});

test('Adafactor keeps row + column statistics for large matrices, the full square otherwise, plus momentum', () => {
  expect(adafactorStateElements([512, 2048])).toBe(512 + 2048);
  expect(adafactorStateElements([512])).toBe(512);
  expect(adafactorStateElements([32, 8])).toBe(256); // second dim below minDimSizeToFactor 128
  expect(adafactorStateElements([512, 2048], { factored: false })).toBe(512 * 2048);
  expect(adafactorStateElements([512, 2048], { beta1: 0.9 })).toBe(512 + 2048 + 512 * 2048);
  expect(adafactorStateElements([32, 8], { minDimSizeToFactor: 8 })).toBe(32 + 8);
});

test('checkpointing shrinks the activations kept, more with more layers; the rest is unchanged', () => {
  const o = {
    rows: 8,
    inputsLength: 512,
    targetsLength: 114,
    computeDtype: 'bfloat16' as const,
    dropout: 0.1,
    optimizer: {},
  };
  for (const name of ['t5-v1_1-small', 't5-v1_1-xl']) {
    const off = planMemory(preset(name), { ...o, gradientCheckpointing: false });
    const on = planMemory(preset(name), { ...o, gradientCheckpointing: true });
    expect(on.parameterBytes).toBe(off.parameterBytes);
    expect(on.gradientBytes).toBe(off.parameterBytes);
    expect(on.optimizerBytes).toBe(off.optimizerBytes);
    expect(on.activationBytes).toBeLessThan(off.activationBytes / 4);
    expect(on.totalBytes).toBeLessThan(off.totalBytes);
  }
  // Activations scale with rows.
  const a = planMemory(preset('t5-v1_1-small'), { ...o, gradientCheckpointing: false });
  const b = planMemory(preset('t5-v1_1-small'), { ...o, rows: 16, gradientCheckpointing: false });
  expect(b.activationBytes / a.activationBytes).toBeCloseTo(2, 2);
});
