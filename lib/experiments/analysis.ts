/**
 * From cell results to what people read: per study, the numbers (means with 95% intervals over
 * seeds), plain verdicts that say when a difference is not significant, tables and charts.
 */

import type { PageChart, PageTable } from '../report/experiment_page';
import { PALETTE } from '../report/html';
import type { IntervalPoint } from '../report/stat_charts';
import { type CellResult, meanTaskScore } from './cell';
import { compareArms, formatInterval, formatStat, type Interval, meanInterval } from './stats';
import { efficiencySteps, poolTasks, type StudyName, type StudyParams } from './studies';

export interface StudyAnalysis {
  verdicts: string[];
  tables: PageTable[];
  charts: PageChart[];
  /** The numbers behind the tables, for results.json. */
  numbers: Record<string, unknown>;
}

type Results = ReadonlyMap<string, CellResult>;

const safe = (s: string) => s.replace(/[^a-z0-9]+/gi, '_').toLowerCase();
const finite = (xs: number[]) => xs.filter((x) => Number.isFinite(x));

/** An interval over the finite values, or null when there are none. */
function iv(values: number[]): Interval | null {
  const xs = finite(values);
  return xs.length ? meanInterval(xs) : null;
}

function pt(x: number, i: Interval | null): IntervalPoint {
  return i
    ? { x, mean: i.mean, lo: i.lo, hi: i.hi, n: i.n }
    : { x, mean: Number.NaN, lo: Number.NaN, hi: Number.NaN, n: 0 };
}

const show = (i: Interval | null) => (i ? formatInterval(i) : '—');
const seedList = (p: StudyParams) => Array.from({ length: p.seeds }, (_, i) => i);

/** The mean held-out score of one seed of an arm whose cells are `<prefix>-ft-<task>`. */
function heldOutScore(p: StudyParams, r: Results, prefix: string): number {
  const scores = p.heldOut.map((t) => meanTaskScore(r.get(`${prefix}-ft-${safe(t)}`)?.evals ?? {}, [t]));
  return scores.some((s) => !Number.isFinite(s))
    ? Number.NaN
    : scores.reduce((a, b) => a + b, 0) / scores.length;
}

const heldOutName = (p: StudyParams) =>
  p.heldOut.length === 1 ? `${p.heldOut[0]} score` : `mean score on ${p.heldOut.length} held-out tasks`;

