/**
 * Run configuration for `ext5 pretrain | finetune | eval`: one typed {@link RunConfig}, flat commented
 * defaults in the nanoT5 manner, loaded from a preset, a JSON or YAML file and `--set key.path=value`
 * overrides, in that order, and validated key by key with the source of every bad value in the message.
 *
 * Every key lives in one table, {@link CONFIG_KEYS}: its path, type, range, default and meaning. The
 * defaults, the validation, `--set` and docs/configuration.md (via {@link renderConfigReference}) all
 * come from that table, so they cannot drift apart.
 *
 * The defaults are the ExT5 pre-training recipe (arXiv 2111.10952, Experimental setup): ExT5 mixture with
 * R = 2 C4 examples per ExMix example and cap K = 300000, inputs 512 / targets 114 tokens, span
 * corruption with noise density 0.15 and mean span 3, packing, Adafactor with the T5 schedule
 * 1/sqrt(max(step, 10^4)), 1M steps at batch 2048.
 *
 * @example
 * const cfg = loadRunConfig({ preset: 'tiny-demo', set: ['training.steps=50'] });
 * cfg.training.steps;              // 50
 * scheduleSpec(cfg);               // { name: 'rsqrt', warmupSteps: 10000, scale: 1, offset: 0 }
 * JSON.stringify(cfg);             // what the run directory keeps as config.json
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import yaml from 'js-yaml';
import { presetNames as modelPresetNames } from '../model/t5_presets';
import type { AdafactorOptions } from '../optim/adafactor';
import { makeSchedule, type ScheduleSpec } from '../optim/schedules';
import { closestName, didYouMean, Ext5Error } from '../util/errors';
import { RUN_PRESETS, runPreset, runPresetNames } from './run_presets';

/** The resolved configuration of one run. Every key is documented in {@link CONFIG_KEYS}. */
export interface RunConfig {
  run: {
    kind: 'pretrain' | 'finetune' | 'eval';
    name: string | null;
    dir: string | null;
  };
  model: {
    config: string;
    checkpoint: string | null;
    vocabSize: number | null;
  };
  data: {
    mixtureOrTask: string;
    dataDir: string | null;
    vocabulary: string | null;
    inputsLength: number;
    targetsLength: number;
    noiseDensity: number;
    meanNoiseSpanLength: number;
    pack: boolean;
    trainSplit: string;
    evalSplit: string;
  };
  mixture: {
    R: number;
    K: number;
    temperature: number;
  };
  training: {
    steps: number;
    batchSize: number;
    batchUnit: 'examples' | 'tokens';
    gradAccumulation: number;
    gradClip: number;
    zLoss: number;
    labelSmoothing: number;
    dropout: number | null;
    seed: number;
    dtype: 'float32' | 'bfloat16';
    device: string;
    threads: number | null;
  };
  optimizer: {
    name: 'adafactor';
    schedule: 'rsqrt' | 'constant' | 'linear' | 'cosine';
    lr: number | null;
    warmupSteps: number | null;
    decaySteps: number | null;
    minLr: number;
    offset: number;
    scaleParameter: boolean;
    clipThreshold: number;
    decayRate: number;
    beta1: number | null;
    eps1: number;
    eps2: number;
    weightDecay: number;
    factored: boolean;
    minDimSizeToFactor: number;
  };
  eval: {
    every: number;
    lossBatches: number;
    tasks: string[];
    split: string;
    maxExamples: number | null;
    batchSize: number | null;
    decoding: 'greedy' | 'beam';
    numBeams: number;
    lengthPenalty: number;
    maxNewTokens: number | null;
    rankClassification: boolean;
  };
  checkpoint: {
    every: number;
    keepLast: number;
    resume: string;
  };
  logging: {
    every: number;
    tensorboard: boolean;
    progress: boolean;
  };
}

/** The type of one key, which decides how values are checked and how errors describe them. */
export type KeyType =
  | { kind: 'int'; min?: number; max?: number; nullable?: boolean }
  | {
      kind: 'number';
      min?: number;
      max?: number;
      /** The bound itself is not allowed (e.g. noise density in (0, 1)). */
      openMin?: boolean;
      openMax?: boolean;
      nullable?: boolean;
    }
  | { kind: 'bool' }
  | { kind: 'string'; nullable?: boolean; pattern?: RegExp; patternText?: string }
  | { kind: 'enum'; values: readonly string[] }
  | { kind: 'string[]' };

/** One configuration key: dotted path, type, default and what it means. */
export interface ConfigKey {
  path: string;
  type: KeyType;
  default: unknown;
  doc: string;
}

const int = (min?: number, max?: number): KeyType => ({ kind: 'int', min, max });
const intOrNull = (min?: number): KeyType => ({ kind: 'int', min, nullable: true });
const num = (min?: number, max?: number, openMin = false, openMax = false): KeyType => ({
  kind: 'number',
  min,
  max,
  openMin,
  openMax,
});
const str: KeyType = { kind: 'string' };
const strOrNull: KeyType = { kind: 'string', nullable: true };
const bool: KeyType = { kind: 'bool' };
const oneOf = (...values: string[]): KeyType => ({ kind: 'enum', values });

