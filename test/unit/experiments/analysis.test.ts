// What a study's analysis says and shows: verdicts that follow the significance rule, the parameters
// a study uses and no others, the per-task breakdown, and intervals shown within the metric's range
// (raw in the numbers for results.json). The demo is a study like the others.
import { studyParams } from '../../../lib/experiments';
import type { CellResult } from '../../../lib/experiments/cell';
import { demoCell } from '../../../lib/experiments/demo';
import { analyzeStudy, parameterRows, planStudy } from '../../../lib/experiments/registry';
import { clipInterval, formatInterval, meanInterval } from '../../../lib/experiments/stats';
import type { StudyParams } from '../../../lib/experiments/studies';
import { registerBuiltins } from '../../../lib/tasks';

beforeAll(() => registerBuiltins());

const p = (o: Partial<StudyParams> = {}) =>
  studyParams('mini', { seeds: 2, pretrainSteps: 10, finetuneSteps: 4, ...o });

function result(id: string, evals: CellResult['evals']): [string, CellResult] {
  return [id, { id, seconds: 1, step: 1, lastLoss: 1, evals, validationLoss: 2, checkpoints: [] }];
}

const WP = 'mini_word_problems';
const NLI = 'mini_nli_counts';

/** mix cells `<R tag>-s<seed>-ft-<task>` with one accuracy per seed per task. */
function mixResults(scores: Record<string, Record<string, number[]>>) {
  const r = new Map<string, CellResult>();
  for (const [tag, tasks] of Object.entries(scores)) {
    for (const [task, xs] of Object.entries(tasks)) {
      xs.forEach((x, s) => {
        const [id, res] = result(`${tag}-s${s}-ft-${task}`, { [task]: { accuracy: x } });
        r.set(id, res);
      });
    }
  }
  return r;
}

