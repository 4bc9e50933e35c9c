/**
 * From cell results to what people read: per study, the numbers (means with 95% intervals over
 * seeds), plain verdicts that name a higher arm only where the difference is significant, tables
 * (with a per-task breakdown) and charts. Shown intervals of scores are cut to the score's range;
 * the numbers for results.json keep the raw intervals.
 */

import type { PageChart, PageTable } from '../report/experiment_page';
import { PALETTE } from '../report/html';
import { meanTaskScore } from './cell';
import {
  anyClipped,
  clipNote,
  heldOutMean,
  iv,
  LOSS,
  perTaskBreakdown,
  pt,
  type Results,
  scoreRange,
  seedList,
  show,
  type TaskArm,
} from './scores';
import { type Comparison, compareArms, formatInterval, formatStat, type Interval } from './stats';
import { efficiencySteps, poolTasks, type StudyParams, safe } from './studies';

export interface StudyAnalysis {
  verdicts: string[];
  tables: PageTable[];
  charts: PageChart[];
  /** The numbers behind the tables, for results.json (intervals as computed, not clipped). */
  numbers: Record<string, unknown>;
  /** Lines for the report's notes. */
  notes?: string[];
}

const finite = (xs: number[]) => xs.filter((x) => Number.isFinite(x));

/** The held-out cells of one seed of an arm whose cells are `<prefix>-ft-<task>`. */
const ftCell = (prefix: string) => (t: string) => `${prefix}-ft-${safe(t)}`;

/** Per seed, the mean held-out score of the arm whose cells are `<prefix(seed)>-ft-<task>`. */
function armScores(p: StudyParams, r: Results, prefix: (seed: number) => string): number[] {
  return finite(seedList(p).map((s) => heldOutMean(r, p.heldOut, ftCell(prefix(s)))));
}

/** A per-task arm whose cells are `<prefix(seed)>-ft-<task>`. */
const taskArm = (label: string, prefix: (seed: number) => string): TaskArm => ({
  label,
  cell: (s, t) => ftCell(prefix(s))(t),
});

const heldOutName = (p: StudyParams) =>
  p.heldOut.length === 1 ? `${p.heldOut[0]} score` : `mean score on ${p.heldOut.length} held-out tasks`;

/** A chart's note when one of its intervals was cut to the range (the legend line under the title). */
function clipped(ivs: (Interval | null)[], range: readonly [number, number]): { note?: string } {
  return anyClipped(ivs, range) ? { note: clipNote(range) } : {};
}

/** The relative change (%) of family `a`'s score when co-trained with `b`, per seed, as an interval. */
function transferChange(p: StudyParams, r: Results, a: string, b: string): Interval | null {
  const pool = poolTasks(p);
  const tasks = pool.filter((t) => t.family === a).map((t) => t.name);
  const fams = p.families;
  const pairId = fams.indexOf(a) < fams.indexOf(b) ? `${a}.${b}` : `${b}.${a}`;
  const rel = seedList(p).map((s) => {
    const solo = meanTaskScore(r.get(`co-${a}-s${s}`)?.evals ?? {}, tasks);
    const pair = meanTaskScore(r.get(`co-${pairId}-s${s}`)?.evals ?? {}, tasks);
    // Relative change as the paper reports it; from a zero baseline, the absolute change.
    return solo === 0 ? pair - solo : (100 * (pair - solo)) / Math.abs(solo);
  });
  return iv(rel);
}