/**
 * Every key of {@link RunConfig}, in the order of the docs. Sections: run, model, data, mixture,
 * training, optimizer, eval, checkpoint, logging.
 */
export const CONFIG_KEYS: readonly ConfigKey[] = [
  // run
  {
    path: 'run.kind',
    type: oneOf('pretrain', 'finetune', 'eval'),
    default: 'pretrain',
    doc: 'What the run does. The `ext5 pretrain|finetune|eval` commands set it.',
  },
  {
    path: 'run.name',
    type: strOrNull,
    default: null,
    doc: 'Name shown in reports and used for the default run directory; null = the preset or config file name.',
  },
  {
    path: 'run.dir',
    type: strOrNull,
    default: null,
    doc: 'Run directory (config, metrics, events, checkpoints); null = `runs/<name>-<UTC date-time>`.',
  },
  // model
  {
    path: 'model.config',
    type: str,
    default: 't5-v1_1-small',
    doc: 'A T5 model preset (`t5-small`, `t5-v1_1-base`, ... `t5-v1_1-tiny`) or the path of a Hugging Face `config.json`.',
  },
  {
    path: 'model.checkpoint',
    type: strOrNull,
    default: null,
    doc: 'Start from the weights of this checkpoint directory (`config.json` + `model.safetensors`); null = random init. Fine-tuning and eval need one.',
  },
  {
    path: 'model.vocabSize',
    type: intOrNull(1),
    default: null,
    doc: "Override the model config's `vocab_size` (e.g. to fit a small vocabulary); null = keep it.",
  },
  // data
  {
    path: 'data.mixtureOrTask',
    type: str,
    default: 'ext5_pretrain',
    doc: 'Registered mixture or task to train on (`ext5 mixtures list`, `ext5 tasks list`).',
  },
  {
    path: 'data.dataDir',
    type: strOrNull,
    default: null,
    doc: 'Where tasks read their files; null = `$EXT5_DATA` or `~/.cache/ext5/data`.',
  },
  {
    path: 'data.vocabulary',
    type: strOrNull,
    default: null,
    doc: "SentencePiece vocabulary: `t5`, `mini` or a `.model` path; null = the tasks' own.",
  },
  {
    path: 'data.inputsLength',
    type: int(2),
    default: 512,
    doc: 'Encoder length in tokens (T5 pre-training: 512).',
  },
  {
    path: 'data.targetsLength',
    type: int(1),
    default: 114,
    doc: 'Decoder length in tokens (T5 pre-training: 114, what span corruption of 568 raw tokens gives for inputs 512).',
  },
  {
    path: 'data.noiseDensity',
    type: num(0, 1, true, true),
    default: 0.15,
    doc: 'Span corruption: fraction of tokens masked (T5: 0.15).',
  },
  {
    path: 'data.meanNoiseSpanLength',
    type: num(1),
    default: 3,
    doc: 'Span corruption: mean length of a masked span (T5: 3).',
  },
  {
    path: 'data.pack',
    type: bool,
    default: true,
    doc: 'Pack several examples per row (SeqIO `EncDecFeatureConverter(pack=True)`), as T5 does.',
  },
  { path: 'data.trainSplit', type: str, default: 'train', doc: 'Split to train on.' },
  {
    path: 'data.evalSplit',
    type: str,
    default: 'validation',
    doc: 'Split of the training mixture used for the validation loss.',
  },
  // mixture
  {
    path: 'mixture.R',
    type: num(0, undefined, true),
    default: 2,
    doc: 'ExT5: C4 span-corruption examples per ExMix example (applies to `ext5_pretrain`; the paper uses 2).',
  },
  {
    path: 'mixture.K',
    type: int(1),
    default: 300000,
    doc: 'ExT5: examples-proportional cap per ExMix task (applies to `ext5_pretrain`).',
  },
  {
    path: 'mixture.temperature',
    type: num(0, undefined, true),
    default: 1,
    doc: 'Mixing temperature: task rate = min(n, K)^(1/T) (applies to `ext5_pretrain`).',
  },
  // training
  {
    path: 'training.steps',
    type: int(1),
    default: 1000000,
    doc: 'Optimizer steps (ExT5 pre-training: 1M).',
  },
  {
    path: 'training.batchSize',
    type: int(1),
    default: 2048,
    doc: 'Batch per optimizer step, in `training.batchUnit` (ExT5: 2048 examples; T5 fine-tuning: 128).',
  },
  {
    path: 'training.batchUnit',
    type: oneOf('examples', 'tokens'),
    default: 'examples',
    doc: '`examples`: batchSize counts rows (one packed input/target pair each); `tokens`: batchSize counts encoder tokens, rows = batchSize / data.inputsLength.',
  },
  {
    path: 'training.gradAccumulation',
    type: int(1),
    default: 1,
    doc: 'Split each step into this many micro-batches (rows must divide evenly).',
  },
  {
    path: 'training.gradClip',
    type: num(0),
    default: 0,
    doc: 'Clip gradients to this global L2 norm; 0 = off (T5 relies on Adafactor update clipping instead).',
  },
  {
    path: 'training.zLoss',
    type: num(0),
    default: 0,
    doc: "Weight of T5X's z-loss on the softmax normalizer (T5X uses 1e-4); 0 = off.",
  },
  {
    path: 'training.labelSmoothing',
    type: num(0, 1, false, true),
    default: 0,
    doc: 'Label smoothing in [0, 1); 0 = off.',
  },
  {
    path: 'training.dropout',
    type: { kind: 'number', min: 0, max: 1, openMax: true, nullable: true },
    default: null,
    doc: "Dropout rate; null = the model config's `dropout_rate` (T5.1.1 pre-training: 0, fine-tuning: 0.1).",
  },
  {
    path: 'training.seed',
    type: int(0, 0xffffffff),
    default: 0,
    doc: 'Seed of every random stream (init, mixture sampling, span corruption, dropout).',
  },
  {
    path: 'training.dtype',
    type: oneOf('float32', 'bfloat16'),
    default: 'float32',
    doc: 'Compute dtype; bfloat16 keeps float32 master weights and optimizer state. Never float16 (T5 overflows).',
  },
  {
    path: 'training.device',
    type: {
      kind: 'string',
      pattern: /^(cpu|auto|cuda(:\d+)?)$/,
      patternText: "'cpu', 'cuda', 'cuda:N' or 'auto'",
    },
    default: 'cpu',
    doc: '`cpu`, `cuda`, `cuda:N`, or `auto` (CUDA when libtorch has it, else CPU).',
  },
  {
    path: 'training.threads',
    type: intOrNull(1),
    default: null,
    doc: "libtorch intra-op threads; null = all cores (`os.availableParallelism()`); torch's own default is 1.",
  },
  // optimizer
  {
    path: 'optimizer.name',
    type: oneOf('adafactor'),
    default: 'adafactor',
    doc: 'Optimizer (Adafactor only).',
  },
  {
    path: 'optimizer.schedule',
    type: oneOf('rsqrt', 'constant', 'linear', 'cosine'),
    default: 'rsqrt',
    doc: '`rsqrt`: lr / sqrt(max(step - offset, warmupSteps)) (T5 pre-training); `constant` (T5 fine-tuning: 1e-3); `linear` / `cosine`: warm-up then decay to minLr.',
  },
  {
    path: 'optimizer.lr',
    type: { kind: 'number', min: 0, openMin: true, nullable: true },
    default: null,
    doc: 'The rate: scale of `rsqrt`, value of `constant`, peak of `linear`/`cosine`; null = 1 for rsqrt (0.01 for the first 10^4 steps), 1e-3 otherwise.',
  },
  {
    path: 'optimizer.warmupSteps',
    type: intOrNull(0),
    default: null,
    doc: 'rsqrt: steps at the initial plateau (null = 10^4); linear/cosine: linear warm-up from 0 (null = 0).',
  },
  {
    path: 'optimizer.decaySteps',
    type: intOrNull(1),
    default: null,
    doc: 'linear/cosine: step at which the rate reaches minLr; null = training.steps.',
  },
  { path: 'optimizer.minLr', type: num(0), default: 0, doc: 'linear/cosine: final rate.' },
  {
    path: 'optimizer.offset',
    type: int(0),
    default: 0,
    doc: 'rsqrt: steps subtracted before the decay (e.g. the pre-training steps when continuing a schedule).',
  },
  {
    path: 'optimizer.scaleParameter',
    type: bool,
    default: true,
    doc: 'Adafactor: multiply the rate by max(eps2, RMS(param)) (T5: on).',
  },
  {
    path: 'optimizer.clipThreshold',
    type: num(0),
    default: 1,
    doc: 'Adafactor: update clipping threshold d (RMS of the update); 0 = off.',
  },
  {
    path: 'optimizer.decayRate',
    type: num(0, 1, true),
    default: 0.8,
    doc: 'Adafactor: second-moment decay beta2_t = 1 - t^(-decayRate).',
  },
  {
    path: 'optimizer.beta1',
    type: { kind: 'number', min: 0, max: 1, openMax: true, nullable: true },
    default: null,
    doc: 'Adafactor: momentum; null = none (T5).',
  },
  { path: 'optimizer.eps1', type: num(0, undefined, true), default: 1e-30, doc: 'Adafactor: added to g^2.' },
  {
    path: 'optimizer.eps2',
    type: num(0, undefined, true),
    default: 1e-3,
    doc: 'Adafactor: floor of the parameter scale.',
  },
  {
    path: 'optimizer.weightDecay',
    type: num(0),
    default: 0,
    doc: 'Adafactor: decoupled weight decay, scaled by the step rate; 0 = off.',
  },
  {
    path: 'optimizer.factored',
    type: bool,
    default: true,
    doc: 'Adafactor: factor second moments of matrices.',
  },
  {
    path: 'optimizer.minDimSizeToFactor',
    type: int(1),
    default: 128,
    doc: 'Adafactor: factor only when both of the two largest dims are at least this.',
  },
  // eval
  {
    path: 'eval.every',
    type: int(0),
    default: 5000,
    doc: 'Evaluate every N steps (and at the end); 0 = only at the end.',
  },
  {
    path: 'eval.lossBatches',
    type: int(0),
    default: 20,
    doc: 'Batches of `data.evalSplit` averaged for the validation loss; 0 = no validation loss.',
  },
  {
    path: 'eval.tasks',
    type: { kind: 'string[]' },
    default: [],
    doc: 'Tasks or benchmark mixtures decoded and scored with their metrics (e.g. `[superglue]`); `--set eval.tasks=a,b` works too.',
  },
  { path: 'eval.split', type: str, default: 'validation', doc: 'Split of `eval.tasks` to score.' },
  {
    path: 'eval.maxExamples',
    type: intOrNull(1),
    default: null,
    doc: 'Score at most this many examples per task; null = all.',
  },
  {
    path: 'eval.batchSize',
    type: intOrNull(1),
    default: null,
    doc: 'Rows per evaluation batch; null = the training micro-batch.',
  },
  {
    path: 'eval.decoding',
    type: oneOf('greedy', 'beam'),
    default: 'greedy',
    doc: 'Decoding for generated answers (T5 reports greedy for most tasks; beam for some generation tasks).',
  },
  { path: 'eval.numBeams', type: int(2), default: 4, doc: 'Beam search: beams (T5: 4).' },
  {
    path: 'eval.lengthPenalty',
    type: num(),
    default: 0.6,
    doc: 'Beam search: length penalty alpha (T5: 0.6).',
  },
  {
    path: 'eval.maxNewTokens',
    type: intOrNull(1),
    default: null,
    doc: 'Longest generated answer; null = data.targetsLength.',
  },
  {
    path: 'eval.rankClassification',
    type: bool,
    default: false,
    doc: 'Score classification tasks by ranking the label strings by likelihood instead of decoding.',
  },
  // checkpoint
  {
    path: 'checkpoint.every',
    type: int(0),
    default: 5000,
    doc: 'Save a checkpoint every N steps (and at the end); 0 = only at the end.',
  },
  {
    path: 'checkpoint.keepLast',
    type: int(0),
    default: 3,
    doc: 'Keep the newest K checkpoints; 0 = keep all.',
  },
  {
    path: 'checkpoint.resume',
    type: str,
    default: 'auto',
    doc: '`auto`: continue from the newest checkpoint in the run directory if there is one; `none`: start afresh; or a checkpoint directory.',
  },
  // logging
  {
    path: 'logging.every',
    type: int(1),
    default: 100,
    doc: 'Write training metrics (loss, lr, tokens/s) every N steps.',
  },
  {
    path: 'logging.tensorboard',
    type: bool,
    default: true,
    doc: 'Also write TensorBoard event files into the run directory.',
  },
  {
    path: 'logging.progress',
    type: bool,
    default: true,
    doc: 'Show a progress bar (a plain line every 10 s when stderr is not a terminal).',
  },
];

