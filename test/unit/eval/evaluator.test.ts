// The evaluator's scoring on fixture examples with known predictions: every benchmark's format
// reaches the right metric with the right inputs, and every registered task's metrics resolve.
import '../../../lib/tasks';
import {
  benchmarkKey,
  benchmarkReport,
  metricInputs,
  scoreOutputs,
  taskMetricNames,
} from '../../../lib/eval/evaluator';
import { listMetrics } from '../../../lib/eval/metrics';
import { averageRanks, pearsonCorrcoef, spearmanCorrcoef } from '../../../lib/eval/metrics/correlation';
import { TaskRegistry } from '../../../lib/tasks/registry';
import type { Example } from '../../../lib/tasks/task';

const task = (name: string) => TaskRegistry.get(name);
const ex = (inputs: string, targets: string, extra: Record<string, unknown> = {}): Example => ({
  inputs,
  targets,
  ...extra,
});

test('every registered task names metrics and a postprocessor the evaluator knows', () => {
  const known = new Set(listMetrics());
  const posts = new Set([undefined, 'qa', 'multirc', 'record', 'wsc_simple', 'string_to_float']);
  for (const t of TaskRegistry.values()) {
    if (t.spanCorruption) continue;
    for (const m of taskMetricNames(t))
      expect({ task: t.name, metric: m, known: known.has(m) }).toMatchObject({ known: true });
    expect({ task: t.name, post: t.postprocessor, known: posts.has(t.postprocessor) }).toMatchObject({
      known: true,
    });
  }
});

test('benchmark keys of registered benchmark tasks', () => {
  expect(benchmarkKey(task('super_glue_cb'))).toEqual({ benchmark: 'superglue', key: 'cb' });
  expect(benchmarkKey(task('gem_common_gen'))).toEqual({ benchmark: 'gem', key: 'common_gen' });
  expect(benchmarkKey(task('rainbow_hellaswag'))).toEqual({ benchmark: 'rainbow', key: 'hellaswag' });
  expect(benchmarkKey(task('trivia_qa_open'))).toEqual({ benchmark: 'cbqa', key: 'trivia_qa' });
});

test('CB: labels become class ids; macro-F1 over 3 classes and accuracy', () => {
  const exs = [ex('a', 'entailment'), ex('b', 'contradiction'), ex('c', 'neutral'), ex('d', 'entailment')];
  const r = scoreOutputs(task('super_glue_cb'), exs, ['entailment', 'contradiction', 'entailment', 'bogus']);
  expect(r.metrics.accuracy).toBeCloseTo(50, 10);
  // class 0 (entailment): tp 1, fp 1, fn 1 -> F1 0.5; class 1: F1 1; class 2: F1 0 -> mean 50
  expect(r.metrics.mean_3class_f1).toBeCloseTo(50, 10);
});

test("GLUE: CoLA by Matthews correlation, MRPC and QQP by F1 (invalid counted wrong) and accuracy, as T5's GLUE_METRICS", () => {
  // google-research/text-to-text-transfer-transformer t5/data/glue_utils.py: labels become class ids
  // (string_label_to_class_id), then cola -> matthews_corrcoef x100, mrpc/qqp -> f1_score_with_invalid, accuracy.
  expect(taskMetricNames(task('glue_cola'))).toEqual(['matthews_corrcoef']);
  expect(taskMetricNames(task('glue_mrpc'))).toEqual(['f1_with_invalid', 'accuracy']);
  expect(taskMetricNames(task('glue_qqp'))).toEqual(['f1_with_invalid', 'accuracy']);
  expect(taskMetricNames(task('glue_sst2'))).toEqual(['accuracy']);

  const cola = [
    ex('a', 'unacceptable'),
    ex('b', 'unacceptable'),
    ex('c', 'acceptable'),
    ex('d', 'acceptable'),
  ];
  const c = scoreOutputs(task('glue_cola'), cola, ['unacceptable', 'acceptable', 'acceptable', 'acceptable']);
  // ids [0, 0, 1, 1] vs [0, 1, 1, 1]: (3*4 - 2*1 - 2*3) / sqrt((16 - 1 - 9) * (16 - 4 - 4)) = 4 / sqrt(48)
  expect(c.metrics).toEqual({ matthews_corrcoef: expect.closeTo(400 / Math.sqrt(48), 10) });

  const mrpc = [
    ex('a', 'equivalent'),
    ex('b', 'not_equivalent'),
    ex('c', 'equivalent'),
    ex('d', 'not_equivalent'),
  ];
  const out = ['equivalent', 'not_equivalent', 'maybe', 'maybe'];
  expect(metricInputs(task('glue_mrpc'), mrpc, out)).toEqual({
    predictions: [1, 0, -1, -1],
    references: [1, 0, 1, 0],
  });
  // f1_score_with_invalid turns each -1 into the wrong class: predictions [1, 0, 0, 1] against
  // [1, 0, 1, 0]: tp 1, fp 1, fn 1 -> F1 50.
  const m = scoreOutputs(task('glue_mrpc'), mrpc, out);
  expect(m.metrics).toEqual({ f1: expect.closeTo(50, 10), accuracy: 50 });
});

