/**
 * The study behind `ext5 demo`: the paper's comparison in miniature, on the built-in data.
 *
 *   1. for each seed, pre-train a tiny T5.1.1 on mini_ext5_pretrain (mini C4 span corruption at
 *      R = 2 per mini-ExMix example)                                                  → "ExT5"
 *   2. and the same model for the same steps on mini C4 span corruption only            → "T5"
 *   3. fine-tune each on the held-out tasks (kept out of mini_exmix) and evaluate them
 *   4. per task and metric, mean ± 95% interval over seeds of both; whether ExT5 and T5 differ
 *      significantly, per task and over the mean of the tasks; an HTML report (scores, the
 *      mixture's task shares, loss curves).
 *
 * Run directories sit directly in the experiment directory (pretrain-ext5, finetune-t5-<task>, with
 * -s<seed> from the second seed on), so a single-seed demo keeps its historical layout.
 */
import * as path from 'node:path';
import type { PageChart, PageTable } from '../report/experiment_page';
import { PALETTE } from '../report/html';
import { loadReportRun } from '../report/runs';
import { smoothEma } from '../report/summary';
import { MixtureRegistry } from '../tasks';
import { Ext5Error } from '../util/errors';
import type { StudyAnalysis } from './analysis';
import { type CellSpec, checkpointPath } from './cell';
import { anyClipped, clipNote, heldOutMean, metricRange, type Results, seedList } from './scores';
import { type Comparison, clipInterval, compareArms, formatInterval, type Interval } from './stats';
import { finetuneCell, pretrainCell, type StudyParams } from './studies';

/** The ExT5 arm's pre-training mixture (registered by the mini tasks). */
export const DEMO_MIXTURE = 'mini_ext5_pretrain';

const ARMS = [
  { key: 't5' as const, label: 'T5', color: PALETTE[0]! },
  { key: 'ext5' as const, label: 'ExT5', color: PALETTE[1]! },
];
type Arm = (typeof ARMS)[number]['key'];

const sfx = (s: number) => (s === 0 ? '' : `-s${s}`);
/** The demo's cell ids, which are also its run directories. */
export const demoCell = {
  pretrain: (arm: Arm, seed: number) => `pretrain-${arm}${sfx(seed)}`,
  finetune: (arm: Arm, task: string, seed: number) => `finetune-${arm}-${task}${sfx(seed)}`,
};

/** The demo's cells: per seed and arm, one pre-training and one fine-tuning per held-out task. */
export function planDemo(p: StudyParams, dir: string): CellSpec[] {
  if (p.preset !== 'mini') {
    throw new Ext5Error(
      'E_EXPERIMENT',
      `the demo runs on the mini preset's built-in data, not '${p.preset}'`,
    );
  }
  const inMixture = MixtureRegistry.get(DEMO_MIXTURE).taskNames();
  const leak = p.heldOut.filter((t) => inMixture.includes(t));
  if (leak.length) {
    throw new Ext5Error('E_EXPERIMENT', `held-out task ${leak.join(', ')} is part of ${DEMO_MIXTURE}`);
  }
  const cells: CellSpec[] = [];
  for (const s of seedList(p)) {
    for (const arm of ARMS) {
      const id = demoCell.pretrain(arm.key, s);
      const data = arm.key === 'ext5' ? DEMO_MIXTURE : p.c4Task;
      cells.push({
        ...pretrainCell(p, id, `pre-train ${arm.label} (seed ${s})`, { data, mixtures: [] }, s, {
          evalEvery: Math.max(1, Math.floor(p.pretrainSteps / 4)),
        }),
        dir: id,
      });
      const from = { dep: id, dir: checkpointPath(path.join(dir, id), p.pretrainSteps) };
      for (const task of p.heldOut) {
        const fid = demoCell.finetune(arm.key, task, s);
        const label = `fine-tune ${arm.label} on ${task} (seed ${s})`;
        cells.push({ ...finetuneCell(p, fid, label, from, { data: task }, [task], s), dir: fid });
      }
    }
  }
  return cells;
}

