/**
 * The training loop (pre-training and fine-tuning), in the spirit of nanoT5: one screen of loop
 * with `maybe*` helpers, everything else set up around it.
 *
 *   mixture → tokenize → span corruption / trim → pack → features  (TrainingPipeline, prefetched)
 *   → async native forward+backward (× gradient accumulation) → clip → Adafactor(lr(step))
 *   → log / validate / evaluate / checkpoint
 *
 * The next batch is prepared on the JS thread (and the tokenizer's threads) while libtorch runs
 * forward and backward on a worker thread. Resuming restores the model, the optimizer, the
 * data-pipeline position and libtorch's generator, so a resumed run on CPU reproduces the
 * uninterrupted run's losses exactly.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { allReduceGradients, broadcastParameters, checkSameWorldSize } from '../ddp/data_parallel';
import type { ProcessGroup } from '../ddp/process_group';
import { benchmarkReport, evaluateTask, type TaskEvalResult } from '../eval/evaluator';
import { fromPretrained, loadOptimizerState, readCheckpointConfig } from '../model/hf_checkpoint';
import { T5ForConditionalGeneration } from '../model/t5';
import { type T5Config, validateConfig } from '../model/t5_config';
import { preset, presetNames } from '../model/t5_presets';
import { torch } from '../native/torch';
import { Adafactor, clipGradNorm, gradNorm } from '../optim/adafactor';
import { makeSchedule, type Schedule } from '../optim/schedules';
import { MetricsWriter } from '../run/metrics_log';
import {
  checkpointName,
  listCheckpoints,
  readTrainerState,
  resolveResume,
  saveCheckpoint,
  type TrainerState,
} from '../run/run_checkpoints';
import { adafactorOptions, batchRows, type RunConfig, resolveThreads, scheduleSpec } from '../run/run_config';
import { createRunDir, type RunDir, runDirPaths } from '../run/run_dir';
import { TensorBoardWriter } from '../run/tensorboard';
import { DEFAULT_K, DEFAULT_R, exmixMixture, ext5PretrainMixture } from '../tasks/exmix';
import { Mixture } from '../tasks/mixture';
import { MixtureRegistry, TaskRegistry } from '../tasks/registry';
import type { Task } from '../tasks/task';
import { fromTypedArray } from '../tensor/tensor';
import { loadVocabulary } from '../text/vocab_names';
import { didYouMean, Ext5Error } from '../util/errors';
import { Progress } from '../util/progress';
import {
  batchToModelInputs,
  inputTokens,
  type PipelineState,
  type PipelineVocabulary,
  TrainingPipeline,
  targetTokens,
} from './pipeline';

export interface TrainResult {
  runDir: string;
  step: number;
  stoppedBy: 'done' | 'signal';
  lastLoss: number | null;
  lastCheckpoint: string | undefined;
  evals: Record<string, Record<string, number>>;
}

export interface TrainHooks {
  /** Called after each logged interval (for tests and embedding). */
  onLog?: (step: number, values: Record<string, number>) => void;
  /** Where progress goes (default stderr; silent when config.logging.progress is false). */
  progressStream?: NonNullable<ConstructorParameters<typeof Progress>[0]>['stream'];
  /** Install SIGINT/SIGTERM handlers that finish the step, save and stop (default true). */
  handleSignals?: boolean;
}

type Vocab = PipelineVocabulary & {
  encodeBatchAsync(t: string[]): Promise<Int32Array[]>;
  decode(ids: readonly number[]): string;
  dispose(): void;
};

