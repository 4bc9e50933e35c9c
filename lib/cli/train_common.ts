/**
 * What `ext5 pretrain` and `ext5 finetune` share: config assembly (preset → file → flags →
 * --set), the run, and the summary. The training modules (and libtorch) load only in handlers.
 */
import type { Argv } from 'yargs';
import type { RunConfig } from '../run/run_config';

export interface TrainArgs {
  config?: string;
  preset?: string;
  set?: string[];
  'run-dir'?: string;
  resume?: string;
  'data-dir'?: string;
  steps?: number;
  'batch-size'?: number;
  progress: boolean;
  json: boolean;
}

/** Options every training command takes. */
export function trainOptions<T>(y: Argv<T>) {
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
    })
    .option('run-dir', { type: 'string', describe: 'Run directory (default runs/<kind>-<time>)' })
    .option('resume', {
      type: 'string',
      describe: "Resume: 'auto' (newest checkpoint of the run directory), 'none', or a checkpoint directory",
    })
    .option('data-dir', { type: 'string', describe: 'Where task data lives (default $EXT5_DATA)' })
    .option('steps', { type: 'number', describe: 'Optimizer steps (training.steps)' })
    .option('batch-size', { type: 'number', describe: 'Examples per step (training.batchSize)' })
    .option('progress', {
      type: 'boolean',
      default: true,
      describe: 'Show a progress bar (--no-progress: none)',
    })
    .option('json', { type: 'boolean', default: false, describe: 'Print the final summary as JSON' });
}

/** Flags that map onto config keys, as --set strings (so sources and errors name the flag). */
export function flagSets(args: TrainArgs, extra: Record<string, unknown> = {}): string[] {
  const sets: string[] = [];
  const add = (key: string, v: unknown) => {
    if (v !== undefined && v !== null) sets.push(`${key}=${typeof v === 'string' ? v : JSON.stringify(v)}`);
  };
  add('run.dir', args['run-dir']);
  add('checkpoint.resume', args.resume);
  add('data.dataDir', args['data-dir'] ?? process.env.EXT5_DATA);
  add('training.steps', args.steps);
  add('training.batchSize', args['batch-size']);
  if (!args.progress) add('logging.progress', false);
  for (const [k, v] of Object.entries(extra)) add(k, v);
  return [...sets, ...(args.set ?? [])];
}

/** Assembles the config, runs training, prints the summary. */
export async function runTraining(
  kind: 'pretrain' | 'finetune',
  args: TrainArgs,
  extra: Record<string, unknown>,
) {
  require('../tasks');
  const { loadRunConfig } = require('../run/run_config') as typeof import('../run/run_config');
  const { defaultRunDirPath } = require('../run/run_dir') as typeof import('../run/run_dir');
  const config: RunConfig = loadRunConfig({
    preset: args.preset,
    file: args.config,
    overrides: { run: { kind } },
    set: flagSets(args, extra),
  });
  const dir = defaultRunDirPath(config);
  const { train, formatLoss } = require('../train/trainer') as typeof import('../train/trainer');
  if (!args.json) process.stderr.write(`ext5 ${kind}: run directory ${dir}\n`);
  const result = await train(config, dir);
  if (args.json) {
    process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
  } else {
    const lines = [
      `${result.stoppedBy === 'signal' ? 'stopped' : 'finished'} at step ${result.step}`,
      `  run directory   ${result.runDir}`,
    ];
    if (result.resumedFrom)
      lines.push(`  resumed from    step ${result.resumedFrom.step} (${result.resumedFrom.checkpoint})`);
    lines.push(
      `  last loss       ${result.lastLoss === null ? '-' : formatLoss(result.lastLoss)}`,
      `  checkpoint      ${result.lastCheckpoint ?? '-'}`,
    );
    for (const [task, m] of Object.entries(result.evals)) {
      lines.push(
        `  ${task.padEnd(15)} ${Object.entries(m)
          .map(([k, v]) => `${k} ${v.toFixed(2)}`)
          .join('  ')}`,
      );
    }
    lines.push(`  report          ext5 report ${result.runDir}`);
    if (result.stoppedBy === 'signal') lines.push(`  resume          ${resumeCommand(kind, result.runDir)}`);
    process.stdout.write(`${lines.join('\n')}\n`);
  }
  if (result.stoppedBy === 'signal') process.exitCode = 130;
}

/**
 * The command that continues a stopped run: this command line with its run directory (and the
 * default `--resume auto`) in place of any --run-dir / --resume it had.
 */
export function resumeCommand(kind: string, runDir: string, argv: readonly string[] = process.argv): string {
  const i = argv.indexOf(kind);
  const rest = i >= 0 ? argv.slice(i + 1) : [];
  const kept: string[] = [];
  for (let k = 0; k < rest.length; k++) {
    const a = rest[k]!;
    if (a === '--run-dir' || a === '--resume') {
      k++; // and its value
      continue;
    }
    if (a.startsWith('--run-dir=') || a.startsWith('--resume=')) continue;
    if (a === '--set' && /^(run\.dir|checkpoint\.resume)=/.test(rest[k + 1] ?? '')) {
      k++;
      continue;
    }
    kept.push(a);
  }
  const quote = (s: string) => (/^[\w@%+=:,./-]+$/.test(s) ? s : `'${s.replace(/'/g, "'\\''")}'`);
  return ['ext5', kind, ...kept, '--run-dir', runDir].map(quote).join(' ');
}
