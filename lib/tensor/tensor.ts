/**
 * Tensors over libtorch, for scripting and tests. Hot paths (model forward/backward, optimizer
 * steps, decoding) use coarse native calls instead; see lib/model and lib/optim.
 *
 * Memory is explicit: call `dispose()` (or use `using t = …`), or run code in `tidy()`, which
 * disposes every tensor created inside it except those it returns. Garbage collection releases
 * forgotten tensors too, but later and without a guarantee of when.
 *
 * @example
 * import { tensor, tidy } from 'ext5';
 * const y = tidy(() => tensor([[1, 2], [3, 4]]).matmul(tensor([[1], [1]])));
 * y.data(); // Float32Array [3, 7]
 * y.dispose();
 */
import {
  type BinaryOp,
  type DeviceMemory,
  type DType,
  type NativeTypedArray,
  type TensorHandle,
  torch,
  type UnaryOp,
} from '../native/torch';
import { Ext5Error } from '../util/errors';

export type { DType };
export type Device = 'cpu' | 'cuda' | `cuda:${number}`;

export interface TensorOptions {
  dtype?: DType;
  device?: Device;
}

/** Nested arrays of numbers or booleans, e.g. `[[1, 2], [3, 4]]`. */
export type NestedArray = number | boolean | NestedArray[];
/** What tensor() reads: nested numbers, booleans or bigints (int64). */
export type NestedInput = number | boolean | bigint | NestedInput[];

type Scalar = number | boolean;
type TensorLike = Tensor | Scalar;

/** The most dimensions a tensor may have (native/torch/tensor_ops.cc Shape() allows 16 too). */
const MAX_DIMS = 16;

/** `o` as a Tensor, or EXT5_INVALID_ARG naming the argument (instead of a TypeError on `o._h`). */
function tensorArg(o: unknown, name: string): Tensor {
  if (o instanceof Tensor) return o;
  throw new Ext5Error(
    'EXT5_INVALID_ARG',
    `${name} must be a Tensor, got ${o === null ? 'null' : Array.isArray(o) ? 'an array' : typeof o}`,
    'create one with tensor(...)',
  );
}

// ---- scopes ---------------------------------------------------------------------------------

const scopes: Set<Tensor>[] = [];

function track(t: Tensor): Tensor {
  const top = scopes[scopes.length - 1];
  if (top) top.add(t);
  return t;
}

function collectTensors(value: unknown, into: Set<Tensor>, depth = 0): void {
  if (depth > 8 || value === null || typeof value !== 'object') return;
  if (value instanceof Tensor) {
    into.add(value);
    return;
  }
  if (Array.isArray(value)) {
    for (const v of value) collectTensors(v, into, depth + 1);
    return;
  }
  if (value instanceof Map) {
    for (const v of value.values()) collectTensors(v, into, depth + 1);
    return;
  }
  if (Object.getPrototypeOf(value) === Object.prototype) {
    for (const v of Object.values(value)) collectTensors(v, into, depth + 1);
  }
}

/**
 * Runs `fn` and disposes every tensor created while it ran, except the tensors it returns
 * (alone, or inside arrays, Maps and plain objects) and those passed to `keep()`. Returned
 * tensors move to the enclosing scope. `fn` must be synchronous: scopes cannot follow `await`.
 *
 * @example
 * const loss = tidy(() => logits.logSoftmax(-1).mul(-1).mean()); // intermediates are freed
 */
export function tidy<T>(fn: () => T): T {
  const scope = new Set<Tensor>();
  scopes.push(scope);
  let result: T;
  try {
    result = fn();
  } catch (e) {
    scopes.pop();
    for (const t of scope) t.dispose();
    throw e;
  }
  scopes.pop();
  if (result instanceof Promise) {
    for (const t of scope) t.dispose();
    throw new Ext5Error(
      'EXT5_INVALID_ARG',
      'tidy() got an async function; scopes cannot follow `await`',
      'dispose tensors explicitly (or with `using`) in async code, or call tidy() inside each synchronous part',
    );
  }
  const keepSet = new Set<Tensor>();
  collectTensors(result, keepSet);
  const parent = scopes[scopes.length - 1];
  for (const t of scope) {
    if (keepSet.has(t) || t.kept) {
      parent?.add(t);
    } else {
      t.dispose();
    }
  }
  return result;
}

