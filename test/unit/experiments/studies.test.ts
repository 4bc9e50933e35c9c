import { studyParams } from '../../../lib/experiments';
import type { CellResult } from '../../../lib/experiments/cell';
import { analyzeStudy, planStudy } from '../../../lib/experiments/registry';
import { efficiencySteps, poolTasks, scalingSubset } from '../../../lib/experiments/studies';
import { registerBuiltins } from '../../../lib/tasks';

beforeAll(() => registerBuiltins());

const p = (o = {}) => studyParams('mini', { seeds: 2, pretrainSteps: 10, finetuneSteps: 4, ...o });

test('held-out tasks never enter the pre-training pool', () => {
  const names = poolTasks(p()).map((t) => t.name);
  expect(names).toHaveLength(14);
  expect(names).not.toContain('mini_nli_counts');
  expect(names).not.toContain('mini_word_problems');
});

test('scaling subsets are deterministic, nested in size, and sized as asked', () => {
  const a = scalingSubset(p(), 6, 0);
  expect(a).toHaveLength(6);
  expect(scalingSubset(p(), 6, 0)).toEqual(a);
  expect(scalingSubset(p(), 6, 1)).not.toEqual(a);
  expect(() => scalingSubset(p(), 99, 0)).toThrow(/99 tasks asked for/);
});

test('cell counts per study', () => {
  const dir = '/x';
  // transfer: base + seeds * (families + pairs)
  expect(
    planStudy('transfer', p({ families: ['nli', 'topic_none'].slice(0, 1).concat('dialogue') }), dir),
  ).toHaveLength(1 + 2 * 3);
  // scaling: points * seeds * (1 pre-train + held-out fine-tunes)
  expect(planStudy('scaling', p({ points: [0, 4] }), dir)).toHaveLength(2 * 2 * 3);
  // mix: values * seeds * (pre-train + C4 loss + held-out)
  expect(planStudy('mix', p({ values: [1, 2, 4] }), dir)).toHaveLength(3 * 2 * 4);
  // efficiency: arms * seeds * (pre-train + checkpoints * held-out)
  expect(planStudy('efficiency', p({ checkpoints: 2 }), dir)).toHaveLength(2 * 2 * (1 + 2 * 2));
  // prefinetune: seeds * (3 pre-training cells + 3 arms * held-out)
  expect(planStudy('prefinetune', p(), dir)).toHaveLength(2 * (3 + 3 * 2));
  expect(efficiencySteps(p({ pretrainSteps: 10, checkpoints: 3 }))).toEqual([3, 6, 10]);
  expect(() => planStudy('transfer', p({ families: ['nli', 'poetry'] }), dir)).toThrow(
    /no task of family 'poetry'/,
  );
  expect(() => studyParams('huge')).toThrow(/unknown experiment preset/);
});

test('prefinetune spends the same steps in both arms', () => {
  const cells = planStudy('prefinetune', p({ pretrainSteps: 10, prefinetuneFraction: 0.3 }), '/x');
  const steps = (id: string) =>
    Number(
      cells
        .find((c) => c.id === id)!
        .sets.find((s) => s.startsWith('training.steps='))!
        .split('=')[1],
    );
  expect(steps('pre-ext5-s0')).toBe(10);
  expect(steps('pft-s0')).toBe(3);
  expect(cells.find((c) => c.id === 'pft-s0')!.sets).toContain(
    'model.checkpoint=/x/cells/pre-t5-s0/checkpoints/step-00000007',
  );
});

function result(id: string, evals: CellResult['evals']): [string, CellResult] {
  return [id, { id, seconds: 1, step: 1, lastLoss: 1, evals, validationLoss: 2, checkpoints: [] }];
}

