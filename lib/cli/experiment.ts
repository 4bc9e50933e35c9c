/**
 * `ext5 experiment <study>`: the analyses of the ExT5 paper as resumable sweeps of training runs —
 * transfer, scaling, mix, efficiency, prefinetune (docs/experiments.md).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { CommandModule } from 'yargs';
import type * as Experiments from '../experiments';
import { Ext5Error } from '../util/errors';
import { sweepProgress, textTable } from './experiment_output';

interface ExperimentArgs {
  study: string;
  preset: string;
  out?: string;
  jobs: number;
  threads?: number;
  seeds?: number;
  'pretrain-steps'?: number;
  'finetune-steps'?: number;
  'eval-examples'?: number;
  'held-out'?: string[];
  families?: string[];
  points?: number[];
  sweep?: string;
  values?: number[];
  checkpoints?: number;
  R?: number;
  'dry-run': boolean;
  progress: boolean;
  json: boolean;
}

/**
 * An --out directory is one study: rerunning it with other parameters that drop cells it already
 * finished (another --sweep knob, fewer --values, other --families …) would leave those results on disk
 * but out of results.json and the report. That is refused; the same parameters resume, and parameters
 * that only add cells extend the study.
 */
export function refuseOrphanedResults(
  exp: typeof Experiments,
  dir: string,
  study: Experiments.StudyName,
  params: Experiments.StudyParams,
): void {
  let old: { study?: string; params?: Record<string, unknown>; cells?: { id: string }[] };
  try {
    old = JSON.parse(fs.readFileSync(exp.expPaths.plan(dir), 'utf8'));
  } catch {
    return; // a new directory, or one the runner reports on itself
  }
  if (old.study !== study) return; // the runner refuses another study with its own error
  const planned = new Set(exp.planStudy(study, params, dir).map((c) => c.id));
  const orphaned = (old.cells ?? [])
    .map((c) => c.id)
    .filter((id) => !planned.has(id) && fs.existsSync(exp.expPaths.result(dir, id)));
  if (orphaned.length === 0) return;
  const now: Record<string, unknown> = { ...params };
  const changed = Object.keys({ ...old.params, ...now })
    .filter((k) => JSON.stringify(old.params?.[k]) !== JSON.stringify(now[k]))
    .map((k) => `${k} ${JSON.stringify(old.params?.[k])} → ${JSON.stringify(now[k])}`);
  throw new Ext5Error(
    'E_EXPERIMENT_OUT_REUSED',
    `${dir} holds a ${study} study whose finished cells ${orphaned.slice(0, 4).join(', ')}${orphaned.length > 4 ? ` (+${orphaned.length - 4})` : ''} this run would leave out of its results and report (changed: ${changed.join('; ') || 'the plan'})`,
    'use another --out directory for the new study, or rerun with the parameters it was started with to resume it',
  );
}

