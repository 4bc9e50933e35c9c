/**
 * What `ext5 pretrain` and `ext5 finetune` do once their flags are parsed: resolve the run config,
 * print it (--print-config) or train, and print the summary. The commands load this file lazily (it
 * brings in the run config, the trainer and the model code), so `ext5 --help` does not pay for it.
 */
import * as path from 'node:path';
import { readCheckpointFolderConfig } from '../model/hf_format';
import { checkRunnable } from '../run/derive';
import { localModelSource, type ModelSpec, parseModelSpec } from '../run/model_source';
import { listCheckpoints } from '../run/run_checkpoints';
import {
  parseSetArg,
  type ResolvedRunConfig,
  type RunConfig,
  renderConfigYaml,
  resolveRunConfig,
} from '../run/run_config';
import { defaultRunDirPath } from '../run/run_dir';
import { formatLoss, type TrainResult, train } from '../train/trainer';
import { Ext5Error } from '../util/errors';
import { checkRunNames } from './names';
import { type FlagValues, flagSets, type TrainArgs } from './train_common';

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
  return listCheckpoints(path.join(c.run.dir, 'checkpoints')).length > 0;
}

/**
 * `--print-config`: the config as YAML (loadable with --config), then each non-default value's source.
 * With model.checkpoint the model trained is the checkpoint's own (its config.json), whatever
 * model.config a preset named: model.config shows the checkpoint, and a line says which model that is.
 */
export function renderResolvedConfig(r: TrainingConfig): string {
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
  checkRunnable(config);
  const dir = defaultRunDirPath(config);
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
  if (r.lastLoss === null) return '-';
  const at = r.lastLossStep === null ? 'from the checkpoint resumed' : `logged at step ${r.lastLossStep}`;
  return `${formatLoss(r.lastLoss)} (${at}: the mean over its logging interval)`;
}

/** The summary's validation loss, or why there is none. */
function validationLossText(r: TrainResult, c: RunConfig): string {
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