/** The model a config asks for: a checkpoint, a preset name, or a config.json path. */
export function buildModel(c: RunConfig, vocabSize: number): T5ForConditionalGeneration {
  const device = c.training.device;
  const computeDtype = c.training.dtype; // bf16 compute keeps float32 master weights
  let model: T5ForConditionalGeneration;
  if (c.model.checkpoint) {
    model = fromPretrained(c.model.checkpoint, { device, computeDtype });
  } else {
    const base = resolveModelConfig(c.model.config);
    const overrides: Record<string, unknown> = {};
    if (c.model.vocabSize !== null) overrides.vocab_size = c.model.vocabSize;
    if (c.training.dropout !== null) overrides.dropout_rate = c.training.dropout;
    model = new T5ForConditionalGeneration(
      { ...base, ...overrides },
      { device, seed: c.training.seed, computeDtype },
    );
  }
  if (model.config.vocab_size < vocabSize) {
    const size = model.config.vocab_size;
    model.dispose();
    throw new Ext5Error(
      'EXT5_VOCAB_SIZE',
      `the model's vocabulary (${size}) is smaller than the tokenizer's (${vocabSize} ids with sentinels)`,
      `set model.vocabSize to at least ${vocabSize} (a multiple of 128 such as ${Math.ceil(vocabSize / 128) * 128})`,
    );
  }
  return model;
}

/**
 * The mixture a config trains on, with mixture.R / K / temperature applied: `ext5_pretrain` and
 * `mini_ext5_pretrain` take R C4 examples per ExMix example; `exmix` takes K and temperature.
 */
export function trainingMixture(c: RunConfig): string | Mixture {
  const { R, K, temperature } = c.mixture;
  const name = c.data.mixtureOrTask;
  const defaults = R === DEFAULT_R && K === DEFAULT_K && temperature === 1;
  if (defaults) return name;
  if (name === 'ext5_pretrain') return ext5PretrainMixture({ R, K, temperature });
  if (name === 'exmix') return exmixMixture({ K, temperature, name: `exmix_k${K}` });
  if (name === 'mini_ext5_pretrain') {
    return new Mixture({
      name: `mini_ext5_pretrain_r${String(R).replace('.', 'p')}`,
      description: `mini C4 span corruption at R=${R} per mini-ExMix example + mini_exmix`,
      members: [
        ['mini_c4_span_corruption', R],
        ['mini_exmix', 1],
      ],
    });
  }
  return name;
}

/** A model config: a preset name, a config.json file, or a directory holding one. */
export function resolveModelConfig(spec: string): T5Config {
  if (presetNames().includes(spec)) return preset(spec);
  if (fs.existsSync(spec)) {
    const file = fs.statSync(spec).isDirectory() ? path.join(spec, 'config.json') : spec;
    let raw: unknown;
    try {
      raw = JSON.parse(fs.readFileSync(file, 'utf8'));
    } catch (e) {
      throw new Ext5Error(
        'EXT5_CONFIG',
        `${file}: not a readable JSON model config (${(e as Error).message})`,
      );
    }
    return validateConfig(raw, file);
  }
  throw new Ext5Error(
    'EXT5_CONFIG',
    `model.config '${spec}' is neither a preset nor a config.json path${didYouMean(spec, presetNames())}`,
    `presets: ${presetNames().join(', ')}`,
  );
}

/** The vocabulary of a run: data.vocabulary, else the first task's output features. */
export function runVocabularyName(c: RunConfig): string {
  if (c.data.vocabulary) return c.data.vocabulary;
  const name = c.data.mixtureOrTask;
  const provider = TaskRegistry.has(name)
    ? TaskRegistry.get(name)
    : MixtureRegistry.has(name)
      ? MixtureRegistry.get(name).resolve()[0]?.task
      : undefined;
  return provider?.outputFeatures.vocabulary ?? 't5';
}

/** Evaluation tasks named by eval.tasks: task names, mixture names or benchmark names. */
export function evalTasks(names: readonly string[]): Task[] {
  const out: Task[] = [];
  const byBenchmark: Record<string, string> = {
    superglue: 'superglue',
    gem: 'gem',
    rainbow: 'rainbow',
    cbqa: 'closed_book_qa_benchmark',
  };
  for (const n of names) {
    const m = byBenchmark[n] ?? n;
    if (MixtureRegistry.has(m))
      out.push(
        ...MixtureRegistry.get(m)
          .resolve()
          .map((r) => r.task),
      );
    else out.push(TaskRegistry.get(m));
  }
  return [...new Map(out.map((t) => [t.name, t])).values()];
}