const KEY_BY_PATH: ReadonlyMap<string, ConfigKey> = new Map(CONFIG_KEYS.map((k) => [k.path, k]));
const SECTIONS: readonly string[] = [...new Set(CONFIG_KEYS.map((k) => k.path.split('.')[0]!))];

/** The dotted paths of every key. */
export function configKeyPaths(): string[] {
  return CONFIG_KEYS.map((k) => k.path);
}

function clone<T>(v: T): T {
  return v === null || typeof v !== 'object' ? v : (JSON.parse(JSON.stringify(v)) as T);
}

function setPath(obj: Record<string, unknown>, dotted: string, value: unknown): void {
  const parts = dotted.split('.');
  let cur = obj;
  for (const p of parts.slice(0, -1)) {
    if (cur[p] === undefined) cur[p] = {};
    cur = cur[p] as Record<string, unknown>;
  }
  cur[parts[parts.length - 1]!] = value;
}

/** Reads a dotted path of a config (`getPath(cfg, 'training.steps')`). */
export function getPath(obj: unknown, dotted: string): unknown {
  let cur: unknown = obj;
  for (const p of dotted.split('.')) {
    if (cur === null || typeof cur !== 'object') return undefined;
    cur = (cur as Record<string, unknown>)[p];
  }
  return cur;
}