function transfer(p: StudyParams, r: Results): StudyAnalysis {
  const pool = poolTasks(p);
  const tasksOf = (f: string) => pool.filter((t) => t.family === f).map((t) => t.name);
  const fams = p.families;
  const values: (number | null)[][] = [];
  const text: (string | null)[][] = [];
  const rows: string[][] = [];
  const numbers: Record<string, unknown> = {};
  const verdicts: string[] = [];
  for (const a of fams) {
    const vr: (number | null)[] = [];
    const tr: (string | null)[] = [];
    for (const b of fams) {
      if (a === b) {
        vr.push(null);
        tr.push(null);
        continue;
      }
      const pairId = fams.indexOf(a) < fams.indexOf(b) ? `${a}.${b}` : `${b}.${a}`;
      const rel: number[] = [];
      for (const s of seedList(p)) {
        const solo = meanTaskScore(r.get(`co-${a}-s${s}`)?.evals ?? {}, tasksOf(a));
        const pair = meanTaskScore(r.get(`co-${pairId}-s${s}`)?.evals ?? {}, tasksOf(a));
        // Relative change as the paper reports it; from a zero baseline, the absolute change.
        rel.push(solo === 0 ? pair - solo : (100 * (pair - solo)) / Math.abs(solo));
      }
      const i = iv(rel);
      const sig = i !== null && i.n > 1 && (i.lo > 0 || i.hi < 0);
      vr.push(i ? i.mean : null);
      tr.push(i ? `${i.mean >= 0 ? '+' : ''}${formatStat(i.mean)}${sig ? '*' : ''}` : null);
      numbers[`${a}|${b}`] = i;
      rows.push([
        a,
        b,
        show(i),
        i && i.n > 1 ? `[${formatStat(i.lo)}, ${formatStat(i.hi)}]` : '—',
        sig ? 'yes' : 'no',
      ]);
      if (sig)
        verdicts.push(
          `Co-training ${a} with ${b} changes ${a} by ${formatStat(i!.mean)}% (95% CI ${formatStat(i!.lo)} to ${formatStat(i!.hi)}): significant.`,
        );
    }
    values.push(vr);
    text.push(tr);
  }
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
          values,
          text,
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

function scaling(p: StudyParams, r: Results): StudyAnalysis {
  const ivs = p.points.map((k) => iv(seedList(p).map((s) => heldOutScore(p, r, `k${k}-s${s}`))));
  const raw = (k: number) =>
    seedList(p)
      .map((s) => heldOutScore(p, r, `k${k}-s${s}`))
      .filter(Number.isFinite);
  const lo = p.points[0]!;
  const hi = p.points[p.points.length - 1]!;
  const verdicts: string[] = [];
  if (p.points.length > 1 && raw(lo).length && raw(hi).length) {
    verdicts.push(
      `${hi} vs ${lo} pre-training tasks: ${compareArms(raw(lo), raw(hi), { a: `${lo} tasks`, b: `${hi} tasks` }).verdict}.`,
    );
  }
  return {
    verdicts,
    numbers: { points: p.points.map((k, i) => ({ tasks: k, score: ivs[i] })) },
    charts: [
      {
        kind: 'interval',
        spec: {
          id: 'scaling',
          title: 'Downstream score vs number of pre-training tasks',
          xLabel: 'pre-training tasks (random subsets, one per seed)',
          yLabel: heldOutName(p),
          series: [
            {
              label: 'mean ± 95% CI over seeds',
              color: PALETTE[0]!,
              points: p.points.map((k, i) => pt(k, ivs[i]!)),
            },
          ],
        },
      },
    ],
    tables: [
      {
        title: 'Held-out score by number of pre-training tasks',
        head: ['tasks', 'score (mean ± 95% half-width)'],
        numeric: [0, 1],
        rows: p.points.map((k, i) => [String(k), show(ivs[i]!)]),
      },
    ],
  };
}

function mix(p: StudyParams, r: Results): StudyAnalysis {
  const tag = (v: number) => `${p.sweep}${String(v).replace('.', 'p')}`;
  const score = p.values.map((v) => iv(seedList(p).map((s) => heldOutScore(p, r, `${tag(v)}-s${s}`))));
  const loss = p.values.map((v) =>
    iv(seedList(p).map((s) => r.get(`${tag(v)}-s${s}-c4loss`)?.validationLoss ?? Number.NaN)),
  );
  const best = score.reduce((b, x, i) => (x && (b < 0 || x.mean > score[b]!.mean) ? i : b), -1);
  const verdicts: string[] = [];
  if (best >= 0) {
    const bestRaw = seedList(p)
      .map((s) => heldOutScore(p, r, `${tag(p.values[best]!)}-s${s}`))
      .filter(Number.isFinite);
    const others = p.values
      .map((v, i) => ({ v, i }))
      .filter(({ i }) => i !== best)
      .map(({ v }) => {
        const xs = seedList(p)
          .map((s) => heldOutScore(p, r, `${tag(v)}-s${s}`))
          .filter(Number.isFinite);
        return xs.length
          ? `${p.sweep}=${v}: ${compareArms(xs, bestRaw, { a: `${p.sweep}=${v}`, b: `${p.sweep}=${p.values[best]}` }).verdict}.`
          : '';
      })
      .filter(Boolean);
    // A tie is not a best: with every mean equal, say so instead of naming the first value.
    const tied = score.every((x) => !x || x.mean === score[best]!.mean);
    verdicts.push(
      tied
        ? `No ${p.sweep} value scores higher than another: every downstream mean is ${show(score[best]!)}.`
        : `Best downstream score at ${p.sweep}=${p.values[best]} (${show(score[best]!)}).`,
      ...others,
    );
  }
  const logX = p.values.every((v) => v > 0) && Math.max(...p.values) / Math.min(...p.values) >= 8;
  return {
    verdicts,
    numbers: {
      sweep: p.sweep,
      values: p.values.map((v, i) => ({ value: v, score: score[i], c4Loss: loss[i] })),
    },
    charts: [
      {
        kind: 'interval',
        spec: {
          id: 'mix-score',
          title: `Downstream score vs ${p.sweep}`,
          xLabel: p.sweep === 'R' ? 'R (C4 examples per ExMix example)' : p.sweep,
          yLabel: heldOutName(p),
          logX,
          series: [
            {
              label: 'mean ± 95% CI over seeds',
              color: PALETTE[0]!,
              points: p.values.map((v, i) => pt(v, score[i]!)),
            },
          ],
        },
      },
      {
        kind: 'interval',
        spec: {
          id: 'mix-c4',
          title: `C4 validation loss vs ${p.sweep}`,
          xLabel: p.sweep === 'R' ? 'R (C4 examples per ExMix example)' : p.sweep,
          yLabel: 'C4 span-corruption loss',
          logX,
          series: [
            {
              label: 'mean ± 95% CI over seeds',
              color: PALETTE[1]!,
              points: p.values.map((v, i) => pt(v, loss[i]!)),
            },
          ],
        },
      },
    ],
    tables: [
      {
        title: `Downstream score and C4 loss per ${p.sweep}`,
        head: [p.sweep, 'held-out score', 'C4 validation loss'],
        numeric: [0, 1, 2],
        rows: p.values.map((v, i) => [
          String(v),
          show(score[i]!),
          loss[i]
            ? `${loss[i]!.mean.toFixed(3)}${loss[i]!.n > 1 ? ` ± ${loss[i]!.half.toFixed(3)}` : ''}`
            : '—',
        ]),
      },
    ],
  };
}

function efficiency(p: StudyParams, r: Results): StudyAnalysis {
  const steps = efficiencySteps(p);
  const raw = (arm: string, step: number) =>
    seedList(p)
      .map((s) => heldOutScore(p, r, `${arm}-s${s}-at${step}`))
      .filter(Number.isFinite);
  const arms = [
    { key: 'ext5', label: 'ExT5 (C4 + ExMix)', color: PALETTE[1]! },
    { key: 't5', label: 'T5 (C4 only)', color: PALETTE[0]! },
  ];
  const verdicts = steps.flatMap((st) => {
    const a = raw('t5', st);
    const b = raw('ext5', st);
    return a.length && b.length
      ? [`After ${st} pre-training steps: ${compareArms(a, b, { a: 'T5', b: 'ExT5' }).verdict}.`]
      : [];
  });
  return {
    verdicts,
    numbers: Object.fromEntries(
      arms.map((a) => [a.key, steps.map((st) => ({ step: st, score: iv(raw(a.key, st)) }))]),
    ),
    charts: [
      {
        kind: 'interval',
        spec: {
          id: 'efficiency',
          title: 'Sample efficiency: fine-tuned score along pre-training',
          xLabel: 'pre-training steps of the checkpoint',
          yLabel: heldOutName(p),
          series: arms.map((a) => ({
            label: a.label,
            color: a.color,
            points: steps.map((st) => pt(st, iv(raw(a.key, st)))),
          })),
        },
      },
    ],
    tables: [
      {
        title: 'Held-out score of checkpoints along pre-training',
        head: ['step', 'T5', 'ExT5'],
        numeric: [0, 1, 2],
        rows: steps.map((st) => [String(st), show(iv(raw('t5', st))), show(iv(raw('ext5', st)))]),
      },
    ],
  };
}

function prefinetune(p: StudyParams, r: Results): StudyAnalysis {
  const raw = (arm: string) =>
    seedList(p)
      .map((s) => heldOutScore(p, r, `${arm}-s${s}`))
      .filter(Number.isFinite);
  const arms = [
    { key: 't5', label: 'T5', color: PALETTE[0]! },
    { key: 'pft', label: 'T5 + pre-finetuning', color: PALETTE[2]! },
    { key: 'ext5', label: 'ExT5 (multi-task pre-training)', color: PALETTE[1]! },
  ];
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
  return {
    verdicts,
    numbers: Object.fromEntries(arms.map((a) => [a.key, iv(raw(a.key))])),
    charts: [
      {
        kind: 'bars',
        spec: {
          id: 'prefinetune',
          title: `Equal steps (${p.pretrainSteps}): pre-training vs pre-finetuning`,
          yLabel: heldOutName(p),
          bars: arms.map((a) => {
            const i = iv(raw(a.key));
            return {
              label: a.label,
              color: a.color,
              mean: i?.mean ?? Number.NaN,
              lo: i?.lo ?? Number.NaN,
              hi: i?.hi ?? Number.NaN,
              n: i?.n ?? 0,
            };
          }),
        },
      },
    ],
    tables: [
      {
        title: 'Held-out score per arm',
        head: ['arm', 'score (mean ± 95% half-width)'],
        numeric: [1],
        rows: arms.map((a) => [a.label, show(iv(raw(a.key)))]),
      },
    ],
  };
}

/** The analysis of a study from whatever results exist (missing cells leave gaps, not errors). */
export function analyzeStudy(study: StudyName, p: StudyParams, results: Results): StudyAnalysis {
  switch (study) {
    case 'transfer':
      return transfer(p, results);
    case 'scaling':
      return scaling(p, results);
    case 'mix':
      return mix(p, results);
    case 'efficiency':
      return efficiency(p, results);
    case 'prefinetune':
      return prefinetune(p, results);
  }
}
