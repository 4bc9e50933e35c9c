// The registry's source metadata: every Hub task names a dataset, config and columns, and says how (or
// whether) that was checked; the verification table only names tasks that exist; sizes fixed from the
// 2022 dataset_infos.json stay fixed.
import { TaskRegistry } from '../../../lib/tasks';
import { Task } from '../../../lib/tasks/task';
import { VERIFICATION, withVerification } from '../../../lib/tasks/verification';

const hubTasks = TaskRegistry.values().filter((t) => !t.source.builtin);

describe('task source metadata', () => {
  it.each(hubTasks.map((t) => [t.name, t] as const))(
    '%s has a non-empty hfId (owner/name), config, splits and columns',
    (_name, t) => {
      expect(t.source.hfId).toMatch(/^[A-Za-z0-9][\w.-]*\/[\w.-]+$/);
      expect(t.source.config.length).toBeGreaterThan(0);
      expect(t.splits.length).toBeGreaterThan(0);
      expect(t.source.columns.length).toBeGreaterThan(0);
      for (const c of t.source.columns) expect(c.trim().length).toBeGreaterThan(0);
      if (t.verified !== undefined) {
        expect(typeof t.verified).toBe('string');
        expect(t.verified.trim().length).toBeGreaterThan(0);
      }
    },
  );

  it('names only registered tasks in the verification table, and every entry reaches its task', () => {
    for (const [name, how] of Object.entries(VERIFICATION)) {
      expect(TaskRegistry.has(name)).toBe(true);
      expect(TaskRegistry.get(name).verified).toBe(how);
    }
  });

  it('has most Hub tasks verified, the benchmark tasks among them', () => {
    const verified = hubTasks.filter((t) => t.verified !== undefined);
    expect(verified.length).toBeGreaterThanOrEqual(100);
    for (const t of hubTasks.filter(
      (x) => x.benchmark === 'superglue' || x.benchmark === 'rainbow' || x.benchmark === 'cbqa',
    ))
      expect(t.verified).toBeDefined();
  });

  // The sample records follow the checked layouts, so a preprocessor that reads a key its sample lacks reads
  // a column the source does not have.
  it.each(hubTasks.filter((t) => t.sampleRecord).map((t) => [t.name, t] as const))(
    "%s's preprocessor reads only columns its sample record has",
    (_name, t) => {
      const missing = new Set<string>();
      const watch = (o: unknown, at: string): unknown => {
        if (o === null || typeof o !== 'object') return o;
        return new Proxy(o as object, {
          get(target, key, receiver) {
            const v = Reflect.get(target, key, receiver);
            if (typeof key !== 'string') return v;
            if (Array.isArray(target)) return /^\d+$/.test(key) ? watch(v, at) : v;
            const here = at ? `${at}.${key}` : key;
            if (!(key in target) && key !== 'toJSON' && key !== 'then') missing.add(here);
            return watch(v, here);
          },
        });
      };
      for (const split of t.splits) t.preprocess(watch(t.sampleRecord, '') as Record<string, unknown>, split);
      expect([...missing]).toEqual([]);
    },
  );

  it('keeps the sizes corrected from dataset_infos.json', () => {
    expect(TaskRegistry.get('coqa').numExamples('train')).toBe(7199);
    expect(TaskRegistry.get('c4_span_corruption').numExamples('train')).toBe(364_868_892);
    // T5's closed-book splits hold out the tail of train: the two slices add up to the Hub's train split.
    const nq = TaskRegistry.get('natural_questions_open');
    expect((nq.numExamples('train') ?? 0) + (nq.numExamples('validation') ?? 0)).toBe(87925);
    const tqa = TaskRegistry.get('trivia_qa_open');
    expect((tqa.numExamples('train') ?? 0) + (tqa.numExamples('validation') ?? 0)).toBe(87622);
  });

  it('rejects an empty verified string, and withVerification keeps an explicit one', () => {
    const base = {
      name: 'x_task',
      source: { hfId: 'a/b', config: 'default', splits: { train: { hfSplit: 'train' } }, columns: ['text'] },
      preprocessor: () => null,
    };
    expect(() => new Task({ ...base, verified: '  ' })).toThrow(/verified/);
    expect(new Task({ ...base, verified: 'hub card' }).verified).toBe('hub card');
    expect(new Task(base).verified).toBeUndefined();
    expect(withVerification({ ...base, name: 'coqa', verified: 'mine' }).verified).toBe('mine');
    expect(withVerification({ ...base, name: 'coqa' }).verified).toBe(VERIFICATION.coqa);
  });
});