function rngToBase64(): string {
  const t = torch();
  const h = t.getRngState();
  try {
    const bytes = t.toTypedArray(h) as Uint8Array;
    return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64');
  } finally {
    t.dispose(h);
  }
}

function rngFromBase64(b64: string): void {
  const bytes = new Uint8Array(Buffer.from(b64, 'base64'));
  const state = fromTypedArray(bytes, [bytes.length], { dtype: 'uint8' });
  try {
    torch().setRngState(state.handle);
  } finally {
    state.dispose();
  }
}

/** Runs (or resumes) a training run described by a resolved config. */
export async function train(c: RunConfig, runDirPath: string, hooks: TrainHooks = {}): Promise<TrainResult> {
  const t = torch();
  t.setNumThreads(resolveThreads(c));
  t.manualSeed(c.training.seed);
  // Data parallelism: a process group when started by `ext5 launch` / torchrun, else null.
  const { initFromEnv } = require('../ddp/process_group') as typeof import('../ddp/process_group');
  const pg: ProcessGroup | null = await initFromEnv({ device: c.training.device });
  const rank = pg?.rank ?? 0;
  const world = pg?.worldSize ?? 1;
  const lead = rank === 0; // rank 0 writes logs and checkpoints
  try {
    return await trainOnRank(c, runDirPath, hooks, pg, rank, world, lead);
  } finally {
    await pg?.destroy();
  }
}