export function analyzeTransfer(p: StudyParams, r: Results): StudyAnalysis {
  const fams = p.families;
  const rows: string[][] = [];
  const numbers: Record<string, unknown> = {};
  const verdicts: string[] = [];
  const cells = fams.map((a) =>
    fams.map((b) => {
      if (a === b) return { value: null, text: null };
      const i = transferChange(p, r, a, b);
      const sig = i !== null && i.n > 1 && (i.lo > 0 || i.hi < 0);
      numbers[`${a}|${b}`] = i;
      const ci = i && i.n > 1 ? `[${formatStat(i.lo)}, ${formatStat(i.hi)}]` : '—';
      rows.push([a, b, show(i), ci, sig ? 'yes' : 'no']);
      if (sig)
        verdicts.push(
          `Co-training ${a} with ${b} changes ${a} by ${formatStat(i!.mean)}% (95% CI ${formatStat(i!.lo)} to ${formatStat(i!.hi)}): significant.`,
        );
      return {
        value: i ? i.mean : null,
        text: i ? `${i.mean >= 0 ? '+' : ''}${formatStat(i.mean)}${sig ? '*' : ''}` : null,
      };
    }),
  );
  if (verdicts.length === 0) {
    verdicts.push(
      `No family pair changes its tasks' score significantly (no 95% interval over ${p.seeds} seed${p.seeds > 1 ? 's' : ''} excludes 0).`,
    );
  }
  return {
    verdicts,
    numbers: { relativeChange: numbers },
    charts: [
      {
        kind: 'heatmap',
        spec: {
          id: 'transfer',
          title: 'Co-training transfer: % change of the row family',
          rowLabel: 'evaluated family',
          colLabel: 'co-trained with',
          rows: fams,
          cols: fams,
          values: cells.map((row) => row.map((c) => c.value)),
          text: cells.map((row) => row.map((c) => c.text)),
          unit: '% (* = 95% CI excludes 0)',
        },
      },
    ],
    tables: [
      {
        title: 'Relative change of family A when co-trained with B (mean over seeds, %)',
        head: [
          'A (evaluated)',
          'B (co-trained)',
          'change % (mean ± 95% half-width)',
          '95% CI',
          'significant',
        ],
        rows,
      },
    ],
  };
}

/** The interval chart of a held-out score over a swept quantity, ticks at the swept values. */
function scoreCurve(
  id: string,
  title: string,
  xLabel: string,
  p: StudyParams,
  xs: readonly number[],
  series: { label: string; color: string; ivs: (Interval | null)[] }[],
  range: readonly [number, number],
  logX = false,
): PageChart {
  return {
    kind: 'interval',
    spec: {
      id,
      title,
      xLabel,
      yLabel: heldOutName(p),
      logX,
      xTicks: [...xs],
      yRange: range,
      ...clipped(
        series.flatMap((s) => s.ivs),
        range,
      ),
      series: series.map((s) => ({
        label: s.label,
        color: s.color,
        points: xs.map((x, i) => pt(x, s.ivs[i]!, range)),
      })),
    },
  };
}

export function analyzeScaling(p: StudyParams, r: Results): StudyAnalysis {
  const prefix = (k: number) => (s: number) => `k${k}-s${s}`;
  const raw = (k: number) => armScores(p, r, prefix(k));
  const ivs = p.points.map((k) => iv(raw(k)));
  const range = scoreRange(r, p.heldOut);
  const lo = p.points[0]!;
  const hi = p.points[p.points.length - 1]!;
  const verdicts: string[] = [];
  if (p.points.length > 1 && raw(lo).length && raw(hi).length) {
    verdicts.push(
      `${hi} vs ${lo} pre-training tasks: ${compareArms(raw(lo), raw(hi), { a: `${lo} tasks`, b: `${hi} tasks` }).verdict}.`,
    );
  }
  const perTask = perTaskBreakdown(
    p,
    r,
    p.points.map((k) => taskArm(`${k} tasks`, prefix(k))),
  );
  return {
    verdicts,
    numbers: {
      points: p.points.map((k, i) => ({ tasks: k, score: ivs[i] })),
      perTask: perTask.numbers,
      scoreRange: range,
    },
    charts: [
      scoreCurve(
        'scaling',
        'Downstream score vs number of pre-training tasks',
        'pre-training tasks (random subsets, one per seed)',
        p,
        p.points,
        [{ label: 'mean ± 95% CI over seeds', color: PALETTE[0]!, ivs }],
        range,
      ),
    ],
    tables: [
      {
        title: 'Held-out score by number of pre-training tasks',
        head: ['tasks', 'score (mean ± 95% half-width)'],
        numeric: [0, 1],
        rows: p.points.map((k, i) => [String(k), show(ivs[i]!, range)]),
      },
      perTask.table,
    ],
  };
}

/**
 * The mix study's summary, by the rule of every verdict: a value is named best only when its score is
 * significantly above every other value's; otherwise the line says which differences are not
 * significant, with their intervals.
 */