/** Marks a tensor so that the enclosing `tidy()` does not dispose it. Returns it. */
export function keep<T extends Tensor>(t: T): T {
  t.kept = true;
  return t;
}

// ---- the Tensor class -------------------------------------------------------------------------

function normDims(dim: number | number[] | undefined): number | number[] | null {
  return dim === undefined ? null : dim;
}

// The safety net: a Tensor that is garbage-collected without dispose() releases its handle.
// Handles carry a generation, so releasing one that was already disposed is a no-op.
const finalizer = new FinalizationRegistry<TensorHandle>((h) => {
  try {
    torch().disposeCollected(h);
  } catch {
    // the addon is gone (process exit); nothing to release
  }
});

let watchFlag: Int32Array | undefined;
function initWatchFlag(): Int32Array {
  watchFlag = torch().watchFlag();
  return watchFlag;
}

/** A handle to one libtorch tensor. */
export class Tensor implements Disposable {
  /** @internal The native handle; native calls also accept the Tensor itself. */
  readonly _h: TensorHandle;
  /** @internal Set by keep(). */
  kept = false;

  private constructor(h: TensorHandle) {
    this._h = h;
  }

  /**
   * Takes ownership of a raw handle returned by the addon (model outputs, parameters…): the
   * tensor joins the current tidy() scope and is released when garbage-collected.
   */
  static fromHandle(h: TensorHandle): Tensor {
    const t = new Tensor(h);
    finalizer.register(t, h, t);
    // A large CPU tensor also gets a weak reference natively, so that it is released even inside
    // a synchronous loop, where finalizers cannot run (native/torch/common.cc, kWatchBytes).
    const flag = watchFlag ?? initWatchFlag();
    if (flag[0] !== 0) torch().watch(h, t);
    return track(t);
  }

  /** The native handle, for passing to coarse native calls. */
  get handle(): TensorHandle {
    return this._h;
  }
  get shape(): number[] {
    return torch().shapeOf(this._h);
  }
  get dtype(): DType {
    return torch().dtypeOf(this._h) as DType;
  }
  get device(): Device {
    return torch().deviceOf(this._h) as Device;
  }
  /** Number of dimensions. */
  get ndim(): number {
    return this.shape.length;
  }
  /** Number of elements. */
  get numel(): number {
    return torch().numelOf(this._h);
  }
  get disposed(): boolean {
    return !torch().isLive(this._h);
  }
  get requiresGrad(): boolean {
    return torch().requiresGradOf(this._h);
  }
  set requiresGrad(flag: boolean) {
    torch().setRequiresGrad(this._h, flag);
  }

  /** Frees the tensor's memory now (if no other tensor shares it). Idempotent. */
  dispose(): void {
    if (torch().dispose(this._h)) finalizer.unregister(this);
  }
  [Symbol.dispose](): void {
    this.dispose();
  }

  // ---- reading back ----
  /** A copy of the elements as a typed array (float16/bfloat16 read back as Float32Array). */
  data(): NativeTypedArray {
    return torch().toTypedArray(this._h);
  }
  /** Raw element bits (float16/bfloat16 as Uint16Array), e.g. for checkpoint writers. */
  rawData(): NativeTypedArray {
    return torch().toTypedArray(this._h, true);
  }
  /** Nested JS arrays of numbers (int64 converted to number) or booleans. */
  toArray(): NestedArray {
    const flat = this.data();
    const isBool = this.dtype === 'bool';
    const values: Scalar[] = Array.from(flat as ArrayLike<number | bigint>, (v) =>
      isBool ? v !== 0 : Number(v),
    );
    const shape = this.shape;
    if (shape.length === 0) return values[0]!;
    let i = 0;
    const build = (d: number): NestedArray[] => {
      const out: NestedArray[] = [];
      for (let k = 0; k < shape[d]!; k++) out.push(d === shape.length - 1 ? values[i++]! : build(d + 1));
      return out;
    };
    return build(0);
  }
  /** The value of a one-element tensor. */
  item(): number | boolean {
    return torch().item(this._h);
  }

