/**
 * Where a training run starts, decided before anything in its run directory changes: which
 * checkpoint to resume from (falling back past damaged ones, and saying so), whether the run
 * directory may be used at all (never for another model, never over checkpoints of an earlier run
 * that this run would overwrite or prune), and the model and optimizer loaded from it.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { checkSameWorldSize } from '../ddp/data_parallel';
import { loadOptimizerState, readCheckpointFolderConfig } from '../model/hf_format';
import type { T5ForConditionalGeneration } from '../model/t5';
import type { T5Config } from '../model/t5_config';
import { Adafactor, type AdafactorOptions } from '../optim/adafactor';
import type { RunConfig } from '../run/config_keys';
import { adafactorOptions } from '../run/derive';
import { localModelSource, type ModelSource, openModelSource } from '../run/model_source';
import { listCheckpoints, TRAINER_STATE_FILE } from '../run/run_checkpoints';
import { validateRunConfig } from '../run/run_config';
import { RUN_FILES, type RunDir } from '../run/run_dir';
import { Ext5Error } from '../util/errors';
import { buildStartModel, resolveModelConfig, runModel } from './assemble';
import { readTrainerState, type TrainerState } from './checkpoint_save';
import { ownedNames, type ShardingMode, type ShardLayout, shardLayout } from './sharding';

/** The config.json keys that make two T5 models different models (sizes and the kind of layers). */
export const ARCHITECTURE_KEYS = [
  'd_model',
  'd_kv',
  'd_ff',
  'num_layers',
  'num_decoder_layers',
  'num_heads',
  'vocab_size',
  'feed_forward_proj',
  'tie_word_embeddings',
  'relative_attention_num_buckets',
  'relative_attention_max_distance',
] as const;

type Architecture = Partial<Pick<T5Config, (typeof ARCHITECTURE_KEYS)[number]>>;

/**
 * The model config a run config asks for: its checkpoint's (read from `source`, model.checkpoint
 * resolved, when given), or its preset / config.json with model.vocabSize.
 */
export function runModelConfig(c: RunConfig, source?: ModelSource): Record<string, unknown> {
  const base: Record<string, unknown> = c.model.checkpoint
    ? openModelSource(source ?? localModelSource(c.model.checkpoint), (dir) =>
        readCheckpointFolderConfig(dir),
      ).value
    : { ...resolveModelConfig(c.model.config) };
  if (!c.model.checkpoint && c.model.vocabSize !== null) base.vocab_size = c.model.vocabSize;
  if (base.num_decoder_layers === undefined) base.num_decoder_layers = base.num_layers;
  return base;
}

/** The architecture a run config asks for (the keys of {@link runModelConfig} that shape the weights). */
export function modelArchitecture(c: RunConfig, source?: ModelSource): Architecture {
  return architectureOf(runModelConfig(c, source));
}

/** The architecture keys of a checkpoint's config.json (num_decoder_layers defaults to num_layers). */
function architectureOf(raw: Record<string, unknown>): Architecture {
  return Object.fromEntries(
    ARCHITECTURE_KEYS.map((k) => [k, k === 'num_decoder_layers' ? (raw[k] ?? raw.num_layers) : raw[k]]),
  ) as Architecture;
}

/** The keys where two architectures differ, as `key: a, b` strings. */
function architectureDiffs(a: Architecture, b: Architecture, aName: string, bName: string): string[] {
  return ARCHITECTURE_KEYS.filter((k) => a[k] !== undefined && b[k] !== undefined && a[k] !== b[k]).map(
    (k) => `${k}: ${aName} ${JSON.stringify(a[k])}, ${bName} ${JSON.stringify(b[k])}`,
  );
}

/**
 * Refuses to resume a checkpoint whose model differs from what the config asks for: in size, or in
 * the kind of layers (relu vs gated-gelu, tied vs untied embeddings).
 * @throws Ext5Error EXT5_CHECKPOINT_MISMATCH naming each differing key.
 */
