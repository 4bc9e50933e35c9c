/**
 * The training loop (pre-training and fine-tuning), in the spirit of nanoT5: the parts are built
 * once (lib/train/setup.ts), then one screen of loop with `maybe*` helpers.
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
import * as path from 'node:path';
import { allReduceGradients, allReduceScalars } from '../ddp/data_parallel';
import { initFromEnv, type ProcessGroup } from '../ddp/process_group';
import { evaluateTasks } from '../eval/evaluator';
import type { T5ForConditionalGeneration } from '../model/t5';
import { torch } from '../native/torch';
import { clipGradNorm, gradNorm } from '../optim/adafactor';
import type { RunConfig } from '../run/config_keys';
import { resolveThreads } from '../run/derive';
import { MEMORY_SPLIT } from '../run/metrics_log';
import type { ModelSpec } from '../run/model_source';
import { checkpointName } from '../run/run_checkpoints';
import { runDirPaths } from '../run/run_dir';
import { acquireRunLock, type RunLock } from '../run/run_lock';
import { rngStateToBase64 } from '../tensor/rng_state';
import { Ext5Error } from '../util/errors';
import { evalTasks } from './assemble';
import { repairInterruptedSaves, saveCheckpoint, type TrainerState } from './checkpoint_save';
import {
  batchToModelInputs,
  inputTokens,
  type PipelineState,
  type PipelineVocabulary,
  TrainingPipeline,
  targetTokens,
} from './pipeline';
import { pipelineOptions } from './pipeline_options';
import { type ProgressStream, setUpTraining, type TrainingSetup } from './setup';
import { rankMemory } from './sharding';

export interface TrainResult {
  runDir: string;
  step: number;
  stoppedBy: 'done' | 'signal';
  /**
   * The last logged training loss: the mean over the logging interval that ended at `lastLossStep`, the
   * number metrics.jsonl and `ext5 report` show for that step (the resumed run's, when none was logged).
   */
  lastLoss: number | null;
  /** The step `lastLoss` was logged at; null when it came from the checkpoint a run resumed from. */
  lastLossStep: number | null;
  /** The step and checkpoint this run resumed from, when it did. */
  resumedFrom: { step: number; checkpoint: string } | null;
  /** Newer checkpoints that resume passed over because they could not be loaded. */
  skippedCheckpoints: { dir: string; reason: string }[];
  lastCheckpoint: string | undefined;
  /** The validation loss of the last evaluation (eval.lossBatches of data.evalSplit); null if none ran. */
  validationLoss: number | null;
  evals: Record<string, Record<string, number>>;
}

export interface TrainHooks {
  /** Called after each logged interval (for tests and embedding). */
  onLog?: (step: number, values: Record<string, number>) => void;
  /** Where progress goes (default stderr; silent when config.logging.progress is false). */
  progressStream?: ProgressStream;
  /** Install SIGINT/SIGTERM handlers that finish the step, save and stop (default true). */
  handleSignals?: boolean;
  /** model.checkpoint as the caller already parsed it (lib/run/model_source parseModelSpec), so it is read once. */
  modelSpec?: ModelSpec;
}

/**
 * Runs (or resumes) a training run described by a resolved config. The run directory's lock
 * (lib/run/run_lock.ts) is taken first, by rank 0 alone in a data-parallel run, and held until the
 * run ends: a second writer is refused before it reads a checkpoint. Holding it, rank 0 repairs
 * saves an earlier start left interrupted in the run's checkpoints directory (before any rank lists
 * them: the other ranks wait for rank 0 in setUpTraining's first collective).
 */