test('MultiRC: grouped per question, F1a and exact match', () => {
  const m = (p: number, q: number, t: string) => ex('x', t, { 'idx/paragraph': p, 'idx/question': q });
  const exs = [m(0, 0, 'True'), m(0, 0, 'False'), m(0, 1, 'True'), m(0, 1, 'True')];
  const out = ['True', 'False', 'True', 'False'];
  const { predictions, references } = metricInputs(task('super_glue_multirc'), exs, out);
  expect(references[0]).toEqual({ group: '0-0', value: 1 });
  expect(predictions[3]).toEqual({ group: '0-1', value: 0 });
  const r = scoreOutputs(task('super_glue_multirc'), exs, out);
  expect(r.metrics.exact_match).toBeCloseTo(50, 10); // question 0 all right, question 1 not
  // positives: tp 2, fp 0, fn 1 -> F1 = 0.8
  expect(r.metrics.f1).toBeCloseTo(80, 10);
});

test('ReCoRD: max over answers, one score per query', () => {
  const q = (p: number, qi: number, answers: string[]) =>
    ex('x', answers[0]!, { answers, 'idx/passage': p, 'idx/query': qi });
  const exs = [q(0, 0, ['Ann', 'Ann Lee']), q(0, 1, ['Bob'])];
  const r = scoreOutputs(task('super_glue_record'), exs, ['ann lee', 'Rob']);
  expect(r.metrics.em).toBeCloseTo(50, 10);
  expect(r.metrics.f1).toBeCloseTo(50, 10);
});

test('WSC: the fuzzy referent match decides, scored against the label', () => {
  const exs = [ex('wsc: …', 'the cat', { label: 1 }), ex('wsc: …', 'the dog', { label: 0 })];
  const r = scoreOutputs(task('super_glue_wsc'), exs, ['cat', 'the dog']);
  // first: prediction matches referent (1) and label 1 -> right; second: matches (1) but label 0 -> wrong
  expect(r.metrics.accuracy).toBeCloseTo(50, 10);
});

test('closed-book QA: EM/F1 against every gold answer', () => {
  const exs = [
    ex('nq question: a', 'Paris', { answers: ['Paris', 'paris, france'] }),
    ex('nq question: b', 'x', { answers: ['1999'] }),
  ];
  const r = scoreOutputs(task('natural_questions_open'), exs, ['Paris, France', 'in 1999']);
  expect(r.metrics.em).toBeCloseTo(50, 10);
  expect(r.metrics.f1).toBeCloseTo(((1 + 2 / 3) / 2) * 100, 6);
});

test('GEM: BLEU and ROUGE; Rainbow: accuracy; and the SuperGLUE-style average', () => {
  const g = scoreOutputs(
    task('gem_common_gen'),
    [ex('a', 'the cat sat on the mat')],
    ['the cat sat on the mat'],
  );
  expect(g.metrics.bleu).toBeCloseTo(100, 6);
  expect(g.metrics.rouge1).toBeCloseTo(100, 6);
  const rb = scoreOutputs(task('rainbow_physicaliqa'), [ex('a', '0'), ex('b', '1')], ['0', '0']);
  expect(rb.metrics.accuracy).toBeCloseTo(50, 10);
  const cb = scoreOutputs(task('super_glue_cb'), [ex('a', 'neutral')], ['neutral']);
  const rte = scoreOutputs(
    task('super_glue_rte'),
    [ex('a', 'entailment'), ex('b', 'not_entailment')],
    ['entailment', 'entailment'],
  );
  const report = benchmarkReport('superglue', [cb, rte]);
  // cb: (F1 over 3 classes with only class 2 present -> 33.33, accuracy 100) averaged first -> 66.67
  expect(report.tasks.find((t) => t.task === 'rte')!.score).toBeCloseTo(50, 10);
  expect(report.average).toBeCloseTo((report.tasks[0]!.score + report.tasks[1]!.score) / 2, 10);
});

test('a prediction count that does not match is a clear error', () => {
  expect(() => scoreOutputs(task('super_glue_rte'), [ex('a', 'entailment')], [])).toThrow(
    /0 predictions for 1 examples/,
  );
});

test('Pearson and Spearman x100 (values checked with numpy)', () => {
  const x = [1, 2, 3, 4, 5];
  const y = [2, 4, 5, 4, 5];
  expect(pearsonCorrcoef(x, y)).toBeCloseTo(77.45966692414834, 10);
  expect(averageRanks(y)).toEqual([1, 2.5, 4.5, 2.5, 4.5]);
  expect(spearmanCorrcoef(x, y)).toBeCloseTo(73.78647873726219, 10);
  expect(() => pearsonCorrcoef([1], [1])).toThrow(/at least 2/);
});
