/**
 * What `ext5 pretrain` and `ext5 finetune` share: config assembly (preset → file → flags →
 * --set), the run, and the summary. The training modules (and libtorch) load only in handlers.
 */
import type { Argv } from 'yargs';
import type { ModelSpec } from '../run/model_source';
import type { ResolvedRunConfig, RunConfig } from '../run/run_config';
import type { TrainResult } from '../train/trainer';
import { Ext5Error } from '../util/errors';
import { checkRunNames } from './names';

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

/** A training command's config, with model.checkpoint parsed (lib/run/model_source) when it is set. */
export interface TrainingConfig extends ResolvedRunConfig {
  modelSpec?: ModelSpec;
}

/**
 * The config a training command runs with: preset → file → flags → --set, then the names it uses
 * (mixture, eval tasks) and, for finetune, the checkpoint it starts from: a checkpoint directory or
 * a run directory (its newest checkpoint), as `ext5 eval` and `ext5 predict` take them. All of it
 * is checked before anything expensive (vocabulary, model, run directory) is built.
 */
export function resolveTrainingConfig(
  kind: 'pretrain' | 'finetune',
  args: TrainArgs,
  extra: FlagValues,
): TrainingConfig {
  const { resolveRunConfig, parseSetArg } =
    require('../run/run_config') as typeof import('../run/run_config');
  const { sets, flags } = flagSets(args, extra);
  const resolved = resolveRunConfig({
    preset: args.preset,
    file: args.config,
    overrides: { run: { kind } },
    set: sets,
  });
  // A key a flag set keeps the flag as its source, unless a later --set changed it again.
  const setByUser = new Set((args.set ?? []).map((a) => parseSetArg(a).path));
  for (const [key, flag] of Object.entries(flags)) if (!setByUser.has(key)) resolved.sources[key] = flag;
  const c = resolved.config;
  checkRunNames(c);
  if (c.model.checkpoint !== null) {
    if (args['from-scratch']) {
      throw new Ext5Error(
        'EXT5_CONFIG',
        `--from-scratch contradicts model.checkpoint '${c.model.checkpoint}' (from ${resolved.sources['model.checkpoint']})`,
        'drop one of them',
      );
    }
    const { parseModelSpec } = require('../run/model_source') as typeof import('../run/model_source');
    // Parsed here, once, and loaded when the run starts: a Hub id is downloaded then (fetchRunInputs),
    // and a run directory stays one until its newest checkpoint is opened (its run may prune the one
    // newest now).
    return { ...resolved, modelSpec: parseModelSpec(c.model.checkpoint) };
  } else if (kind === 'finetune' && !args['from-scratch'] && !resumesACheckpoint(c)) {
    // Fine-tuning random weights is almost always a forgotten --checkpoint; say so instead.
    throw new Ext5Error(
      'EXT5_NO_CHECKPOINT',
      'finetune needs a checkpoint to start from (model.checkpoint is not set)',
      'pass --checkpoint <checkpoint or run directory>, or --from-scratch to train from random weights on purpose',
    );
  }
  return resolved;
}

/** Whether the run continues from a checkpoint of its own (then it needs no model.checkpoint). */
function resumesACheckpoint(c: ResolvedRunConfig['config']): boolean {
  const resume = c.checkpoint.resume;
  if (resume === 'none') return false;
  if (resume !== 'auto') return true; // an explicit checkpoint; resolveResume checks it
  if (c.run.dir === null) return false; // a new default directory has nothing to resume
  const { listCheckpoints } = require('../run/run_checkpoints') as typeof import('../run/run_checkpoints');
  const path = require('node:path') as typeof import('node:path');
  return listCheckpoints(path.join(c.run.dir, 'checkpoints')).length > 0;
}

/**
 * `--print-config`: the config as YAML (loadable with --config), then each non-default value's source.
 * With model.checkpoint the model trained is the checkpoint's own (its config.json), whatever
 * model.config a preset named: model.config shows the checkpoint, and a line says which model that is.
 */