export async function train(c: RunConfig, runDirPath: string, hooks: TrainHooks = {}): Promise<TrainResult> {
  const t = torch();
  t.setNumThreads(resolveThreads(c));
  t.manualSeed(c.training.seed);
  // Data parallelism: a process group when started by `ext5 launch` / torchrun, else null.
  const pg: ProcessGroup | null = await initFromEnv({ device: c.training.device });
  let lock: RunLock | null = null;
  let loop: TrainingLoop | undefined;
  let pending: NodeJS.Signals | undefined;
  const onSignal = (sig: NodeJS.Signals) => {
    if (loop) return loop.requestStop(sig);
    // Before the first step there is nothing to save. When no one else handles the signal, stop
    // as it asks (its default action), releasing the lock first; else stop once the loop starts.
    if (process.listenerCount(sig) > 1) {
      pending ??= sig;
      return;
    }
    lock?.release();
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    process.kill(process.pid, sig);
  };
  if (hooks.handleSignals !== false) {
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
  }
  try {
    lock = await takeRunLock(runDirPath, pg);
    if (lock) repairInterruptedSaves(runDirPaths(runDirPath).checkpointsDir);
    const setup = await setUpTraining(c, runDirPath, pg, hooks.progressStream, hooks.modelSpec);
    try {
      loop = new TrainingLoop(setup, hooks);
      if (pending) loop.requestStop(pending);
      return await loop.run();
    } finally {
      setup.dispose();
    }
  } finally {
    if (hooks.handleSignals !== false) {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
    }
    lock?.release();
    await pg?.destroy();
  }
}

/**
 * The run directory's lock, taken by rank 0 (the only writer of a data-parallel run); the other
 * ranks learn whether it was refused from one collective, so that every rank stops with the same
 * error instead of waiting for rank 0 in a later one.
 */
async function takeRunLock(runDirPath: string, pg: ProcessGroup | null): Promise<RunLock | null> {
  if (!pg) return acquireRunLock(runDirPath);
  let lock: RunLock | null = null;
  let refused: Ext5Error | null = null;
  if (pg.rank === 0) {
    try {
      lock = acquireRunLock(runDirPath);
    } catch (e) {
      refused =
        e instanceof Ext5Error ? e : new Ext5Error('EXT5_RUN_DIR', `${runDirPath}: ${(e as Error).message}`);
    }
  }
  const [fromLead] = await pg.allGatherObject(
    refused ? { code: refused.code, message: refused.message, hint: refused.hint ?? null } : null,
  );
  if (refused) throw refused;
  if (fromLead) {
    lock?.release();
    throw new Ext5Error(fromLead.code, `rank 0: ${fromLead.message}`, fromLead.hint ?? undefined);
  }
  return lock;
}

/** One micro-batch and the pipeline position right after it. */
type MicroBatch = Awaited<ReturnType<TrainingPipeline['next']>>;

/** Sums over the steps since the last log line. */
interface Interval {
  loss: number;
  steps: number;
  tokens: number;
  examples: number;
  seconds: number;
}

const emptyInterval = (): Interval => ({ loss: 0, steps: 0, tokens: 0, examples: 0, seconds: 0 });

/** The loop and the few numbers it carries from step to step. */
class TrainingLoop {
  private step: number;
  private elapsed: number;
  /** Non-padding encoder tokens and examples trained on so far, over all ranks. */
  private tokens: number;
  private examples: number;
  private pipelineState: PipelineState;
  private lastCheckpoint: string | undefined;
  private lastLoss: number | null;
  private lastLossStep: number | null = null;
  /** Checkpoint directories this invocation wrote: the only ones pruning may delete. */
  private readonly written = new Set<string>();
  private stopRequested = false;
  private memoryLogged = false;
  private stopAgreed = false;
  private interval = emptyInterval();
  private readonly evals: Record<string, Record<string, number>> = {};
  private validationLoss: number | null = null;
  private readonly params: ReturnType<T5ForConditionalGeneration['parameters']>;

