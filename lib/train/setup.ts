/**
 * Everything a training run builds before its first step, built once: the vocabulary, the run
 * directory, what to resume from, the model, the optimizer, the schedule, the data pipeline and
 * the metric writers. The loop in lib/train/trainer.ts only uses them.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { broadcastParameters, rankDevice } from '../ddp/data_parallel';
import type { ProcessGroup } from '../ddp/process_group';
import type { T5ForConditionalGeneration } from '../model/t5';
import { torch } from '../native/torch';
import type { Adafactor } from '../optim/adafactor';
import { makeSchedule, type Schedule } from '../optim/schedules';
import type { RunConfig } from '../run/config_keys';
import { checkRunnable, rankRows, scheduleSpec } from '../run/derive';
import { MetricsWriter } from '../run/metrics_log';
import type { ModelSpec } from '../run/model_source';
import { getPath, validateRunConfig } from '../run/run_config';
import { createRunDir, RUN_FILES, type RunDir, runDirPaths } from '../run/run_dir';
import { TensorBoardWriter } from '../run/tensorboard';
import { rngStateFromBase64 } from '../tensor/rng_state';
import { Ext5Error } from '../util/errors';
import { Progress } from '../util/progress';
import { fetchRunInputs, loadRunVocabulary, type RunVocabulary } from './assemble';
import type { TrainerState } from './checkpoint_save';
import { type PipelineState, TrainingPipeline } from './pipeline';
import { pipelineOptions } from './pipeline_options';
import { checkRunDirReuse, loadStartingPoint, resumeCandidates, type SkippedCheckpoint } from './resume';
import { ShardedStep } from './sharding';

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
  /** Newer checkpoints that resume passed over because they could not be loaded. */
  skipped: SkippedCheckpoint[];
  model: T5ForConditionalGeneration;
  /** Over the parameters this rank owns (`sharded.layout`; all of them with training.sharding none). */
  optimizer: Adafactor;
  /** The per-step work of training.sharding other than 'none' in a data-parallel run (and its layout); else null. */
  sharded: ShardedStep | null;
  schedule: Schedule;
  pipeline: TrainingPipeline;
  /** This rank's pipeline position at the start (after the resumed checkpoint's last batch). */
  pipelineState: PipelineState;
  progress: Progress;
  /** Writes one row of values to metrics.jsonl and TensorBoard (rank 0 only). */
  log(step: number, split: string, values: Record<string, number>): void;
  dispose(): void;
}

// The config keys that choose the training sampler's tasks and rates, with the flags that set them.
const SAMPLER_KEYS: ReadonlyArray<[key: string, flags: string]> = [
  ['data.mixtureOrTask', '--mixture, or --task for finetune'],
  ['mixture.R', '-R'],
  ['mixture.K', '-K'],
  ['mixture.temperature', '--temperature'],
];

/**
 * The sampler refused the resumed checkpoint's state (BAD_SAMPLER_STATE: it was saved over other
 * tasks): the same error, naming the sampler keys whose values differ from those the checkpoint's
 * run started with (its run directory's config.json), and how to resume or start anew.
 */
function samplerMismatch(e: unknown, c: RunConfig, resumeFrom: string | undefined): unknown {
  if (!(e instanceof Ext5Error) || e.code !== 'BAD_SAMPLER_STATE' || resumeFrom === undefined) return e;
  const runConfig = path.join(path.dirname(path.dirname(path.resolve(resumeFrom))), RUN_FILES.config);
  let old: RunConfig | undefined;
  try {
    old = validateRunConfig(JSON.parse(fs.readFileSync(runConfig, 'utf8')), runConfig);
  } catch {
    old = undefined; // not in a run directory, or its config.json is from another version: say what is known
  }
  const show = (v: unknown) => (typeof v === 'string' ? v : JSON.stringify(v));
  const diffs = SAMPLER_KEYS.map(([key, flags]) => ({
    key,
    flags,
    was: getPath(old, key),
    now: getPath(c, key),
  })).filter((d) => old !== undefined && JSON.stringify(d.was) !== JSON.stringify(d.now));
  let detail = '';
  if (diffs.length > 0)
    detail = ` The run started with ${diffs.map((d) => `${d.key}=${show(d.was)}`).join(', ')}; this start gives ${diffs
      .map((d) => `${d.key}=${show(d.now)} (${d.flags})`)
      .join(', ')}.`;
  else if (old)
    detail = ` Its run (${runConfig}) started with these same settings: the mixture's definition changed since.`;
  const same = diffs.map((d) => `--set ${d.key}=${show(d.was)}`).join(' ');
  return new Ext5Error(
    'BAD_SAMPLER_STATE',
    `cannot resume ${resumeFrom}: ${e.message}.${detail}`,
    `resume with the settings the run started with${same ? ` (${same})` : ''}; or train the new mixture in a new run directory (--run-dir NEW_DIR), starting from this checkpoint's weights with --set model.checkpoint=${resumeFrom} if wanted`,
  );
}