export const experimentCommand: CommandModule<object, ExperimentArgs> = {
  command: 'experiment <study>',
  describe:
    'Run one of the paper’s analyses as a resumable sweep: transfer, scaling, mix, efficiency, prefinetune',
  builder: (y) =>
    y
      .positional('study', {
        type: 'string',
        choices: ['transfer', 'scaling', 'mix', 'efficiency', 'prefinetune'],
        demandOption: true,
      })
      .option('preset', {
        type: 'string',
        default: 'mini',
        describe: 'mini (built-in data, minutes on a CPU), small or base (ExMix + C4, for a GPU)',
      })
      .option('out', {
        type: 'string',
        describe: 'Experiment directory (default runs/experiment-<study>-<time>); rerun to resume',
      })
      .option('jobs', { type: 'number', default: 1, describe: 'Cells run at once, each in a child process' })
      .option('threads', { type: 'number', describe: 'libtorch threads per cell (default cores / jobs)' })
      .option('seeds', { type: 'number', describe: 'Seeds per point (intervals need at least 2)' })
      .option('pretrain-steps', { type: 'number', describe: 'Pre-training steps per pre-training cell' })
      .option('finetune-steps', { type: 'number', describe: 'Steps per fine-tuning or co-training cell' })
      .option('eval-examples', { type: 'number', describe: 'Validation examples per task and evaluation' })
      .option('held-out', {
        type: 'string',
        array: true,
        describe: 'Downstream tasks (kept out of pre-training)',
      })
      .option('families', { type: 'string', array: true, describe: 'transfer: the families to cross' })
      .option('points', { type: 'number', array: true, describe: 'scaling: numbers of pre-training tasks' })
      .option('sweep', {
        type: 'string',
        choices: ['R', 'K', 'temperature'],
        describe: 'mix: the knob to sweep',
      })
      .option('values', { type: 'number', array: true, describe: 'mix: the values of the swept knob' })
      .option('checkpoints', {
        type: 'number',
        describe: 'efficiency: checkpoints along pre-training to fine-tune',
      })
      .option('R', { type: 'number', describe: 'C4 examples per pool example in pre-training mixtures' })
      .option('dry-run', { type: 'boolean', default: false, describe: 'Print the cells and exit' })
      .option('progress', { type: 'boolean', default: true, describe: 'Progress bar (--no-progress: none)' })
      .option('json', { type: 'boolean', default: false, describe: 'Print the outcome as JSON' })
      .example('$0 experiment scaling --jobs 2', 'Task scaling on the mini data, two cells at a time')
      .example('$0 experiment transfer --out runs/transfer', 'Run again with the same --out to resume')
      .example('$0 experiment mix --sweep R --values 1 2 4 8 16 --preset small', 'The R sweep on a GPU'),
  handler: async (args) => {
    // The command's one lazy point: the studies (and through them the task registry and trainer).
    const [exp, { runStamp }] = await Promise.all([import('../experiments'), import('../run/run_dir')]);
    const study = exp.studyName(args.study);
    const dir = args.out ?? path.join('runs', `experiment-${study}-${runStamp()}`);
    const overrides = studyOverrides(args);
    if (!args['dry-run']) refuseOrphanedResults(exp, dir, study, exp.studyParams(args.preset, overrides));
    const progress = sweepProgress({
      tag: 'experiment',
      label: `experiment ${study}`,
      unit: 'cells',
      dir,
      bar: args.progress,
      silent: args.json,
      cellRunDir: exp.cellRunDir,
    });
    const outcome = await exp.runExperiment({
      study,
      preset: args.preset,
      dir,
      overrides,
      jobs: args.jobs,
      threads: args.threads,
      dryRun: args['dry-run'],
      events: progress.events,
    });
    progress.done();
    process.stdout.write(`${experimentText(outcome, args.json).join('\n')}\n`);
    if (outcome.sweep?.stopped) process.exitCode = 130;
    else if (outcome.sweep && outcome.sweep.failed.length > 0) process.exitCode = 1;
  },
};

function studyOverrides(args: ExperimentArgs): Partial<import('../experiments').StudyParams> {
  return {
    seeds: args.seeds,
    pretrainSteps: args['pretrain-steps'],
    finetuneSteps: args['finetune-steps'],
    evalExamples: args['eval-examples'],
    heldOut: args['held-out'],
    families: args.families,
    points: args.points,
    sweep: args.sweep as 'R' | 'K' | 'temperature' | undefined,
    values: args.values,
    checkpoints: args.checkpoints,
    R: args.R,
  };
}

/** The outcome as printed: JSON, the planned cells (--dry-run), or the tables and verdicts. */
export function experimentText(outcome: import('../experiments').ExperimentOutcome, json: boolean): string[] {
  const { study, preset, dir } = outcome;
  if (json) {
    const { cells, ...rest } = outcome;
    return [
      JSON.stringify(
        { ...rest, cells: cells.map((c) => ({ id: c.id, label: c.label, deps: c.deps })) },
        null,
        2,
      ),
    ];
  }
  if (!outcome.analysis || !outcome.sweep) {
    return [
      `${outcome.cells.length} cells for ${study} (preset ${preset}) in ${dir}:`,
      ...outcome.cells.map(
        (c) => `  ${c.id.padEnd(36)} ${c.label}${c.deps.length ? `  (after ${c.deps.join(', ')})` : ''}`,
      ),
    ];
  }
  const s = outcome.sweep;
  return [
    '',
    `ext5 experiment ${study} (preset ${preset}): ${outcome.complete.done}/${outcome.complete.total} cells finished (${s.ran.length} run now, ${s.reused.length} from before${s.failed.length ? `, ${s.failed.length} failed` : ''}${s.skipped.length ? `, ${s.skipped.length} not run` : ''})`,
    '',
    ...outcome.analysis.tables.flatMap((t) => [...textTable(t), '']),
    ...outcome.analysis.verdicts.map((v) => `* ${v}`),
    '',
    `Results ${outcome.resultsFile}`,
    `Report  ${outcome.reportFile}`,
  ];
}
