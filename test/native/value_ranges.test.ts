// Values are never changed silently (integers that do not fit are refused, out-of-range
// options are refused), NaN computes like any float, and misuse of the JS API gives coded errors
// instead of raw TypeErrors.
import { T5ForConditionalGeneration } from '../../lib/model/t5';
import { Adafactor } from '../../lib/optim/adafactor';
import { fromTypedArray, ones, tensor, zeros } from '../../lib/tensor/tensor';

// biome-ignore lint/suspicious/noExplicitAny: misuse tests pass wrong types on purpose.
type Any = any;

function codeOf(f: () => unknown): string | undefined {
  try {
    f();
  } catch (e) {
    return (e as { code?: string }).code ?? `uncoded: ${(e as Error).message}`;
  }
  return undefined;
}

const TINY = { vocab_size: 64, d_model: 16, d_kv: 4, d_ff: 32, num_layers: 1, num_heads: 2 };

describe('integers that do not fit their dtype are refused, never wrapped', () => {
  test.each([
    ['3e9 as int32', () => tensor([3e9], { dtype: 'int32' })],
    ['-3e9 as int32', () => tensor([-3e9], { dtype: 'int32' })],
    ['1e20 as int64', () => tensor([1e20], { dtype: 'int64' })],
    ['2^63 as int64', () => tensor([2 ** 63], { dtype: 'int64' })],
    ['NaN as int64', () => tensor([Number.NaN], { dtype: 'int64' })],
    ['Infinity as int32', () => tensor([Infinity], { dtype: 'int32' })],
    ['1.5 as int32', () => tensor([1.5], { dtype: 'int32' })],
    ['256 as uint8', () => tensor([256], { dtype: 'uint8' })],
    ['Float64Array 3e9 as int32', () => fromTypedArray(new Float64Array([3e9]), [1], { dtype: 'int32' })],
    [
      'BigInt64Array 2^40 as int32',
      () => fromTypedArray(new BigInt64Array([2n ** 40n]), [1], { dtype: 'int32' }),
    ],
    ['bigint 2^70', () => tensor([2n ** 70n] as Any)],
    ['NaN .to(int32)', () => tensor([Number.NaN]).to('int32')],
    ['3e9 .to(int32)', () => tensor([3e9], { dtype: 'float64' }).to('int32')],
  ])('%s', (_name, f) => {
    expect(codeOf(f)).toBe('EXT5_VALUE');
  });

  test('values that fit are exact, bigints make int64, .to() truncates like PyTorch', () => {
    expect(tensor([2147483647, -2147483648], { dtype: 'int32' }).toArray()).toEqual([
      2147483647, -2147483648,
    ]);
    expect(tensor([2 ** 53], { dtype: 'int64' }).data()).toEqual(new BigInt64Array([2n ** 53n]));
    const big = tensor([1n, -(2n ** 63n)]);
    expect(big.dtype).toBe('int64');
    expect(big.data()).toEqual(new BigInt64Array([1n, -(2n ** 63n)]));
    expect(tensor([1.7, -2.5]).to('int32').toArray()).toEqual([1, -2]);
    expect(codeOf(() => tensor([1n, 2] as Any))).toBe('EXT5_INVALID_ARG');
  });

  test('token ids beyond int32 reach the vocabulary check instead of wrapping', () => {
    const m = T5ForConditionalGeneration.fromConfig(TINY, { seed: 1 });
    try {
      expect(() => m.forward({ inputIds: [[2 ** 32 + 5]], labels: [[1]] })).toThrow(/4294967301/);
      expect(codeOf(() => m.forward({ inputIds: [[3]], labels: [[2 ** 32 - 100]] }))).toBe('EXT5_INDEX');
      expect(codeOf(() => m.generate([[2 ** 31]]))).toBe('EXT5_INDEX');
      expect(codeOf(() => m.score([[3]], null, [[2 ** 32 + 1]]))).toBe('EXT5_INDEX');
      expect(m.forward({ inputIds: [[3, 1]], labels: [[5, -100]] }).loss).toEqual(expect.any(Number));
    } finally {
      m.dispose();
    }
  });
});

