/**
 * Named run presets: flat maps of config keys (lib/run/run_config.ts) applied over the defaults.
 * The defaults already are the ExT5 pre-training recipe of the paper (1M steps at batch 2048,
 * inputs 512 / targets 114, ExT5 mixture R = 2, K = 300000, Adafactor, rsqrt); presets name the
 * model and the data, and scale the recipe down where their name says so.
 *
 * @example
 * runPreset('tiny-demo').values['training.steps']; // 400
 */
import { didYouMean, Ext5Error } from '../util/errors';

/** A preset: what it is for, and the keys it sets (dotted paths). */
export interface RunPreset {
  description: string;
  values: Readonly<Record<string, unknown>>;
}

// The mini vocabulary (assets/mini/spm) has 1887 SentencePiece pieces plus 100 sentinels = 1987 ids;
// 2048 is the next multiple of 128 (T5X pads the embedding the same way).
const MINI_VOCAB = 2048;

const TINY_MODEL = {
  'model.config': 't5-v1_1-tiny',
  'model.vocabSize': MINI_VOCAB,
  'data.inputsLength': 128,
  'data.targetsLength': 32,
  'training.dtype': 'float32',
  'training.device': 'cpu',
};

/** The demo's two pre-training runs (ExT5 and T5) share everything but their data. */
const TINY_DEMO_SCHEDULE = {
  'training.steps': 400,
  'training.batchSize': 16,
  'eval.every': 100,
  'eval.lossBatches': 4,
  'checkpoint.every': 200,
  'checkpoint.keepLast': 2,
  'logging.every': 10,
} as const;

/**
 * The paper's larger sizes on 8 devices of 80 GB: bfloat16 compute, 16 rows per device and
 * micro-batch (batch 2048 = 8 ranks × 16 rows × 16 accumulated micro-batches), and the settings
 * `ext5 plan` picks there: the cheapest runnable one where one fits, else the cheapest overall
 * (test/unit/run/large_presets.test.ts checks them against the planner). XXL needs sharded
 * gradients (ZeRO-2) with checkpointing.
 */
const LARGE_SIZES = {
  large: { 'model.gradientCheckpointing': false, 'training.sharding': 'none' },
  xl: { 'model.gradientCheckpointing': true, 'training.sharding': 'none' },
  xxl: { 'model.gradientCheckpointing': true, 'training.sharding': 'gradients' },
} as const;

/** World size, device memory and rows per device the LARGE_SIZES settings were planned for. */
export const LARGE_PRESET_PLAN = { worldSize: 8, deviceMemory: '80GB', rowsPerRank: 16 } as const;

function largePresets(): Record<string, RunPreset> {
  const out: Record<string, RunPreset> = {};
  for (const [size, settings] of Object.entries(LARGE_SIZES)) {
    const how = `${settings['model.gradientCheckpointing'] ? 'activation checkpointing' : 'no checkpointing'}${settings['training.sharding'] === 'none' ? '' : `, sharded ${settings['training.sharding']}`}`;
    const values = {
      'run.kind': 'pretrain',
      'model.config': `t5-v1_1-${size}`,
      'training.dtype': 'bfloat16',
      'training.gradAccumulation': 16,
      ...settings,
    };
    out[`ext5-pretrain-${size}`] = {
      description: `ExT5 pre-training of T5.1.1 ${size}, the paper recipe, for 8 × 80 GB devices (ext5 launch --nproc 8): bfloat16, 16 accumulated micro-batches, ${how}.`,
      values: { ...values, 'data.mixtureOrTask': 'ext5_pretrain' },
    };
    out[`t5-pretrain-${size}`] = {
      description: `The T5.1.1 baseline on C4 span corruption only, T5.1.1 ${size}, set up as ext5-pretrain-${size}.`,
      values: { ...values, 'data.mixtureOrTask': 'c4_span_corruption' },
    };
  }
  return out;
}

