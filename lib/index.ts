/**
 * ext5's public API. Tensors, models and optimizers load libtorch on first use; everything else
 * (tasks, mixtures, text processing, metrics) works without it.
 */
export { type AddonName, type AddonOrigin, addonOrigin, isAddonLoaded, loadAddon } from './native/loader';
export { defaultThreads, type TorchInfo } from './native/torch';
export {
  allclose,
  arange,
  cat,
  type Device,
  type DType,
  fromTypedArray,
  full,
  getNumThreads,
  keep,
  manualSeed,
  memory,
  type NestedArray,
  noGrad,
  ones,
  rand,
  randn,
  setNumThreads,
  stack,
  Tensor,
  type TensorOptions,
  tensor,
  tidy,
  where,
  zeros,
} from './tensor/tensor';
export { closestName, didYouMean, Ext5Error } from './util/errors';
