/**
 * The run configuration's key table, {@link CONFIG_KEYS}: every key's dotted path, type, range,
 * default and meaning, declared once. The {@link RunConfig} type is derived from this table (see
 * the type-level mapping below), so a key cannot exist in one and not the other; the defaults,
 * the validation and `--set` (lib/run/run_config.ts) and docs/configuration.md (via
 * `renderConfigReference`) all read the same table.
 *
 * The defaults are the ExT5 pre-training recipe (docs/configuration.md): ExT5 mixture with R = 2
 * C4 examples per ExMix example and cap K = 300000, inputs 512 / targets 114 tokens, span
 * corruption with T5's noise density and mean span (SPAN_CORRUPTION_DEFAULTS), packing, Adafactor with the T5 schedule
 * 1/sqrt(max(step, 10^4)), 1M steps at batch 2048.
 */

import { SPAN_CORRUPTION_DEFAULTS } from '../text/span_corruption';

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
  readonly path: string;
  readonly type: KeyType;
  readonly default: unknown;
  readonly doc: string;
}

// The helpers keep their literal types (`nullable: true`, the enum's values) because the
// RunConfig type below is computed from them.
const int = (min?: number, max?: number) => ({ kind: 'int', min, max }) as const;
const intOrNull = (min?: number) => ({ kind: 'int', min, nullable: true }) as const;
const num = (min?: number, max?: number, openMin = false, openMax = false) =>
  ({ kind: 'number', min, max, openMin, openMax }) as const;
const str = { kind: 'string' } as const;
const strOrNull = { kind: 'string', nullable: true } as const;
const bool = { kind: 'bool' } as const;
const oneOf = <const V extends readonly string[]>(...values: V) => ({ kind: 'enum', values }) as const;

/**
 * Every key of {@link RunConfig}, in the order of the docs. Sections: run, model, data, mixture,
 * training, optimizer, eval, checkpoint, logging.
 */
const KEY_TABLE = [
  // run
  {
    path: 'run.kind',
    type: oneOf('pretrain', 'finetune', 'eval'),
    default: 'pretrain',
    doc: 'What the run does. The `ext5 pretrain|finetune` commands set it (`ext5 eval` takes no run config).',
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
    doc: 'A T5 model preset (`t5-small`, `t5-v1_1-base`, ... `t5-v1_1-tiny`) the path of a Hugging Face `config.json`, or a Hub model id (`google/t5-v1_1-base`) whose `config.json` is fetched (a new model of that architecture).',
  },
  {
    path: 'model.checkpoint',
    type: strOrNull,
    default: null,
    doc: 'Start from the weights of this checkpoint directory (`config.json` + `model.safetensors`) or Hub model id (`org/name`, `org/name@revision`, downloaded into the Hugging Face cache); null = random init. Fine-tuning and eval need one.',
  },
  {
    path: 'model.vocabSize',
    type: intOrNull(1),
    default: null,
    doc: "Override the model config's `vocab_size` (e.g. to fit a small vocabulary); null = keep it.",
  },
  {
    path: 'model.gradientCheckpointing',
    type: bool,
    default: false,
    doc: "Activation checkpointing: keep only each encoder/decoder block's inputs and recompute the block in backward (same gradients, less activation memory, about one more forward pass per step; docs/scale.md).",
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
    default: SPAN_CORRUPTION_DEFAULTS.noiseDensity,
    doc: `Span corruption: fraction of tokens masked (T5: ${SPAN_CORRUPTION_DEFAULTS.noiseDensity}).`,
  },
  {
    path: 'data.meanNoiseSpanLength',
    type: num(1),
    default: SPAN_CORRUPTION_DEFAULTS.meanNoiseSpanLength,
    doc: `Span corruption: mean length of a masked span (T5: ${SPAN_CORRUPTION_DEFAULTS.meanNoiseSpanLength}).`,
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
    path: 'training.sharding',
    type: oneOf('none', 'optimizer', 'gradients', 'full'),
    default: 'none',
    doc: "Sharded data parallelism over the ranks of `ext5 launch` (ZeRO-1/2/3): each rank keeps the optimizer state of the parameters it owns ('optimizer'), also only their gradients ('gradients'), also only their block parameters, gathered per block while it runs ('full', needs model.gradientCheckpointing). Parameters are owned whole, balanced by size (docs/scale.md).",
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
    doc: 'Evaluate every N steps and at the end; 0 = never (no validation loss, no task scores).',
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
    doc: 'Save a checkpoint every N steps and at the end; 0 = only when the run is stopped by a signal (to resume from).',
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
] as const satisfies readonly ConfigKey[];

/** Every key of {@link RunConfig} (the table above, typed for reading). */
export const CONFIG_KEYS: readonly ConfigKey[] = KEY_TABLE;

/** The value type of one key type: `nullable` adds null, an enum gives the union of its values. */
type ValueOf<T> = T extends { kind: 'int' | 'number' }
  ? number | (T extends { nullable: true } ? null : never)
  : T extends { kind: 'string' }
    ? string | (T extends { nullable: true } ? null : never)
    : T extends { kind: 'bool' }
      ? boolean
      : T extends { kind: 'enum'; values: readonly (infer V)[] }
        ? V
        : T extends { kind: 'string[]' }
          ? string[]
          : never;

type Key = (typeof KEY_TABLE)[number];
type SectionOf<P> = P extends `${infer S}.${string}` ? S : never;

/**
 * The resolved configuration of one run, computed from {@link CONFIG_KEYS}: one section per path
 * prefix, one field per key, typed by the key's type. Every key is documented in the table.
 */
export type RunConfig = {
  [S in SectionOf<Key['path']>]: {
    [K in Key as K['path'] extends `${S}.${infer N}` ? N : never]: ValueOf<K['type']>;
  };
};

/** The names of the sections (run, model, data, ...), in the order of the docs. */
export type ConfigSection = keyof RunConfig;

/** Where each resolved value came from: 'default', "preset 'tiny-demo'", a file path, or '--set'. */
export type ConfigSources = Record<string, string>;

/** The dotted paths of every key. */
export function configKeyPaths(): string[] {
  return CONFIG_KEYS.map((k) => k.path);
}