/** A fresh copy of the defaults (the ExT5 pre-training recipe). */
export function defaultRunConfig(): RunConfig {
  const out: Record<string, unknown> = {};
  for (const k of CONFIG_KEYS) setPath(out, k.path, clone(k.default));
  return out as unknown as RunConfig;
}

/** How the expected type reads in an error: "a positive integer", "a number in (0, 1)", ... */
export function describeType(t: KeyType): string {
  const orNull = (s: string, nullable?: boolean) => (nullable ? `${s} or null` : s);
  switch (t.kind) {
    case 'int': {
      let s: string;
      if (t.min === 1 && t.max === undefined) s = 'a positive integer';
      else if (t.min === 0 && t.max === undefined) s = 'an integer >= 0';
      else if (t.min !== undefined && t.max !== undefined) s = `an integer in [${t.min}, ${t.max}]`;
      else if (t.min !== undefined) s = `an integer >= ${t.min}`;
      else s = 'an integer';
      return orNull(s, t.nullable);
    }
    case 'number': {
      let s: string;
      if (t.min !== undefined && t.max !== undefined) {
        s = `a number in ${t.openMin ? '(' : '['}${t.min}, ${t.max}${t.openMax ? ')' : ']'}`;
      } else if (t.min !== undefined) {
        s = t.min === 0 && t.openMin ? 'a positive number' : `a number ${t.openMin ? '>' : '>='} ${t.min}`;
      } else s = 'a number';
      return orNull(s, t.nullable);
    }
    case 'bool':
      return 'true or false';
    case 'string':
      return orNull(t.patternText ?? 'a string', t.nullable);
    case 'enum':
      return `one of ${t.values.map((v) => `'${v}'`).join(', ')}`;
    case 'string[]':
      return 'a list of strings';
  }
}