export function renderResolvedConfig(r: TrainingConfig): string {
  const { renderConfigYaml } = require('../run/run_config') as typeof import('../run/run_config');
  const checkpoint = r.config.model.checkpoint;
  const config =
    checkpoint === null ? r.config : { ...r.config, model: { ...r.config.model, config: checkpoint } };
  const sources =
    checkpoint === null
      ? r.sources
      : {
          ...r.sources,
          'model.config': `the checkpoint's own config.json (model.checkpoint, from ${r.sources['model.checkpoint'] ?? 'default'})`,
        };
  const set = Object.entries(sources).filter(([, src]) => src !== 'default');
  const origin = set.map(([k, src]) => `#   ${k}: ${src}`);
  const model =
    checkpoint === null ? '' : `# the model trained: ${describeCheckpointModel(r.modelSpec ?? checkpoint)}\n`;
  return `${renderConfigYaml(config)}
${model}# values not at their defaults, and where they came from:
${origin.join('\n') || '#   (none)'}
`;
}

/**
 * What a checkpoint's config.json says the model is, without downloading (a Hub id is read from the
 * cache) or writing (a run directory: its newest checkpoint as listed now).
 */
function describeCheckpointModel(spec: ModelSpec | string): string {
  const { readCheckpointFolderConfig } = require('../model/hf_format') as typeof import('../model/hf_format');
  const { localModelSource } = require('../run/model_source') as typeof import('../run/model_source');
  const path = require('node:path') as typeof import('node:path');
  try {
    const { dir } = localModelSource(spec);
    const c = readCheckpointFolderConfig(dir);
    const kind = c.feed_forward_proj === 'relu' ? 'T5 v1.0 (relu)' : 'T5.1.1 (gated-gelu)';
    return (
      `${kind}, d_model ${c.d_model}, d_ff ${c.d_ff}, ${c.num_layers}+${c.num_decoder_layers} layers, ` +
      `${c.num_heads} heads, vocab ${c.vocab_size}, from ${path.join(dir, 'config.json')}`
    );
  } catch (e) {
    if (e instanceof Ext5Error && e.code === 'HUB_MODEL_NOT_CACHED')
      return `${typeof spec === 'string' ? spec : spec.spec}'s config.json (not downloaded yet: the run downloads it when it starts)`;
    throw e;
  }
}

/** Assembles the config, runs training, prints the summary. */
export async function runTraining(kind: 'pretrain' | 'finetune', args: TrainArgs, extra: FlagValues) {
  const resolved = resolveTrainingConfig(kind, args, extra);
  if (args['print-config']) {
    process.stdout.write(renderResolvedConfig(resolved));
    return;
  }
  const config = resolved.config;
  // Before libtorch loads or ext5 launch's workers start.
  (require('../run/derive') as typeof import('../run/derive')).checkRunnable(config);
  const { defaultRunDirPath } = require('../run/run_dir') as typeof import('../run/run_dir');
  const dir = defaultRunDirPath(config);
  const { train } = require('../train/trainer') as typeof import('../train/trainer');
  if (!args.json) process.stderr.write(`ext5 ${kind}: run directory ${dir}\n`);
  const result = await train(config, dir, { modelSpec: resolved.modelSpec });
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
      `  last loss       ${lastLossText(result)}`,
      `  validation loss ${validationLossText(result, config)}`,
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

/** The summary's loss: the last logged one (metrics.jsonl's number for that step), and its step. */
function lastLossText(r: TrainResult): string {
  const { formatLoss } = require('../train/trainer') as typeof import('../train/trainer');
  if (r.lastLoss === null) return '-';
  const at = r.lastLossStep === null ? 'from the checkpoint resumed' : `logged at step ${r.lastLossStep}`;
  return `${formatLoss(r.lastLoss)} (${at}: the mean over its logging interval)`;
}

/** The summary's validation loss, or why there is none. */
function validationLossText(r: TrainResult, c: RunConfig): string {
  const { formatLoss } = require('../train/trainer') as typeof import('../train/trainer');
  if (r.validationLoss !== null) return formatLoss(r.validationLoss);
  if (c.eval.lossBatches === 0)
    return '- (eval.lossBatches is 0, as in the fine-tuning presets; --set eval.lossBatches=4 computes one)';
  if (c.eval.every <= 0) return '- (eval.every is 0: no evaluation ran)';
  return '- (no evaluation ran)';
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