test('mix: no best value is named when the difference is not significant; the line gives the interval', () => {
  // R=8: 24, 34 -> 29.0 ± 63.5 (n=2), an interval from -34.5 to 92.5; R=1: 20, 22.
  const q = p({ heldOut: [WP], values: [1, 8] });
  const a = analyzeStudy('mix', q, mixResults({ R1: { [WP]: [20, 22] }, R8: { [WP]: [24, 34] } }));
  expect(a.verdicts.join(' ')).not.toMatch(/best/i);
  expect(a.verdicts).toHaveLength(1);
  expect(a.verdicts[0]).toMatch(
    /^No significant difference in downstream score between the R values \(R=8 − R=1 = 8, 95% CI -46.49 to 62.49\)\.$/,
  );
  // Three values: significantly above one, not above the other -> no best either.
  const three = analyzeStudy(
    'mix',
    p({ heldOut: [WP], values: [1, 2, 8] }),
    mixResults({ R1: { [WP]: [10, 11] }, R2: { [WP]: [20, 40] }, R8: { [WP]: [30, 31] } }),
  ).verdicts;
  expect(three).toHaveLength(1);
  expect(three[0]).toMatch(
    /^No R value is best: R=8 scores significantly higher than R=1 \(.*\), but not than R=2 \(/,
  );
  // One seed: no interval, so no best.
  const one = analyzeStudy(
    'mix',
    p({ seeds: 1, heldOut: [WP], values: [1, 8] }),
    mixResults({ R1: { [WP]: [10] }, R8: { [WP]: [30] } }),
  ).verdicts;
  expect(one).toEqual([
    'No R value can be named best from one seed: no interval, no conclusion (run more seeds).',
  ]);
});

test('parameters: each study lists the knobs it uses, a swept knob as its sweep only', () => {
  const rows = (study: Parameters<typeof parameterRows>[0], o: Partial<StudyParams> = {}) =>
    new Map(parameterRows(study, p(o)).map(([k, v]) => [k, v]));
  const mix = rows('mix', { values: [1, 8] });
  expect(mix.get('sweep')).toBe('R = 1, 8');
  for (const k of ['R', 'values', 'families', 'points', 'checkpoints', 'prefinetuneFraction'])
    expect(mix.has(k)).toBe(false);
  expect(mix.get('K')).toBe('none');
  expect(mix.get('temperature')).toBe('1');
  const k = rows('mix', { sweep: 'K', values: [100, 400] });
  expect(k.get('sweep')).toBe('K = 100, 400');
  expect(k.get('R')).toBe('2');
  expect(k.has('K')).toBe(false);
  const transfer = rows('transfer');
  expect(transfer.get('families')).toBe('classification, commonsense, closed_book_qa, nli');
  for (const key of ['points', 'sweep', 'R', 'checkpoints']) expect(transfer.has(key)).toBe(false);
  expect(rows('scaling').get('points')).toBe('0, 2, 6, 14');
  expect(rows('efficiency').get('checkpoints')).toBe('4');
  expect(rows('scaling').has('finetuneSets')).toBe(false); // empty: nothing applies
  const demo = rows('demo');
  expect(demo.get('ExT5 pre-training mixture')).toBe('mini_ext5_pretrain');
  for (const key of ['pool', 'R', 'sweep', 'points']) expect(demo.has(key)).toBe(false);
});

test('per-task breakdown: each arm per held-out task, raw intervals in the numbers, clipped in the table', () => {
  const q = p({ heldOut: [NLI, WP], values: [1, 8] });
  const a = analyzeStudy(
    'mix',
    q,
    mixResults({
      R1: { [NLI]: [40, 44], [WP]: [0, 6] },
      R8: { [NLI]: [50, 52], [WP]: [10, 12] },
    }),
  );
  const perTask = a.numbers.perTask as Record<
    string,
    Record<string, { mean: number; lo: number; hi: number }>
  >;
  expect(Object.keys(perTask)).toEqual([NLI, WP]);
  expect(perTask[NLI]!['R=8']!.mean).toBe(51);
  expect(perTask[WP]!['R=1']!.mean).toBe(3);
  expect(perTask[WP]!['R=1']!.lo).toBeLessThan(0); // raw: 3 ± 38.1
  const t = a.tables.find((x) => x.id === 'per-task')!;
  expect(t.head).toEqual(['arm', NLI, WP]);
  expect(t.rows[0]).toEqual(['R=1', '42.0 ± 25.4 (n=2)', '3.0 [0, 41.12] (n=2)']);
  expect(t.rows[1]![0]).toBe('R=8');
  // The other studies with held-out tasks carry it too.
  for (const s of ['scaling', 'efficiency', 'prefinetune'] as const) {
    const b = analyzeStudy(s, q, new Map());
    expect(b.tables.some((x) => x.id === 'per-task')).toBe(true);
    expect(b.numbers.perTask).toBeDefined();
  }
});

test('score intervals are shown within 0–100 and the chart legend says so; correlations go to −100', () => {
  const i = meanInterval([0, 6]);
  expect(i.lo).toBeLessThan(0);
  expect(clipInterval(i, [0, 100])).toEqual({ lo: 0, hi: i.hi, clipped: true });
  expect(formatInterval(i, 1, { range: [0, 100] })).toBe('3.0 [0, 41.12] (n=2)');
  expect(formatInterval(meanInterval([40, 44]), 1, { range: [0, 100] })).toBe('42.0 ± 25.4 (n=2)');
  const q = p({ heldOut: [WP], points: [0, 2] });
  const r = new Map([
    result(`k0-s0-ft-${WP}`, { [WP]: { accuracy: 0 } }),
    result(`k0-s1-ft-${WP}`, { [WP]: { accuracy: 6 } }),
    result(`k2-s0-ft-${WP}`, { [WP]: { accuracy: 30 } }),
    result(`k2-s1-ft-${WP}`, { [WP]: { accuracy: 31 } }),
  ]);
  const a = analyzeStudy('scaling', q, r);
  const chart = a.charts[0]!;
  if (chart.kind !== 'interval') throw new Error('scaling draws an interval chart');
  expect(chart.spec.series[0]!.points[0]!.lo).toBe(0);
  expect(chart.spec.note).toMatch(/^95% intervals clipped to 0–100/);
  expect(chart.spec.xTicks).toEqual([0, 2]);
  expect(a.tables[0]!.rows[0]).toEqual(['0', '3.0 [0, 41.12] (n=2)']);
  const raw = (a.numbers.points as { score: { lo: number } }[])[0]!.score;
  expect(raw.lo).toBeLessThan(0);
  // A Matthews correlation may be negative: its range is −100–100, so nothing is cut at 0.
  const mcc = new Map([
    result(`k0-s0-ft-${WP}`, { [WP]: { matthews_corrcoef: -10 } }),
    result(`k0-s1-ft-${WP}`, { [WP]: { matthews_corrcoef: 0 } }),
  ]);
  expect(analyzeStudy('scaling', q, mcc).numbers.scoreRange).toEqual([-100, 100]);
});

test('demo: its cells keep the historical ids and run directories, and only on the mini data', () => {
  const q = p({ seeds: 2 });
  const cells = planStudy('demo', q, '/out');
  expect(cells).toHaveLength(2 * 2 * (1 + 2));
  const pre = cells.find((c) => c.id === 'pretrain-ext5')!;
  expect(pre.dir).toBe('pretrain-ext5');
  expect(pre.sets).toEqual(
    expect.arrayContaining(['data.mixtureOrTask=mini_ext5_pretrain', 'training.steps=10', 'eval.every=2']),
  );
  const ft = cells.find((c) => c.id === `finetune-t5-${WP}-s1`)!;
  expect(ft.dir).toBe(ft.id);
  expect(ft.deps).toEqual(['pretrain-t5-s1']);
  expect(ft.sets).toContain('model.checkpoint=/out/pretrain-t5-s1/checkpoints/step-00000010');
  expect(() => planStudy('demo', studyParams('small', { seeds: 1 }), '/out')).toThrow(/mini preset/);
  expect(() => planStudy('demo', p({ heldOut: ['mini_nli_places'] }), '/out')).toThrow(
    /mini_nli_places is part of mini_ext5_pretrain/,
  );
  expect(() => planStudy('demo', p({ seeds: 1.5 }), '/out')).toThrow(/--seeds must be a positive integer/);
});

test('demo: rows per task, the mean over tasks compared, intervals clipped in the table only', () => {
  const q = p({ seeds: 2 });
  const r = new Map<string, CellResult>();
  const put = (arm: 't5' | 'ext5', task: string, xs: number[]) =>
    xs.forEach((x, s) => {
      const [id, res] = result(demoCell.finetune(arm, task, s), { [task]: { accuracy: x } });
      r.set(id, res);
    });
  put('t5', NLI, [30, 32]);
  put('ext5', NLI, [40, 41]);
  put('t5', WP, [0, 4]);
  put('ext5', WP, [10, 11]);
  const a = analyzeStudy('demo', q, r);
  const n = a.numbers as {
    rows: { task: string; t5: number; ext5: number; t5Interval: [number, number] | null }[];
    overall: { t5: number; ext5: number; significant: boolean };
    direction: string;
  };
  expect(n.rows.map((x) => x.task)).toEqual([NLI, WP]);
  expect(n.rows[1]!.t5).toBe(2);
  expect(n.rows[1]!.t5Interval![0]).toBeLessThan(0); // raw in the numbers
  expect(n.overall.t5).toBe(16.5);
  expect(n.overall.ext5).toBe(25.5);
  expect(a.verdicts[0]).toBe(n.direction);
  expect(a.verdicts[1]).toMatch(/^Mean over the held-out tasks: /);
  const scores = a.tables.find((t) => t.id === 'scores')!;
  expect(scores.head).toEqual(['task', 'metric', 'T5', 'ExT5', 'ExT5 − T5', 'significant']);
  expect(scores.rows[1]!.slice(0, 3)).toEqual([WP, 'accuracy', '2.0 [0, 27.41]']);
  const bars = a.charts.find((c) => c.kind === 'bars' && c.spec.id === 'ft-1')!;
  if (bars.kind !== 'bars') throw new Error('bars');
  expect(bars.spec.bars.map((b) => b.label)).toEqual(['T5', 'ExT5']);
  expect(bars.spec.bars[0]!.lo).toBe(0);
  expect(bars.spec.note).toMatch(/clipped to 0–100/);
  // No run directory given: no loss curves, but the scores and the mixture.
  expect(a.charts.map((c) => c.spec.id)).toEqual(['ft-0', 'ft-1', 'shares']);
});
