import '../../../lib/tasks';
import { examplesProportional, Mixture } from '../../../lib/tasks/mixture';
import { getProvider, MixtureRegistry, TaskRegistry } from '../../../lib/tasks/registry';
import { MixtureSampler, WeightedChooser } from '../../../lib/tasks/sampler';
import type { Example, Task } from '../../../lib/tasks/task';
import { Rng } from '../../../lib/util/rng';

const added: string[] = [];
function addTask(name: string, n: number): Task {
  const t = TaskRegistry.add({
    name,
    source: { hfId: 'x/y', config: 'default', splits: { train: { hfSplit: 'train' } }, columns: ['a'] },
    preprocessor: (r) => ({ inputs: String(r.a), targets: '' }),
    numExamples: { train: n },
  });
  added.push(name);
  return t;
}
function addMixture(m: Mixture): Mixture {
  MixtureRegistry.add(m);
  added.push(m.name);
  return m;
}
afterAll(() => {
  for (const n of added) {
    TaskRegistry.remove(n);
    MixtureRegistry.remove(n);
  }
});

beforeAll(() => {
  addTask('mx_small', 100);
  addTask('mx_medium', 1000);
  addTask('mx_large', 1_000_000);
  addTask('mx_c4', 10_000_000);
});

describe('registries', () => {
  it('reject duplicates, bad names, and suggest the closest name', () => {
    expect(() => addTask('mx_small', 1)).toThrow(/already registered/);
    expect(() => addTask('Bad-Name', 1)).toThrow(/invalid task name "Bad-Name"/);
    expect(() => TaskRegistry.get('mx_smal')).toThrow("unknown task 'mx_smal' (did you mean 'mx_small'?)");
    expect(() => MixtureRegistry.get('exmx')).toThrow(/did you mean 'exmix'/);
    expect(() => getProvider('super_glue_boolk')).toThrow(/did you mean 'super_glue_boolq'/);
    expect(() => addMixture(new Mixture({ name: 'mx_small', members: [['mx_medium', 1]] }))).toThrow(
      /already registered as a task/,
    );
  });
});

describe('mixing rates (seqio mixing_rate_num_examples and nested Mixture)', () => {
  it('examples-proportional with cap K and temperature', () => {
    const m = new Mixture({
      name: 'mx_ep',
      members: ['mx_small', 'mx_medium', 'mx_large'],
      defaultRate: examplesProportional({ maximum: 1000 }),
    });
    expect(m.resolve().map((r) => [r.task.name, r.rate])).toEqual([
      ['mx_small', 100],
      ['mx_medium', 1000],
      ['mx_large', 1000],
    ]);
    expect(m.resolve().map((r) => r.share)).toEqual([100 / 2100, 1000 / 2100, 1000 / 2100]);
    const t2 = examplesProportional({ maximum: 1000, temperature: 2 });
    expect(t2(TaskRegistry.get('mx_small'))).toBeCloseTo(10);
    expect(examplesProportional({ scale: 3 })(TaskRegistry.get('mx_small'))).toBe(300);
  });

  it('nested: a task inside a sub-mixture gets submix_rate * task_rate / submix_total', () => {
    addMixture(
      new Mixture({
        name: 'mx_sub',
        members: [
          ['mx_small', 1],
          ['mx_medium', 3],
        ],
      }),
    );
    const top = new Mixture({
      name: 'mx_top',
      members: [
        ['mx_c4', 2],
        ['mx_sub', 1],
      ],
    });
    expect(top.resolve().map((r) => [r.task.name, r.rate])).toEqual([
      ['mx_c4', 2],
      ['mx_small', 0.25],
      ['mx_medium', 0.75],
    ]);
    expect(top.resolve()[0]!.share).toBeCloseTo(2 / 3);
  });

  it('ext5_pretrain gives exactly R C4 examples per ExMix example', () => {
    const shares = MixtureRegistry.get('ext5_pretrain').resolve();
    const c4 = shares.find((r) => r.task.name === 'c4_span_corruption')!;
    expect(c4.share).toBeCloseTo(2 / 3, 12);
    expect(shares.length).toBeGreaterThanOrEqual(108);
  });

  it('rejects negative, NaN and infinite rates, and sub-mixtures with rate functions', () => {
    const neg = new Mixture({ name: 'mx_neg', members: [['mx_small', () => -1]] });
    expect(() => neg.resolve()).toThrow(
      "mixture mx_neg: the rate of task 'mx_small' is -1; rates must be finite numbers ≥ 0",
    );
    const nan = new Mixture({
      name: 'mx_nan',
      members: [
        ['mx_small', () => Number.NaN],
        ['mx_medium', 1],
      ],
    });
    expect(() => nan.resolve()).toThrow(/is NaN/);
    expect(() =>
      new Mixture({ name: 'mx_inf', members: [['mx_small', Number.POSITIVE_INFINITY]] }).resolve(),
    ).toThrow(/Infinity/);
    expect(() => new Mixture({ name: 'mx_fn', members: [['mx_sub', () => 1]] }).resolve()).toThrow(
      /needs a numeric rate/,
    );
    expect(() => new Mixture({ name: 'mx_norate', members: ['mx_small'] })).toThrow(/has no rate/);
    expect(() => examplesProportional({ temperature: 0 })).toThrow(/temperature/);
    expect(() => new Mixture({ name: 'mx_typo', members: [['mx_smal', 1]] }).resolve()).toThrow(
      /did you mean 'mx_small'/,
    );
  });
});