async function trainOnRank(
  c: RunConfig,
  runDirPath: string,
  hooks: TrainHooks,
  pg: ProcessGroup | null,
  rank: number,
  world: number,
  lead: boolean,
): Promise<TrainResult> {
  const t = torch();
  const rows = batchRows(c);
  if (rows.microBatchRows % world !== 0) {
    throw new Ext5Error(
      'EXT5_CONFIG',
      `training.batchSize: ${rows.microBatchRows} rows per micro-batch do not split over ${world} processes`,
      `use a batch size divisible by ${world * rows.gradAccumulation}`,
    );
  }
  const rankRows = rows.microBatchRows / world;
  const vocab = loadVocabulary(runVocabularyName(c), c.data.dataDir ?? undefined) as unknown as Vocab;
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
  if (resumeFrom && !c.model.checkpoint) checkSameModel(c, resumeFrom);
  const model = resumeFrom
    ? fromPretrained(resumeFrom, { device: c.training.device, computeDtype: c.training.dtype })
    : buildModel(c, vocab.vocabSize);
  model.train();
  if (pg) {
    const ps = model.parameters();
    await broadcastParameters(pg, ps);
    for (const p of ps) p.dispose();
  }
  const optimizer = new Adafactor(model, adafactorOptions(c));
  if (resumeFrom) loadOptimizerState(resumeFrom, optimizer);
  const mine =
    resumed?.ranks?.[rank] ?? (resumed ? { pipeline: resumed.pipeline, rng: resumed.rng } : undefined);
  if (mine) rngFromBase64(mine.rng);
  const schedule: Schedule = makeSchedule(scheduleSpec(c), 'optimizer.schedule');
  const pipeline = new TrainingPipeline({
    mixture: trainingMixture(c),
    vocab,
    split: c.data.trainSplit,
    inputsLength: c.data.inputsLength,
    targetsLength: c.data.targetsLength,
    batchSize: rankRows,
    pack: c.data.pack,
    noiseDensity: c.data.noiseDensity,
    meanNoiseSpanLength: c.data.meanNoiseSpanLength,
    seed: c.training.seed,
    dataDir: c.data.dataDir ?? undefined,
    ...(pg ? { shard: { rank, worldSize: world } } : {}),
  });
  if (mine) pipeline.setState(mine.pipeline);

  const metrics = lead ? MetricsWriter.open(dirs.metricsPath, { resumeStep: resumed?.step ?? 0 }) : undefined;
  const tb = lead && c.logging.tensorboard ? new TensorBoardWriter(dirs.eventsDir) : undefined;
  const log = (step: number, split: string, values: Record<string, number>) => {
    metrics?.write(step, split, values);
    tb?.addScalars(step, split, values);
  };
  const progress = new Progress({
    label: path.basename(dirs.root),
    total: c.training.steps,
    start: resumed?.step ?? 0,
    unitName: 'steps',
    mode: c.logging.progress && lead ? 'auto' : 'silent',
    stream: hooks.progressStream,
  });

  let stopRequested = false;
  const onSignal = (sig: NodeJS.Signals) => {
    if (stopRequested) return;
    stopRequested = true;
    if (lead)
      process.stderr.write(
        `\next5: ${sig} received: finishing this step, saving a checkpoint, then stopping\n`,
      );
  };
  if (hooks.handleSignals !== false) {
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
  }

  let step = resumed?.step ?? 0;
  let elapsed = resumed?.elapsed ?? 0;
  let tokensSeen = resumed?.tokens ?? 0;
  let examplesSeen = resumed?.examples ?? 0;
  let pipelineState: PipelineState = mine?.pipeline ?? pipeline.getState();
  let lastCheckpoint = resumeFrom;
  let lastLoss: number | null = resumed?.lastLoss ?? null;
  let stopAgreed = false;
  let interval = { loss: 0, steps: 0, tokens: 0, examples: 0, seconds: 0 };
  const evals: Record<string, Record<string, number>> = {};

  const state = async (): Promise<TrainerState> => {
    const own = { pipeline: pipelineState, rng: rngToBase64() };
    const ranks = pg ? await pg.allGatherObject(own) : undefined;
    return {
      version: 1,
      step,
      pipeline: own.pipeline,
      rng: own.rng,
      elapsed,
      tokens: tokensSeen,
      examples: examplesSeen,
      worldSize: world,
      ...(ranks ? { ranks } : {}),
      lastLoss,
    };
  };

  const maybeLog = (lr: number, norm: number) => {
    if (step % c.logging.every !== 0 && step !== c.training.steps) return;
    lastLoss = interval.loss / interval.steps;
    const values = {
      loss: lastLoss,
      lr,
      grad_norm: norm,
      tokens_per_s: (interval.tokens * world) / interval.seconds,
      examples_per_s: (interval.examples * world) / interval.seconds,
      step_time: interval.seconds / interval.steps,
    };
    log(step, 'train', values);
    if (lead) hooks.onLog?.(step, values);
    interval = { loss: 0, steps: 0, tokens: 0, examples: 0, seconds: 0 };
  };

  const maybeEvaluate = async (force = false) => {
    if (!force && (c.eval.every <= 0 || step % c.eval.every !== 0)) return;
    if (lead) {
      // Rank 0 evaluates; the others wait for it at the barrier below.
      if (c.eval.lossBatches > 0) log(step, 'validation', { loss: await validationLoss(c, model, vocab) });
      const results: TaskEvalResult[] = [];
      for (const task of evalTasks(c.eval.tasks)) {
        const r = await evaluateTask(model, vocab, task, {
          split: c.eval.split,
          maxExamples: c.eval.maxExamples,
          batchSize: c.eval.batchSize ?? rankRows,
          decoding: c.eval.decoding,
          numBeams: c.eval.numBeams,
          lengthPenalty: c.eval.lengthPenalty,
          maxNewTokens: c.eval.maxNewTokens,
          rankClassification: c.eval.rankClassification,
          dataDir: c.data.dataDir ?? undefined,
        });
        results.push(r);
        evals[task.name] = r.metrics;
        log(step, `eval/${task.name}`, r.metrics);
      }
      for (const b of new Set(results.map((r) => r.benchmark).filter((x): x is string => !!x))) {
        const report = benchmarkReport(
          b,
          results.filter((r) => r.benchmark === b),
        );
        log(step, `eval/${b}`, { average: report.average });
      }
    }
    await pg?.barrier();
  };

  const maybeSave = async (force = false) => {
    if (!force && (c.checkpoint.every <= 0 || step % c.checkpoint.every !== 0)) return;
    if (lastCheckpoint?.endsWith(checkpointName(step))) return;
    const st = await state(); // every rank takes part in gathering the per-rank positions
    if (lead)
      lastCheckpoint = await saveCheckpoint(dirs.checkpointsDir, model, optimizer, st, c.checkpoint.keepLast);
    await pg?.barrier();
    if (!lead) lastCheckpoint = path.join(dirs.checkpointsDir, checkpointName(step));
  };

  // ---- the loop ----------------------------------------------------------------------------
  const accum = rows.gradAccumulation;
  const params = pg ? model.parameters() : [];
  let next = pipeline.next();
  next.catch(() => {}); // awaited below; a data error surfaces there, not as an unhandled rejection
  try {
    while (step < c.training.steps && !stopAgreed) {
      const t0 = performance.now();
      // Gather the step's micro-batches (the next one is prepared while the model computes).
      const micro = [];
      for (let m = 0; m < accum; m++) {
        const got = await next;
        next = pipeline.next();
        next.catch(() => {});
        micro.push(got);
      }
      // The loss is the mean over every target token of the step, on all ranks together, as
      // if it were one big batch: each micro-batch's mean is weighted by its share of tokens.
      let weight = micro.reduce((a, m) => a + targetTokens(m.batch), 0);
      if (pg) weight = await allReduceScalars(pg, [weight]).then((v) => v[0]!);
      let lossSum = 0;
      for (const { batch, state: after } of micro) {
        const w = targetTokens(batch);
        const out = await model.forwardBackwardAsync({
          ...batchToModelInputs(batch),
          zLoss: c.training.zLoss,
          labelSmoothing: c.training.labelSmoothing,
          gradScale: (w * world) / Math.max(1, weight), // × world: gradients are averaged over ranks
        });
        lossSum += (out.loss ?? 0) * w;
        interval.tokens += inputTokens(batch);
        interval.examples += batch.examples;
        pipelineState = after;
      }
      let loss = lossSum / Math.max(1, weight);
      if (pg) {
        // One collective agrees on the loss, on stopping (a signal on any rank) and on NaNs, so
        // no rank is left waiting in a later collective.
        const [sum, stops] = await allReduceScalars(pg, [lossSum, stopRequested ? 1 : 0]);
        loss = sum! / Math.max(1, weight);
        stopAgreed = stops! > 0;
        await allReduceGradients(pg, params);
      } else {
        stopAgreed = stopRequested;
      }
      const norm =
        c.training.gradClip > 0 ? clipGradNorm(optimizer, c.training.gradClip) : gradNorm(optimizer);
      if (!Number.isFinite(loss) || !Number.isFinite(norm))
        throw nonFinite(step + 1, loss, norm, lastCheckpoint);
      const lr = schedule(step);
      await optimizer.stepAsync(lr);
      optimizer.zeroGrad();
      step += 1;
      const dt = (performance.now() - t0) / 1000;
      elapsed += dt;
      tokensSeen += interval.tokens;
      interval.loss += loss;
      interval.steps += 1;
      interval.seconds += dt;
      examplesSeen = pipelineState.batches;
      progress.suffix = `loss ${loss.toFixed(3)}  lr ${lr.toExponential(1)}`;
      progress.update(step);
      maybeLog(lr, norm);
      await maybeEvaluate();
      await maybeSave();
    }
    // The final state is always evaluated and saved (unless those are turned off).
    if (!stopAgreed && c.eval.every > 0 && step % c.eval.every !== 0) await maybeEvaluate(true);
    if (stopAgreed || c.checkpoint.every > 0) await maybeSave(true);
    progress.done(stopAgreed ? `(stopped at step ${step})` : undefined);
    return {
      runDir: dirs.root,
      step,
      stoppedBy: stopAgreed ? 'signal' : 'done',
      lastLoss,
      lastCheckpoint,
      evals,
    };
  } finally {
    if (hooks.handleSignals !== false) {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
    }
    metrics?.close();
    tb?.close();
    for (const p of params) p.dispose();
    optimizer.dispose();
    model.dispose();
    vocab.dispose();
  }
}