test('prefinetune analysis: means with intervals and a verdict per comparison', () => {
  const q = p({ heldOut: ['mini_word_problems'] });
  const r = new Map([
    result('ext5-s0-ft-mini_word_problems', { mini_word_problems: { accuracy: 40 } }),
    result('ext5-s1-ft-mini_word_problems', { mini_word_problems: { accuracy: 42 } }),
    result('t5-s0-ft-mini_word_problems', { mini_word_problems: { accuracy: 20 } }),
    result('t5-s1-ft-mini_word_problems', { mini_word_problems: { accuracy: 22 } }),
    result('pft-s0-ft-mini_word_problems', { mini_word_problems: { accuracy: 30 } }),
    result('pft-s1-ft-mini_word_problems', { mini_word_problems: { accuracy: 41 } }),
  ]);
  const a = analyzeStudy('prefinetune', q, r);
  // ExT5 vs T5: diff 20, se = sqrt(2/2 + 2/2) = 1.414, df 2, t = 4.303: CI 13.9 to 26.1.
  expect(a.verdicts).toContain(
    'ExT5 (multi-task pre-training) vs T5: ExT5 (multi-task pre-training) higher by 20 (95% CI 13.92 to 26.08): significant.',
  );
  expect(
    a.verdicts.find((v) => v.startsWith('ExT5 (multi-task pre-training) vs T5 + pre-finetuning')),
  ).toMatch(/no significant difference/);
  expect(a.tables[0]!.rows[0]).toEqual(['T5', '21.0 ± 12.7 (n=2)']);
});

test('mix analysis: a tie names no best value; otherwise the best one, each verdict a sentence', () => {
  const q = p({ heldOut: ['mini_word_problems'], sweep: 'R', values: [1, 4] });
  const cells = (a: number[], b: number[]) =>
    new Map([
      result('R1-s0-ft-mini_word_problems', { mini_word_problems: { accuracy: a[0]! } }),
      result('R1-s1-ft-mini_word_problems', { mini_word_problems: { accuracy: a[1]! } }),
      result('R4-s0-ft-mini_word_problems', { mini_word_problems: { accuracy: b[0]! } }),
      result('R4-s1-ft-mini_word_problems', { mini_word_problems: { accuracy: b[1]! } }),
    ]);
  const tie = analyzeStudy('mix', q, cells([0, 0], [0, 0])).verdicts;
  expect(tie[0]).toMatch(/^No R value scores higher than another/);
  expect(tie.every((v) => v.endsWith('.'))).toBe(true);
  const best = analyzeStudy('mix', q, cells([10, 12], [30, 31])).verdicts;
  expect(best[0]).toMatch(/^Best downstream score at R=4 /);
});

test('transfer analysis: relative change of the row family, significant cells starred', () => {
  const q = p({ families: ['nli', 'dialogue'], seeds: 2 });
  const d = { mini_booking_dialog: { bleu: 10 }, mini_weather_dialog: { bleu: 10 } };
  const r = new Map([
    result('co-nli-s0', { mini_nli_places: { accuracy: 50 } }),
    result('co-nli-s1', { mini_nli_places: { accuracy: 50 } }),
    result('co-dialogue-s0', d),
    result('co-dialogue-s1', d),
    result('co-nli.dialogue-s0', { mini_nli_places: { accuracy: 60 }, ...d }),
    result('co-nli.dialogue-s1', { mini_nli_places: { accuracy: 61 }, ...d }),
  ]);
  const a = analyzeStudy('transfer', q, r);
  const heat = a.charts[0]!;
  expect(heat.kind).toBe('heatmap');
  if (heat.kind !== 'heatmap') return;
  expect(heat.spec.values[0]![1]).toBeCloseTo(21, 10); // (60.5 - 50) / 50
  expect(heat.spec.text![0]![1]).toBe('+21*');
  expect(heat.spec.values[1]![0]).toBe(0);
  expect(heat.spec.values[0]![0]).toBeNull();
});

test('missing results leave gaps, not errors', () => {
  for (const s of ['transfer', 'scaling', 'mix', 'efficiency', 'prefinetune'] as const) {
    const a = analyzeStudy(s, p({ families: ['nli', 'dialogue'] }), new Map());
    expect(a.charts.length).toBeGreaterThan(0);
  }
});
