// Golden values from T5's metrics_test.py (google-research/text-to-text-transfer-transformer), restated,
// plus hand-computed cases.
import {
  accuracy,
  allMatch,
  computeMetricSet,
  computeMetrics,
  deduplicateMetric,
  f1ScoreWithInvalid,
  getMetric,
  listMetrics,
  matthewsCorrcoef,
  meanGroupMetric,
  meanMulticlassF1,
  sequenceAccuracy,
} from '../../../../lib/eval/metrics';
import { multirc, record, stringLabelToClassId } from '../../../../lib/eval/postprocessors';

describe('T5 classification metrics (metrics_test.py)', () => {
  test('accuracy', () => {
    expect(accuracy([0, 0, 2, 1], [0, 1, 2, 1])).toBe(75);
  });

  test('sequence accuracy', () => {
    const s1 = 'this is a string.';
    const s2 = 'this is a completely different string.';
    expect(sequenceAccuracy([s1, s2], [s1, s1])).toBe(50);
  });

  test('mean multi-class F1', () => {
    expect(meanMulticlassF1([0, 1, 1, 2], [0, 0, 2, 2], 3)).toBeCloseTo(44.44444444444444, 10);
  });

  test('mean multi-class F1 with an unknown label (-1) and an absent class (hand-computed)', () => {
    // class 0: tp 1, fn 1 -> 2/3; class 1: tp 1, fp 1 -> 2/3; class 2: tp 0 -> 0.
    expect(meanMulticlassF1([0, 1, 2, 0], [0, 1, 1, -1], 3)).toBeCloseTo((100 * (2 / 3 + 2 / 3)) / 3, 10);
    // A class that never occurs on either side scores 0 (sklearn's zero_division), so 3 classes average lower.
    expect(meanMulticlassF1([0, 1], [0, 1], 3)).toBeCloseTo(200 / 3, 10);
  });

  test('all match', () => {
    expect(allMatch([0, 1], [0, 1])).toBe(100);
    expect(allMatch([0, 1], [0, 2])).toBe(0);
  });

  test('F1 with invalid predictions', () => {
    expect(f1ScoreWithInvalid([0, 1, 1, 0], [0, 1, 2, 2])).toBeCloseTo(50, 10);
  });

  test("Matthews correlation x100 (sklearn_metrics_wrapper('matthews_corrcoef'), T5's CoLA metric)", () => {
    // t5/evaluation/metrics_test.py: y_true [0, 0, 2, 1], y_pred [0, 1, 2, 1] -> 70.
    expect(matthewsCorrcoef([0, 0, 2, 1], [0, 1, 2, 1])).toBeCloseTo(70, 10);
    expect(computeMetrics('matthews_corrcoef', [0, 1, 2, 1], [0, 0, 2, 1])).toEqual({
      matthews_corrcoef: expect.closeTo(70, 10),
    });
    // sklearn's docstring example: [+1, +1, +1, -1] vs [+1, -1, +1, +1] -> -0.333...
    expect(matthewsCorrcoef([1, 1, 1, -1], [1, -1, 1, 1])).toBeCloseTo(-100 / 3, 10);
    // an unknown prediction (-1 from string_label_to_class_id) is a label of its own and counts wrong
    expect(matthewsCorrcoef([0, 1, 1, 0], [0, 1, -1, 0])).toBeCloseTo((100 * 6) / Math.sqrt(80), 10);
    // undefined (one label only) is 0, as sklearn returns
    expect(matthewsCorrcoef([1, 1], [1, 0])).toBe(0);
    expect(matthewsCorrcoef([0, 1], [1, 1])).toBe(0);
  });

  test('deduplicate metric keeps the first example of each group', () => {
    const r = deduplicateMetric(
      (t: number[], p: number[]) => ({ accuracy: accuracy(t, p) }),
      [
        { group: 'a', value: 0 },
        { group: 'a', value: 0 },
        { group: 'b', value: 1 },
      ],
      [{ value: 0 }, { value: 0 }, { value: 0 }],
    );
    expect(r).toEqual({ accuracy: 50 });
  });

  test('mean group metric', () => {
    const r = meanGroupMetric(
      (t: number[], p: number[]) => ({ accuracy: accuracy(t, p) }),
      [
        { group: 'a', value: 0 },
        { group: 'a', value: 1 },
        { group: 'b', value: 0 },
      ],
      [{ value: 0 }, { value: 0 }, { value: 1 }],
    );
    expect(r).toEqual({ accuracy: 25 });
  });

  test('MultiRC F1 over all answers', () => {
    const r = computeMetrics(
      'multirc_f1',
      [{ value: 1 }, { value: 0 }, { value: 1 }],
      [
        { group: 'a', value: 1 },
        { group: 'a', value: 1 },
        { group: 'b', value: 0 },
      ],
    );
    expect(r.f1).toBeCloseTo(50, 10);
  });
});

