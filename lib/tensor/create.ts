/**
 * Creating tensors (tensor, fromTypedArray, zeros, ones, full, rand, randn, arange), the free
 * functions over them (cat, stack, where, allclose, noGrad) and the runtime's settings (manualSeed,
 * memory, threads). The Tensor class is lib/tensor/tensor_class.ts; lib/tensor/tensor.ts is the
 * face of both.
 */
import {
  type DeviceMemory,
  type DType,
  type NativeTypedArray,
  type TensorHandle,
  torch,
} from '../native/torch';
import { Ext5Error } from '../util/errors';
import {
  MAX_DIMS,
  type NestedInput,
  type Scalar,
  Tensor,
  type TensorLike,
  type TensorOptions,
  tensorArg,
} from './tensor_class';

type Element = Scalar | bigint;

function inferNested(data: NestedInput): { shape: number[]; flat: Element[] } {
  const shape: number[] = [];
  let probe: NestedInput = data;
  while (Array.isArray(probe)) {
    // Bounded before the recursive walk below, which a 100,000-deep array would overflow.
    if (shape.length === MAX_DIMS) {
      throw new Ext5Error('EXT5_SHAPE', `tensor data is nested more than ${MAX_DIMS} levels deep`);
    }
    shape.push(probe.length);
    if (probe.length === 0) break;
    probe = probe[0]!;
  }
  const flat: Element[] = [];
  const walk = (v: NestedInput, d: number, path: string): void => {
    if (d === shape.length) {
      if (Array.isArray(v))
        throw new Ext5Error('EXT5_SHAPE', `ragged nested array: ${path} is deeper than the rest`);
      if (typeof v !== 'number' && typeof v !== 'boolean' && typeof v !== 'bigint') {
        throw new Ext5Error(
          'EXT5_INVALID_ARG',
          `tensor data ${path} must be a number or boolean (or a bigint), got ${typeof v}`,
        );
      }
      flat.push(v);
      return;
    }
    if (!Array.isArray(v) || v.length !== shape[d]) {
      throw new Ext5Error(
        'EXT5_SHAPE',
        `ragged nested array: ${path} should have ${shape[d]} elements like its siblings`,
        'every row of a nested array must have the same length',
      );
    }
    for (let i = 0; i < v.length; i++) walk(v[i]!, d + 1, `${path}[${i}]`);
  };
  walk(data, 0, 'data');
  return { shape, flat };
}

const INTEGER_DTYPES: ReadonlySet<DType> = new Set(['int64', 'int32', 'int16', 'int8', 'uint8']);

/**
 * Creates a tensor from nested arrays, a typed array (1-D unless `shape` is given) or a number.
 * Like PyTorch, integers default to int64, other numbers to float32, booleans to bool; bigints
 * make int64. A value that an integer dtype cannot hold exactly (3e9 as int32, 1.5, NaN,
 * Infinity, 2n ** 70n) throws EXT5_VALUE: values are never wrapped or rounded.
 *
 * @example
 * tensor([[1, 2], [3, 4]]).dtype;               // 'int64'
 * tensor([0.5, 1.5], { device: 'cpu' }).dtype;  // 'float32'
 * tensor(new Float32Array(6), { shape: [2, 3] }).shape; // [2, 3]
 */
export function tensor(
  data: NestedInput | NativeTypedArray,
  opts: TensorOptions & { shape?: number[] } = {},
): Tensor {
  if (ArrayBuffer.isView(data)) {
    return fromTypedArray(data as NativeTypedArray, opts.shape ?? [(data as NativeTypedArray).length], opts);
  }
  if (opts === null || typeof opts !== 'object') {
    throw new Ext5Error('EXT5_INVALID_ARG', 'tensor() options must be an object ({dtype, device, shape})');
  }
  const { shape, flat } = inferNested(data);
  const kinds = new Set(flat.map((v) => typeof v));
  if (kinds.size > 1) {
    throw new Ext5Error('EXT5_INVALID_ARG', `tensor data mixes ${[...kinds].join(' and ')} values`);
  }
  const allBool = kinds.has('boolean');
  const allBig = kinds.has('bigint');
  const allInt = !allBool && (allBig || flat.every((v) => Number.isInteger(v)));
  const dtype: DType = opts.dtype ?? (allBool ? 'bool' : allInt && flat.length > 0 ? 'int64' : 'float32');
  let ta: NativeTypedArray;
  if (allBool) ta = Uint8Array.from(flat, (v) => (v ? 1 : 0));
  else if (allBig) {
    ta = BigInt64Array.from(flat as bigint[], (v, i) => {
      if (BigInt.asIntN(64, v) !== v) {
        throw new Ext5Error(
          'EXT5_VALUE',
          `tensor data [${i}] = ${v} is outside the range of int64; values are never wrapped`,
        );
      }
      return v;
    });
  }
  // Integer dtypes get float64 (exact for every JS number): the addon checks that each value
  // fits the dtype exactly (native/torch/common.cc CheckFitsInteger) instead of wrapping it.
  else if (dtype === 'float64' || INTEGER_DTYPES.has(dtype) || dtype === 'bool')
    ta = Float64Array.from(flat as number[]);
  else ta = Float32Array.from(flat as number[]);
  return fromTypedArray(ta, opts.shape ?? shape, { ...opts, dtype });
}

