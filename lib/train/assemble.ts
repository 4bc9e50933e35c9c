/**
 * The pieces a run builds from its config, each once: the model (a checkpoint, a preset or a
 * config.json), the training mixture with the run's mixing knobs, the evaluation tasks and the
 * vocabulary. The trainer, `ext5 eval` and the benchmarks share them.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { ProcessGroup } from '../ddp/process_group';
import type { EvalVocabulary } from '../eval/evaluator';
import { localModelDir, parseHubRef, snapshotDownload } from '../hub';
import { T5ForConditionalGeneration } from '../model/t5';
import { type T5Config, validateConfig } from '../model/t5_config';
import { preset, presetNames } from '../model/t5_presets';
import type { RunConfig } from '../run/config_keys';
import {
  fetchModelSource,
  localModelSource,
  type ModelSource,
  type ModelSpec,
  openModelSource,
} from '../run/model_source';
import { benchmarkMixtureName, DEFAULT_K, DEFAULT_R } from '../tasks/exmix';
import { type Mixture, mixtureVariant, partialNotice } from '../tasks/mixture';
import { MixtureRegistry, TaskRegistry } from '../tasks/registry';
import { defaultDataDir, type Task } from '../tasks/task';
import { fetchVocabulary, loadVocabulary } from '../text/vocab_names';
import { didYouMean, Ext5Error } from '../util/errors';
import type { PipelineVocabulary } from './pipeline';

/** What a run needs of its vocabulary: the pipeline's encoder, the evaluator's, and disposal. */
export interface RunVocabulary extends PipelineVocabulary, EvalVocabulary {
  readonly vocabSize: number;
  readonly eosId: number;
  dispose(): void;
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

/** Loads the run's vocabulary (see {@link runVocabularyName}). */
export function loadRunVocabulary(c: RunConfig): RunVocabulary {
  return loadVocabulary(runVocabularyName(c), c.data.dataDir ?? undefined);
}

/** What a run loads its model from, resolved once by {@link fetchRunInputs}. */
export interface RunInputs {
  /** model.checkpoint resolved to folders; undefined when the run builds a new model. */
  model: ModelSource | undefined;
}

/**
 * Resolves model.checkpoint once, downloading what a run names on the Hub into its cache (model.checkpoint
 * given as `org/name[@revision]`, the T5 vocabulary on first use), so that the synchronous loaders below
 * find it; offline, checks the cache. With a process group, rank 0 fetches while the other ranks wait and
 * then read the cache, so no two processes write one blob. `spec` is model.checkpoint already parsed by
 * the caller (parseModelSpec), if it was. Rank 0 also says, in one line, which tasks of the training
 * mixture have partial data (partialNotice).
 */
export async function fetchRunInputs(
  c: RunConfig,
  pg: ProcessGroup | null = null,
  spec?: ModelSpec,
): Promise<RunInputs> {
  const given = spec ?? c.model.checkpoint ?? undefined;
  let model: ModelSource | undefined;
  if (!pg || pg.rank === 0) {
    const m = trainingMixture(c);
    const mixture = typeof m !== 'string' ? m : MixtureRegistry.has(m) ? MixtureRegistry.get(m) : undefined;
    const note = mixture && partialNotice(mixture, c.data.dataDir ?? defaultDataDir(), c.data.trainSplit);
    if (note) process.stderr.write(`ext5: ${note}\n`);
    await fetchVocabulary(runVocabularyName(c), c.data.dataDir ?? undefined);
    if (given !== undefined) model = await fetchModelSource(given);
    else await fetchModelConfig(c.model.config);
  }
  if (pg) await pg.barrier();
  if (given !== undefined && model === undefined) model = localModelSource(given);
  return { model };
}

/**
 * The mixture a config trains on, with mixture.R / K / temperature applied. A registered mixture
 * that takes those knobs declares how (registerMixtureVariant in lib/tasks/mixture.ts); at the
 * defaults, or for a task or a mixture without knobs, the registered name itself.
 */
export function trainingMixture(c: RunConfig): string | Mixture {
  const { R, K, temperature } = c.mixture;
  const name = c.data.mixtureOrTask;
  if (R === DEFAULT_R && K === DEFAULT_K && temperature === 1) return name;
  return mixtureVariant(name, { R, K, temperature }) ?? name;
}

/** Evaluation tasks named by eval.tasks: task names, mixture names or benchmark names. */
export function evalTasks(names: readonly string[]): Task[] {
  const out: Task[] = [];
  for (const n of names) {
    const m = benchmarkMixtureName(n) ?? n;
    if (MixtureRegistry.has(m)) out.push(...MixtureRegistry.get(m).tasks());
    else out.push(TaskRegistry.get(m));
  }
  return [...new Map(out.map((t) => [t.name, t])).values()];
}

/** model.config as a Hub id: fetches only its config.json (a new model of that architecture). */
export async function fetchModelConfig(spec: string): Promise<void> {
  const arch = configRef(spec);
  if (arch) await snapshotDownload(arch.repoId, { revision: arch.revision, allowPatterns: ['config.json'] });
}

/** The Hub repo a model.config value names, unless it is a preset or an existing path. */
function configRef(spec: string) {
  return presetNames().includes(spec) || fs.existsSync(spec) ? undefined : parseHubRef(spec);
}

/**
 * A model config: a preset name, a config.json file, a directory holding one, or a Hub id whose
 * config.json is in the cache (fetchRunInputs puts it there).
 */
export function resolveModelConfig(spec: string): T5Config {
  if (presetNames().includes(spec)) return preset(spec);
  const hubDir = configRef(spec) ? localModelDir(spec) : undefined;
  if (hubDir || fs.existsSync(spec)) {
    const at = hubDir ?? spec;
    const file = fs.statSync(at).isDirectory() ? path.join(at, 'config.json') : at;
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

/** A model built for a run, and the checkpoint its weights came from. */
export interface StartModel {
  model: T5ForConditionalGeneration;
  /** The checkpoint directory (or Hub id) loaded for model.checkpoint; undefined for a new model. */
  checkpoint: string | undefined;
  /** Newer checkpoints of model.checkpoint's run directory passed over (lib/run/model_source openModelSource). */
  passed: { dir: string; reason: string }[];
}

/**
 * The model a config asks for: a checkpoint, a preset name, or a config.json path. model.checkpoint
 * is read from `source` when given, else resolved here without the network.
 */
export function buildModel(
  c: RunConfig,
  vocabSize: number,
  source?: ModelSource,
): T5ForConditionalGeneration {
  return buildStartModel(c, vocabSize, source).model;
}

/** What the run config sets on a built or loaded model besides its weights. */
function withRunSettings(model: T5ForConditionalGeneration, c: RunConfig): T5ForConditionalGeneration {
  model.gradientCheckpointing = c.model.gradientCheckpointing;
  return model;
}

/**
 * {@link buildModel}, saying which checkpoint it loaded: model.checkpoint (as `source`, resolved by
 * fetchRunInputs) may name a run directory, whose newest checkpoint that opens is read (the run may
 * still be saving and pruning them).
 */
export function buildStartModel(c: RunConfig, vocabSize: number, source?: ModelSource): StartModel {
  const device = c.training.device;
  const computeDtype = c.training.dtype; // bf16 compute keeps float32 master weights
  let model: T5ForConditionalGeneration;
  let checkpoint: string | undefined;
  let passed: StartModel['passed'] = [];
  if (c.model.checkpoint) {
    const from = source ?? localModelSource(c.model.checkpoint);
    const opened = openModelSource(from, (dir) =>
      T5ForConditionalGeneration.fromPretrained(dir, { device, computeDtype }),
    );
    ({ value: model, passed } = opened);
    checkpoint = from.hub ? from.spec : opened.dir; // a Hub id stays the id it was given as
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
  return { model: withRunSettings(model, c), checkpoint, passed };
}

/**
 * The model a run trains: the checkpoint it resumes from (lib/train/resume.ts has checked that it is
 * the model the config asks for), else the model of the config.
 */
export function runModel(
  c: RunConfig,
  vocabSize: number,
  resumeFrom: string | undefined,
): T5ForConditionalGeneration {
  if (!resumeFrom) return buildModel(c, vocabSize);
  return withRunSettings(
    T5ForConditionalGeneration.fromPretrained(resumeFrom, {
      device: c.training.device,
      computeDtype: c.training.dtype,
    }),
    c,
  );
}