describe('SuperGLUE through postprocessors and the registry', () => {
  test('MultiRC: F1a and per-question exact match from model text', () => {
    const outputs = ['True', 'False', 'True', 'maybe'];
    const gold = ['True', 'False', 'False', 'True'];
    const questions = [0, 0, 1, 1];
    const preds = outputs.map((o) => multirc(o));
    const refs = gold.map((g, i) => multirc(g, { questionIndex: questions[i]! }));
    const r = computeMetricSet(['multirc_f1', 'multirc_em'], preds, refs);
    // 'maybe' is -1 -> counted as the wrong class (0): tp 1, fp 1, fn 1 -> F1 0.5; question 0 right, 1 wrong.
    expect(r.f1).toBeCloseTo(50, 10);
    expect(r.exact_match).toBe(50);
  });

  test('ReCoRD: one example per query, max over answers', () => {
    const refs = [
      record('', { answers: ['Obama', 'Barack Obama'], passageIndex: 0, queryIndex: 0 }),
      record('', { answers: ['Obama', 'Barack Obama'], passageIndex: 0, queryIndex: 0 }),
      record('', { answers: ['Paris'], passageIndex: 0, queryIndex: 1 }),
    ];
    const preds = [record('barack obama'), record('wrong'), record('Lyon')];
    expect(computeMetrics('record', preds, refs)).toEqual({ em: 50, f1: 50 });
  });

  test('CB: string labels to class ids, unknown label counts wrong', () => {
    const classes = ['entailment', 'contradiction', 'neutral'];
    const p = ['entailment', 'neutral', 'banana'].map((x) => stringLabelToClassId(x, classes));
    const t = ['entailment', 'neutral', 'contradiction'].map((x) => stringLabelToClassId(x, classes));
    expect(p).toEqual([0, 2, -1]);
    const r = computeMetricSet(['mean_3class_f1', 'accuracy'], p, t);
    expect(r.accuracy).toBeCloseTo(200 / 3, 10);
    expect(r.mean_3class_f1).toBeCloseTo(200 / 3, 10);
  });
});

describe('registry', () => {
  test('lists every metric and rejects unknown names with a suggestion', () => {
    expect(listMetrics()).toEqual(
      expect.arrayContaining([
        'bleu',
        'chrf',
        'rouge',
        'squad',
        'trivia_qa',
        'accuracy',
        'mean_3class_f1',
        'record',
      ]),
    );
    expect(() => getMetric('rouge1')).toThrow(/did you mean 'rouge'/);
  });

  test('every metric declares its keys', () => {
    for (const n of listMetrics()) expect(getMetric(n).keys().length).toBeGreaterThan(0);
  });

  test('length mismatch and empty input are clear errors', () => {
    expect(() => computeMetrics('accuracy', [1, 2], [1])).toThrow(/2 predictions but 1 references/);
    expect(() => computeMetrics('accuracy', [], [])).toThrow(/no predictions/);
  });

  test('class-id metrics reject strings with a hint', () => {
    expect(() => computeMetrics('mean_3class_f1', ['neutral'], [2])).toThrow(/expected a class id/);
  });

  test('grouped metrics reject plain labels and targets without a group', () => {
    expect(() => computeMetrics('multirc_em', [1], [1])).toThrow(/expected an object \{ group, value \}/);
    expect(() => computeMetrics('multirc_em', [{ value: 1 }], [{ value: 1 }])).toThrow(/has no 'group'/);
  });

  test('macro_f1 with explicit classes', () => {
    expect(computeMetrics('macro_f1', [0, 1], [0, 1], { numClasses: 2 })).toEqual({ mean_2class_f1: 100 });
  });

  test('bleu defaults to T5 settings, options override', () => {
    const h = ["It wasn't surprising."];
    const r = ['It was not surprising.'];
    const t5 = computeMetrics('bleu', h, r).bleu!;
    const v13a = computeMetrics('bleu', h, r, { bleu: { tokenize: '13a' } }).bleu!;
    expect(t5).not.toBeCloseTo(v13a, 3);
  });
});