/** Creates a tensor from a typed array and a shape (the data is copied). */
export function fromTypedArray(data: NativeTypedArray, shape: number[], opts: TensorOptions = {}): Tensor {
  // Compare by tag, not instanceof: typed arrays may come from another realm (vm, jest, workers).
  if (Object.prototype.toString.call(data) === '[object Uint16Array]') {
    if (opts.dtype !== 'float16' && opts.dtype !== 'bfloat16') {
      throw new Ext5Error(
        'EXT5_INVALID_ARG',
        'a Uint16Array holds raw float16/bfloat16 bits: pass dtype "float16" or "bfloat16"',
      );
    }
    return Tensor.fromHandle(torch().fromHalfBits(data as Uint16Array, shape, opts.dtype, opts.device));
  }
  return Tensor.fromHandle(torch().fromTypedArray(data, shape, opts.dtype, opts.device));
}

export function zeros(shape: number[], opts: TensorOptions = {}): Tensor {
  return Tensor.fromHandle(torch().zeros(shape, opts.dtype, opts.device));
}
export function ones(shape: number[], opts: TensorOptions = {}): Tensor {
  return Tensor.fromHandle(torch().ones(shape, opts.dtype, opts.device));
}
export function full(shape: number[], value: Scalar, opts: TensorOptions = {}): Tensor {
  return Tensor.fromHandle(torch().full(shape, value, opts.dtype, opts.device));
}
/** Uniform [0, 1) samples from libtorch's generator (seed it with manualSeed). */
export function rand(shape: number[], opts: TensorOptions = {}): Tensor {
  return Tensor.fromHandle(torch().rand(shape, opts.dtype, opts.device));
}
/** Standard normal samples from libtorch's generator (seed it with manualSeed). */
export function randn(shape: number[], opts: TensorOptions = {}): Tensor {
  return Tensor.fromHandle(torch().randn(shape, opts.dtype, opts.device));
}
/** `arange(end)` or `arange(start, end, step)`; integer arguments give int64 like PyTorch. */
export function arange(startOrEnd: number, end?: number, step = 1, opts: TensorOptions = {}): Tensor {
  const [s, e] = end === undefined ? [0, startOrEnd] : [startOrEnd, end];
  return Tensor.fromHandle(torch().arange(s, e, step, opts.dtype, opts.device));
}
/** Seeds libtorch's global generator (rand, randn, dropout, model initialisation). */
export function manualSeed(seed: number): void {
  torch().manualSeed(seed);
}
export function cat(tensors: Tensor[], dim = 0): Tensor {
  return Tensor.fromHandle(torch().cat(handles(tensors), dim));
}
export function stack(tensors: Tensor[], dim = 0): Tensor {
  return Tensor.fromHandle(torch().stack(handles(tensors), dim));
}
/** Elements of `a` where `condition` (a bool tensor) holds, else of `b`. */
export function where(condition: Tensor, a: TensorLike, b: TensorLike): Tensor {
  tensorArg(condition, 'where: condition');
  const mask = (a instanceof Tensor ? 0 : 1) | (b instanceof Tensor ? 0 : 2);
  return Tensor.fromHandle(
    torch().where(condition._h, a instanceof Tensor ? a._h : a, b instanceof Tensor ? b._h : b, mask),
  );
}
/** True when both have the same shape and |a - b| <= atol + rtol * |b| everywhere. */
export function allclose(a: Tensor, b: Tensor, rtol = 1e-5, atol = 1e-8): boolean {
  return torch().allclose(tensorArg(a, 'allclose: a')._h, tensorArg(b, 'allclose: b')._h, rtol, atol);
}

function handles(ts: Tensor[]): TensorHandle[] {
  if (!Array.isArray(ts)) throw new Ext5Error('EXT5_INVALID_ARG', 'expected an array of Tensors');
  return ts.map((t, i) => {
    if (!(t instanceof Tensor)) throw new Ext5Error('EXT5_INVALID_ARG', `tensors[${i}] must be a Tensor`);
    return t._h;
  });
}

/**
 * Runs `fn` with gradient tracking off (inference, parameter updates). Synchronous only:
 * libtorch's grad mode is per thread and would not follow an `await`.
 */
export function noGrad<T>(fn: () => T): T {
  const t = torch();
  const prev = t.setGradEnabled(false);
  try {
    const r = fn();
    if (r instanceof Promise) {
      throw new Ext5Error(
        'EXT5_INVALID_ARG',
        'noGrad() got an async function; grad mode cannot follow `await`',
      );
    }
    return r;
  } finally {
    t.setGradEnabled(prev);
  }
}

// ---- runtime ---------------------------------------------------------------------------------

/**
 * Live tensor handles and their bytes, per device; the handles (and bytes) released so far because
 * their Tensor was garbage-collected rather than disposed; CUDA allocator figures when available.
 */
export function memory(): Record<string, DeviceMemory> {
  return torch().memory();
}

/** Sets libtorch's intra-op thread count (default: EXT5_NUM_THREADS or all available cores). */
export function setNumThreads(n: number): void {
  torch().setNumThreads(n);
}
export function getNumThreads(): number {
  return torch().getNumThreads();
}
