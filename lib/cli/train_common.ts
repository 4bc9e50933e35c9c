/**
 * What `ext5 pretrain`, `ext5 finetune` and `ext5 plan` share at parse time: the training flags and
 * their translation into config keys. Resolving and running a training config is in train_run.ts,
 * which the commands load lazily.
 */
import type { Argv } from 'yargs';

export interface TrainArgs {
  config?: string;
  preset?: string;
  set?: string[];
  'run-dir'?: string;
  resume?: string;
  'data-dir'?: string;
  steps?: number;
  'batch-size'?: number;
  threads?: number;
  'gradient-checkpointing'?: boolean;
  progress: boolean;
  json: boolean;
  'print-config': boolean;
  /** finetune only: start from random weights on purpose (no --checkpoint). */
  'from-scratch'?: boolean;
}

/** Where a run config comes from: a preset, a file and --set overrides (training commands and plan). */
export function runConfigOptions<T>(y: Argv<T>) {
  return y
    .option('config', { type: 'string', describe: 'Run configuration file (JSON or YAML)' })
    .option('preset', {
      type: 'string',
      describe: 'Named run preset (see docs/configuration.md), e.g. tiny-demo',
    })
    .option('set', {
      type: 'string',
      array: true,
      describe: 'Override a config key: --set training.steps=1000 (repeatable; applied last)',
    });
}

/** Options every training command takes. */
export function trainOptions<T>(y: Argv<T>) {
  return runConfigOptions(y)
    .option('run-dir', { type: 'string', describe: 'Run directory (default runs/<kind>-<time>)' })
    .option('resume', {
      type: 'string',
      describe: "Resume: 'auto' (newest checkpoint of the run directory), 'none', or a checkpoint directory",
    })
    .option('data-dir', { type: 'string', describe: 'Where task data lives (default $EXT5_DATA)' })
    .option('steps', { type: 'number', describe: 'Optimizer steps (training.steps)' })
    .option('batch-size', { type: 'number', describe: 'Examples per step (training.batchSize)' })
    .option('threads', {
      type: 'number',
      describe: 'libtorch intra-op threads (training.threads; default all cores)',
    })
    .option('gradient-checkpointing', {
      type: 'boolean',
      describe:
        'Recompute each T5 block in backward instead of keeping its activations (model.gradientCheckpointing)',
    })
    .option('progress', {
      type: 'boolean',
      default: true,
      describe: 'Show a progress bar (--no-progress: none)',
    })
    .option('json', { type: 'boolean', default: false, describe: 'Print the final summary as JSON' })
    .option('print-config', {
      type: 'boolean',
      default: false,
      describe: 'Print the resolved configuration (YAML, with where each value came from) and exit',
    });
}

/** Command flags that set config keys: key → [the flag as typed, its value or undefined]. */
export type FlagValues = Record<string, readonly [flag: string, value: unknown]>;

/**
 * Flags that map onto config keys, as --set strings (so validation errors name the key), and
 * which flag set each key (so --print-config names the flag, not --set).
 */
export function flagSets(
  args: TrainArgs,
  extra: FlagValues = {},
): { sets: string[]; flags: Record<string, string> } {
  const sets: string[] = [];
  const flags: Record<string, string> = {};
  const add = (key: string, flag: string, v: unknown) => {
    if (v === undefined || v === null) return;
    sets.push(`${key}=${typeof v === 'string' ? v : JSON.stringify(v)}`);
    flags[key] = flag;
  };
  add('run.dir', '--run-dir', args['run-dir']);
  add('checkpoint.resume', '--resume', args.resume);
  add(
    'data.dataDir',
    args['data-dir'] !== undefined ? '--data-dir' : 'EXT5_DATA',
    args['data-dir'] ?? process.env.EXT5_DATA,
  );
  add('training.steps', '--steps', args.steps);
  add('training.batchSize', '--batch-size', args['batch-size']);
  add('training.threads', '--threads', args.threads);
  add(
    'model.gradientCheckpointing',
    args['gradient-checkpointing'] === false ? '--no-gradient-checkpointing' : '--gradient-checkpointing',
    args['gradient-checkpointing'],
  );
  if (!args.progress) add('logging.progress', '--no-progress', false);
  for (const [k, [flag, v]] of Object.entries(extra)) add(k, flag, v);
  return { sets: [...sets, ...(args.set ?? [])], flags };
}
