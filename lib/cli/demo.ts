/**
 * `ext5 demo`: the paper's comparison in miniature, on the built-in data, in minutes on a CPU.
 *
 *   1. for each seed, pre-train a tiny T5.1.1 on mini_ext5_pretrain (mini C4 span corruption at
 *      R = 2 per mini-ExMix example)                                                  → "ExT5"
 *   2. and the same model for the same steps on mini C4 span corruption only            → "T5"
 *   3. fine-tune each on the held-out tasks (kept out of mini_exmix) and evaluate them
 *   4. print mean ± 95% interval over seeds per task, say whether ExT5 and T5 differ
 *      significantly, and write an HTML report (scores, the mixture's task shares, loss curves).
 *
 * The cells run through the experiment runner (lib/experiments): child processes, two at a time on
 * two cores, and a rerun with the same --out resumes. The mini data is synthetic and tiny: the
 * table shows the mechanics of the comparison, not the paper's numbers.
 */
import * as path from 'node:path';
import type { CommandModule } from 'yargs';
import { writeFileDurable } from '../io/durable';

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

interface DemoRow {
  task: string;
  metric: string;
  /** Means over seeds. */
  t5: number;
  ext5: number;
  t5Interval: [number, number] | null;
  ext5Interval: [number, number] | null;
  n: number;
  significant: boolean;
  verdict: string;
}