describe('sampler', () => {
  it('WeightedChooser never picks zero-weight entries and validates weights', () => {
    const c = new WeightedChooser([0, 1, 0, 1, 0]);
    const rng = new Rng(0);
    const seen = new Set<number>();
    for (let i = 0; i < 2000; i++) seen.add(c.choose(rng));
    expect([...seen].sort()).toEqual([1, 3]);
    expect(() => new WeightedChooser([1, -1])).toThrow(/weight 1 is -1/);
    expect(() => new WeightedChooser([0, 0])).toThrow(/all weights are 0/);
  });

  it('over 1e5 draws the empirical rates are within 1% of the nested mixture rates', () => {
    const top = new Mixture({
      name: 'mx_top2',
      members: [
        ['mx_c4', 2],
        ['mx_sub', 1],
      ],
    });
    const s = new MixtureSampler(top, { seed: 123 });
    for (let i = 0; i < 100_000; i++) s.chooseTask();
    const counts = s.taskCounts();
    for (const [name, share] of Object.entries(s.rates())) {
      expect(Math.abs(counts[name]! / 100_000 - share)).toBeLessThan(0.01);
    }
    expect(counts.mx_small).toBeGreaterThan(0);
  });

  function fakeOpen(sizes: Record<string, number>) {
    // Deterministic in-memory datasets: example k of task t in epoch e.
    return (task: Task, epoch: number): AsyncIterable<Example> => ({
      async *[Symbol.asyncIterator]() {
        for (let k = 0; k < (sizes[task.name] ?? 0); k++)
          yield { inputs: `${task.name}:${epoch}:${k}`, targets: '' };
      },
    });
  }

  it('repeats datasets, is deterministic, and resumes exactly from a JSON state', async () => {
    const m = new Mixture({
      name: 'mx_rs',
      members: [
        ['mx_small', 1],
        ['mx_medium', 2],
      ],
    });
    const open = fakeOpen({ mx_small: 3, mx_medium: 5 });
    const a = new MixtureSampler(m, { seed: 9, open });
    const first: string[] = [];
    for (let i = 0; i < 40; i++) first.push((await a.next()).example.inputs);
    expect(first.some((x) => x.startsWith('mx_small:2:'))).toBe(true); // small dataset wrapped around
    const saved = JSON.parse(JSON.stringify(a.getState()));
    const rest: string[] = [];
    for (let i = 0; i < 30; i++) rest.push((await a.next()).example.inputs);

    const b = new MixtureSampler(m, { seed: 9, open });
    const again: string[] = [];
    for (let i = 0; i < 40; i++) again.push((await b.next()).example.inputs);
    expect(again).toEqual(first);

    const c = new MixtureSampler(m, { seed: 12345, open });
    c.setState(saved);
    const resumed: string[] = [];
    for (let i = 0; i < 30; i++) resumed.push((await c.next()).example.inputs);
    expect(resumed).toEqual(rest);
    expect(c.taskCounts().mx_small! + c.taskCounts().mx_medium!).toBe(70);
  });

  it('rejects a state from another mixture, and an empty task', async () => {
    const m = new Mixture({ name: 'mx_st', members: [['mx_small', 1]] });
    const s = new MixtureSampler(m, { open: fakeOpen({ mx_small: 1 }) });
    const other = new MixtureSampler(new Mixture({ name: 'mx_st2', members: [['mx_medium', 1]] }), {});
    expect(() => s.setState(other.getState())).toThrow(/saved sampler state is for tasks \[mx_medium\]/);
    const empty = new MixtureSampler(m, { open: fakeOpen({}) });
    await expect(empty.next()).rejects.toThrow(/yielded no examples/);
  });

  it('samples the built-in mini_ext5_pretrain from the packaged data and resumes it', async () => {
    const m = MixtureRegistry.get('mini_ext5_pretrain');
    const a = new MixtureSampler(m, { seed: 1 });
    for (let i = 0; i < 30; i++) await a.next();
    const state = JSON.parse(JSON.stringify(a.getState()));
    const next: string[] = [];
    for (let i = 0; i < 10; i++) next.push(JSON.stringify(await a.next()));
    const b = new MixtureSampler(m, { seed: 1 });
    b.setState(state);
    const resumed: string[] = [];
    for (let i = 0; i < 10; i++) resumed.push(JSON.stringify(await b.next()));
    expect(resumed).toEqual(next);
    expect(a.rates().mini_c4_span_corruption).toBeCloseTo(2 / 3);
  });
});