/** Every preset, by name. */
export const RUN_PRESETS: Readonly<Record<string, RunPreset>> = {
  'ext5-pretrain-small': {
    description:
      'ExT5 pre-training of T5.1.1 small as in the paper: ext5_pretrain (R=2, K=300000), 1M steps at batch 2048, rsqrt.',
    values: {
      'run.kind': 'pretrain',
      'model.config': 't5-v1_1-small',
      'data.mixtureOrTask': 'ext5_pretrain',
    },
  },
  'ext5-pretrain-base': {
    description: 'ExT5 pre-training of T5.1.1 base, the paper recipe.',
    values: { 'run.kind': 'pretrain', 'model.config': 't5-v1_1-base', 'data.mixtureOrTask': 'ext5_pretrain' },
  },
  't5-pretrain-small': {
    description:
      'The T5.1.1 baseline of the paper: the same recipe on C4 span corruption only (no ExMix), T5.1.1 small.',
    values: {
      'run.kind': 'pretrain',
      'model.config': 't5-v1_1-small',
      'data.mixtureOrTask': 'c4_span_corruption',
    },
  },
  't5-pretrain-base': {
    description: 'The T5.1.1 baseline on C4 span corruption only, T5.1.1 base.',
    values: {
      'run.kind': 'pretrain',
      'model.config': 't5-v1_1-base',
      'data.mixtureOrTask': 'c4_span_corruption',
    },
  },
  ...largePresets(),
  'finetune-small': {
    description:
      'T5 fine-tuning: constant lr 1e-3, dropout 0.1, batch 128 packed, inputs 512 / targets 128, 2^18 steps, on SuperGLUE; set model.checkpoint.',
    values: {
      'run.kind': 'finetune',
      'model.config': 't5-v1_1-small',
      'data.mixtureOrTask': 'superglue',
      'data.targetsLength': 128,
      'training.steps': 262144,
      'training.batchSize': 128,
      'training.dropout': 0.1,
      'optimizer.schedule': 'constant',
      'optimizer.lr': 1e-3,
      'eval.every': 5000,
      'eval.lossBatches': 0,
      'eval.tasks': ['superglue'],
      'checkpoint.every': 5000,
      'logging.every': 100,
    },
  },
  'tiny-demo': {
    description:
      'A tiny T5.1.1 (d_model 32, sized for a CPU) pre-trained 400 steps on the built-in mini ExT5 mixture (mini C4 at R=2 + mini ExMix).',
    values: {
      ...TINY_MODEL,
      'run.kind': 'pretrain',
      'data.mixtureOrTask': 'mini_ext5_pretrain',
      ...TINY_DEMO_SCHEDULE,
    },
  },
  'tiny-demo-t5': {
    description: 'The T5 baseline of tiny-demo: the same run on mini C4 span corruption only.',
    values: {
      ...TINY_MODEL,
      'run.kind': 'pretrain',
      'data.mixtureOrTask': 'mini_c4_span_corruption',
      ...TINY_DEMO_SCHEDULE,
    },
  },
  'tiny-demo-finetune': {
    description:
      'Fine-tune a tiny-demo checkpoint on the held-out mini_nli_counts task (set model.checkpoint).',
    values: {
      ...TINY_MODEL,
      'run.kind': 'finetune',
      'data.mixtureOrTask': 'mini_nli_counts',
      'training.steps': 200,
      'training.batchSize': 16,
      'training.dropout': 0.1,
      'optimizer.schedule': 'constant',
      'optimizer.lr': 1e-3,
      'eval.every': 50,
      'eval.lossBatches': 4,
      'eval.tasks': ['mini_nli_counts'],
      'checkpoint.every': 100,
      'checkpoint.keepLast': 1,
      'logging.every': 10,
    },
  },
  'tiny-test': {
    description:
      'For tests: a few steps of the tiny model on mini data, logging, eval and checkpoints every step or two.',
    values: {
      ...TINY_MODEL,
      'run.kind': 'pretrain',
      'data.mixtureOrTask': 'mini_ext5_pretrain',
      'data.inputsLength': 64,
      'data.targetsLength': 16,
      'training.steps': 4,
      'training.batchSize': 4,
      'training.threads': 1,
      'eval.every': 2,
      'eval.lossBatches': 1,
      'eval.maxExamples': 4,
      'checkpoint.every': 2,
      'checkpoint.keepLast': 1,
      'logging.every': 1,
      'logging.progress': false,
    },
  },
};

/** Names of the run presets. */
export function runPresetNames(): string[] {
  return Object.keys(RUN_PRESETS);
}

/**
 * A preset by name.
 * @throws Ext5Error EXT5_UNKNOWN_PRESET with the closest name and the list.
 */
export function runPreset(name: string): RunPreset {
  const p = Object.hasOwn(RUN_PRESETS, name) ? RUN_PRESETS[name] : undefined;
  if (!p) {
    throw new Ext5Error(
      'EXT5_UNKNOWN_PRESET',
      `unknown run preset '${name}'${didYouMean(name, runPresetNames())}`,
      `run presets: ${runPresetNames().join(', ')} (docs/configuration.md)`,
    );
  }
  return p;
}

/** Markdown table of the presets and the keys each sets (docs/configuration.md embeds exactly this). */
export function renderPresetTable(): string {
  const rows = Object.entries(RUN_PRESETS).map(([name, p]) => {
    const keys = Object.entries(p.values)
      .map(([k, v]) => `\`${k}=${JSON.stringify(v)}\``)
      .join(', ');
    return `| \`${name}\` | ${p.description} | ${keys} |`;
  });
  return `| preset | what | sets |\n|---|---|---|\n${rows.join('\n')}\n`;
}