const ARMS = [
  { key: 'ext5' as const, label: 'ExT5', long: 'ExT5 (mini C4 + mini ExMix, R=2)' },
  { key: 't5' as const, label: 'T5', long: 'T5 (mini C4 span corruption only)' },
];

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
    require('../tasks');
    const exp = require('../experiments') as typeof import('../experiments');
    const { MINI_HELD_OUT, MixtureRegistry } = require('../tasks') as typeof import('../tasks');
    const { loadReportRun, renderExperimentPage, PALETTE, smoothEma } =
      require('../report') as typeof import('../report');
    const { runStamp } = require('../run/run_dir') as typeof import('../run/run_dir');
    const { Progress } = require('../util/progress') as typeof import('../util/progress');

    const out = args.out ?? path.join('runs', `demo-${runStamp()}`);
    const say = (s: string) => {
      if (!args.json) process.stderr.write(`${s}\n`);
    };
    const p = exp.studyParams('mini', {
      seeds: args.seeds,
      pretrainSteps: args.steps,
      finetuneSteps: args['finetune-steps'],
      evalExamples: args['eval-examples'],
    });
    if (!(p.seeds >= 1 && Number.isInteger(p.seeds))) {
      const { Ext5Error } = require('../util/errors') as typeof import('../util/errors');
      throw new Ext5Error('E_EXPERIMENT', `--seeds must be a positive integer, got ${args.seeds}`);
    }
    const seeds = Array.from({ length: p.seeds }, (_, i) => i);
    // Seed 0 keeps the directory names of a single-seed demo (pretrain-ext5, finetune-t5-<task>).
    const sfx = (s: number) => (s === 0 ? '' : `-s${s}`);
    const cells: import('../experiments').CellSpec[] = [];
    for (const s of seeds) {
      for (const arm of ARMS) {
        const id = `pretrain-${arm.key}${sfx(s)}`;
        const data =
          arm.key === 'ext5'
            ? { data: 'mini_ext5_pretrain', mixtures: [] }
            : { data: p.c4Task, mixtures: [] };
        cells.push({
          ...exp.pretrainCell(p, id, `pre-train ${arm.label} (seed ${s})`, data, s, {
            evalEvery: Math.max(1, Math.floor(p.pretrainSteps / 4)),
          }),
          dir: id,
        });
        const from = {
          dep: id,
          dir: exp.checkpointPath(path.join(out, id), p.pretrainSteps),
        };
        for (const task of MINI_HELD_OUT) {
          const fid = `finetune-${arm.key}-${task}${sfx(s)}`;
          cells.push({
            ...exp.finetuneCell(
              p,
              fid,
              `fine-tune ${arm.label} on ${task} (seed ${s})`,
              from,
              { data: task },
              [task],
              s,
            ),
            dir: fid,
          });
        }
      }
    }

    const t0 = Date.now();
    const jobs = args.jobs ?? 2;
    let bar: InstanceType<typeof Progress> | undefined;
    say(
      `[demo] ${seeds.length} seeds × (ExT5, T5): ${args.steps} pre-training steps each, ${args['finetune-steps']} fine-tuning steps per held-out task; ${jobs} runs at a time`,
    );
    const sweep = await exp.runSweep({
      dir: out,
      header: { study: 'demo', preset: 'mini', params: p },
      cells,
      jobs,
      threads: args.threads ?? Math.max(1, Math.floor(require('node:os').availableParallelism() / jobs)),
      events: {
        begin: (toRun, reused) => {
          if (args.json || !args.progress) return;
          if (reused) say(`[demo] ${reused} runs finished before; running ${toRun}`);
          bar = new Progress({ label: 'demo', total: toRun, unitName: 'runs' });
        },
        end: (c, how) => {
          if (how === 'failed')
            say(`\n[demo] ${c.id} failed: see ${path.join(exp.cellRunDir(out, c), 'worker.log')}`);
          bar?.tick();
        },
      },
    });
    bar?.done();
    if (sweep.failed.length || sweep.stopped || sweep.skipped.length) {
      const { Ext5Error } = require('../util/errors') as typeof import('../util/errors');
      throw new Ext5Error(
        sweep.stopped ? 'E_STOPPED' : 'E_EXPERIMENT',
        sweep.stopped
          ? 'the demo was stopped'
          : `the demo could not finish: ${[...sweep.failed, ...sweep.skipped].join(', ')} did not run`,
        sweep.stopped
          ? `run the same command with --out ${out} to resume`
          : `see the worker.log of the failed runs under ${out}`,
      );
    }

    // Scores per task, metric and arm over seeds.
    const rows: DemoRow[] = [];
    const perSeedMean: Record<string, number[]> = { t5: [], ext5: [] };
    for (const task of MINI_HELD_OUT) {
      const evals = (arm: string, s: number) =>
        exp.readCellResult(out, `finetune-${arm}-${task}${sfx(s)}`)?.evals[task] ?? {};
      const metrics = Object.keys(evals('ext5', 0));
      for (const metric of metrics) {
        const v = (arm: string) => seeds.map((s) => evals(arm, s)[metric] ?? Number.NaN);
        const c = exp.compareArms(v('t5'), v('ext5'), { a: 'T5', b: 'ExT5' });
        const range = (i: import('../experiments').Interval): [number, number] | null =>
          i.n > 1 ? [i.lo, i.hi] : null;
        rows.push({
          task,
          metric,
          t5: c.a.mean,
          ext5: c.b.mean,
          t5Interval: range(c.a),
          ext5Interval: range(c.b),
          n: seeds.length,
          significant: c.significant,
          verdict: c.verdict,
        });
      }
    }
    for (const arm of ['t5', 'ext5']) {
      for (const s of seeds) {
        const xs = MINI_HELD_OUT.map((task) =>
          exp.taskScore(exp.readCellResult(out, `finetune-${arm}-${task}${sfx(s)}`)?.evals[task]),
        );
        perSeedMean[arm]!.push(xs.reduce((a, b) => a + b, 0) / xs.length);
      }
    }
    const overall = exp.compareArms(perSeedMean.t5!, perSeedMean.ext5!, { a: 'T5', b: 'ExT5' });
    const direction =
      overall.significant && overall.diff > 0
        ? 'The paper’s direction holds here: ExT5 scores higher than T5 on the held-out tasks, and the difference is significant.'
        : overall.significant
          ? 'The paper’s direction does NOT hold here: T5 scores significantly higher than ExT5 on the held-out tasks.'
          : `No significant difference between ExT5 and T5 on the held-out tasks at this scale (${seeds.length} seed${seeds.length > 1 ? 's' : ''}); the paper’s direction is not shown.`;

    // The report: scores, the mixture's shares, the pre-training curves.
    const shares = MixtureRegistry.get('mini_ext5_pretrain')
      .resolve()
      .sort((a, b) => b.share - a.share);
    const curves = ARMS.map((arm, i) => {
      const runs = seeds.map((s) => loadReportRun(path.join(out, `pretrain-${arm.key}${sfx(s)}`)));
      const train = runs.map(
        (r) => r.series.find((x) => x.split === 'train' && x.name === 'loss')?.points ?? [],
      );
      // Mean over seeds at each logged step, smoothed as TensorBoard does.
      const mean = meanOverSeeds(train);
      const smooth = smoothEma(
        mean.map((m) => m.y),
        0.6,
      ).map((y, j) => ({ x: mean[j]!.x, y }));
      const val = runs.map(
        (r) => r.series.find((x) => x.split === 'validation' && x.name === 'loss')?.points ?? [],
      );
      const vmean = meanOverSeeds(val);
      return { arm, color: PALETTE[i === 0 ? 1 : 0]!, mean, smooth, vmean };
    });
    const fmt = (r: DemoRow, arm: 't5' | 'ext5') => {
      const iv = arm === 't5' ? r.t5Interval : r.ext5Interval;
      const m = arm === 't5' ? r.t5 : r.ext5;
      return iv ? `${m.toFixed(1)} ± ${((iv[1] - iv[0]) / 2).toFixed(1)}` : m.toFixed(1);
    };
    const reportPath = path.join(out, 'report.html');
    const html = renderExperimentPage({
      title: 'ext5 demo: ExT5 vs T5 in miniature (mini data)',
      subtitle: `${seeds.length} seeds · ${args.steps} pre-training steps per model · ${args['finetune-steps']} fine-tuning steps per held-out task · ${args['eval-examples']} validation examples`,
      verdicts: [
        direction,
        `Mean over the held-out tasks: ${overall.verdict}.`,
        ...rows.map((r) => `${r.task} ${r.metric}: ${r.verdict}.`),
      ],
      charts: [
        ...MINI_HELD_OUT.map((task, k) => ({
          kind: 'bars' as const,
          spec: {
            id: `ft-${k}`,
            title: `Fine-tuned on ${task}`,
            yLabel: rows.find((r) => r.task === task)?.metric ?? 'score',
            bars: ARMS.slice()
              .reverse()
              .map((arm) => {
                const r = rows.find((x) => x.task === task);
                const iv = r ? (arm.key === 't5' ? r.t5Interval : r.ext5Interval) : null;
                const mean = r ? r[arm.key] : Number.NaN;
                return {
                  label: arm.label,
                  color: arm.key === 't5' ? PALETTE[0]! : PALETTE[1]!,
                  mean,
                  lo: iv ? iv[0] : Number.NaN,
                  hi: iv ? iv[1] : Number.NaN,
                  n: seeds.length,
                };
              }),
          },
        })),
        {
          kind: 'lines' as const,
          spec: {
            id: 'pretrain-loss',
            title: 'Pre-training loss (mean over seeds)',
            xLabel: 'step',
            yLabel: 'cross-entropy per target token',
            logY: true,
            series: curves.flatMap((c) => [
              // The faint line under each train curve is its unsmoothed mean; the legend says so.
              { label: `${c.arm.label} train (smoothed)`, color: c.color, points: c.smooth, raw: c.mean },
              ...(c.vmean.length > 1
                ? [
                    {
                      label: `${c.arm.label} validation`,
                      color: c.color,
                      points: c.vmean,
                      dash: '7 4',
                      markers: true,
                    },
                  ]
                : []),
            ]),
          },
        },
        {
          kind: 'bars' as const,
          spec: {
            id: 'shares',
            title: 'ExT5 pre-training mixture: share of each task',
            yLabel: '% of examples',
            height: 400,
            bars: shares.map((s) => ({
              label: s.task.name.replace(/^mini_/, ''),
              color: s.task.name === p.c4Task ? PALETTE[0]! : PALETTE[2]!,
              mean: 100 * s.share,
              lo: Number.NaN,
              hi: Number.NaN,
              n: 1,
            })),
          },
        },
      ],
      tables: [
        {
          title: 'Fine-tuned scores on the held-out tasks (mean ± 95% half-width over seeds)',
          head: ['task', 'metric', 'T5', 'ExT5', 'ExT5 − T5', 'significant'],
          numeric: [2, 3, 4],
          rows: rows.map((r) => [
            r.task,
            r.metric,
            fmt(r, 't5'),
            fmt(r, 'ext5'),
            (r.ext5 - r.t5).toFixed(1),
            r.significant ? 'yes' : 'no',
          ]),
        },
        {
          title: 'The ExT5 pre-training mixture (mini_ext5_pretrain)',
          head: ['task', 'family', 'share'],
          numeric: [2],
          rows: shares.map((s) => [
            s.task.name,
            s.task.family ?? 'span corruption',
            `${(100 * s.share).toFixed(1)}%`,
          ]),
        },
      ],
      notes: [
        `Held-out tasks (${MINI_HELD_OUT.join(', ')}) are kept out of mini_exmix. The mini data is synthetic and tiny: the numbers show the comparison, not the paper's.`,
        `Runs in ${out}.`,
      ],
    });
    writeFileDurable(reportPath, html);
    const seconds = (Date.now() - t0) / 1000;
    if (args.json) {
      process.stdout.write(
        `${JSON.stringify({ out, seconds, steps: args.steps, finetuneSteps: args['finetune-steps'], seeds: seeds.length, rows, overall: { t5: overall.a.mean, ext5: overall.b.mean, diff: overall.diff, diffInterval: [overall.diffLo, overall.diffHi], significant: overall.significant, verdict: overall.verdict }, direction, report: reportPath }, null, 2)}\n`,
      );
      return;
    }
    const w = Math.max(13, ...rows.map((r) => `${r.task} ${r.metric}`.length));
    const col = (s: string) => s.padStart(13);
    const lines = [
      '',
      `ExT5 vs T5 in miniature: ${args.steps} pre-training steps each, ${args['finetune-steps']} fine-tuning steps per held-out task, ${seeds.length} seeds (mean ± 95% half-width)`,
      '',
      `${'task / metric'.padEnd(w)}  ${col('T5')}  ${col('ExT5')}  significant`,
      ...rows.map(
        (r) =>
          `${`${r.task} ${r.metric}`.padEnd(w)}  ${col(fmt(r, 't5'))}  ${col(fmt(r, 'ext5'))}  ${r.significant ? 'yes' : 'no'}`,
      ),
      '',
      `Mean over held-out tasks: ${overall.verdict}.`,
      direction,
      '',
      `Runs in ${out} (${seconds.toFixed(0)} s). Report: ${reportPath}`,
      "The mini data is synthetic and tiny: this shows the comparison, not the paper's numbers.",
    ];
    process.stdout.write(`${lines.join('\n')}\n`);
  },
};

/** The mean over seeds at each step the first seed logged (seeds log the same steps). */
function meanOverSeeds(perSeed: { step: number; value: number }[][]): { x: number; y: number }[] {
  return (perSeed[0] ?? []).map(({ step }) => {
    const ys = perSeed
      .map((pts) => pts.find((pt) => pt.step === step)?.value)
      .filter((y): y is number => y !== undefined);
    return { x: step, y: ys.reduce((a, b) => a + b, 0) / Math.max(1, ys.length) };
  });
}