/** Sums a few numbers across ranks (float64, one small collective). */
async function allReduceScalars(pg: ProcessGroup, values: number[]): Promise<number[]> {
  const buf = fromTypedArray(Float64Array.from(values), [values.length]);
  try {
    await pg.allReduce([buf], { op: 'sum' });
    return Array.from(buf.data() as Float64Array);
  } finally {
    buf.dispose();
  }
}

function nonFinite(step: number, loss: number, norm: number, lastCheckpoint: string | undefined): Ext5Error {
  return new Ext5Error(
    'EXT5_NAN_LOSS',
    `training diverged at step ${step}: loss ${loss}, gradient norm ${norm}; stopped without saving the bad state`,
    lastCheckpoint
      ? `the last good checkpoint is ${lastCheckpoint}: resume from it with a lower learning rate (optimizer.lr) or gradient clipping (training.gradClip)`
      : 'no checkpoint was written yet: lower the learning rate (optimizer.lr) or enable gradient clipping (training.gradClip) and start again',
  );
}

const SHAPE_KEYS = [
  'd_model',
  'd_kv',
  'd_ff',
  'num_layers',
  'num_decoder_layers',
  'num_heads',
  'vocab_size',
] as const;

/** Refuses to resume a checkpoint whose model differs in size from what the config asks for. */
function checkSameModel(c: RunConfig, checkpoint: string): void {
  const want = { ...resolveModelConfig(c.model.config) } as Record<string, unknown>;
  if (c.model.vocabSize !== null) want.vocab_size = c.model.vocabSize;
  const have = readCheckpointConfig(checkpoint) as unknown as Record<string, unknown>;
  const diffs = SHAPE_KEYS.filter(
    (k) => want[k] !== undefined && have[k] !== undefined && want[k] !== have[k],
  );
  if (diffs.length > 0) {
    throw new Ext5Error(
      'EXT5_CHECKPOINT_MISMATCH',
      `the checkpoint ${checkpoint} holds a model of another size than the config asks for (${diffs
        .map((k) => `${k}: checkpoint ${have[k]}, config ${want[k]}`)
        .join('; ')})`,
      'resume with the config the run started with (its run directory keeps it in config.json), or start a new run directory',
    );
  }
}

