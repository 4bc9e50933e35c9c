import {
  aggregateBenchmark,
  BENCHMARKS,
  formatBenchmarkTable,
  getTaskMetricSpec,
  scoreBenchmarkTask,
} from '../../../lib/eval/aggregate';

describe('benchmark aggregation', () => {
  test('SuperGLUE averages the two metrics of CB, MultiRC and ReCoRD first (hand-computed)', () => {
    const report = aggregateBenchmark('superglue', {
      boolq: { accuracy: 80 },
      cb: { mean_3class_f1: 90, accuracy: 94 },
      multirc: { f1: 80, exact_match: 46 },
      record: { em: 88, f1: 90 },
    });
    expect(report.tasks.map((t) => t.score)).toEqual([80, 92, 63, 89]);
    expect(report.average).toBeCloseTo((80 + 92 + 63 + 89) / 4, 12);
  });

  test('GEM task score is the mean of BLEU and ROUGE-1/2/L; any GEM task name is accepted', () => {
    const r = aggregateBenchmark('gem', {
      xsum: { bleu: 10, rouge1: 40, rouge2: 20, rougeLsum: 30 },
      my_gem_task: { bleu: 1, rouge1: 1, rouge2: 1, rougeLsum: 1 },
    });
    expect(r.tasks[0]!.score).toBe(25);
    expect(r.average).toBe(13);
  });

  test('closed-book QA uses TriviaQA normalization for TriviaQA only', () => {
    expect(getTaskMetricSpec('cbqa', 'trivia_qa').metrics).toEqual(['trivia_qa']);
    expect(getTaskMetricSpec('cbqa', 'natural_questions').metrics).toEqual(['squad']);
    const r = scoreBenchmarkTask('cbqa', 'trivia_qa', ['the_eiffel tower'], [['Eiffel Tower']]);
    expect(r).toEqual({ em: 100, f1: 100 });
  });

  test('scoring a task with its metric set', () => {
    const r = scoreBenchmarkTask('superglue', 'cb', [0, 2, 1], [0, 2, 2]);
    expect(Object.keys(r).sort()).toEqual(['accuracy', 'mean_3class_f1']);
    expect(r.accuracy).toBeCloseTo(200 / 3, 10);
    const g = scoreBenchmarkTask('gem', 'common_gen', ['a dog runs'], ['a dog runs']);
    expect(Object.keys(g).sort()).toEqual(['bleu', 'rouge1', 'rouge2', 'rougeLsum']);
  });

  test('plain-text table', () => {
    const report = aggregateBenchmark('rainbow', {
      anli: { accuracy: 70 },
      winogrande: { accuracy: 81.255 },
    });
    expect(formatBenchmarkTable(report)).toBe(
      [
        'rainbow',
        'task        score  metrics',
        'anli        70.00  accuracy=70.00',
        'winogrande  81.25  accuracy=81.25',
        'average     75.63  (2 tasks)',
        '',
      ].join('\n'),
    );
  });

  test('errors name the task and the missing key', () => {
    expect(() => aggregateBenchmark('superglue', { cb: { accuracy: 90 } })).toThrow(
      /superglue\/cb: result has no number for 'mean_3class_f1'/,
    );
    expect(() => aggregateBenchmark('superglue', { rtee: { accuracy: 1 } })).toThrow(/did you mean 'rte'/);
    expect(() => aggregateBenchmark('superglu', {})).toThrow(/did you mean 'superglue'/);
    expect(() => aggregateBenchmark('rainbow', {})).toThrow(/no task results/);
  });

  test('every benchmark task uses registered metrics', () => {
    for (const b of Object.values(BENCHMARKS))
      for (const t of Object.values(b.tasks)) expect(t.metrics.length).toBeGreaterThan(0);
  });
});