/**
 * Builds a run's parts from its config; resumes model, optimizer, pipeline and RNG when asked.
 * `modelSpec` is model.checkpoint as the caller already parsed it (parseModelSpec), if it did.
 */
export async function setUpTraining(
  given: RunConfig,
  runDirPath: string,
  pg: ProcessGroup | null,
  progressStream?: ProgressStream,
  modelSpec?: ModelSpec,
): Promise<TrainingSetup> {
  const t = torch();
  const rank = pg?.rank ?? 0;
  const world = pg?.worldSize ?? 1;
  const lead = rank === 0;
  const shard = pg ? { rank, worldSize: world } : undefined;
  checkRunnable(given);
  const rows = rankRows(given, world); // checks the split before anything is loaded
  const disposers: (() => void)[] = [];
  try {
    const inputs = await fetchRunInputs(given, pg, modelSpec);
    const vocab = loadRunVocabulary(given);
    disposers.push(() => vocab.dispose());
    // Nothing in the run directory changes until everything the run needs has loaded: a refused
    // or failed start leaves it (config.json, env.json, checkpoints) as it was, or uncreated.
    const paths = runDirPaths(runDirPath);
    const candidates = resumeCandidates(given.checkpoint.resume, paths.checkpointsDir);
    // With NCCL, training.device 'cuda' is this rank's GPU; the run's config keeps what was asked.
    const device = rankDevice(given.training.device, pg);
    const placed =
      device === given.training.device ? given : { ...given, training: { ...given.training, device } };
    const { resumeFrom, resumed, skipped, model, optimizer, layout, base } = loadStartingPoint(
      placed,
      candidates,
      vocab.vocabSize,
      world,
      pg !== null,
      inputs.model,
      rank,
    );
    // model.checkpoint naming a run directory: config.json records the checkpoint actually loaded.
    const c: RunConfig =
      base && base.checkpoint !== given.model.checkpoint
        ? { ...given, model: { ...given.model, checkpoint: base.checkpoint } }
        : given;
    disposers.push(() => model.dispose());
    disposers.push(() => optimizer.dispose());
    model.train();
    if (pg) {
      const ps = model.parameters();
      await broadcastParameters(pg, ps);
      for (const p of ps) p.dispose();
    }
    const sharded = pg ? ShardedStep.setUp(pg, model, layout) : null;
    disposers.push(() => sharded?.dispose());
    // A data stream's position is a position in its rank's shard of the records (r, r + N, ...):
    // with another world size (allowed for sharded checkpoints and runs) no saved position fits a
    // new rank, so every rank's stream and generator start afresh, as in a new run.
    const sameWorld = resumed === undefined || (resumed.worldSize ?? 1) === world;
    const mine = !sameWorld
      ? undefined
      : (resumed?.ranks?.[rank] ?? (resumed ? { pipeline: resumed.pipeline, rng: resumed.rng } : undefined));
    if (mine) rngStateFromBase64(mine.rng);
    const pipeline = new TrainingPipeline(pipelineOptions(c, 'train', { vocab, shard }));
    if (mine) {
      try {
        pipeline.setState(mine.pipeline);
      } catch (e) {
        throw samplerMismatch(e, c, resumeFrom);
      }
    }
    if (lead) checkRunDirReuse(given, paths, resumed?.step ?? 0, resumeFrom, inputs.model);
    // The run has started: from here on its directory is written.
    const dirs: RunDir = lead
      ? createRunDir(runDirPath, c, {
          ifExists: 'resume',
          libtorchVersion: t.info().torchVersion,
          threads: t.getNumThreads(),
        })
      : paths;
    if (lead) {
      for (const s of skipped)
        process.stderr.write(`ext5: passed over the damaged checkpoint ${s.dir}: ${s.reason}\n`);
      for (const s of base?.passed ?? [])
        process.stderr.write(`ext5: passed over the checkpoint ${s.dir}: ${s.reason}\n`);
      if (resumeFrom && resumed)
        process.stderr.write(`ext5: resumed from step ${resumed.step} (${resumeFrom})\n`);
      if (resumed && !sameWorld) {
        process.stderr.write(
          `ext5: the checkpoint was saved by ${resumed.worldSize} process(es) and this run has ${world}: ` +
            'the model, optimizer state, step, schedule and counters continue (re-sharded by parameter); ' +
            "each rank's data stream starts afresh from the beginning of its shard\n",
        );
      }
    }
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
      skipped,
      model,
      optimizer,
      sharded,
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
