/**
 * Tensors over libtorch, for scripting and tests. Hot paths (model forward/backward, optimizer
 * steps, decoding) use coarse native calls instead; see lib/model and lib/optim.
 *
 * Memory is explicit: call `dispose()` (or use `using t = …`), or run code in `tidy()`, which
 * disposes every tensor created inside it except those it returns. Garbage collection releases
 * forgotten tensors too, but later and without a guarantee of when.
 *
 * This module is the face of lib/tensor: the Tensor class and its scopes live in tensor_class.ts,
 * the creation and free functions in create.ts (which imports the class, never the reverse).
 *
 * @example
 * import { tensor, tidy } from 'ext5';
 * const y = tidy(() => tensor([[1, 2], [3, 4]]).matmul(tensor([[1], [1]])));
 * y.data(); // Float32Array [3, 7]
 * y.dispose();
 */
export {
  allclose,
  arange,
  cat,
  fromTypedArray,
  full,
  getNumThreads,
  manualSeed,
  memory,
  noGrad,
  ones,
  rand,
  randn,
  setNumThreads,
  stack,
  tensor,
  where,
  zeros,
} from './create';
export {
  type Device,
  type DType,
  keep,
  type NestedArray,
  type NestedInput,
  Tensor,
  type TensorOptions,
  tidy,
} from './tensor_class';