function show(v: unknown): string {
  if (v === undefined) return 'nothing';
  if (typeof v === 'number' && !Number.isFinite(v)) return String(v);
  const s = JSON.stringify(v);
  return s.length > 60 ? `${s.slice(0, 57)}...` : s;
}

/**
 * Checks one value against its key's type; returns the (possibly normalised) value.
 * `fromSet` allows the comma-separated form of lists that `--set` gives.
 */
function checkValue(key: ConfigKey, value: unknown, source: string, fromSet: boolean): unknown {
  const t = key.type;
  const fail = (): never => {
    let hint: string | undefined;
    if (t.kind === 'enum' && typeof value === 'string') {
      const d = didYouMean(value, t.values);
      if (d) hint = `did you mean '${closestName(value, t.values)}'?`;
    }
    throw new Ext5Error(
      'EXT5_CONFIG',
      `${key.path}: expected ${describeType(t)}, got ${show(value)} (from ${source})`,
      hint ?? `default: ${show(key.default)}. ${key.doc}`,
    );
  };
  if (value === null) {
    if ((t.kind === 'int' || t.kind === 'number' || t.kind === 'string') && t.nullable) return null;
    return fail();
  }
  switch (t.kind) {
    case 'int':
    case 'number': {
      if (typeof value !== 'number' || !Number.isFinite(value)) return fail();
      if (t.kind === 'int' && !Number.isInteger(value)) return fail();
      if (t.min !== undefined && (value < t.min || (t.kind === 'number' && t.openMin && value === t.min)))
        return fail();
      if (t.max !== undefined && (value > t.max || (t.kind === 'number' && t.openMax && value === t.max)))
        return fail();
      return value;
    }
    case 'bool':
      return typeof value === 'boolean' ? value : fail();
    case 'string':
      if (typeof value !== 'string' || value === '') return fail();
      if (t.pattern && !t.pattern.test(value)) return fail();
      return value;
    case 'enum':
      return typeof value === 'string' && t.values.includes(value) ? value : fail();
    case 'string[]':
      if (fromSet && typeof value === 'string') {
        return value
          .split(',')
          .map((s) => s.trim())
          .filter((s) => s !== '');
      }
      if (Array.isArray(value) && value.every((x) => typeof x === 'string' && x !== '')) return [...value];
      return fail();
  }
}

function unknownKey(dotted: string, source: string): Ext5Error {
  const section = dotted.split('.')[0]!;
  const inSection = CONFIG_KEYS.filter((k) => k.path.startsWith(`${section}.`)).map((k) => k.path);
  // Suggest within the section first (a misspelt key), then across all keys (a misspelt section).
  const guess =
    closestName(dotted, inSection.length > 0 ? inSection : configKeyPaths()) ??
    closestName(dotted, configKeyPaths());
  return new Ext5Error(
    'EXT5_CONFIG',
    `unknown config key '${dotted}' (from ${source})${guess ? ` (did you mean '${guess}'?)` : ''}`,
    inSection.length > 0
      ? `keys of '${section}': ${inSection.map((p) => p.slice(section.length + 1)).join(', ')}`
      : `sections: ${SECTIONS.join(', ')} (every key is in docs/configuration.md)`,
  );
}

/** Where each resolved value came from: 'default', "preset 'tiny-demo'", a file path, or '--set'. */
export type ConfigSources = Record<string, string>;

/** A resolved configuration and the source of each value. */
export interface ResolvedRunConfig {
  config: RunConfig;
  sources: ConfigSources;
}

/**
 * Applies a nested object of values (a parsed file, a preset) onto `target`, key by key.
 * Unknown keys, wrong types and out-of-range values throw Ext5Error EXT5_CONFIG naming `source`.
 */