/** Mean loss over eval.lossBatches batches of the evaluation split (the same batches each time). */
export async function validationLoss(
  c: RunConfig,
  model: T5ForConditionalGeneration,
  vocab: PipelineVocabulary,
): Promise<number> {
  const p = new TrainingPipeline({
    mixture: trainingMixture(c),
    vocab,
    split: c.data.evalSplit,
    inputsLength: c.data.inputsLength,
    targetsLength: c.data.targetsLength,
    batchSize: batchRows(c).microBatchRows,
    pack: c.data.pack,
    seed: c.training.seed + 1,
    dataDir: c.data.dataDir ?? undefined,
  });
  const wasTraining = model.training;
  model.eval();
  let sum = 0;
  let weight = 0;
  try {
    for (let i = 0; i < c.eval.lossBatches; i++) {
      const { batch } = await p.next();
      const out = await model.forwardAsync(batchToModelInputs(batch));
      sum += (out.loss ?? 0) * out.weightSum;
      weight += out.weightSum;
    }
  } finally {
    if (wasTraining) model.train();
  }
  return weight > 0 ? sum / weight : Number.NaN;
}

/** The newest checkpoint of a run directory, for `ext5 eval --checkpoint RUN_DIR`. */
export function latestCheckpointOf(runDir: string): string | undefined {
  return listCheckpoints(path.join(runDir, 'checkpoints')).at(-1)?.dir;
}