export function checkSameModel(c: RunConfig, checkpoint: string): void {
  if (c.model.checkpoint) return; // the run's model is that checkpoint's, whatever it is
  const have = architectureOf(readCheckpointFolderConfig(checkpoint) as Record<string, unknown>);
  const diffs = architectureDiffs(have, modelArchitecture(c), 'checkpoint', 'config');
  if (diffs.length > 0) {
    throw new Ext5Error(
      'EXT5_CHECKPOINT_MISMATCH',
      `the checkpoint ${checkpoint} holds another model than the config asks for (${diffs.join('; ')})`,
      'resume with the config the run started with (its run directory keeps it in config.json), or start a new run directory',
    );
  }
}

/** The checkpoints a `checkpoint.resume` value names, newest first, and whether it named one exactly. */
export interface ResumeCandidates {
  dirs: string[];
  /** True when the user named one checkpoint: it is used or the run fails, with no fallback. */
  exact: boolean;
  /** What to call the place the candidates come from in messages. */
  source: string;
}

/**
 * The checkpoints to try, newest first: 'auto' → this run directory's, 'none' → none, a run
 * directory → its checkpoints, a checkpoint directory → that one only.
 * @throws Ext5Error EXT5_CHECKPOINT when the path names neither (nothing is created).
 */
export function resumeCandidates(resume: string, checkpointsDir: string): ResumeCandidates {
  if (resume === 'none') return { dirs: [], exact: false, source: 'none' };
  if (resume === 'auto') {
    return {
      dirs: listCheckpoints(checkpointsDir)
        .map((k) => k.dir)
        .reverse(),
      exact: false,
      source: checkpointsDir,
    };
  }
  if (!fs.existsSync(resume)) {
    throw new Ext5Error(
      'EXT5_CHECKPOINT',
      `--resume ${resume}: no such checkpoint or run directory`,
      'pass a checkpoints/step-… directory or a run directory, or --resume auto',
    );
  }
  const asRun = path.join(resume, RUN_FILES.checkpoints);
  if (fs.existsSync(asRun)) {
    const dirs = listCheckpoints(asRun)
      .map((k) => k.dir)
      .reverse();
    if (dirs.length === 0)
      throw new Ext5Error('EXT5_CHECKPOINT', `${resume} has no complete checkpoint to resume from`);
    return { dirs, exact: false, source: asRun };
  }
  if (!fs.existsSync(path.join(resume, TRAINER_STATE_FILE))) {
    throw new Ext5Error(
      'EXT5_CHECKPOINT',
      `${resume} is not a training checkpoint (no ${TRAINER_STATE_FILE})`,
      'pass a checkpoints/step-… directory or a run directory, or --resume auto',
    );
  }
  return { dirs: [resume], exact: true, source: resume };
}

/** Errors that say the config does not fit the checkpoint (no older checkpoint fits better). */
const MISMATCH_CODES = new Set(['EXT5_CHECKPOINT_MISMATCH', 'EXT5_DIST_WORLD_SIZE']);

/** A checkpoint passed over because it could not be loaded. */
export interface SkippedCheckpoint {
  dir: string;
  reason: string;
}

/** The model and optimizer a run starts with, and the checkpoint they came from. */
export interface StartingPoint {
  resumeFrom: string | undefined;
  resumed: TrainerState | undefined;
  /** Newer checkpoints that were damaged (newest first). */
  skipped: SkippedCheckpoint[];
  model: T5ForConditionalGeneration;
  /** Over the parameters this rank owns (all of them without sharding). */
  optimizer: Adafactor;
  /** Which rank owns which parameter (`training.sharding` over the run's ranks). */
  layout: ShardLayout;
  /**
   * A run that does not resume: the checkpoint model.checkpoint's weights came from (a run
   * directory's newest that opened), and newer ones of that run passed over.
   */
  base?: { checkpoint: string; passed: SkippedCheckpoint[] };
}