function applyObject(
  target: RunConfig,
  sources: ConfigSources,
  obj: unknown,
  source: string,
  prefix = '',
): void {
  if (obj === null || typeof obj !== 'object' || Array.isArray(obj)) {
    throw new Ext5Error(
      'EXT5_CONFIG',
      `${prefix ? `${prefix.slice(0, -1)}: ` : ''}expected a mapping of keys, got ${show(obj)} (from ${source})`,
      prefix
        ? `write it as '${prefix.slice(0, -1)}: { key: value, ... }'`
        : 'a config file holds sections such as `training: { steps: 1000 }`',
    );
  }
  for (const [k, v] of Object.entries(obj as Record<string, unknown>)) {
    const dotted = `${prefix}${k}`;
    const key = KEY_BY_PATH.get(dotted);
    if (key) {
      setPath(target as unknown as Record<string, unknown>, dotted, checkValue(key, v, source, false));
      sources[dotted] = source;
    } else if (CONFIG_KEYS.some((c) => c.path.startsWith(`${dotted}.`))) {
      applyObject(target, sources, v, source, `${dotted}.`);
    } else {
      throw unknownKey(dotted, source);
    }
  }
}

/** Applies a flat map of dotted paths (what presets hold). */
function applyFlat(
  target: RunConfig,
  sources: ConfigSources,
  flat: Readonly<Record<string, unknown>>,
  source: string,
): void {
  for (const [dotted, v] of Object.entries(flat)) {
    const key = KEY_BY_PATH.get(dotted);
    if (!key) throw unknownKey(dotted, source);
    setPath(target as unknown as Record<string, unknown>, dotted, checkValue(key, clone(v), source, false));
    sources[dotted] = source;
  }
}

/**
 * Parses one `--set key.path=value`. The value is JSON when it parses as JSON (numbers, true/false,
 * null, lists, quoted strings), otherwise the literal string.
 * @example
 * parseSetArg('training.steps=100');  // { path: 'training.steps', value: 100 }
 * parseSetArg('model.config=t5-v1_1-base'); // { path: 'model.config', value: 't5-v1_1-base' }
 */
export function parseSetArg(arg: string): { path: string; value: unknown } {
  const eq = arg.indexOf('=');
  if (eq <= 0) {
    throw new Ext5Error(
      'EXT5_CONFIG',
      `--set '${arg}': expected key.path=value`,
      'e.g. --set training.steps=1000 --set eval.tasks=super_glue_cb,super_glue_rte',
    );
  }
  const dotted = arg.slice(0, eq).trim();
  const raw = arg.slice(eq + 1);
  let value: unknown = raw;
  try {
    value = JSON.parse(raw);
  } catch {
    // not JSON: the literal string
  }
  return { path: dotted, value };
}

/** Reads a JSON or YAML config file (by extension; other extensions are tried as YAML, a superset of JSON). */
export function readConfigFile(file: string): unknown {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new Ext5Error(
      code === 'ENOENT' ? 'EXT5_FILE_NOT_FOUND' : 'EXT5_CONFIG',
      `cannot read config file '${file}': ${code === 'ENOENT' ? 'no such file' : (err as Error).message}`,
      'check the path (relative paths are from the current directory), or use --preset NAME.',
    );
  }
  if (/\.json$/i.test(file)) {
    try {
      return JSON.parse(text);
    } catch (err) {
      const msg = (err as Error).message;
      // Node reports a character offset; translate it to a line for people.
      const m = /position (\d+)/.exec(msg);
      const line = m ? text.slice(0, Number(m[1])).split('\n').length : undefined;
      throw new Ext5Error(
        'EXT5_CONFIG',
        `${file}${line ? `:${line}` : ''}: not valid JSON (${msg})`,
        'fix the JSON syntax, or write the config as YAML (.yaml).',
      );
    }
  }
  try {
    return yaml.load(text, { filename: file }) ?? {};
  } catch (err) {
    const e = err as { reason?: string; mark?: { line: number; column: number }; message: string };
    const where = e.mark ? `${file}:${e.mark.line + 1}:${e.mark.column + 1}` : file;
    throw new Ext5Error(
      'EXT5_CONFIG',
      `${where}: not valid YAML (${e.reason ?? e.message})`,
      'check indentation (spaces, not tabs) and that every key is followed by ": ".',
    );
  }
}

/** How a config is assembled: later sources override earlier ones. */
export interface LoadRunConfigOptions {
  /** A named run preset (`ext5-pretrain-small`, `tiny-demo`, ...); applied over the defaults. */
  preset?: string;
  /** A JSON or YAML file; may name its own base with a top-level `preset: NAME`. */
  file?: string;
  /** `key.path=value` strings, as given to `--set`. */
  set?: readonly string[];
  /** Nested values set by code (e.g. `{ run: { kind: 'finetune' } }`), applied after the file, before --set. */
  overrides?: unknown;
  /** Check that `model.config` names a preset or an existing file (default true). */
  checkPaths?: boolean;
}

/**
 * Builds a run configuration: defaults, then the preset, then the file, then `overrides`, then each
 * `--set`, then cross-key checks. Returns the config and the source of every value.
 * @throws Ext5Error EXT5_CONFIG naming the key, the expected type and the source of the bad value.
 */