/** One task and metric of the demo's table (results.json and `ext5 demo --json` keep this shape). */
export interface DemoRow {
  task: string;
  metric: string;
  /** Means over seeds. */
  t5: number;
  ext5: number;
  /** The raw 95% intervals (not clipped); null with one seed. */
  t5Interval: [number, number] | null;
  ext5Interval: [number, number] | null;
  n: number;
  significant: boolean;
  verdict: string;
}

const finite = (xs: number[]) => xs.filter(Number.isFinite);

function demoRows(p: StudyParams, r: Results): { row: DemoRow; c: Comparison }[] {
  const out: { row: DemoRow; c: Comparison }[] = [];
  const range = (i: Interval): [number, number] | null => (i.n > 1 ? [i.lo, i.hi] : null);
  for (const task of p.heldOut) {
    const evals = (arm: Arm, s: number) => r.get(demoCell.finetune(arm, task, s))?.evals[task] ?? {};
    const metrics = [
      ...new Set(seedList(p).flatMap((s) => ARMS.flatMap((a) => Object.keys(evals(a.key, s))))),
    ];
    for (const metric of metrics) {
      const v = (arm: Arm) => finite(seedList(p).map((s) => evals(arm, s)[metric] ?? Number.NaN));
      if (!v('t5').length || !v('ext5').length) continue;
      const c = compareArms(v('t5'), v('ext5'), { a: 'T5', b: 'ExT5' });
      out.push({
        c,
        row: {
          task,
          metric,
          t5: c.a.mean,
          ext5: c.b.mean,
          t5Interval: range(c.a),
          ext5Interval: range(c.b),
          n: Math.min(c.a.n, c.b.n),
          significant: c.significant,
          verdict: c.verdict,
        },
      });
    }
  }
  return out;
}

function direction(overall: Comparison | null, seeds: number): string {
  if (overall?.significant && overall.diff > 0)
    return 'The paper’s direction holds here: ExT5 scores higher than T5 on the held-out tasks, and the difference is significant.';
  if (overall?.significant)
    return 'The paper’s direction does NOT hold here: T5 scores significantly higher than ExT5 on the held-out tasks.';
  return `No significant difference between ExT5 and T5 on the held-out tasks at this scale (${seeds} seed${seeds > 1 ? 's' : ''}); the paper’s direction is not shown.`;
}

/** The mean over seeds at each step the first seed logged (seeds log the same steps). */
function meanOverSeeds(perSeed: { step: number; value: number }[][]): { x: number; y: number }[] {
  return (perSeed[0] ?? []).map(({ step }) => {
    const ys = perSeed
      .map((pts) => pts.find((pt) => pt.step === step)?.value)
      .filter((y): y is number => y !== undefined);
    return { x: step, y: ys.reduce((a, b) => a + b, 0) / Math.max(1, ys.length) };
  });
}

/** Pre-training loss curves, mean over the seeds that finished, train smoothed as TensorBoard does. */
function lossChart(p: StudyParams, r: Results, dir: string): PageChart {
  const series = ARMS.flatMap((arm) => {
    const runs = seedList(p)
      .filter((s) => r.has(demoCell.pretrain(arm.key, s)))
      .map((s) => loadReportRun(path.join(dir, demoCell.pretrain(arm.key, s))));
    const points = (split: string) =>
      meanOverSeeds(
        runs.map((run) => run.series.find((x) => x.split === split && x.name === 'loss')?.points ?? []),
      );
    const mean = points('train');
    const smooth = smoothEma(
      mean.map((m) => m.y),
      0.6,
    ).map((y, j) => ({ x: mean[j]!.x, y }));
    const val = points('validation');
    // The faint line under each train curve is its unsmoothed mean; the legend says so.
    return [
      { label: `${arm.label} train (smoothed)`, color: arm.color, points: smooth, raw: mean },
      ...(val.length > 1
        ? [{ label: `${arm.label} validation`, color: arm.color, points: val, dash: '7 4', markers: true }]
        : []),
    ];
  });
  return {
    kind: 'lines',
    spec: {
      id: 'pretrain-loss',
      title: 'Pre-training loss (mean over seeds)',
      xLabel: 'step',
      yLabel: 'cross-entropy per target token',
      logY: true,
      series,
    },
  };
}