/** The layout of `model`'s parameters under `mode` over `world` ranks, for `rank`. */
export function modelLayout(
  model: T5ForConditionalGeneration,
  mode: ShardingMode,
  rank: number,
  world: number,
): ShardLayout {
  const params = model.namedParameters();
  try {
    return shardLayout(
      params.map(([n, t]) => [n, t.shape] as const),
      mode,
      rank,
      world,
    );
  } finally {
    for (const [, t] of params) t.dispose();
  }
}

/**
 * An Adafactor over the parameters `layout` gives this rank (every parameter without sharding), so
 * that its state is this rank's part only. The parameter wrappers belong to the optimizer (made from
 * the model here, disposed with it), as for `new Adafactor(model)`.
 */
export function ownedOptimizer(
  model: T5ForConditionalGeneration,
  layout: ShardLayout,
  options: AdafactorOptions,
): Adafactor {
  if (layout.mode === 'none') return new Adafactor(model, options);
  const mine = new Set(ownedNames(layout));
  return new Adafactor(
    {
      namedParameters: () =>
        model.namedParameters().filter(([n, t]) => {
          if (mine.has(n)) return true;
          t.dispose();
          return false;
        }),
    },
    options,
  );
}

/** The model of a run and an optimizer over this rank's parameters. */
function withOptimizer(c: RunConfig, model: T5ForConditionalGeneration, rank: number, world: number) {
  const layout = modelLayout(model, c.training.sharding, rank, world);
  return { layout, optimizer: ownedOptimizer(model, layout, adafactorOptions(c)) };
}

function loadCheckpoint(
  c: RunConfig,
  dir: string,
  vocabSize: number,
  world: number,
  distributed: boolean,
  rank: number,
) {
  const resumed = readTrainerState(dir);
  if (distributed || resumed.worldSize > 1) {
    const sharded = (resumed.sharding ?? 'none') !== 'none' || c.training.sharding !== 'none';
    checkSameWorldSize(resumed.worldSize, world, sharded);
  }
  checkSameModel(c, dir);
  const model = runModel(c, vocabSize, dir);
  try {
    const { layout, optimizer } = withOptimizer(c, model, rank, world);
    try {
      loadOptimizerState(dir, optimizer);
    } catch (e) {
      optimizer.dispose();
      throw e;
    }
    return { resumed, model, optimizer, layout };
  } catch (e) {
    model.dispose();
    throw e;
  }
}

/**
 * Loads what a run starts from: the newest checkpoint among the candidates that loads whole
 * (trainer state, weights, optimizer state), passing over damaged newer ones; or a fresh model.
 * The optimizer is over the parameters `rank` owns under c.training.sharding (all of them with
 * none); its state is read by parameter name from whichever optimizer files hold it, so a sharded
 * checkpoint resumes with another world size or unsharded, and a whole one resumes sharded.
 * A config that does not fit the checkpoint (another model, another world size) is an error, not
 * a reason to fall back.
 * @throws Ext5Error EXT5_CHECKPOINT when no candidate loads (each one's reason is listed).
 */
export function loadStartingPoint(
  c: RunConfig,
  candidates: ResumeCandidates,
  vocabSize: number,
  world: number,
  distributed: boolean,
  source?: ModelSource,
  rank = 0,
): StartingPoint {
  const skipped: SkippedCheckpoint[] = [];
  for (const dir of candidates.dirs) {
    try {
      const got = loadCheckpoint(c, dir, vocabSize, world, distributed, rank);
      return { resumeFrom: dir, skipped, ...got };
    } catch (e) {
      if (candidates.exact || (e instanceof Ext5Error && MISMATCH_CODES.has(e.code))) throw e;
      skipped.push({ dir, reason: (e as Error).message });
    }
  }
  if (skipped.length > 0) {
    throw new Ext5Error(
      'EXT5_CHECKPOINT',
      `no checkpoint in ${candidates.source} can be loaded:\n${skipped.map((s) => `  ${path.basename(s.dir)}: ${s.reason}`).join('\n')}`,
      'restore a checkpoint from a backup, or start afresh in a new run directory (--run-dir NEW --resume none)',
    );
  }
  const { model, checkpoint, passed } = buildStartModel(c, vocabSize, source);
  try {
    return {
      resumeFrom: undefined,
      resumed: undefined,
      skipped,
      model,
      ...withOptimizer(c, model, rank, world),
      ...(checkpoint ? { base: { checkpoint, passed } } : {}),
    };
  } catch (e) {
    model.dispose();
    throw e;
  }
}