describe('out-of-range options are refused', () => {
  test.each([
    ['unsqueeze(NaN)', () => zeros([2]).unsqueeze(Number.NaN), 'EXT5_INVALID_ARG'],
    ['unsqueeze(0.5)', () => zeros([2]).unsqueeze(0.5), 'EXT5_INVALID_ARG'],
    ["unsqueeze('1')", () => zeros([2]).unsqueeze('1' as Any), 'EXT5_INVALID_ARG'],
    ["gelu('fast')", () => zeros([2]).gelu('fast' as Any), 'EXT5_INVALID_ARG'],
    ['int ** -1', () => tensor([2, 3]).pow(-1), 'EXT5_VALUE'],
    ['int ** int tensor with a negative', () => tensor([2, 3]).pow(tensor([1, -2])), 'EXT5_VALUE'],
    ['clipThreshold -1', () => new Adafactor([zeros([2])], { clipThreshold: -1 }), 'EXT5_INVALID_ARG'],
    ['eps1 0', () => new Adafactor([zeros([2])], { eps1: 0 }), 'EXT5_INVALID_ARG'],
  ])('%s', (_name, f, code) => {
    expect(codeOf(f)).toBe(code);
  });

  test('a 1-element but not 0-dim step entry in loadStateDict is refused', () => {
    const p = ones([4]);
    p.requiresGrad = true;
    p.sum().backward();
    const opt = new Adafactor([p]);
    opt.step();
    const sd = opt.stateDict();
    const entries = sd.entries.map(([k, v]) => [k, k.endsWith('.step') ? tensor([1]) : v] as [string, Any]);
    expect(() => opt.loadStateDict(entries, sd.metadata)).toThrow(/0-dimensional/);
  });
});

describe('NaN is a float value: ops compute with it', () => {
  test('add(NaN), mul(Infinity), full(NaN)', () => {
    expect(Number.isNaN(zeros([1]).add(Number.NaN).item())).toBe(true);
    expect(ones([1]).mul(Infinity).item()).toBe(Infinity);
  });
  test('an Adafactor step on a NaN gradient computes (the trainer decides what to do)', () => {
    const p = ones([2]);
    p.requiresGrad = true;
    p.mul(Number.NaN).sum().backward();
    expect(new Adafactor([p]).step()).toBe(1);
  });
});

describe('misuse of the JS API gives coded errors', () => {
  test.each([
    ['matmul(null)', () => zeros([2, 2]).matmul(null as Any)],
    ['matmulAsync(undefined) (sync part)', () => zeros([2, 2]).add(undefined as Any)],
    ['to(null)', () => zeros([2]).to(null as Any)],
    ['T5 options null', () => T5ForConditionalGeneration.fromConfig(TINY, null as Any)],
    ['Adafactor namedParameters() null', () => new Adafactor({ namedParameters: () => null } as Any)],
    ['Adafactor params null', () => new Adafactor(null as Any)],
    [
      '100,000-deep nested array',
      () => {
        let a: Any = [1];
        for (let i = 0; i < 100_000; i++) a = [a];
        return tensor(a);
      },
    ],
  ])('%s', (_name, f) => {
    expect(codeOf(f)).toMatch(/^EXT5_/);
  });

  test('generate options null', () => {
    const m = T5ForConditionalGeneration.fromConfig(TINY, { seed: 1 });
    try {
      expect(codeOf(() => m.generate([[3]], null, null as Any))).toBe('EXT5_INVALID_ARG');
      expect(codeOf(() => m.score([[3]], null, [[3]], null, null as Any))).toBe('EXT5_INVALID_ARG');
    } finally {
      m.dispose();
    }
  });

  test('typed arrays backed by a SharedArrayBuffer are accepted (copied)', () => {
    const f = new Float32Array(new SharedArrayBuffer(12));
    f.set([1.5, 2.5, 3.5]);
    expect(Array.from(tensor(f).data() as Float32Array)).toEqual([1.5, 2.5, 3.5]);
    const ids = new Int32Array(new SharedArrayBuffer(8));
    ids.set([3, 1]);
    const m = T5ForConditionalGeneration.fromConfig(TINY, { seed: 1 });
    try {
      expect(m.forward({ inputIds: { data: ids, shape: [1, 2] }, labels: [[4, 1]] }).loss).toEqual(
        expect.any(Number),
      );
    } finally {
      m.dispose();
    }
  });
});