export function resolveRunConfig(opts: LoadRunConfigOptions = {}): ResolvedRunConfig {
  const config = defaultRunConfig();
  const sources: ConfigSources = Object.fromEntries(CONFIG_KEYS.map((k) => [k.path, 'default']));
  let fileObj: unknown;
  let presetName = opts.preset;
  if (opts.file !== undefined) {
    fileObj = readConfigFile(opts.file);
    if (fileObj !== null && typeof fileObj === 'object' && !Array.isArray(fileObj)) {
      const { preset: filePreset, ...rest } = fileObj as Record<string, unknown>;
      if (filePreset !== undefined) {
        if (typeof filePreset !== 'string') {
          throw new Ext5Error(
            'EXT5_CONFIG',
            `preset: expected a preset name, got ${show(filePreset)} (from ${opts.file})`,
            `presets: ${runPresetNames().join(', ')}`,
          );
        }
        if (presetName !== undefined && presetName !== filePreset) {
          throw new Ext5Error(
            'EXT5_CONFIG',
            `${opts.file} names preset '${filePreset}' but --preset '${presetName}' was also given`,
            'give the preset in one place only.',
          );
        }
        presetName = filePreset;
      }
      fileObj = rest;
    }
  }
  if (presetName !== undefined) {
    applyFlat(config, sources, runPreset(presetName).values, `preset '${presetName}'`);
    if (config.run.name === null) {
      config.run.name = presetName;
      sources['run.name'] = `preset '${presetName}'`;
    }
  }
  if (opts.file !== undefined) {
    applyObject(config, sources, fileObj, opts.file);
    if (config.run.name === null) {
      config.run.name = path.basename(opts.file).replace(/\.(json|ya?ml)$/i, '');
      sources['run.name'] = opts.file;
    }
  }
  if (opts.overrides !== undefined) applyObject(config, sources, opts.overrides, 'code');
  for (const arg of opts.set ?? []) {
    const { path: dotted, value } = parseSetArg(arg);
    const key = KEY_BY_PATH.get(dotted);
    if (!key) throw unknownKey(dotted, '--set');
    setPath(config as unknown as Record<string, unknown>, dotted, checkValue(key, value, '--set', true));
    sources[dotted] = '--set';
  }
  checkCrossKeys(config, sources, opts.checkPaths ?? true);
  return { config, sources };
}

/**
 * {@link resolveRunConfig} without the sources.
 * @example
 * loadRunConfig({ file: 'run.yaml', set: ['optimizer.schedule=cosine', 'optimizer.lr=0.01'] });
 */
export function loadRunConfig(opts: LoadRunConfigOptions = {}): RunConfig {
  return resolveRunConfig(opts).config;
}

/**
 * Validates a complete config object, e.g. a run directory's config.json read back for resuming.
 * Missing keys take their defaults; unknown keys are errors.
 */
export function validateRunConfig(obj: unknown, source: string, checkPaths = false): RunConfig {
  const config = defaultRunConfig();
  const sources: ConfigSources = {};
  applyObject(config, sources, obj, source);
  checkCrossKeys(config, sources, checkPaths);
  return config;
}

function crossError(message: string, keys: string[], sources: ConfigSources, hint: string): Ext5Error {
  const from = [...new Set(keys.map((k) => sources[k] ?? 'default'))].join(', ');
  return new Ext5Error('EXT5_CONFIG', `${message} (from ${from})`, hint);
}

function checkCrossKeys(c: RunConfig, sources: ConfigSources, checkPaths: boolean): void {
  batchRows(c, sources);
  // Build the schedule once: its own checks (warm-up within decay, minLr <= peak) then hold for the run.
  try {
    makeSchedule(scheduleSpec(c), 'optimizer');
  } catch (err) {
    if (!(err instanceof Ext5Error)) throw err;
    const keys = ['optimizer.schedule', 'optimizer.lr', 'optimizer.warmupSteps', 'optimizer.decaySteps'];
    throw crossError(
      err.message,
      keys,
      sources,
      'adjust optimizer.warmupSteps, optimizer.decaySteps or optimizer.minLr.',
    );
  }
  if (checkPaths) {
    const m = c.model.config;
    const presets = modelPresetNames();
    if (!presets.includes(m) && !fs.existsSync(m)) {
      const looksLikePath = m.includes('/') || m.endsWith('.json');
      throw new Ext5Error(
        'EXT5_CONFIG',
        `model.config: '${m}' is neither a model preset nor an existing file (from ${sources['model.config'] ?? 'default'})${looksLikePath ? '' : didYouMean(m, presets)}`,
        `model presets: ${presets.join(', ')}; or the path of a Hugging Face config.json.`,
      );
    }
  }
}

/** Rows (sequences) per optimizer step and per micro-batch. */
export interface BatchRows {
  rowsPerStep: number;
  microBatchRows: number;
  gradAccumulation: number;
  /** Encoder tokens per step (rows x inputsLength), the unit of tokens/s. */
  tokensPerStep: number;
}

/**
 * Turns training.batchSize (in examples or tokens) and gradAccumulation into rows per micro-batch.
 * @example
 * batchRows(loadRunConfig({ set: ['training.batchUnit=tokens', 'training.batchSize=65536'] }));
 * // { rowsPerStep: 128, microBatchRows: 128, gradAccumulation: 1, tokensPerStep: 65536 }
 */