export function mixVerdicts(
  p: StudyParams,
  score: (Interval | null)[],
  raw: (v: number) => number[],
  range?: readonly [number, number],
): string[] {
  const best = score.reduce((b, x, i) => (x && (b < 0 || x.mean > score[b]!.mean) ? i : b), -1);
  if (best < 0) return [];
  const name = (v: number) => `${p.sweep}=${v}`;
  const top = p.values[best]!;
  if (score.every((x) => !x || x.mean === score[best]!.mean)) {
    return [
      `No ${p.sweep} value scores higher than another: every downstream mean is ${show(score[best]!, range)}.`,
    ];
  }
  const cmps = p.values
    .filter((v, i) => i !== best && raw(v).length > 0)
    .map((v) => ({ v, c: compareArms(raw(v), raw(top), { a: name(v), b: name(top) }) }));
  if (cmps.length === 0) return []; // one value with results: nothing to compare yet
  if (cmps.some((x) => !Number.isFinite(x.c.diffLo))) {
    return [
      `No ${p.sweep} value can be named best from one seed: no interval, no conclusion (run more seeds).`,
    ];
  }
  const detail = (xs: { v: number; c: Comparison }[]) =>
    xs
      .map(
        ({ v, c }) =>
          `${name(top)} − ${name(v)} = ${formatStat(c.diff)}, 95% CI ${formatStat(c.diffLo)} to ${formatStat(c.diffHi)}`,
      )
      .join('; ');
  const sig = cmps.filter((x) => x.c.significant);
  const not = cmps.filter((x) => !x.c.significant);
  if (not.length === 0) {
    return [
      `Best downstream score at ${name(top)} (${show(score[best]!, range)}): significantly higher than every other ${p.sweep} value (${detail(sig)}).`,
    ];
  }
  if (sig.length === 0) {
    return [`No significant difference in downstream score between the ${p.sweep} values (${detail(not)}).`];
  }
  return [
    `No ${p.sweep} value is best: ${name(top)} scores significantly higher than ${sig.map((x) => name(x.v)).join(', ')} (${detail(sig)}), but not than ${not.map((x) => name(x.v)).join(', ')} (${detail(not)}).`,
  ];
}

/** mix: the C4 validation loss of each pre-trained model over the swept values. */
function c4LossChart(p: StudyParams, loss: (Interval | null)[], logX: boolean, xLabel: string): PageChart {
  return {
    kind: 'interval',
    spec: {
      id: 'mix-c4',
      title: `C4 validation loss vs ${p.sweep}`,
      xLabel,
      yLabel: 'C4 span-corruption loss',
      logX,
      xTicks: [...p.values],
      yRange: LOSS,
      ...clipped(loss, LOSS),
      series: [
        {
          label: 'mean ± 95% CI over seeds',
          color: PALETTE[1]!,
          points: p.values.map((v, i) => pt(v, loss[i]!, LOSS)),
        },
      ],
    },
  };
}

export function analyzeMix(p: StudyParams, r: Results): StudyAnalysis {
  const tag = (v: number) => `${p.sweep}${String(v).replace('.', 'p')}`;
  const prefix = (v: number) => (s: number) => `${tag(v)}-s${s}`;
  const raw = (v: number) => armScores(p, r, prefix(v));
  const score = p.values.map((v) => iv(raw(v)));
  const loss = p.values.map((v) =>
    iv(seedList(p).map((s) => r.get(`${tag(v)}-s${s}-c4loss`)?.validationLoss ?? Number.NaN)),
  );
  const range = scoreRange(r, p.heldOut);
  const perTask = perTaskBreakdown(
    p,
    r,
    p.values.map((v) => taskArm(`${p.sweep}=${v}`, prefix(v))),
  );
  const logX = p.values.every((v) => v > 0) && Math.max(...p.values) / Math.min(...p.values) >= 8;
  const xLabel = p.sweep === 'R' ? 'R (C4 examples per ExMix example)' : p.sweep;
  return {
    verdicts: mixVerdicts(p, score, raw, range),
    numbers: {
      sweep: p.sweep,
      values: p.values.map((v, i) => ({ value: v, score: score[i], c4Loss: loss[i] })),
      perTask: perTask.numbers,
      scoreRange: range,
    },
    charts: [
      scoreCurve(
        'mix-score',
        `Downstream score vs ${p.sweep}`,
        xLabel,
        p,
        p.values,
        [{ label: 'mean ± 95% CI over seeds', color: PALETTE[0]!, ivs: score }],
        range,
        logX,
      ),
      c4LossChart(p, loss, logX, xLabel),
    ],
    tables: [
      {
        title: `Downstream score and C4 loss per ${p.sweep}`,
        head: [p.sweep, 'held-out score', 'C4 validation loss'],
        numeric: [0, 1, 2],
        rows: p.values.map((v, i) => [
          String(v),
          show(score[i]!, range),
          loss[i] ? formatInterval(loss[i]!, 3, { range: LOSS, n: false }) : '—',
        ]),
      },
      perTask.table,
    ],
  };
}

