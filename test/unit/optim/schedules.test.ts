// Learning-rate schedules (lib/optim/schedules.ts) on worked values.
import {
  constant,
  cosineWarmupDecay,
  inverseSqrt,
  linearWarmupDecay,
  makeSchedule,
} from '../../../lib/optim/schedules';

describe('inverseSqrt (T5 pre-training)', () => {
  test('0.01 for the first 10^4 steps, then 1/sqrt(step)', () => {
    const lr = inverseSqrt();
    expect(lr(0)).toBe(0.01);
    expect(lr(1)).toBe(0.01);
    expect(lr(9_999)).toBe(0.01);
    expect(lr(10_000)).toBe(0.01);
    expect(lr(40_000)).toBeCloseTo(0.005, 12);
    expect(lr(250_000)).toBeCloseTo(0.002, 12);
    expect(lr(1_000_000)).toBeCloseTo(0.001, 12);
  });
  test('warm-up, scale and offset', () => {
    const lr = inverseSqrt({ warmupSteps: 100, scale: 2, offset: 50 });
    expect(lr(120)).toBeCloseTo(2 / 10, 12); // max(70, 100) = 100
    expect(lr(450)).toBeCloseTo(2 / 20, 12); // 400
  });
});

describe('constant', () => {
  test('T5 fine-tuning rate by default', () => {
    expect(constant()(0)).toBe(1e-3);
    expect(constant(0.5)(123456)).toBe(0.5);
  });
});

describe('linearWarmupDecay', () => {
  const lr = linearWarmupDecay({ peak: 1, warmupSteps: 10, totalSteps: 110 });
  test.each([
    [0, 0],
    [5, 0.5],
    [10, 1],
    [60, 0.5],
    [110, 0],
    [200, 0],
  ])('step %d -> %d', (step, expected) => {
    expect(lr(step)).toBeCloseTo(expected, 12);
  });
  test('decays to minLr', () => {
    const m = linearWarmupDecay({ peak: 1, warmupSteps: 0, totalSteps: 100, minLr: 0.1 });
    expect(m(0)).toBe(1);
    expect(m(50)).toBeCloseTo(0.55, 12);
    expect(m(100)).toBeCloseTo(0.1, 12);
    expect(m(1000)).toBeCloseTo(0.1, 12);
  });
});

describe('cosineWarmupDecay', () => {
  const lr = cosineWarmupDecay({ peak: 2, warmupSteps: 4, totalSteps: 104 });
  test.each([
    [0, 0],
    [2, 1],
    [4, 2],
    [54, 1], // half way: cos(pi/2) = 0
    [29, 2 * 0.5 * (1 + Math.cos(Math.PI / 4))],
    [104, 0],
    [500, 0],
  ])('step %d -> %d', (step, expected) => {
    expect(lr(step)).toBeCloseTo(expected, 12);
  });
  test('with a floor', () => {
    const m = cosineWarmupDecay({ peak: 1, totalSteps: 10, minLr: 0.2 });
    expect(m(5)).toBeCloseTo(0.6, 12);
    expect(m(10)).toBeCloseTo(0.2, 12);
  });
});

describe('makeSchedule', () => {
  test('builds each schedule from a config object', () => {
    expect(makeSchedule({ name: 'rsqrt' })(40_000)).toBeCloseTo(0.005, 12);
    expect(makeSchedule({ name: 'constant', lr: 0.1 })(7)).toBe(0.1);
    expect(makeSchedule({ name: 'linear', peak: 1, warmupSteps: 10, totalSteps: 110 })(60)).toBeCloseTo(
      0.5,
      12,
    );
    expect(makeSchedule({ name: 'cosine', peak: 1, totalSteps: 10 })(10)).toBeCloseTo(0, 12);
  });
  test.each<[string, unknown, RegExp]>([
    ['unknown name', { name: 'cosin' }, /unknown schedule "cosin" \(did you mean 'cosine'\?\)/],
    ['missing name', {}, /unknown schedule undefined/],
    ['unknown key', { name: 'rsqrt', warmup: 5 }, /'rsqrt' has no option 'warmup'/],
    ['misspelt key', { name: 'linear', peak: 1, totalSteps: 5, warmupStep: 1 }, /did you mean 'warmupSteps'/],
    ['non-number', { name: 'constant', lr: '1e-3' }, /'lr' must be a number/],
    [
      'warm-up longer than training',
      { name: 'linear', peak: 1, warmupSteps: 10, totalSteps: 5 },
      /must not exceed totalSteps/,
    ],
    ['negative rate', { name: 'constant', lr: -1 }, /lr must be a finite number > 0/],
    ['not an object', 5, /must be an object/],
  ])('%s is a clear config error', (_name, spec, message) => {
    let err: { code?: string; message?: string } = {};
    try {
      makeSchedule(spec as never, 'train.yaml: schedule');
    } catch (e) {
      err = e as typeof err;
    }
    expect(err.code).toBe('EXT5_CONFIG');
    expect(err.message).toMatch(message);
  });
  test('a negative step is refused', () => {
    expect(() => constant()(-1)).toThrow(/step must be a finite number >= 0/);
  });
});