  /** A copy converted to another dtype and/or device. */
  to(target: DType | Device | TensorOptions): Tensor {
    let opts: TensorOptions;
    if (target === null || (typeof target !== 'string' && typeof target !== 'object')) {
      throw new Ext5Error(
        'EXT5_INVALID_ARG',
        `to() needs a dtype, a device or {dtype, device}, got ${target === null ? 'null' : typeof target}`,
      );
    }
    if (typeof target === 'string') {
      opts =
        target === 'cpu' || target.startsWith('cuda')
          ? { device: target as Device }
          : { dtype: target as DType };
    } else {
      opts = target;
    }
    return wrap(torch().to(this._h, opts.dtype ?? null, opts.device ?? null));
  }

  // ---- elementwise ----
  add(o: TensorLike): Tensor {
    return this.bin('add', o);
  }
  sub(o: TensorLike): Tensor {
    return this.bin('sub', o);
  }
  mul(o: TensorLike): Tensor {
    return this.bin('mul', o);
  }
  div(o: TensorLike): Tensor {
    return this.bin('div', o);
  }
  pow(o: TensorLike): Tensor {
    return this.bin('pow', o);
  }
  maximum(o: TensorLike): Tensor {
    return this.bin('maximum', o);
  }
  minimum(o: TensorLike): Tensor {
    return this.bin('minimum', o);
  }
  eq(o: TensorLike): Tensor {
    return this.bin('eq', o);
  }
  ne(o: TensorLike): Tensor {
    return this.bin('ne', o);
  }
  lt(o: TensorLike): Tensor {
    return this.bin('lt', o);
  }
  le(o: TensorLike): Tensor {
    return this.bin('le', o);
  }
  gt(o: TensorLike): Tensor {
    return this.bin('gt', o);
  }
  ge(o: TensorLike): Tensor {
    return this.bin('ge', o);
  }
  logicalAnd(o: TensorLike): Tensor {
    return this.bin('logicalAnd', o);
  }
  logicalOr(o: TensorLike): Tensor {
    return this.bin('logicalOr', o);
  }
  private bin(op: BinaryOp, o: TensorLike): Tensor {
    const t = torch();
    if (!(o instanceof Tensor) && typeof o !== 'number' && typeof o !== 'boolean') tensorArg(o, op);
    return wrap(o instanceof Tensor ? t[op](this._h, o._h) : t[op](this._h, o, true));
  }

  neg(): Tensor {
    return this.un('neg');
  }
  abs(): Tensor {
    return this.un('abs');
  }
  exp(): Tensor {
    return this.un('exp');
  }
  log(): Tensor {
    return this.un('log');
  }
  sqrt(): Tensor {
    return this.un('sqrt');
  }
  rsqrt(): Tensor {
    return this.un('rsqrt');
  }
  tanh(): Tensor {
    return this.un('tanh');
  }
  sigmoid(): Tensor {
    return this.un('sigmoid');
  }
  relu(): Tensor {
    return this.un('relu');
  }
  /** GELU; `approximate: 'tanh'` is T5.1.1's gelu_new. */
  gelu(approximate: 'none' | 'tanh' = 'none'): Tensor {
    if (approximate !== 'none' && approximate !== 'tanh') {
      throw new Ext5Error(
        'EXT5_INVALID_ARG',
        `gelu approximate must be 'none' or 'tanh', got ${JSON.stringify(approximate)}`,
      );
    }
    return this.un(approximate === 'tanh' ? 'geluTanh' : 'gelu');
  }
  square(): Tensor {
    return this.un('square');
  }
  floor(): Tensor {
    return this.un('floor');
  }
  ceil(): Tensor {
    return this.un('ceil');
  }
  round(): Tensor {
    return this.un('round');
  }
  logicalNot(): Tensor {
    return this.un('logicalNot');
  }
  isnan(): Tensor {
    return this.un('isnan');
  }
  isfinite(): Tensor {
    return this.un('isfinite');
  }
  private un(op: UnaryOp): Tensor {
    return wrap(torch()[op](this._h));
  }

