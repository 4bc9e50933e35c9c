/**
 * The typed contract of the torch addon's tensor and runtime exports (native/torch/tensor_ops.cc,
 * runtime.cc, common.cc). Model, optimizer and distributed exports have their own contracts
 * beside this file. Everything here validates its arguments natively and throws errors with a
 * `code`; nothing here should ever crash the process.
 */
import * as os from 'node:os';
import { Ext5Error } from '../util/errors';
import { loadAddon } from './loader';

/**
 * The native handle of one at::Tensor: a number indexing the addon's tensor table (slot and
 * generation). Cheap to create, and checked on every use, so a disposed or made-up handle is an
 * error, never a crash. Code that receives raw handles from native calls must wrap them with
 * `Tensor.fromHandle()` (which disposes them when garbage-collected) or dispose them itself.
 */
export type TensorHandle = number;

/** A tensor argument of a native call: a raw handle or the TS Tensor (which keeps its handle in `_h`). */
export type TensorArg = TensorHandle | { readonly _h: TensorHandle };

/** The dtype names libtorch tensors have in ext5 (native/torch/common.cc ParseDtype reads them). */
export const DTYPES = Object.freeze([
  'float32',
  'float64',
  'float16',
  'bfloat16',
  'int64',
  'int32',
  'int16',
  'int8',
  'uint8',
  'bool',
] as const);
export type DType = (typeof DTYPES)[number];

/** The dtypes a model may compute in (T5 activations overflow in float16). */
export type ComputeDtype = Extract<DType, 'float32' | 'bfloat16'>;

export type NativeTypedArray =
  | Float32Array
  | Float64Array
  | Int32Array
  | BigInt64Array
  | Uint8Array
  | Int8Array
  | Int16Array
  | Uint16Array;

/** What `info()` reports: libtorch version and location, parallelism, CUDA. */
export interface TorchInfo {
  torchVersion: string;
  torchVersionMajor: number;
  torchVersionMinor: number;
  buildPrefix: string;
  libtorchPath: string;
  addonPath: string;
  config: string;
  parallelInfo: string;
  numThreads: number;
  numInteropThreads: number;
  hasOpenMP: boolean;
  hasMKL: boolean;
  hasMKLDNN: boolean;
  hasLAPACK: boolean;
  cudaAvailable: boolean;
  cudaCompiled: boolean;
  cudaDeviceCount: number;
  cudaDevices: { index: number; name: string; totalMemory: number; capability: string }[];
}

export interface DeviceMemory {
  tensors: number;
  bytes: number;
  /**
   * Handles released since start because their Tensor was garbage-collected instead of disposed
   * (and their bytes). `tensors + collectedTensors` changes only when code creates or disposes
   * tensors, whenever garbage collection happens to run.
   */
  collectedTensors: number;
  collectedBytes: number;
  allocatorAllocated?: number;
  allocatorReserved?: number;
}

type H = TensorHandle;
type Scalar = number | boolean;

export type UnaryOp =
  | 'neg'
  | 'abs'
  | 'exp'
  | 'log'
  | 'sqrt'
  | 'rsqrt'
  | 'tanh'
  | 'sigmoid'
  | 'relu'
  | 'gelu'
  | 'geluTanh'
  | 'square'
  | 'floor'
  | 'ceil'
  | 'round'
  | 'logicalNot'
  | 'isnan'
  | 'isfinite';
export type BinaryOp =
  | 'add'
  | 'sub'
  | 'mul'
  | 'div'
  | 'pow'
  | 'maximum'
  | 'minimum'
  | 'eq'
  | 'ne'
  | 'lt'
  | 'le'
  | 'gt'
  | 'ge'
  | 'logicalAnd'
  | 'logicalOr';

type UnaryFns = { [K in UnaryOp]: (t: TensorHandle) => TensorHandle };
type BinaryFns = {
  [K in BinaryOp]: (a: TensorHandle, b: TensorHandle | number | boolean, bIsScalar?: boolean) => TensorHandle;
};

