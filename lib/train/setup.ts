/**
 * Everything a training run builds before its first step, built once: the vocabulary, the run
 * directory, what to resume from, the model, the optimizer, the schedule, the data pipeline and
 * the metric writers. The loop in lib/train/trainer.ts only uses them.
 */
import * as path from 'node:path';
import { broadcastParameters, checkSameWorldSize } from '../ddp/data_parallel';
import type { ProcessGroup } from '../ddp/process_group';
import { loadOptimizerState } from '../model/hf_checkpoint';
import type { T5ForConditionalGeneration } from '../model/t5';
import { torch } from '../native/torch';
import { Adafactor } from '../optim/adafactor';
import { makeSchedule, type Schedule } from '../optim/schedules';
import { loadRunVocabulary, type RunVocabulary, runModel } from '../run/assemble';
import type { RunConfig } from '../run/config_keys';
import { adafactorOptions, pipelineOptions, rankRows, scheduleSpec } from '../run/derive';
import { MetricsWriter } from '../run/metrics_log';
import { readTrainerState, resolveResume, type TrainerState } from '../run/run_checkpoints';
import { createRunDir, type RunDir, runDirPaths } from '../run/run_dir';
import { TensorBoardWriter } from '../run/tensorboard';
import { rngStateFromBase64 } from '../tensor/rng_state';
import { Progress } from '../util/progress';
import { type PipelineState, TrainingPipeline } from './pipeline';

/** Where the loop's progress goes (the `progressStream` of TrainHooks). */
export type ProgressStream = NonNullable<ConstructorParameters<typeof Progress>[0]>['stream'];

/** A training run's parts, built by {@link setUpTraining}; `dispose` frees the native ones. */
export interface TrainingSetup {
  c: RunConfig;
  pg: ProcessGroup | null;
  rank: number;
  world: number;
  /** Rank 0 writes logs and checkpoints and evaluates. */
  lead: boolean;
  /** Rows of this rank's micro-batch. */
  rankRows: number;
  vocab: RunVocabulary;
  dirs: RunDir;
  /** The checkpoint resumed from, and its trainer state. */
  resumeFrom: string | undefined;
  resumed: TrainerState | undefined;
  model: T5ForConditionalGeneration;
  optimizer: Adafactor;
  schedule: Schedule;
  pipeline: TrainingPipeline;
  /** This rank's pipeline position at the start (after the resumed checkpoint's last batch). */
  pipelineState: PipelineState;
  progress: Progress;
  /** Writes one row of values to metrics.jsonl and TensorBoard (rank 0 only). */
  log(step: number, split: string, values: Record<string, number>): void;
  dispose(): void;
}

/** Builds a run's parts from its config; resumes model, optimizer, pipeline and RNG when asked. */
export async function setUpTraining(
  c: RunConfig,
  runDirPath: string,
  pg: ProcessGroup | null,
  progressStream?: ProgressStream,
): Promise<TrainingSetup> {
  const t = torch();
  const rank = pg?.rank ?? 0;
  const world = pg?.worldSize ?? 1;
  const lead = rank === 0;
  const shard = pg ? { rank, worldSize: world } : undefined;
  const rows = rankRows(c, world); // checks the split before anything is loaded
  const disposers: (() => void)[] = [];
  try {
    const vocab = loadRunVocabulary(c);
    disposers.push(() => vocab.dispose());
    const dirs: RunDir = lead
      ? createRunDir(runDirPath, c, {
          ifExists: 'resume',
          libtorchVersion: t.info().torchVersion,
          threads: t.getNumThreads(),
        })
      : runDirPaths(runDirPath);
    const resumeFrom = resolveResume(c.checkpoint.resume, dirs.checkpointsDir);
    const resumed = resumeFrom ? readTrainerState(resumeFrom) : undefined;
    if (resumed && pg) checkSameWorldSize(resumed.worldSize, world);
    else if (resumed && resumed.worldSize > 1) checkSameWorldSize(resumed.worldSize, 1);
    const model = runModel(c, vocab.vocabSize, resumeFrom);
    disposers.push(() => model.dispose());
    model.train();
    if (pg) {
      const ps = model.parameters();
      await broadcastParameters(pg, ps);
      for (const p of ps) p.dispose();
    }
    const optimizer = new Adafactor(model, adafactorOptions(c));
    disposers.push(() => optimizer.dispose());
    if (resumeFrom) loadOptimizerState(resumeFrom, optimizer);
    const mine =
      resumed?.ranks?.[rank] ?? (resumed ? { pipeline: resumed.pipeline, rng: resumed.rng } : undefined);
    if (mine) rngStateFromBase64(mine.rng);
    const pipeline = new TrainingPipeline(pipelineOptions(c, 'train', { vocab, shard }));
    if (mine) pipeline.setState(mine.pipeline);
    const metrics = lead
      ? MetricsWriter.open(dirs.metricsPath, { resumeStep: resumed?.step ?? 0 })
      : undefined;
    disposers.push(() => metrics?.close());
    const tb = lead && c.logging.tensorboard ? new TensorBoardWriter(dirs.eventsDir) : undefined;
    disposers.push(() => tb?.close());
    const progress = new Progress({
      label: path.basename(dirs.root),
      total: c.training.steps,
      start: resumed?.step ?? 0,
      unitName: 'steps',
      mode: c.logging.progress && lead ? 'auto' : 'silent',
      stream: progressStream,
    });
    return {
      c,
      pg,
      rank,
      world,
      lead,
      rankRows: rows,
      vocab,
      dirs,
      resumeFrom,
      resumed,
      model,
      optimizer,
      schedule: makeSchedule(scheduleSpec(c), 'optimizer.schedule'),
      pipeline,
      pipelineState: mine?.pipeline ?? pipeline.getState(),
      progress,
      log(step, split, values) {
        metrics?.write(step, split, values);
        tb?.addScalars(step, split, values);
      },
      dispose: () => disposeAll(disposers),
    };
  } catch (e) {
    disposeAll(disposers);
    throw e;
  }
}

/** Runs the disposers newest first (the writers close before the model and vocabulary go). */
function disposeAll(disposers: (() => void)[]): void {
  for (const d of disposers.reverse()) d();
  disposers.length = 0;
}
