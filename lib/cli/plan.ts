/**
 * `ext5 plan`: the memory one rank of a training run needs (lib/model/memory_plan.ts), before
 * anything is loaded (libtorch is not): parameters, gradients, Adafactor state, activations and
 * workspace, whether that fits a device, and the cheapest settings that would. The run settings
 * come from a run config (--preset, --config, --set) as `ext5 pretrain` reads them, and the flags.
 */
import type { CommandModule } from 'yargs';
import {
  type MemoryPlan,
  type PlanOptions,
  type PlanSuggestion,
  parseByteSize,
  planMemory,
  type ShardingMode,
  suggestSettings,
} from '../model/memory_plan';
import { validateConfig } from '../model/t5_config';
import { Ext5Error } from '../util/errors';
import { flagSets, runConfigOptions, type TrainArgs } from './train_common';

export interface PlanArgs {
  config?: string;
  preset?: string;
  set?: string[];
  model?: string;
  'world-size': number;
  'device-memory': string;
  'batch-size'?: number;
  'input-length'?: number;
  'target-length'?: number;
  dtype?: string;
  sharding?: string;
  'gradient-checkpointing'?: boolean;
  json: boolean;
}

const GiB = 1024 ** 3;
const gib = (bytes: number) => `${(bytes / GiB).toFixed(2)} GiB`;

/** The plan of a run config: what `ext5 plan --json` prints. */
export interface PlanReport {
  model: string;
  parametersCount: number;
  worldSize: number;
  deviceMemory: number;
  rowsPerRank: number;
  inputsLength: number;
  targetsLength: number;
  dtype: 'float32' | 'bfloat16';
  sharding: ShardingMode;
  gradientCheckpointing: boolean;
  dropout: number;
  fits: boolean;
  runnable: boolean;
  perRank: MemoryPlan['perRank'];
  detail: MemoryPlan['detail'];
  suggestion: { cheapest: PlanSuggestion | null; cheapestRunnable: PlanSuggestion | null };
  notes: string[];
}

export const planCommand: CommandModule<object, PlanArgs> = {
  command: 'plan',
  describe:
    'Per-rank memory of a training run (parameters, gradients, optimizer, activations, workspace), whether it fits, and what would',
  builder: (y) =>
    runConfigOptions(y)
      .option('model', {
        type: 'string',
        describe: 'Model preset, config.json or Hub model id (model.config), e.g. t5-v1_1-xxl',
      })
      .option('world-size', { type: 'number', default: 1, describe: 'Data-parallel ranks (devices)' })
      .option('device-memory', {
        type: 'string',
        default: '80GB',
        describe: 'Memory of one device: 80GB (10^9), 80GiB (2^30), 81920MiB, …',
      })
      .option('batch-size', {
        type: 'number',
        describe: 'Rows per optimizer step over all ranks (training.batchSize)',
      })
      .option('input-length', { type: 'number', describe: 'Encoder tokens per row (data.inputsLength)' })
      .option('target-length', { type: 'number', describe: 'Decoder tokens per row (data.targetsLength)' })
      .option('dtype', { type: 'string', describe: 'Compute dtype: float32 or bfloat16 (training.dtype)' })
      .option('sharding', {
        type: 'string',
        describe:
          'none | optimizer | gradients | full (training.sharding; full runs with --gradient-checkpointing)',
      })
      .option('gradient-checkpointing', {
        type: 'boolean',
        describe: 'Plan with activation checkpointing (model.gradientCheckpointing)',
      })
      .option('json', { type: 'boolean', default: false, describe: 'Print the plan as JSON' })
      .example('$0 plan --model t5-v1_1-xxl --batch-size 1 --dtype bfloat16', 'One device')
      .example(
        '$0 plan --model t5-v1_1-xxl --world-size 8 --batch-size 8 --dtype bfloat16 --sharding full --gradient-checkpointing',
        'Eight devices, ZeRO-3',
      ),
  handler: async (args) => {
    const report = await planRun(args);
    if (args.json) {
      process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
      return;
    }
    process.stdout.write(`${renderPlan(report)}\n`);
  },
};

