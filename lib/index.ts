/**
 * ext5's public API. Tensors, models, optimizers and process groups load libtorch on first use;
 * tasks, mixtures, text processing and metrics work without it (the SentencePiece vocabulary
 * loads its own small addon).
 *
 * @example
 * import { T5ForConditionalGeneration, Adafactor, TaskRegistry, metrics } from 'ext5';
 */

// The declarations use Node's types (streams, NodeJS.*, Symbol.dispose) and @types/node is a
// dependency: this keeps it in a user's program even when their tsconfig lists other `types`.
/// <reference types="node" preserve="true" />

export { readRecords } from './data/sources';
// ---- distributed ----
export * as ddp from './ddp';
export { aggregateBenchmark, BENCHMARKS, formatBenchmarkTable } from './eval/aggregate';
export { evaluateTask, scoreOutputs, type TaskEvalResult } from './eval/evaluator';
export * as metrics from './eval/metrics';
export * as safetensors from './io/safetensors';
export {
  fromPretrained,
  loadOptimizerState,
  readCheckpointConfig,
  savePretrained,
} from './model/hf_checkpoint';
export {
  type ArrayInput,
  type GenerateOptions,
  type ScoreOutput,
  type T5Batch,
  T5ForConditionalGeneration,
  type T5Output,
} from './model/t5';
// ---- model, checkpoints, optimizer ----
export { type T5Config, validateConfig } from './model/t5_config';
export { preset, presetNames } from './model/t5_presets';
// ---- tensors and the native layer ----
export { type AddonName, type AddonOrigin, addonOrigin, isAddonLoaded, loadAddon } from './native/loader';
export { defaultThreads, type TorchInfo } from './native/torch';
export { accumulateGradients } from './optim/accumulate';
export { Adafactor, type AdafactorOptions, clipGradNorm, gradNorm, scaleGrads } from './optim/adafactor';
export * as schedules from './optim/schedules';
export * as report from './report';
// ---- training, evaluation, reports ----
export { loadRunConfig, type RunConfig, resolveRunConfig } from './run/run_config';
export * as tasks from './tasks';
export { Mixture } from './tasks/mixture';
export { getProvider, MixtureRegistry, TaskRegistry } from './tasks/registry';
export { MixtureSampler } from './tasks/sampler';
export { type Example, Task } from './tasks/task';
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
// ---- text, data, tasks ----
export * as text from './text';
export { SentencePieceVocabulary } from './text/vocabulary';
export { TrainingPipeline } from './train/pipeline';
export { type TrainResult, train } from './train/trainer';

// ---- utilities ----
export { closestName, didYouMean, Ext5Error } from './util/errors';
export { Progress } from './util/progress';
export { Rng } from './util/rng';