/**
 * The model a config asks for, or, when its model.checkpoint cannot be read any more (pruned by the
 * run it came from, or moved), the model of `fallback` (a checkpoint of the same run); undefined
 * when neither can be read.
 */
function readArchitecture(
  c: RunConfig,
  fallback: string | undefined,
  source?: ModelSource,
): Architecture | undefined {
  try {
    return modelArchitecture(c, source);
  } catch {
    if (!fallback) return undefined;
    try {
      return architectureOf(readCheckpointFolderConfig(fallback) as Record<string, unknown>);
    } catch {
      return undefined;
    }
  }
}

/**
 * Refuses to use a run directory that holds an earlier run this start would damage: one of another
 * model (its config.json), or checkpoints newer than the step this run starts from (a save would
 * replace them, or pruning remove them). `source` is c's model.checkpoint resolved, when it has one.
 * @throws Ext5Error EXT5_RUN_DIR saying what is there and what to do.
 */
export function checkRunDirReuse(
  c: RunConfig,
  dirs: RunDir,
  startStep: number,
  resumeFrom?: string,
  source?: ModelSource,
): void {
  if (fs.existsSync(dirs.configPath)) {
    let old: RunConfig | undefined;
    try {
      old = validateRunConfig(JSON.parse(fs.readFileSync(dirs.configPath, 'utf8')), dirs.configPath);
    } catch {
      old = undefined; // written by another ext5 version, or damaged: the checkpoints below still guard it
    }
    if (old) {
      let diffs: string[];
      const was = readArchitecture(old, listCheckpoints(dirs.checkpointsDir).at(-1)?.dir);
      const now = readArchitecture(c, resumeFrom, source);
      if (was && now) {
        diffs = architectureDiffs(was, now, 'run', 'now');
      } else {
        // One of the models cannot be read from any checkpoint: compare what the configs named.
        const a = JSON.stringify(old.model);
        const b = JSON.stringify(c.model);
        diffs = a === b ? [] : [`model: run ${a}, now ${b}`];
      }
      if (diffs.length > 0) {
        throw new Ext5Error(
          'EXT5_RUN_DIR',
          `${dirs.root} holds a run of another model (${diffs.join('; ')}); a run directory is never reused for a different model`,
          'choose a new run directory (--run-dir DIR), or resume this one with the config it started with (its config.json)',
        );
      }
    }
  }
  // Resuming from this directory's own checkpoints (newest, or older past damaged ones) continues
  // its run; saveCheckpoint sets aside, never replaces, a checkpoint this start did not write.
  const ownRun = resumeFrom !== undefined && path.dirname(path.resolve(resumeFrom)) === dirs.checkpointsDir;
  const newer = listCheckpoints(dirs.checkpointsDir).filter((k) => k.step > startStep);
  if (newer.length > 0 && !ownRun) {
    throw new Ext5Error(
      'EXT5_RUN_DIR',
      `${dirs.root} holds checkpoints of an earlier run up to ${path.basename(newer.at(-1)!.dir)}; this run starts at step ${startStep} and would overwrite or prune them`,
      'resume that run (--resume auto), or train in a new run directory (--run-dir DIR; --resume may name a checkpoint of this one)',
    );
  }
}
