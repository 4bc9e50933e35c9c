/**
 * `ext5 plan`: the memory one rank of a training run needs, estimated from its run configuration
 * (lib/model/memory_plan.ts) before anything is loaded: parameters, gradients, Adafactor state and
 * activations, with the run's activation checkpointing setting and side by side with the other.
 */
import type { CommandModule } from 'yargs';
import { planMemory } from '../model/memory_plan';
import { validateConfig } from '../model/t5_config';
import { Ext5Error } from '../util/errors';
import { flagSets, type TrainArgs } from './train_common';

interface PlanArgs {
  config?: string;
  preset?: string;
  set?: string[];
  model?: string;
  'gradient-checkpointing'?: boolean;
  'world-size': number;
  json: boolean;
}

const GiB = 1024 ** 3;
const size = (bytes: number) =>
  bytes >= GiB ? `${(bytes / GiB).toFixed(2)} GiB` : `${(bytes / 1024 ** 2).toFixed(1)} MiB`;

export const planCommand: CommandModule<object, PlanArgs> = {
  command: 'plan',
  describe:
    'Estimate the memory per rank of a training run (parameters, gradients, Adafactor state, activations)',
  builder: (y) =>
    y
      .option('config', { type: 'string', describe: 'Run configuration file (JSON or YAML)' })
      .option('preset', { type: 'string', describe: 'Named run preset, e.g. ext5-pretrain-small' })
      .option('set', {
        type: 'string',
        array: true,
        describe: 'Override a config key: --set training.batchSize=128',
      })
      .option('model', {
        type: 'string',
        describe: 'Model preset or config.json (model.config), e.g. t5-v1_1-xl',
      })
      .option('gradient-checkpointing', {
        type: 'boolean',
        describe: 'Plan with activation checkpointing (model.gradientCheckpointing)',
      })
      .option('world-size', {
        type: 'number',
        default: 1,
        describe: 'Data-parallel processes sharing each micro-batch',
      })
      .option('json', { type: 'boolean', default: false, describe: 'Print the plan as JSON' })
      .example(
        '$0 plan --model t5-v1_1-xl --set training.batchSize=8 --set training.dtype=bfloat16',
        'T5.1.1 XL',
      )
      .example(
        '$0 plan --preset ext5-pretrain-small --world-size 8 --gradient-checkpointing',
        'Per rank of 8',
      ),
  handler: async (args) => {
    const world = args['world-size'];
    if (!Number.isInteger(world) || world < 1) {
      throw new Ext5Error('EXT5_INVALID_ARG', `--world-size must be a positive integer, got ${world}`);
    }
    // The run configuration's modules are loaded here, the command's one lazy point: they take
    // a quarter of a second that `ext5 --help` does not pay.
    const [{ resolveRunConfig }, { rankRows }, { runModelConfig }] = await Promise.all([
      import('../run/run_config'),
      import('../run/derive'),
      import('../run/resume'),
    ]);
    const trainArgs: TrainArgs = {
      'gradient-checkpointing': args['gradient-checkpointing'],
      progress: true,
      json: args.json,
      'print-config': false,
    };
    const { sets } = flagSets(trainArgs, { 'model.config': ['--model', args.model] });
    const c = resolveRunConfig({
      preset: args.preset,
      file: args.config,
      set: [...sets, ...(args.set ?? [])],
    }).config;
    const model = validateConfig(runModelConfig(c));
    const dropout = c.training.dropout ?? model.dropout_rate;
    const base = {
      rows: rankRows(c, world),
      inputsLength: c.data.inputsLength,
      targetsLength: c.data.targetsLength,
      computeDtype: c.training.dtype,
      dropout,
      optimizer: c.optimizer,
    };
    const chosen = planMemory(model, { ...base, gradientCheckpointing: c.model.gradientCheckpointing });
    const other = planMemory(model, { ...base, gradientCheckpointing: !c.model.gradientCheckpointing });
    const withCkpt = c.model.gradientCheckpointing ? chosen : other;
    const without = c.model.gradientCheckpointing ? other : chosen;
    if (args.json) {
      process.stdout.write(
        `${JSON.stringify({ model: c.model.config, worldSize: world, ...base, withoutCheckpointing: without, withCheckpointing: withCkpt }, null, 2)}\n`,
      );
      return;
    }
    const row = (label: string, a: number, b: number) =>
      `  ${label.padEnd(28)} ${size(a).padStart(11)} ${size(b).padStart(11)}`;
    const lines = [
      `${c.model.config}: ${(chosen.parameters / 1e6).toFixed(1)}M parameters; per rank ${base.rows} rows x ${base.inputsLength}/${base.targetsLength} tokens, ${base.computeDtype}, dropout ${dropout}`,
      `  ${''.padEnd(28)} ${'plain'.padStart(11)} ${'checkpoint'.padStart(11)}`,
      row('parameters (float32)', without.parameterBytes, withCkpt.parameterBytes),
      row('gradients (float32)', without.gradientBytes, withCkpt.gradientBytes),
      row('Adafactor state', without.optimizerBytes, withCkpt.optimizerBytes),
      row('activations kept', without.activationBytes, withCkpt.activationBytes),
      row('backward peak extra', without.backwardPeakBytes, withCkpt.backwardPeakBytes),
      row('total', without.totalBytes, withCkpt.totalBytes),
      `  the run config has model.gradientCheckpointing=${c.model.gradientCheckpointing}; estimates (docs/scale.md), not measurements`,
    ];
    process.stdout.write(`${lines.join('\n')}\n`);
  },
};