  // ---- linear algebra ----
  matmul(o: Tensor): Tensor {
    return wrap(torch().matmul(this._h, tensorArg(o, 'matmul: other')._h));
  }
  /** matmul on a worker thread; the JS thread stays free while it runs. */
  async matmulAsync(o: Tensor): Promise<Tensor> {
    return wrap(await torch().matmulAsync(this._h, tensorArg(o, 'matmulAsync: other')._h));
  }

  // ---- reductions ----
  sum(dim?: number | number[], keepdim = false): Tensor {
    return wrap(torch().reduce('sum', this._h, normDims(dim), keepdim));
  }
  mean(dim?: number | number[], keepdim = false): Tensor {
    return wrap(torch().reduce('mean', this._h, normDims(dim), keepdim));
  }
  prod(dim?: number, keepdim = false): Tensor {
    return wrap(torch().reduce('prod', this._h, normDims(dim), keepdim));
  }
  std(dim?: number | number[], keepdim = false): Tensor {
    return wrap(torch().reduce('std', this._h, normDims(dim), keepdim));
  }
  var(dim?: number | number[], keepdim = false): Tensor {
    return wrap(torch().reduce('var', this._h, normDims(dim), keepdim));
  }
  logsumexp(dim: number | number[], keepdim = false): Tensor {
    return wrap(torch().reduce('logsumexp', this._h, dim, keepdim));
  }
  max(dim?: number, keepdim = false): Tensor {
    return wrap(torch().reduce('max', this._h, normDims(dim), keepdim));
  }
  min(dim?: number, keepdim = false): Tensor {
    return wrap(torch().reduce('min', this._h, normDims(dim), keepdim));
  }
  argmax(dim?: number, keepdim = false): Tensor {
    return wrap(torch().reduce('argmax', this._h, normDims(dim), keepdim));
  }
  argmin(dim?: number, keepdim = false): Tensor {
    return wrap(torch().reduce('argmin', this._h, normDims(dim), keepdim));
  }
  softmax(dim: number): Tensor {
    return wrap(torch().softmax(this._h, dim));
  }
  logSoftmax(dim: number): Tensor {
    return wrap(torch().logSoftmax(this._h, dim));
  }

  // ---- shape ----
  reshape(shape: number[]): Tensor {
    return wrap(torch().reshape(this._h, shape));
  }
  view(shape: number[]): Tensor {
    return wrap(torch().view(this._h, shape));
  }
  flatten(): Tensor {
    return this.reshape([-1]);
  }
  unsqueeze(dim: number): Tensor {
    if (!Number.isInteger(dim)) {
      throw new Ext5Error(
        'EXT5_INVALID_ARG',
        `unsqueeze dim must be an integer, got ${typeof dim === 'string' ? JSON.stringify(dim) : String(dim)}`,
      );
    }
    const s = this.shape;
    const d = dim < 0 ? dim + s.length + 1 : dim;
    if (d < 0 || d > s.length) {
      throw new Ext5Error('EXT5_INDEX', `unsqueeze dim ${dim} is out of range for ${s.length} dimension(s)`);
    }
    return this.reshape([...s.slice(0, d), 1, ...s.slice(d)]);
  }
  transpose(dim0: number, dim1: number): Tensor {
    return wrap(torch().transpose(this._h, dim0, dim1));
  }
  permute(dims: number[]): Tensor {
    return wrap(torch().permute(this._h, dims));
  }
  /** Elements `start` (inclusive) to `end` (exclusive) along `dim`, every `step`. */
  slice(dim: number, start?: number, end?: number, step = 1): Tensor {
    return wrap(torch().slice(this._h, dim, start ?? null, end ?? null, step));
  }
  indexSelect(dim: number, index: Tensor): Tensor {
    return wrap(torch().indexSelect(this._h, dim, tensorArg(index, 'indexSelect: index')._h));
  }
  gather(dim: number, index: Tensor): Tensor {
    return wrap(torch().gather(this._h, dim, tensorArg(index, 'gather: index')._h));
  }
  clone(): Tensor {
    return wrap(torch().clone(this._h));
  }
  detach(): Tensor {
    return wrap(torch().detach(this._h));
  }
  contiguous(): Tensor {
    return wrap(torch().contiguous(this._h));
  }