  constructor(
    private readonly s: TrainingSetup,
    private readonly hooks: TrainHooks,
  ) {
    const r = s.resumed;
    this.step = r?.step ?? 0;
    this.elapsed = r?.elapsed ?? 0;
    this.tokens = r?.tokens ?? 0;
    this.examples = r?.examples ?? 0;
    this.lastLoss = r?.lastLoss ?? null;
    this.lastCheckpoint = s.resumeFrom;
    this.pipelineState = s.pipelineState;
    this.params = s.pg ? s.model.parameters() : [];
  }

  /** A signal: finish this step, save, stop (every rank agrees at the step's end). */
  requestStop(sig: NodeJS.Signals): void {
    if (this.stopRequested) return;
    this.stopRequested = true;
    if (this.s.lead)
      process.stderr.write(
        `\next5: ${sig} received: finishing this step, saving a checkpoint, then stopping\n`,
      );
  }

  async run(): Promise<TrainResult> {
    const { c, progress, dirs } = this.s;
    const batches = new Prefetch(this.s.pipeline);
    try {
      while (this.step < c.training.steps && !this.stopAgreed) {
        const t0 = performance.now();
        const micro = await batches.take(c.training.gradAccumulation);
        const { loss, norm } = await this.forwardBackward(micro);
        const lr = this.s.schedule(this.step);
        await this.s.optimizer.stepAsync(lr);
        if (this.s.pg && !this.memoryLogged) await this.logRankMemory();
        this.s.optimizer.zeroGrad();
        if (this.s.sharded) {
          await this.s.sharded.afterStep();
          this.s.model.zeroGrad(); // a sharded rank's optimizer covers its own parameters only
        }
        this.step += 1;
        const dt = (performance.now() - t0) / 1000;
        this.elapsed += dt;
        this.interval.loss += loss;
        this.interval.steps += 1;
        this.interval.seconds += dt;
        progress.suffix = `loss ${formatLoss(loss)}  lr ${lr.toExponential(1)}`;
        progress.update(this.step);
        this.maybeLog(lr, norm);
        await this.maybeEvaluate();
        await this.maybeSave();
      }
      // The final state is always evaluated and saved (unless those are turned off).
      if (!this.stopAgreed && c.eval.every > 0 && this.step % c.eval.every !== 0)
        await this.maybeEvaluate(true);
      if (this.stopAgreed || c.checkpoint.every > 0) await this.maybeSave(true);
      progress.done(this.stopAgreed ? `(stopped at step ${this.step})` : undefined);
      return {
        runDir: dirs.root,
        step: this.step,
        stoppedBy: this.stopAgreed ? 'signal' : 'done',
        lastLoss: this.lastLoss,
        lastLossStep: this.lastLossStep,
        lastCheckpoint: this.lastCheckpoint,
        resumedFrom:
          this.s.resumed && this.s.resumeFrom
            ? { step: this.s.resumed.step, checkpoint: this.s.resumeFrom }
            : null,
        skippedCheckpoints: this.s.skipped,
        validationLoss: this.validationLoss,
        evals: this.evals,
      };
    } finally {
      for (const p of this.params) p.dispose();
    }
  }

