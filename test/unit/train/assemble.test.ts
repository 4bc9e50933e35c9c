// What a run builds from its config: the mixture with the mixing knobs, the evaluation tasks
// (benchmark names included) and the vocabulary name.
import '../../../lib/tasks';
import { BENCHMARKS } from '../../../lib/eval/aggregate';
import { rankRows } from '../../../lib/run/derive';
import { loadRunConfig } from '../../../lib/run/run_config';
import { Mixture } from '../../../lib/tasks/mixture';
import { MixtureRegistry } from '../../../lib/tasks/registry';
import { evalTasks, runVocabularyName, trainingMixture } from '../../../lib/train/assemble';
import { Ext5Error } from '../../../lib/util/errors';

const cfg = (...set: string[]) => loadRunConfig({ preset: 'tiny-test', set, checkPaths: false });

describe('trainingMixture', () => {
  test('at the default knobs, the registered name', () => {
    expect(trainingMixture(cfg())).toBe('mini_ext5_pretrain');
    expect(trainingMixture(cfg('data.mixtureOrTask=ext5_pretrain'))).toBe('ext5_pretrain');
  });

  test('mini_ext5_pretrain takes R', () => {
    const m = trainingMixture(cfg('mixture.R=4'));
    expect(m).toBeInstanceOf(Mixture);
    const shares = Object.fromEntries((m as Mixture).resolve().map((r) => [r.task.name, r.share]));
    const supervised = 1 - shares.mini_c4_span_corruption!;
    expect(shares.mini_c4_span_corruption! / supervised).toBeCloseTo(4);
    expect((m as Mixture).name).toBe('mini_ext5_pretrain_r4');
  });

  test('ext5_pretrain takes R and K; exmix takes K', () => {
    const e = trainingMixture(cfg('data.mixtureOrTask=ext5_pretrain', 'mixture.R=3', 'mixture.K=1000'));
    expect(e).toBeInstanceOf(Mixture);
    expect((e as Mixture).members.map(([n, r]) => [n, r])).toEqual([
      ['c4_span_corruption', 3],
      ['exmix_k1000_t1', 1],
    ]);
    const x = trainingMixture(cfg('data.mixtureOrTask=exmix', 'mixture.K=1000'));
    expect((x as Mixture).name).toBe('exmix_k1000');
  });

  test('a task or a mixture without knobs stays a name', () => {
    expect(trainingMixture(cfg('data.mixtureOrTask=mini_exmix', 'mixture.R=4'))).toBe('mini_exmix');
    expect(trainingMixture(cfg('data.mixtureOrTask=mini_nli_counts', 'mixture.K=10'))).toBe(
      'mini_nli_counts',
    );
  });
});

describe('evalTasks', () => {
  test('every benchmark of lib/eval/aggregate.ts names its tasks', () => {
    for (const b of Object.keys(BENCHMARKS)) {
      const tasks = evalTasks([b]);
      expect(tasks.length).toBeGreaterThan(0);
      for (const t of tasks) expect(t.benchmark).toBe(b);
    }
  });

  test('cbqa stands for the closed_book_qa_benchmark mixture; duplicates go', () => {
    const want = MixtureRegistry.get('closed_book_qa_benchmark').taskNames();
    expect(evalTasks(['cbqa']).map((t) => t.name)).toEqual(want);
    expect(evalTasks(['cbqa', 'closed_book_qa_benchmark', want[0]!]).map((t) => t.name)).toEqual(want);
  });

  test('task names and unknown names', () => {
    expect(evalTasks(['mini_nli_counts']).map((t) => t.name)).toEqual(['mini_nli_counts']);
    expect(() => evalTasks(['mini_nli_count'])).toThrow(/mini_nli_counts/);
  });
});

test('runVocabularyName: data.vocabulary, else the first task', () => {
  expect(runVocabularyName(cfg())).toBe('mini');
  expect(runVocabularyName(cfg('data.vocabulary=t5'))).toBe('t5');
  expect(runVocabularyName(cfg('data.mixtureOrTask=ext5_pretrain'))).toBe('t5');
});

test('rankRows splits the micro-batch over processes, or says what divides', () => {
  expect(rankRows(cfg('training.batchSize=8'), 2)).toBe(4);
  expect(() => rankRows(cfg('training.batchSize=6'), 4)).toThrow(Ext5Error);
  expect(() => rankRows(cfg('training.batchSize=6'), 4)).toThrow(/do not split over 4 processes/);
});