  // ---- autograd ----
  /** Accumulates gradients into the leaves that require grad. Scalar tensors need no gradient. */
  backward(gradient?: Tensor): void {
    torch().backward(
      this._h,
      gradient === undefined ? undefined : tensorArg(gradient, 'backward: gradient')._h,
    );
  }
  /** The accumulated gradient, or null. A new handle each call: dispose it when done. */
  get grad(): Tensor | null {
    const g = torch().grad(this._h);
    return g === null ? null : wrap(g);
  }
  zeroGrad(): void {
    torch().zeroGrad(this._h);
  }

  toString(): string {
    if (this.disposed) return 'Tensor(disposed)';
    return `Tensor(shape=[${this.shape.join(', ')}], dtype=${this.dtype}, device=${this.device})`;
  }
}

function wrap(h: TensorHandle): Tensor {
  return Tensor.fromHandle(h);
}

// ---- creation ---------------------------------------------------------------------------------

type Element = Scalar | bigint;

function inferNested(data: NestedInput): { shape: number[]; flat: Element[] } {
  const shape: number[] = [];
  let probe: NestedInput = data;
  while (Array.isArray(probe)) {
    // Bounded before the recursive walk below: a 100,000-deep array overflowed the stack.
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
    return wrap(torch().fromHalfBits(data as Uint16Array, shape, opts.dtype, opts.device));
  }
  return wrap(torch().fromTypedArray(data, shape, opts.dtype, opts.device));
}

export function zeros(shape: number[], opts: TensorOptions = {}): Tensor {
  return wrap(torch().zeros(shape, opts.dtype, opts.device));
}
export function ones(shape: number[], opts: TensorOptions = {}): Tensor {
  return wrap(torch().ones(shape, opts.dtype, opts.device));
}
export function full(shape: number[], value: Scalar, opts: TensorOptions = {}): Tensor {
  return wrap(torch().full(shape, value, opts.dtype, opts.device));
}
/** Uniform [0, 1) samples from libtorch's generator (seed it with manualSeed). */
export function rand(shape: number[], opts: TensorOptions = {}): Tensor {
  return wrap(torch().rand(shape, opts.dtype, opts.device));
}
/** Standard normal samples from libtorch's generator (seed it with manualSeed). */
export function randn(shape: number[], opts: TensorOptions = {}): Tensor {
  return wrap(torch().randn(shape, opts.dtype, opts.device));
}
/** `arange(end)` or `arange(start, end, step)`; integer arguments give int64 like PyTorch. */
export function arange(startOrEnd: number, end?: number, step = 1, opts: TensorOptions = {}): Tensor {
  const [s, e] = end === undefined ? [0, startOrEnd] : [startOrEnd, end];
  return wrap(torch().arange(s, e, step, opts.dtype, opts.device));
}
/** Seeds libtorch's global generator (rand, randn, dropout, model initialisation). */
export function manualSeed(seed: number): void {
  torch().manualSeed(seed);
}
export function cat(tensors: Tensor[], dim = 0): Tensor {
  return wrap(torch().cat(handles(tensors), dim));
}
export function stack(tensors: Tensor[], dim = 0): Tensor {
  return wrap(torch().stack(handles(tensors), dim));
}
/** Elements of `a` where `condition` (a bool tensor) holds, else of `b`. */
export function where(condition: Tensor, a: TensorLike, b: TensorLike): Tensor {
  tensorArg(condition, 'where: condition');
  const mask = (a instanceof Tensor ? 0 : 1) | (b instanceof Tensor ? 0 : 2);
  return wrap(
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
