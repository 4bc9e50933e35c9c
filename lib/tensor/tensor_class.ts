/**
 * The Tensor class and its memory scopes (tidy, keep): a handle to one libtorch tensor, its
 * operations, and the safety net that releases forgotten handles. The creation functions and the
 * free functions are lib/tensor/create.ts; lib/tensor/tensor.ts is the face of both.
 */
import {
  type BinaryOp,
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

/** A number or boolean operand. */
export type Scalar = number | boolean;
/** A tensor or a scalar operand. */
export type TensorLike = Tensor | Scalar;

/** The most dimensions a tensor may have (native/torch/tensor_ops.cc Shape() allows 16 too). */
export const MAX_DIMS = 16;

/** `o` as a Tensor, or EXT5_INVALID_ARG naming the argument (instead of a TypeError on `o._h`). */
export function tensorArg(o: unknown, name: string): Tensor {
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
