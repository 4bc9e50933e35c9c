/**
 * `ext5 demo`: the paper's comparison in miniature, on the built-in data, in minutes on a CPU.
 *
 *   1. pre-train a tiny T5.1.1 on mini_ext5_pretrain (mini C4 span corruption at R = 2 per
 *      mini-ExMix example)                                                 → "ExT5"
 *   2. pre-train the same model for the same steps on mini C4 span corruption only → "T5"
 *   3. fine-tune each on the held-out tasks (kept out of mini_exmix) and evaluate them
 *   4. print both side by side, and write an HTML report of the two pre-training runs.
 *
 * The mini data is synthetic and tiny: the table shows the mechanics of the comparison, not the
 * paper's numbers.
 */
import * as path from 'node:path';
import type { CommandModule } from 'yargs';
import { writeFileDurable } from '../io/durable';

interface DemoArgs {
  out?: string;
  steps: number;
  'finetune-steps': number;
  'eval-examples': number;
  seed: number;
  threads?: number;
  progress: boolean;
  json: boolean;
}

interface DemoRow {
  task: string;
  metric: string;
  t5: number;
  ext5: number;
}

export const demoCommand: CommandModule<object, DemoArgs> = {
  command: 'demo',
  describe:
    'Pre-train a tiny ExT5 and a T5 baseline on built-in data, fine-tune both, compare (minutes on a CPU)',
  builder: (y) =>
    y
      .option('out', { type: 'string', describe: 'Directory for the runs (default runs/demo-<time>)' })
      .option('steps', { type: 'number', default: 400, describe: 'Pre-training steps of each model' })
      .option('finetune-steps', {
        type: 'number',
        default: 200,
        describe: 'Fine-tuning steps per held-out task',
      })
      .option('eval-examples', { type: 'number', default: 100, describe: 'Validation examples per task' })
      .option('seed', { type: 'number', default: 0 })
      .option('threads', { type: 'number', describe: 'libtorch threads (default all cores)' })
      .option('progress', { type: 'boolean', default: true, describe: 'Progress bars (--no-progress: none)' })
      .option('json', { type: 'boolean', default: false, describe: 'Print the comparison as JSON' })
      .example('$0 demo', 'The full demo (a few minutes on 2 cores)')
      .example('$0 demo --steps 100 --finetune-steps 50', 'A quicker, noisier run'),
  handler: async (args) => {
    require('../tasks');
    const { loadRunConfig } = require('../run/run_config') as typeof import('../run/run_config');
    const { train } = require('../train/trainer') as typeof import('../train/trainer');
    const { MINI_HELD_OUT } = require('../tasks/mini') as typeof import('../tasks/mini');
    const { loadReportRuns, renderReportHtml } = require('../report') as typeof import('../report');
    const { runStamp } = require('../run/run_dir') as typeof import('../run/run_dir');

    const out = args.out ?? path.join('runs', `demo-${runStamp()}`);
    const say = (s: string) => {
      if (!args.json) process.stderr.write(`${s}\n`);
    };
    const common = [
      `training.seed=${args.seed}`,
      `logging.progress=${args.progress && !args.json}`,
      ...(args.threads ? [`training.threads=${args.threads}`] : []),
    ];
    const runTo = async (preset: string, dir: string, sets: string[]) => {
      const c = loadRunConfig({ preset, set: [...common, `run.dir=${dir}`, ...sets] });
      return train(c, dir);
    };

    const t0 = Date.now();
    const models = [
      { key: 'ext5' as const, label: 'ExT5 (mini C4 + mini ExMix, R=2)', preset: 'tiny-demo' },
      { key: 't5' as const, label: 'T5 (mini C4 span corruption only)', preset: 'tiny-demo-t5' },
    ];
    const pre: Record<string, string> = {};
    for (const m of models) {
      say(`[demo] pre-training ${m.label}: ${args.steps} steps`);
      const r = await runTo(m.preset, path.join(out, `pretrain-${m.key}`), [
        `run.name=${m.key === 'ext5' ? 'ExT5' : 'T5'}`,
        `training.steps=${args.steps}`,
        `checkpoint.every=${args.steps}`,
        `eval.every=${Math.max(1, Math.floor(args.steps / 4))}`,
      ]);
      if (!r.lastCheckpoint) throw new Error('pre-training wrote no checkpoint');
      pre[m.key] = r.lastCheckpoint;
    }
    const rows: DemoRow[] = [];
    for (const task of MINI_HELD_OUT) {
      const scores: Record<string, Record<string, number>> = {};
      for (const m of models) {
        say(`[demo] fine-tuning ${m.key} on ${task}: ${args['finetune-steps']} steps`);
        const r = await runTo('tiny-demo-finetune', path.join(out, `finetune-${m.key}-${task}`), [
          `data.mixtureOrTask=${task}`,
          `model.checkpoint=${pre[m.key]}`,
          `training.steps=${args['finetune-steps']}`,
          `eval.tasks=["${task}"]`,
          `eval.every=${args['finetune-steps']}`,
          `eval.maxExamples=${args['eval-examples']}`,
          'checkpoint.every=0',
        ]);
        scores[m.key] = r.evals[task] ?? {};
      }
      for (const metric of Object.keys(scores.ext5 ?? {})) {
        rows.push({
          task,
          metric,
          t5: scores.t5?.[metric] ?? Number.NaN,
          ext5: scores.ext5?.[metric] ?? Number.NaN,
        });
      }
    }
    const reportPath = path.join(out, 'report.html');
    const runs = loadReportRuns([path.join(out, 'pretrain-t5'), path.join(out, 'pretrain-ext5')]);
    writeFileDurable(
      reportPath,
      renderReportHtml(runs, { title: 'ext5 demo: T5 vs ExT5 pre-training (mini data)' }),
    );
    const seconds = (Date.now() - t0) / 1000;
    if (args.json) {
      process.stdout.write(
        `${JSON.stringify({ out, seconds, steps: args.steps, finetuneSteps: args['finetune-steps'], rows, report: reportPath }, null, 2)}\n`,
      );
      return;
    }
    const w = Math.max(4, ...rows.map((r) => `${r.task} ${r.metric}`.length));
    const lines = [
      '',
      `ExT5 vs T5 in miniature: ${args.steps} pre-training steps each, ${args['finetune-steps']} fine-tuning steps per held-out task`,
      '',
      `${'task / metric'.padEnd(w)}  ${'T5'.padStart(7)}  ${'ExT5'.padStart(7)}`,
      ...rows.map(
        (r) =>
          `${`${r.task} ${r.metric}`.padEnd(w)}  ${r.t5.toFixed(1).padStart(7)}  ${r.ext5.toFixed(1).padStart(7)}`,
      ),
      '',
      `Runs in ${out} (${seconds.toFixed(0)} s). Curves: ${reportPath}`,
      "The mini data is synthetic and tiny: this shows the comparison, not the paper's numbers.",
    ];
    process.stdout.write(`${lines.join('\n')}\n`);
  },
};