  /**
   * Forward and backward over one step's micro-batches, then the gradient norm (clipped when
   * asked). The loss is the mean over every target token of the step, on all ranks together, as
   * if it were one big batch: each micro-batch's mean is weighted by its share of tokens.
   */
  private async forwardBackward(micro: MicroBatch[]): Promise<{ loss: number; norm: number }> {
    const { c, pg, world, model, optimizer, sharded } = this.s;
    let weight = micro.reduce((a, m) => a + targetTokens(m.batch), 0);
    if (pg) weight = await allReduceScalars(pg, [weight]).then((v) => v[0]!);
    let lossSum = 0;
    let tokens = 0;
    let examples = 0;
    for (const { batch, state } of micro) {
      const w = targetTokens(batch);
      const out = await model.forwardBackwardAsync({
        ...batchToModelInputs(batch),
        zLoss: c.training.zLoss,
        labelSmoothing: c.training.labelSmoothing,
        gradScale: (w * world) / Math.max(1, weight), // × world: gradients are averaged over ranks
      });
      await sharded?.afterMicroBatch();
      lossSum += (out.loss ?? 0) * w;
      tokens += inputTokens(batch);
      examples += batch.examples;
      this.pipelineState = state;
    }
    if (pg) {
      // One collective agrees on the loss, the step's tokens and examples over all ranks, and on
      // stopping (a signal on any rank), so no rank is left waiting in a later collective.
      const v = await allReduceScalars(pg, [lossSum, tokens, examples, this.stopRequested ? 1 : 0]);
      [lossSum, tokens, examples] = [v[0]!, v[1]!, v[2]!];
      this.stopAgreed = v[3]! > 0;
      if (sharded) await sharded.reduceGradients();
      else await allReduceGradients(pg, this.params);
    } else {
      this.stopAgreed = this.stopRequested;
    }
    this.tokens += tokens;
    this.examples += examples;
    this.interval.tokens += tokens;
    this.interval.examples += examples;
    const loss = lossSum / Math.max(1, weight);
    const norm = sharded
      ? await sharded.clipGradNorm(optimizer, c.training.gradClip)
      : c.training.gradClip > 0
        ? clipGradNorm(optimizer, c.training.gradClip)
        : gradNorm(optimizer);
    if (!Number.isFinite(loss) || !Number.isFinite(norm))
      throw nonFinite(this.step + 1, loss, norm, this.lastCheckpoint);
    return { loss, norm };
  }

  /**
   * Data-parallel runs, once: what each rank holds after its first optimizer step (its parameters,
   * the gradients the step used, its optimizer state), logged by rank 0 as split `memory`
   * (lib/run/metrics_log.ts MEMORY_SPLIT): per rank, the largest rank, and the whole model's
   * float32 parameter bytes for scale.
   */
  private async logRankMemory(): Promise<void> {
    const { model, optimizer, pg, lead } = this.s;
    this.memoryLogged = true;
    if (!pg) return;
    const all = await pg.allGatherObject(rankMemory(model, optimizer));
    if (!lead) return;
    const values: Record<string, number> = { model_parameters: 4 * model.numParameters() };
    for (const k of ['parameters', 'gradients', 'optimizer'] as const) {
      all.forEach((m, r) => {
        values[`rank${r}.${k}`] = m[k];
      });
      values[`max.${k}`] = Math.max(...all.map((m) => m[k]));
    }
    this.s.log(this.step + 1, MEMORY_SPLIT, values);
  }

  private maybeLog(lr: number, norm: number): void {
    const { c, lead } = this.s;
    // A stop logs the interval so far, so that the steps it trained are in metrics.jsonl.
    if (this.step % c.logging.every !== 0 && this.step !== c.training.steps && !this.stopRequested) return;
    const iv = this.interval;
    this.lastLoss = iv.loss / iv.steps;
    this.lastLossStep = this.step;
    const values = {
      loss: this.lastLoss,
      lr,
      grad_norm: norm,
      tokens_per_s: iv.tokens / iv.seconds,
      examples_per_s: iv.examples / iv.seconds,
      step_time: iv.seconds / iv.steps,
    };
    this.s.log(this.step, 'train', values);
    if (lead) this.hooks.onLog?.(this.step, values);
    this.interval = emptyInterval();
  }

  private async maybeEvaluate(force = false): Promise<void> {
    const { c, lead, pg } = this.s;
    if (!force && (c.eval.every <= 0 || this.step % c.eval.every !== 0)) return;
    // Rank 0 evaluates; the others wait for it at the barrier. Sharded `full`: every rank gathers
    // the whole model first, so that rank 0 has it.
    await this.s.sharded?.gather();
    if (lead) await this.evaluate();
    await pg?.barrier();
    this.s.sharded?.release();
  }