/** Resolves the run config the flags describe and plans it. */
export async function planRun(args: PlanArgs): Promise<PlanReport> {
  const world = args['world-size'];
  if (!Number.isInteger(world) || world < 1) {
    throw new Ext5Error('EXT5_INVALID_ARG', `--world-size must be a positive integer, got ${world}`);
  }
  const deviceMemory = parseByteSize(args['device-memory'], '--device-memory');
  // The run configuration's modules are loaded here, the command's one lazy point: they take a
  // quarter of a second that `ext5 --help` does not pay.
  const [{ resolveRunConfig }, { rankRows }, { runModelConfig }, { fetchModelConfig }] = await Promise.all([
    import('../run/run_config'),
    import('../run/derive'),
    import('../train/resume'),
    import('../train/assemble'),
  ]);
  const trainArgs: TrainArgs = {
    'batch-size': args['batch-size'],
    'gradient-checkpointing': args['gradient-checkpointing'],
    progress: true,
    json: args.json,
    'print-config': false,
  };
  const { sets } = flagSets(trainArgs, {
    'model.config': ['--model', args.model],
    'data.inputsLength': ['--input-length', args['input-length']],
    'data.targetsLength': ['--target-length', args['target-length']],
    'training.dtype': ['--dtype', args.dtype],
    'training.sharding': ['--sharding', args.sharding],
  });
  const c = resolveRunConfig({ preset: args.preset, file: args.config, set: sets }).config;
  // A Hub id's config.json comes into the Hugging Face cache as a run's would.
  if (!c.model.checkpoint) await fetchModelConfig(c.model.config);
  const model = validateConfig(runModelConfig(c));
  const dropout = c.training.dropout ?? model.dropout_rate;
  const o: PlanOptions = {
    rows: rankRows(c, world),
    inputsLength: c.data.inputsLength,
    targetsLength: c.data.targetsLength,
    computeDtype: c.training.dtype,
    gradientCheckpointing: c.model.gradientCheckpointing,
    dropout,
    optimizer: c.optimizer,
    worldSize: world,
    sharding: c.training.sharding,
  };
  const plan = planMemory(model, o);
  const suggestion = suggestSettings(model, o, deviceMemory);
  const notes: string[] = [];
  if (!plan.runnable) {
    notes.push(
      "sharding 'full' runs with --gradient-checkpointing only (each block's parameters are gathered inside the checkpointed block)",
    );
  }
  if (o.sharding !== 'none' && world === 1) notes.push('with one rank, sharding keeps everything on it');
  return {
    model: c.model.checkpoint ?? c.model.config,
    parametersCount: plan.parameters,
    worldSize: world,
    deviceMemory,
    rowsPerRank: o.rows,
    inputsLength: o.inputsLength,
    targetsLength: o.targetsLength,
    dtype: o.computeDtype,
    sharding: o.sharding ?? 'none',
    gradientCheckpointing: o.gradientCheckpointing,
    dropout,
    fits: plan.perRank.total <= deviceMemory,
    runnable: plan.runnable,
    perRank: plan.perRank,
    detail: plan.detail,
    suggestion,
    notes,
  };
}

const setting = (s: PlanSuggestion | null) =>
  s
    ? `--sharding ${s.sharding}${s.gradientCheckpointing ? ' --gradient-checkpointing' : ''} (${gib(s.total)} per rank${s.runnable ? '' : ', needs --gradient-checkpointing'})`
    : 'none at this batch (lower --batch-size or add ranks)';

/** The plan as text. */
export function renderPlan(r: PlanReport): string {
  const row = (label: string, bytes: number) =>
    `  ${label.padEnd(14)} ${String(bytes).padStart(15)} B  ${gib(bytes).padStart(12)}`;
  const p = r.perRank;
  const lines = [
    `${r.model}: ${(r.parametersCount / 1e6).toFixed(1)}M parameters; ${r.worldSize} rank(s), ${r.rowsPerRank} row(s) per rank of ${r.inputsLength}/${r.targetsLength} tokens, ${r.dtype}, dropout ${r.dropout}, sharding ${r.sharding}, checkpointing ${r.gradientCheckpointing ? 'on' : 'off'}`,
    'per rank:',
    row('parameters', p.parameters),
    row('gradients', p.gradients),
    row('optimizer', p.optimizer),
    row('activations', p.activations),
    row('workspace', p.workspace),
    row('total', p.total),
    `${r.fits ? 'fits' : 'does not fit'} ${r.deviceMemory} B (${gib(r.deviceMemory)}) per device`,
    `cheapest setting that fits: ${setting(r.suggestion.cheapest)}`,
    `cheapest runnable:          ${setting(r.suggestion.cheapestRunnable)}`,
    ...r.notes.map((n) => `note: ${n}`),
    'estimates from formulas (docs/scale.md), not measurements; leave headroom for the allocator',
  ];
  return lines.join('\n');
}
