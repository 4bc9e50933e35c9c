// Every kind of misuse must throw a clear JS error with a code, and never crash the process.
import { torch } from '../../lib/native/torch';
import { arange, fromTypedArray, ones, tensor, where, zeros } from '../../lib/tensor/tensor';

type Case = [string, () => unknown, RegExp, string | RegExp];

const t22 = () =>
  tensor([
    [1, 2],
    [3, 4],
  ]).to('float32');
const disposed = () => {
  const t = zeros([2]);
  t.dispose();
  return t;
};
// biome-ignore lint/suspicious/noExplicitAny: misuse tests pass wrong types on purpose.
const raw = torch() as any;

const cases: Case[] = [
  ['shape mismatch in matmul', () => t22().matmul(zeros([3, 3])), /do not match/, 'EXT5_SHAPE'],
  [
    'dtype mismatch in matmul',
    () => t22().matmul(ones([2, 2], { dtype: 'float64' })),
    /dtypes differ/,
    'EXT5_DTYPE',
  ],
  ['0-d matmul', () => tensor(1.5).matmul(tensor(2.5)), /at least one dimension/, 'EXT5_SHAPE'],
  ['non-broadcastable add', () => t22().add(zeros([3])), /cannot be broadcast/, 'EXT5_SHAPE'],
  ['disposed tensor as input', () => disposed().add(1), /disposed/, 'EXT5_DISPOSED'],
  ['disposed tensor shape', () => disposed().shape, /disposed/, 'EXT5_DISPOSED'],
  ['disposed tensor as second operand', () => t22().matmul(disposed()), /disposed/, 'EXT5_DISPOSED'],
  [
    'bad device string',
    () => zeros([2], { device: 'gpu' as 'cpu' }),
    /unknown device 'gpu'/,
    'EXT5_INVALID_DEVICE',
  ],
  [
    'malformed cuda index',
    () => zeros([2], { device: 'cuda:x' as 'cuda' }),
    /unknown device/,
    'EXT5_INVALID_DEVICE',
  ],
  [
    'CUDA when absent (or out of range)',
    () => zeros([2], { device: 'cuda:7' }),
    /CUDA|does not exist/,
    /^EXT5_(NO_CUDA|INVALID_DEVICE)$/,
  ],
  [
    'unknown dtype',
    () => zeros([2], { dtype: 'float8' as 'float32' }),
    /unknown dtype 'float8'/,
    'EXT5_INVALID_DTYPE',
  ],
  ['negative shape', () => zeros([2, -1]), /must be >= 0/, 'EXT5_INVALID_ARG'],
  ['non-integer shape', () => zeros([2.5]), /finite integer/, 'EXT5_INVALID_ARG'],
  ['shape not an array', () => raw.zeros(3), /array of integers/, 'EXT5_INVALID_ARG'],
  ['absurdly large shape', () => zeros([1e7, 1e7]), /more than 10\^12/, 'EXT5_INVALID_ARG'],
  [
    'data/shape element count mismatch',
    () => fromTypedArray(new Float32Array(3), [2, 2]),
    /needs 4/,
    'EXT5_SHAPE',
  ],
  ['plain array to fromTypedArray', () => raw.fromTypedArray([1, 2], [2]), /typed array/, 'EXT5_INVALID_ARG'],
  [
    'Uint16Array without half dtype',
    () => fromTypedArray(new Uint16Array(2), [2]),
    /raw float16/,
    'EXT5_INVALID_ARG',
  ],
  ['ragged nested array', () => tensor([[1, 2], [3]]), /ragged/, 'EXT5_SHAPE'],
  ['mixed bool/number data', () => tensor([true, 1]), /mixes/, 'EXT5_INVALID_ARG'],
  [
    'string in nested data',
    () => tensor(['a' as unknown as number]),
    /number or boolean/,
    'EXT5_INVALID_ARG',
  ],
  ['out-of-range dim', () => t22().sum(5), /out of range/, 'EXT5_INDEX'],
  [
    'out-of-range index in indexSelect',
    () => arange(3).indexSelect(0, tensor([0, 3])),
    /out of range/,
    'EXT5_INDEX',
  ],
  ['float index tensor', () => arange(3).indexSelect(0, tensor([0.5])), /int64 or int32/, 'EXT5_DTYPE'],
  ['gather index out of range', () => t22().gather(1, tensor([[2], [0]])), /index values/, 'EXT5_INDEX'],
  ['reshape to wrong size', () => t22().reshape([3]), /cannot reshape/, 'EXT5_SHAPE'],
  ['two inferred reshape dims', () => t22().reshape([-1, -1]), /only one/, 'EXT5_SHAPE'],
  [
    'view of non-contiguous',
    () => arange(6).reshape([2, 3]).transpose(0, 1).view([6]),
    /contiguous/,
    'EXT5_SHAPE',
  ],
  ['permute with repeated dims', () => t22().permute([0, 0]), /repeat/, 'EXT5_SHAPE'],
  ['permute with wrong arity', () => t22().permute([0]), /needs 2 dims/, 'EXT5_SHAPE'],
  ['slice step 0', () => arange(4).slice(0, 0, 4, 0), /step must be > 0/, 'EXT5_INVALID_ARG'],
  ['slice a scalar', () => tensor(1).slice(0, 0, 1), /0-dimensional/, 'EXT5_SHAPE'],
  ['cat of empty list', () => raw.cat([], 0), /must not be empty/, 'EXT5_INVALID_ARG'],
  [
    'cat with mismatched shapes',
    () => raw.cat([zeros([2, 2]).handle, zeros([3, 3]).handle], 0),
    /do not match/,
    'EXT5_SHAPE',
  ],
  ['stack of non-tensors', () => raw.stack([1, 2], 0), /must be a Tensor/, 'EXT5_INVALID_ARG'],
  ['where with non-bool condition', () => where(arange(3), 1, 0), /bool tensor/, 'EXT5_DTYPE'],
  ['exp of an integer tensor', () => arange(3).exp(), /floating-point/, 'EXT5_DTYPE'],
  ['softmax of an integer tensor', () => arange(3).softmax(0), /floating-point/, 'EXT5_DTYPE'],
  ['mean of an integer tensor', () => arange(3).mean(), /floating-point/, 'EXT5_DTYPE'],
  ['argmax of empty tensor', () => zeros([0]).argmax(), /empty/, 'EXT5_SHAPE'],
  ['item of multi-element tensor', () => t22().item(), /exactly one element/, 'EXT5_SHAPE'],
  [
    'requiresGrad on an int tensor',
    () => {
      arange(3).requiresGrad = true;
    },
    /floating-point/,
    'EXT5_DTYPE',
  ],
  ['backward without grad', () => t22().sum().backward(), /does not require grad/, 'EXT5_AUTOGRAD'],
  [
    'backward of non-scalar',
    () => {
      const x = t22();
      x.requiresGrad = true;
      x.mul(2).backward();
    },
    /scalar/,
    'EXT5_SHAPE',
  ],
  ['extra argument to an op', () => raw.exp(zeros([1]).handle, 2), /takes 1 argument/, 'EXT5_INVALID_ARG'],
  ['wrong argument count', () => raw.matmul(zeros([1]).handle), /takes 2 argument/, 'EXT5_INVALID_ARG'],
  ['number where a tensor is expected', () => raw.matmul(1, 2), /must be a Tensor/, 'EXT5_INVALID_ARG'],
  [
    'plain object where a tensor is expected',
    () => raw.clone({ shape: [1] }),
    /must be a Tensor/,
    'EXT5_INVALID_ARG',
  ],
  ['a made-up handle number', () => raw.clone(123456789), /must be a Tensor/, 'EXT5_INVALID_ARG'],
  [
    'handle 2^24 (slot 0, first generation)',
    () => {
      zeros([1]);
      raw.clone(2 ** 24);
    },
    /must be a Tensor/,
    'EXT5_INVALID_ARG',
  ],
  [
    "the first-generation number of a live tensor's slot",
    () => {
      const t = zeros([1]);
      raw.clone(2 ** 24 + (t.handle % 2 ** 24));
    },
    /must be a Tensor/,
    'EXT5_INVALID_ARG',
  ],
  [
    'a live handle plus one generation',
    () => {
      const t = zeros([1]);
      raw.clone(t.handle + 2 ** 24);
    },
    /must be a Tensor/,
    'EXT5_INVALID_ARG',
  ],
  [
    'a disposed raw handle',
    () => {
      const h = raw.zeros([1]);
      raw.dispose(h);
      raw.clone(h);
    },
    /disposed/,
    'EXT5_DISPOSED',
  ],
  // NaN is a float value (full([2], NaN) is a float32 tensor of NaN), but no integer.
  ['NaN fill of an integer tensor', () => raw.full([2], Number.NaN, 'int64'), /NaN/, 'EXT5_VALUE'],
  ['NaN as an integer argument', () => raw.manualSeed(Number.NaN), /integer/, 'EXT5_INVALID_ARG'],
  ['seed of wrong type', () => raw.manualSeed('7'), /integer/, 'EXT5_INVALID_ARG'],
  ['thread count out of range', () => raw.setNumThreads(0), /between 1 and 1024/, 'EXT5_INVALID_ARG'],
  ['arange with zero step', () => arange(0, 5, 0), /step must not be 0/, 'EXT5_INVALID_ARG'],
  [
    'async tidy',
    () => {
      const { tidy } = require('../../lib/tensor/tensor');
      tidy(async () => zeros([1]));
    },
    /async/,
    'EXT5_INVALID_ARG',
  ],
];

describe('misuse throws a clear error and the process lives on', () => {
  test('there are at least 30 kinds of misuse', () => {
    expect(cases.length).toBeGreaterThanOrEqual(30);
  });

  test.each(cases)('%s', (_name, fn, message, code) => {
    let caught: unknown;
    try {
      fn();
    } catch (e) {
      caught = e;
    }
    expect(caught).toBeDefined();
    const err = caught as Error & { code?: string };
    expect(err.message).toMatch(message);
    // A clean message: no C++ backtrace or source locations.
    expect(err.message).not.toMatch(/Exception raised from|frame #\d|\.cpp:\d+/);
    if (typeof code === 'string') expect(err.code).toBe(code);
    else expect(err.code).toMatch(code);
  });

  test('the addon still computes after all of the above', () => {
    expect(t22().matmul(t22()).sum().item()).toBe(54);
  });

  test('async errors reject with a code instead of crashing', async () => {
    await expect(t22().matmulAsync(zeros([3, 3]))).rejects.toMatchObject({ code: 'EXT5_SHAPE' });
  });
});