export interface TorchAddon extends UnaryFns, BinaryFns {
  dispose(t: H): boolean;
  isLive(t: H): boolean;
  shapeOf(t: H): number[];
  dtypeOf(t: H): string;
  deviceOf(t: H): string;
  requiresGradOf(t: H): boolean;
  numelOf(t: H): number;
  /** [0] is 1 when the last handle made wants watch() (a large CPU tensor). */
  watchFlag(): Int32Array;
  /** Weakly references the Tensor owning `t`: collected, it frees `t` even in synchronous code. */
  watch(t: H, owner: object): void;
  /** dispose() for a Tensor that was garbage-collected: also counted in memory()'s collected figures. */
  disposeCollected(t: H): boolean;

  info(): TorchInfo;
  setNumThreads(n: number): void;
  getNumThreads(): number;
  memory(): Record<string, DeviceMemory>;
  /** libtorch's default CPU generator state as a uint8 tensor (dropout, rand, init). */
  getRngState(): H;
  setRngState(state: H): void;

  fromTypedArray(data: NativeTypedArray, shape: number[], dtype?: string, device?: string): H;
  fromHalfBits(
    data: Uint16Array,
    shape: number[],
    dtype: Extract<DType, 'float16' | 'bfloat16'>,
    device?: string,
  ): H;
  toTypedArray(t: H, raw?: boolean): NativeTypedArray;
  item(t: H): number | boolean;
  zeros(shape: number[], dtype?: string, device?: string): H;
  ones(shape: number[], dtype?: string, device?: string): H;
  empty(shape: number[], dtype?: string, device?: string): H;
  rand(shape: number[], dtype?: string, device?: string): H;
  randn(shape: number[], dtype?: string, device?: string): H;
  full(shape: number[], value: Scalar, dtype?: string, device?: string): H;
  arange(start: number, end: number, step: number, dtype?: string, device?: string): H;
  manualSeed(seed: number): void;
  to(t: H, dtype?: string | null, device?: string | null): H;

  matmul(a: H, b: H): H;
  matmulAsync(a: H, b: H): Promise<H>;
  reduce(op: string, t: H, dims?: number | number[] | null, keepdim?: boolean): H;
  softmax(t: H, dim: number): H;
  logSoftmax(t: H, dim: number): H;
  reshape(t: H, shape: number[]): H;
  view(t: H, shape: number[]): H;
  transpose(t: H, dim0: number, dim1: number): H;
  permute(t: H, dims: number[]): H;
  slice(t: H, dim: number, start?: number | null, end?: number | null, step?: number): H;
  indexSelect(t: H, dim: number, index: H): H;
  gather(t: H, dim: number, index: H): H;
  cat(ts: H[], dim?: number): H;
  stack(ts: H[], dim?: number): H;
  where(cond: H, a: H | Scalar, b: H | Scalar, scalarMask?: number): H;
  clone(t: H): H;
  detach(t: H): H;
  contiguous(t: H): H;
  allclose(a: H, b: H, rtol?: number, atol?: number): boolean;

  setRequiresGrad(t: H, flag: boolean): void;
  backward(t: H, gradient?: H): void;
  grad(t: H): H | null;
  zeroGrad(t: H): void;
  setGradEnabled(enabled: boolean): boolean;
  isGradEnabled(): boolean;
}

let cached: TorchAddon | undefined;

/**
 * The torch addon, loaded on first use. Also sets libtorch's intra-op thread count once:
 * Debian's libtorch defaults to 1 thread on small machines, so ext5 uses `EXT5_NUM_THREADS`
 * or, failing that, all available cores.
 */
export function torch(): TorchAddon {
  if (cached) return cached;
  const addon = loadAddon<TorchAddon>('torch');
  addon.setNumThreads(defaultThreads());
  cached = addon;
  return addon;
}

/** EXT5_NUM_THREADS when set (must be a positive integer), else os.availableParallelism(). */
export function defaultThreads(): number {
  const env = process.env.EXT5_NUM_THREADS;
  if (env !== undefined && env !== '') {
    const n = Number(env);
    if (!Number.isInteger(n) || n < 1) {
      throw new Ext5Error('EXT5_CONFIG', `EXT5_NUM_THREADS must be a positive integer, got '${env}'`);
    }
    return n;
  }
  return os.availableParallelism();
}