/** Per held-out task, ExT5 and T5 bars with their intervals cut to the metric's range. */
function scoreCharts(p: StudyParams, rows: { row: DemoRow; c: Comparison }[]): PageChart[] {
  return p.heldOut.map((task, k) => {
    const hit = rows.find((x) => x.row.task === task);
    const range = metricRange(hit?.row.metric ?? '');
    const ivs = hit ? [hit.c.a, hit.c.b] : [];
    return {
      kind: 'bars',
      spec: {
        id: `ft-${k}`,
        title: `Fine-tuned on ${task}`,
        yLabel: hit?.row.metric ?? 'score',
        ...(anyClipped(ivs, range) ? { note: clipNote(range) } : {}),
        bars: ARMS.map((arm, j) => {
          const i = ivs[j];
          const c = i ? clipInterval(i, range) : { lo: Number.NaN, hi: Number.NaN };
          return { label: arm.label, color: arm.color, mean: i?.mean ?? Number.NaN, ...c, n: i?.n ?? 0 };
        }),
      },
    };
  });
}

function mixtureShares(p: StudyParams) {
  const shares = MixtureRegistry.get(DEMO_MIXTURE)
    .resolve()
    .sort((a, b) => b.share - a.share);
  const chart: PageChart = {
    kind: 'bars',
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
  };
  const table: PageTable = {
    title: `The ExT5 pre-training mixture (${DEMO_MIXTURE})`,
    head: ['task', 'family', 'share'],
    numeric: [2],
    rows: shares.map((s) => [
      s.task.name,
      s.task.family ?? 'span corruption',
      `${(100 * s.share).toFixed(1)}%`,
    ]),
  };
  return { chart, table };
}

/**
 * The demo's analysis. Its first table (id 'scores') is the one `ext5 demo` prints. The loss curves
 * need the run directories: without `dir` they are left out.
 */
export function analyzeDemo(p: StudyParams, r: Results, dir?: string): StudyAnalysis {
  const rows = demoRows(p, r);
  const perSeed = (arm: Arm) =>
    finite(seedList(p).map((s) => heldOutMean(r, p.heldOut, (t) => demoCell.finetune(arm, t, s))));
  const overall =
    perSeed('t5').length && perSeed('ext5').length
      ? compareArms(perSeed('t5'), perSeed('ext5'), { a: 'T5', b: 'ExT5' })
      : null;
  const dirLine = direction(overall, p.seeds);
  const shares = mixtureShares(p);
  const show = (i: Interval, metric: string) =>
    formatInterval(i, 1, { range: metricRange(metric), n: false });
  return {
    verdicts: [
      dirLine,
      ...(overall ? [`Mean over the held-out tasks: ${overall.verdict}.`] : []),
      ...rows.map(({ row }) => `${row.task} ${row.metric}: ${row.verdict}.`),
    ],
    numbers: {
      rows: rows.map((x) => x.row),
      overall: overall && {
        t5: overall.a.mean,
        ext5: overall.b.mean,
        diff: overall.diff,
        diffInterval: [overall.diffLo, overall.diffHi],
        significant: overall.significant,
        verdict: overall.verdict,
      },
      direction: dirLine,
    },
    charts: [
      ...scoreCharts(p, rows),
      ...(dir && ARMS.some((a) => r.has(demoCell.pretrain(a.key, 0))) ? [lossChart(p, r, dir)] : []),
      shares.chart,
    ],
    tables: [
      {
        id: 'scores',
        title:
          'Fine-tuned scores on the held-out tasks (mean ± 95% half-width over seeds; [lo, hi] where clipped to the metric range)',
        head: ['task', 'metric', 'T5', 'ExT5', 'ExT5 − T5', 'significant'],
        numeric: [2, 3, 4],
        rows: rows.map(({ row, c }) => [
          row.task,
          row.metric,
          show(c.a, row.metric),
          show(c.b, row.metric),
          (row.ext5 - row.t5).toFixed(1),
          row.significant ? 'yes' : 'no',
        ]),
      },
      shares.table,
    ],
    notes: [
      `Held-out tasks (${p.heldOut.join(', ')}) are kept out of ${DEMO_MIXTURE}. The mini data is synthetic and tiny: the numbers show the comparison, not the paper's.`,
      ...(dir ? [`Runs in ${dir}.`] : []),
    ],
  };
}