export function analyzeEfficiency(p: StudyParams, r: Results): StudyAnalysis {
  const steps = efficiencySteps(p);
  const prefix = (arm: string, step: number) => (s: number) => `${arm}-s${s}-at${step}`;
  const raw = (arm: string, step: number) => armScores(p, r, prefix(arm, step));
  const arms = [
    { key: 'ext5', label: 'ExT5 (C4 + ExMix)', short: 'ExT5', color: PALETTE[1]! },
    { key: 't5', label: 'T5 (C4 only)', short: 'T5', color: PALETTE[0]! },
  ];
  const range = scoreRange(r, p.heldOut);
  const verdicts = steps.flatMap((st) => {
    const a = raw('t5', st);
    const b = raw('ext5', st);
    return a.length && b.length
      ? [`After ${st} pre-training steps: ${compareArms(a, b, { a: 'T5', b: 'ExT5' }).verdict}.`]
      : [];
  });
  const perTask = perTaskBreakdown(
    p,
    r,
    steps.flatMap((st) => arms.map((a) => taskArm(`${a.short} @ step ${st}`, prefix(a.key, st)))),
  );
  return {
    verdicts,
    numbers: {
      ...Object.fromEntries(
        arms.map((a) => [a.key, steps.map((st) => ({ step: st, score: iv(raw(a.key, st)) }))]),
      ),
      perTask: perTask.numbers,
      scoreRange: range,
    },
    charts: [
      scoreCurve(
        'efficiency',
        'Sample efficiency: fine-tuned score along pre-training',
        'pre-training steps of the checkpoint',
        p,
        steps,
        arms.map((a) => ({ label: a.label, color: a.color, ivs: steps.map((st) => iv(raw(a.key, st))) })),
        range,
      ),
    ],
    tables: [
      {
        title: 'Held-out score of checkpoints along pre-training',
        head: ['step', 'T5', 'ExT5'],
        numeric: [0, 1, 2],
        rows: steps.map((st) => [
          String(st),
          show(iv(raw('t5', st)), range),
          show(iv(raw('ext5', st)), range),
        ]),
      },
      perTask.table,
    ],
  };
}

export function analyzePrefinetune(p: StudyParams, r: Results): StudyAnalysis {
  const prefix = (arm: string) => (s: number) => `${arm}-s${s}`;
  const raw = (arm: string) => armScores(p, r, prefix(arm));
  const arms = [
    { key: 't5', label: 'T5', color: PALETTE[0]! },
    { key: 'pft', label: 'T5 + pre-finetuning', color: PALETTE[2]! },
    { key: 'ext5', label: 'ExT5 (multi-task pre-training)', color: PALETTE[1]! },
  ];
  const range = scoreRange(r, p.heldOut);
  const verdicts: string[] = [];
  for (const [a, b] of [
    ['pft', 'ext5'],
    ['t5', 'ext5'],
    ['t5', 'pft'],
  ] as const) {
    const xa = raw(a);
    const xb = raw(b);
    const la = arms.find((x) => x.key === a)!.label;
    const lb = arms.find((x) => x.key === b)!.label;
    if (xa.length && xb.length)
      verdicts.push(`${lb} vs ${la}: ${compareArms(xa, xb, { a: la, b: lb }).verdict}.`);
  }
  const ivs = arms.map((a) => iv(raw(a.key)));
  const perTask = perTaskBreakdown(
    p,
    r,
    arms.map((a) => taskArm(a.label, prefix(a.key))),
  );
  return {
    verdicts,
    numbers: {
      ...Object.fromEntries(arms.map((a, i) => [a.key, ivs[i]])),
      perTask: perTask.numbers,
      scoreRange: range,
    },
    charts: [
      {
        kind: 'bars',
        spec: {
          id: 'prefinetune',
          title: `Equal steps (${p.pretrainSteps}): pre-training vs pre-finetuning`,
          yLabel: heldOutName(p),
          ...clipped(ivs, range),
          bars: arms.map((a, i) => {
            const q = pt(0, ivs[i]!, range);
            return { label: a.label, color: a.color, mean: q.mean, lo: q.lo, hi: q.hi, n: q.n };
          }),
        },
      },
    ],
    tables: [
      {
        title: 'Held-out score per arm',
        head: ['arm', 'score (mean ± 95% half-width)'],
        numeric: [1],
        rows: arms.map((a, i) => [a.label, show(ivs[i]!, range)]),
      },
      perTask.table,
    ],
  };
}
