/**
 * ext5's public API. Tensors, models, optimizers and process groups load libtorch on first use;
 * tasks, mixtures, text processing and metrics work without it (the SentencePiece vocabulary
 * loads its own small addon).
 *
 * The exports come in blocks, one per area. Each block's header comment stands alone (a blank line
 * follows it): biome's import sorting treats such a comment as a boundary and sorts only inside each
 * block, so the headers stay over the exports they describe. Keep that blank line.
 *
 * @example
 * import { T5ForConditionalGeneration, Adafactor, TaskRegistry, metrics } from 'ext5';
 */

// The declarations use Node's types (streams, NodeJS.*, Symbol.dispose) and @types/node is a
// dependency: this keeps it in a user's program even when their tsconfig lists other `types`.
/// <reference types="node" preserve="true" />

// ---- tensors and the native layer ----

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

// ---- the T5 model and its checkpoints ----

export * as safetensors from './io/safetensors';
export { type T5FlopConfig, type T5FlopCount, type T5FlopShape, t5Flops } from './model/flops';
export {
  fromPretrained,
  fromPretrainedAsync,
  type HubModelOptions,
  loadOptimizerState,
  readCheckpointConfig,
  savePretrained,
  writeTokenizerFiles,
} from './model/hf_checkpoint';
export {
  type ArrayInput,
  type GenerateOptions,
  type PredictOptions,
  type ScoreOutput,
  type T5Batch,
  T5ForConditionalGeneration,
  type T5LabelledBatch,
  type T5LossOutput,
  type T5Output,
  type TextVocabulary,
} from './model/t5';
export { type T5Config, validateConfig } from './model/t5_config';
export { preset, presetNames } from './model/t5_presets';

// ---- optimizer and learning-rate schedules ----

export { accumulateGradients } from './optim/accumulate';
export { Adafactor, type AdafactorOptions, clipGradNorm, gradNorm, scaleGrads } from './optim/adafactor';
export * as schedules from './optim/schedules';

// ---- text, data sources, tasks and mixtures ----

export { readRecords } from './data/sources';
export * as tasks from './tasks';
export { Mixture } from './tasks/mixture';
export { getProvider, MixtureRegistry, TaskRegistry } from './tasks/registry';
export { MixtureSampler } from './tasks/sampler';
export { type Example, Task } from './tasks/task';
export * as text from './text';
export { fetchVocabulary, loadVocabulary, vocabularyPath } from './text/vocab_names';
export { SentencePieceVocabulary } from './text/vocabulary';

// ---- training runs: configuration, data pipeline, loop ----

export { loadRunConfig, type RunConfig, resolveRunConfig } from './run/run_config';
export { TrainingPipeline } from './train/pipeline';
export { type TrainResult, train } from './train/trainer';

// ---- evaluation, metrics and reports ----

export { aggregateBenchmark, BENCHMARKS, formatBenchmarkTable } from './eval/aggregate';
export { evaluateTask, scoreOutputs, type TaskEvalResult } from './eval/evaluator';
export * as metrics from './eval/metrics';
export * as report from './report';

// ---- the Hugging Face Hub: models, vocabularies and datasets in huggingface_hub's cache ----

export * as hub from './hub';

// ---- data-parallel training (c10d) ----

export * as ddp from './ddp';

// ---- utilities ----

export { closestName, didYouMean, Ext5Error } from './util/errors';
export { Progress } from './util/progress';
export { Rng } from './util/rng';
