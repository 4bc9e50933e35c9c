/**
 * The data pipeline's options of a run, derived in one place for training and for the validation
 * loss: the trainer and the benchmarks build their TrainingPipeline from these instead of
 * translating config keys themselves.
 *
 * @example
 * pipelineOptions(cfg, 'validation', { vocab }); // eval split, seed + 1, the run's noise
 */
import type { RunConfig } from '../run/config_keys';
import { batchRows, rankRows } from '../run/derive';
import { trainingMixture } from './assemble';
import type { PipelineOptions, PipelineVocabulary } from './pipeline';

/** Where a pipeline's batches go: one data-parallel rank of `worldSize` (default: the only one). */
export interface PipelineParts {
  vocab: PipelineVocabulary;
  shard?: { rank: number; worldSize: number };
}

/**
 * The data pipeline's options of a run. `train` reads data.trainSplit, one rank's share of each
 * micro-batch, seeded with training.seed; `validation` (the validation loss, computed on one
 * process) reads data.evalSplit, whole micro-batches, seeded with training.seed + 1 so it never
 * replays the training stream. Both corrupt spans with the run's data.noiseDensity and
 * data.meanNoiseSpanLength and pack as data.pack says.
 */
export function pipelineOptions(
  c: RunConfig,
  which: 'train' | 'validation',
  parts: PipelineParts,
): PipelineOptions {
  const train = which === 'train';
  const shard = train ? parts.shard : undefined;
  return {
    mixture: trainingMixture(c),
    vocab: parts.vocab,
    split: train ? c.data.trainSplit : c.data.evalSplit,
    inputsLength: c.data.inputsLength,
    targetsLength: c.data.targetsLength,
    batchSize: shard ? rankRows(c, shard.worldSize) : batchRows(c).microBatchRows,
    pack: c.data.pack,
    noiseDensity: c.data.noiseDensity,
    meanNoiseSpanLength: c.data.meanNoiseSpanLength,
    seed: train ? c.training.seed : c.training.seed + 1,
    dataDir: c.data.dataDir ?? undefined,
    ...(shard ? { shard } : {}),
  };
}
