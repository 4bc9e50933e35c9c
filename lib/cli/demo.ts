/**
 * `ext5 demo`: the paper's comparison in miniature, on the built-in data, in minutes on a CPU. It is
 * the `demo` study of lib/experiments (lib/experiments/demo.ts: ExT5 and T5 pre-trained per seed,
 * fine-tuned on the held-out tasks, compared with intervals), run by the experiment runner — child
 * processes, two at a time on two cores, resumable with the same --out — and written as results.json
 * and report.html like every study. This command parses, runs it, and prints the comparison.
 */
import * as path from 'node:path';
import type { CommandModule } from 'yargs';
import { Ext5Error } from '../util/errors';
import { sweepProgress, textTable } from './experiment_output';

interface DemoArgs {
  out?: string;
  steps: number;
  'finetune-steps': number;
  'eval-examples': number;
  seeds: number;
  jobs?: number;
  threads?: number;
  progress: boolean;
  json: boolean;
}

export const demoCommand: CommandModule<object, DemoArgs> = {
  command: 'demo',
  describe:
    'Pre-train tiny ExT5 and T5 models on built-in data over several seeds, fine-tune both, compare with intervals (minutes on a CPU)',
  builder: (y) =>
    y
      .option('out', {
        type: 'string',
        describe: 'Directory for the runs (default runs/demo-<time>); rerun to resume',
      })
      .option('steps', { type: 'number', default: 300, describe: 'Pre-training steps of each model' })
      .option('finetune-steps', {
        type: 'number',
        default: 150,
        describe: 'Fine-tuning steps per held-out task',
      })
      .option('eval-examples', { type: 'number', default: 100, describe: 'Validation examples per task' })
      .option('seeds', {
        type: 'number',
        default: 3,
        describe: 'Seeds per model (intervals need at least 2)',
      })
      .option('jobs', { type: 'number', describe: 'Runs at once, each in a child process (default 2)' })
      .option('threads', { type: 'number', describe: 'libtorch threads per run (default cores / jobs)' })
      .option('progress', { type: 'boolean', default: true, describe: 'Progress bar (--no-progress: none)' })
      .option('json', { type: 'boolean', default: false, describe: 'Print the comparison as JSON' })
      .example('$0 demo', 'The full demo (about five minutes on 2 cores)')
      .example('$0 demo --steps 100 --finetune-steps 50 --seeds 2', 'A quicker, noisier run'),
  handler: async (args) => {
    // The command's one lazy point: the studies (and through them the task registry and trainer).
    const [exp, { runStamp }] = await Promise.all([import('../experiments'), import('../run/run_dir')]);
    const out = args.out ?? path.join('runs', `demo-${runStamp()}`);
    const jobs = args.jobs ?? 2;
    const t0 = Date.now();
    if (!args.json) {
      process.stderr.write(
        `[demo] ${args.seeds} seeds × (ExT5, T5): ${args.steps} pre-training steps each, ${args['finetune-steps']} fine-tuning steps per held-out task; ${jobs} runs at a time\n`,
      );
    }
    const progress = sweepProgress({
      tag: 'demo',
      label: 'demo',
      unit: 'runs',
      dir: out,
      bar: args.progress,
      silent: args.json,
      cellRunDir: exp.cellRunDir,
    });
    const outcome = await exp.runExperiment({
      study: 'demo',
      preset: 'mini',
      dir: out,
      overrides: {
        seeds: args.seeds,
        pretrainSteps: args.steps,
        finetuneSteps: args['finetune-steps'],
        evalExamples: args['eval-examples'],
      },
      jobs,
      threads: args.threads,
      events: progress.events,
    });
    progress.done();
    refuseUnfinished(outcome);
    process.stdout.write(`${demoText(outcome, (Date.now() - t0) / 1000, args.json).join('\n')}\n`);
  },
};

/** A demo that did not finish is an error (its partial report is written all the same). */
function refuseUnfinished(o: import('../experiments').ExperimentOutcome): void {
  const s = o.sweep!;
  if (!s.failed.length && !s.stopped && !s.skipped.length) return;
  throw new Ext5Error(
    s.stopped ? 'E_STOPPED' : 'E_EXPERIMENT',
    s.stopped
      ? 'the demo was stopped'
      : `the demo could not finish: ${[...s.failed, ...s.skipped].join(', ')} did not run`,
    s.stopped
      ? `run the same command with --out ${o.dir} to resume`
      : `see the worker.log of the failed runs under ${o.dir}`,
  );
}

/** The comparison as printed: the scores table, the verdicts, where the runs and report are (or JSON). */
export function demoText(
  o: import('../experiments').ExperimentOutcome,
  seconds: number,
  json: boolean,
): string[] {
  const a = o.analysis!;
  const p = o.params;
  const n = a.numbers as { rows: unknown[]; overall: { verdict: string } | null; direction: string };
  if (json) {
    const { rows, overall, direction } = n;
    const summary = {
      out: o.dir,
      seconds,
      steps: p.pretrainSteps,
      finetuneSteps: p.finetuneSteps,
      seeds: p.seeds,
    };
    return [JSON.stringify({ ...summary, rows, overall, direction, report: o.reportFile }, null, 2)];
  }
  const scores = a.tables.find((t) => t.id === 'scores');
  return [
    '',
    `ExT5 vs T5 in miniature: ${p.pretrainSteps} pre-training steps each, ${p.finetuneSteps} fine-tuning steps per held-out task, ${p.seeds} seeds`,
    '',
    ...(scores ? textTable(scores) : []),
    '',
    ...(n.overall ? [`Mean over held-out tasks: ${n.overall.verdict}.`] : []),
    n.direction,
    '',
    `Runs in ${o.dir} (${seconds.toFixed(0)} s). Report: ${o.reportFile}`,
    "The mini data is synthetic and tiny: this shows the comparison, not the paper's numbers.",
  ];
}