export function batchRows(c: RunConfig, sources: ConfigSources = {}): BatchRows {
  const t = c.training;
  let rows = t.batchSize;
  if (t.batchUnit === 'tokens') {
    if (t.batchSize % c.data.inputsLength !== 0) {
      throw crossError(
        `training.batchSize: ${t.batchSize} tokens is not a whole number of rows of data.inputsLength ${c.data.inputsLength}`,
        ['training.batchSize', 'data.inputsLength'],
        sources,
        `use a multiple of ${c.data.inputsLength}, e.g. ${Math.max(1, Math.round(t.batchSize / c.data.inputsLength)) * c.data.inputsLength}.`,
      );
    }
    rows = t.batchSize / c.data.inputsLength;
  }
  if (rows % t.gradAccumulation !== 0) {
    throw crossError(
      `training.gradAccumulation: ${rows} rows per step do not split into ${t.gradAccumulation} equal micro-batches`,
      ['training.batchSize', 'training.gradAccumulation'],
      sources,
      'make the rows per step a multiple of training.gradAccumulation.',
    );
  }
  return {
    rowsPerStep: rows,
    microBatchRows: rows / t.gradAccumulation,
    gradAccumulation: t.gradAccumulation,
    tokensPerStep: rows * c.data.inputsLength,
  };
}

/**
 * The learning-rate schedule of a config, in the form `makeSchedule` (lib/optim/schedules) takes.
 * @example
 * scheduleSpec(defaultRunConfig()); // { name: 'rsqrt', warmupSteps: 10000, scale: 1, offset: 0 }
 */
export function scheduleSpec(c: RunConfig): ScheduleSpec {
  const o = c.optimizer;
  switch (o.schedule) {
    case 'rsqrt':
      return { name: 'rsqrt', warmupSteps: o.warmupSteps ?? 10_000, scale: o.lr ?? 1, offset: o.offset };
    case 'constant':
      return { name: 'constant', lr: o.lr ?? 1e-3 };
    case 'linear':
    case 'cosine':
      return {
        name: o.schedule,
        peak: o.lr ?? 1e-3,
        warmupSteps: o.warmupSteps ?? 0,
        totalSteps: o.decaySteps ?? c.training.steps,
        minLr: o.minLr,
      };
  }
}

/**
 * Adafactor options of a config (lib/optim/adafactor). The rate comes from the schedule every step
 * (`relativeStep: false`), so `lr` here is the rate at step 0.
 */
export function adafactorOptions(c: RunConfig): AdafactorOptions {
  const o = c.optimizer;
  return {
    lr: makeSchedule(scheduleSpec(c))(0),
    relativeStep: false,
    scaleParameter: o.scaleParameter,
    eps1: o.eps1,
    eps2: o.eps2,
    clipThreshold: o.clipThreshold,
    decayRate: o.decayRate,
    beta1: o.beta1,
    weightDecay: o.weightDecay,
    factored: o.factored,
    minDimSizeToFactor: o.minDimSizeToFactor,
  };
}

/** libtorch threads for a config: training.threads, or every core. */
export function resolveThreads(c: RunConfig): number {
  return c.training.threads ?? os.availableParallelism();
}

/** The resolved config as the run directory keeps it (config.json): pretty JSON with a final newline. */
export function serializeRunConfig(c: RunConfig): string {
  return `${JSON.stringify(c, null, 2)}\n`;
}

/** A YAML rendering of a config with each key's meaning as a comment (for `--print-config`, starter files). */
export function renderConfigYaml(c: RunConfig): string {
  const lines: string[] = [];
  let section = '';
  for (const k of CONFIG_KEYS) {
    const [sec, name] = [k.path.split('.')[0]!, k.path.slice(k.path.indexOf('.') + 1)];
    if (sec !== section) {
      if (section) lines.push('');
      lines.push(`${sec}:`);
      section = sec;
    }
    const v = getPath(c, k.path);
    const text = yaml.dump(v, { flowLevel: 0 }).trimEnd();
    lines.push(`  ${name}: ${text}  # ${k.doc.replace(/`/g, '')}`);
  }
  return `${lines.join('\n')}\n`;
}

/** Markdown table of every key (docs/configuration.md embeds exactly this; a test checks it). */
export function renderConfigReference(): string {
  const out: string[] = [];
  let section = '';
  for (const k of CONFIG_KEYS) {
    const sec = k.path.split('.')[0]!;
    if (sec !== section) {
      if (section) out.push('');
      out.push(`### ${sec}`, '', '| key | type | default | meaning |', '|---|---|---|---|');
      section = sec;
    }
    const def = JSON.stringify(k.default);
    out.push(
      `| \`${k.path}\` | ${describeType(k.type).replace(/\|/g, '\\|')} | \`${def}\` | ${k.doc.replace(/\|/g, '\\|')} |`,
    );
  }
  return `${out.join('\n')}\n`;
}

export { RUN_PRESETS, runPresetNames };