  /** The validation loss, then eval.tasks decoded and scored, then each benchmark's average. */
  private async evaluate(): Promise<void> {
    const { c, model, vocab, log } = this.s;
    const step = this.step;
    if (c.eval.lossBatches > 0) {
      this.validationLoss = await validationLoss(c, model, vocab);
      log(step, 'validation', { loss: this.validationLoss });
    }
    const { reports } = await evaluateTasks(
      model,
      evalTasks(c.eval.tasks),
      () => vocab,
      {
        split: c.eval.split,
        maxExamples: c.eval.maxExamples,
        batchSize: c.eval.batchSize ?? this.s.rankRows,
        decoding: c.eval.decoding,
        numBeams: c.eval.numBeams,
        lengthPenalty: c.eval.lengthPenalty,
        maxNewTokens: c.eval.maxNewTokens,
        rankClassification: c.eval.rankClassification,
        dataDir: c.data.dataDir ?? undefined,
      },
      {
        onResult: (r, task) => {
          this.evals[task.name] = r.metrics;
          log(step, `eval/${task.name}`, r.metrics);
        },
      },
    );
    for (const report of reports) log(step, `eval/${report.benchmark}`, { average: report.average });
  }

  private async maybeSave(force = false): Promise<void> {
    const { c, lead, pg, dirs } = this.s;
    if (!force && (c.checkpoint.every <= 0 || this.step % c.checkpoint.every !== 0)) return;
    if (this.lastCheckpoint?.endsWith(checkpointName(this.step))) return;
    const st = await this.trainerState(); // every rank takes part in gathering the per-rank positions
    const { sharded } = this.s;
    // Sharded: every rank writes its part into the one atomic directory (lib/train/checkpoint_sharded.ts).
    if (lead || sharded)
      this.lastCheckpoint = await saveCheckpoint(
        dirs.checkpointsDir,
        this.s.model,
        this.s.optimizer,
        st,
        c.checkpoint.keepLast,
        this.written,
        sharded && pg ? { pg, layout: sharded.layout } : undefined,
      );
    await pg?.barrier();
    if (!lead) this.lastCheckpoint = path.join(dirs.checkpointsDir, checkpointName(this.step));
  }

  private async trainerState(): Promise<TrainerState> {
    const own = { pipeline: this.pipelineState, rng: rngStateToBase64() };
    const ranks = this.s.pg ? await this.s.pg.allGatherObject(own) : undefined;
    return {
      version: 1,
      step: this.step,
      pipeline: own.pipeline,
      rng: own.rng,
      elapsed: this.elapsed,
      tokens: this.tokens,
      examples: this.examples,
      worldSize: this.s.world,
      ...(ranks ? { ranks } : {}),
      lastLoss: this.lastLoss,
    };
  }
}

/** Reads batches one ahead: the next one is prepared while the model computes on this one. */
class Prefetch {
  private next: Promise<MicroBatch>;
  constructor(private readonly pipeline: TrainingPipeline) {
    this.next = this.request();
  }

  private request(): Promise<MicroBatch> {
    const p = this.pipeline.next();
    p.catch(() => {}); // awaited in take(); a data error surfaces there, not as an unhandled rejection
    return p;
  }

  /** The next `n` micro-batches. */
  async take(n: number): Promise<MicroBatch[]> {
    const out: MicroBatch[] = [];
    for (let i = 0; i < n; i++) {
      const got = await this.next;
      this.next = this.request();
      out.push(got);
    }
    return out;
  }
}

/** A loss as the progress bar and the summary both print it. */
export function formatLoss(loss: number): string {
  return loss.toFixed(4);
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

/**
 * Mean loss over eval.lossBatches batches of the evaluation split (the same batches each time),
 * made as the run makes its training batches (lib/train/pipeline_options.ts).
 */
export async function validationLoss(
  c: RunConfig,
  model: T5ForConditionalGeneration,
  vocab: PipelineVocabulary,
): Promise<number> {
  const p = new TrainingPipeline(pipelineOptions(c, 'validation', { vocab }));
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
