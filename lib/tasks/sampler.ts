/**
 * The mixture sampler: per-example weighted sampling across tasks whose datasets repeat indefinitely
 * (google/seqio seqio/dataset_providers.py Mixture.get_dataset: sample_from_datasets over repeated
 * task datasets). Seeded, deterministic, and resumable: its state (the RNG, the per-task counts, and each
 * task's epoch and offset) is plain JSON, and a restored sampler continues the exact same stream.
 */
import { Ext5Error } from '../util/errors';
import { Rng, type RngState } from '../util/rng';
import type { Mixture, ResolvedMember } from './mixture';
import { defaultDataDir, type Example, type ReadOptions, type Task } from './task';

/**
 * Picks index i with probability weights[i] / sum(weights): one uniform draw and a binary search over the
 * cumulative weights, O(log n) per draw.
 */
export class WeightedChooser {
  private readonly cumulative: Float64Array;
  readonly total: number;

  constructor(weights: readonly number[]) {
    if (weights.length === 0) throw new Ext5Error('BAD_WEIGHTS', 'no weights to choose from');
    this.cumulative = new Float64Array(weights.length);
    let acc = 0;
    weights.forEach((w, i) => {
      if (!Number.isFinite(w) || w < 0) {
        throw new Ext5Error('BAD_WEIGHTS', `weight ${i} is ${w}; weights must be finite and ≥ 0`);
      }
      acc += w;
      this.cumulative[i] = acc;
    });
    if (!(acc > 0)) throw new Ext5Error('BAD_WEIGHTS', 'all weights are 0');
    this.total = acc;
  }

  /** An index drawn with the given rng. */
  choose(rng: Rng): number {
    const x = rng.nextFloat() * this.total;
    let lo = 0;
    let hi = this.cumulative.length - 1;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.cumulative[mid]! > x) hi = mid;
      else lo = mid + 1;
    }
    // Zero-weight entries share their cumulative value with a neighbour; never land on one.
    return lo;
  }
}

/** Where a task's repeated stream stands: the epoch (pass over the data) and the examples taken in it. */
export interface StreamPosition {
  epoch: number;
  offset: number;
}

/** The sampler's saved state (JSON). */
export interface SamplerState {
  version: 1;
  tasks: string[];
  rng: RngState;
  counts: Record<string, number>;
  positions: Record<string, StreamPosition>;
}

/** Opens one pass over a task's examples (or over anything made from them). */
export type ExampleOpener<E> = (task: Task, epoch: number) => AsyncIterable<E>;

export interface SamplerOptions<E = Example> {
  seed?: number | string;
  /** The split to sample (default 'train'). */
  split?: string;
  /** Passed to Task.examples when `open` is not given. */
  read?: ReadOptions;
  /**
   * Opens one pass over a task's examples. The default reads `task.examples(split, read)`. `epoch` lets a
   * caller reshuffle per pass; the sampler re-opens after a pass ends, so datasets repeat.
   */
  open?: ExampleOpener<E>;
}

/**
 * The sampler's options argument: `open` (and the options) may be left out only when the sampler
 * yields the tasks' own examples; a sampler of anything else (e.g. the pipeline's tokenized
 * examples) must say how to open a task.
 */
export type SamplerArgs<E> = [Example] extends [E]
  ? [opts?: SamplerOptions<E>]
  : [opts: SamplerOptions<E> & { open: ExampleOpener<E> }];

/** One sampled example and the task it came from. */
export interface Sampled<E = Example> {
  task: string;
  example: E;
}

/**
 * Samples examples from a mixture, one at a time.
 * @example
 * const s = new MixtureSampler(MixtureRegistry.get('mini_exmix'), { seed: 0 });
 * const { task, example } = await s.next();
 * const saved = s.getState();              // JSON, store it with the checkpoint
 * const resumed = new MixtureSampler(mixture, { seed: 0 }); resumed.setState(saved);
 */
export class MixtureSampler<E = Example> {
  readonly members: ResolvedMember[];
  private readonly chooser: WeightedChooser;
  private rng: Rng;
  private readonly open: ExampleOpener<E>;
  private readonly iterators = new Map<string, AsyncIterator<E>>();
  private counts: Record<string, number> = {};
  private positions: Record<string, StreamPosition> = {};

  constructor(mixture: Mixture | ResolvedMember[], ...[opts = {}]: SamplerArgs<E>) {
    // Rates from the data directory the sampler reads: rows present there count (Mixture.resolve).
    this.members = Array.isArray(mixture)
      ? mixture
      : mixture.resolve({ dataDir: opts.read?.dataDir ?? defaultDataDir() });
    this.chooser = new WeightedChooser(this.members.map((m) => m.rate));
    this.rng = new Rng(opts.seed ?? 0);
    const split = opts.split ?? 'train';
    // SamplerArgs requires `open` unless E is the tasks' Example type, so the default
    // opener (which yields Examples) is only ever used where E is Example.
    this.open =
      opts.open ??
      (((task: Task) => task.examples(split, opts.read ?? {})) as ExampleOpener<unknown> as ExampleOpener<E>);
    for (const m of this.members) {
      this.counts[m.task.name] = 0;
      this.positions[m.task.name] = { epoch: 0, offset: 0 };
    }
  }

  /** Draws the next task index only (no data read): what `next()` would pick. Exposed for rate tests. */
  chooseTask(): string {
    return this.chooseMember().task.name;
  }

  private chooseMember(): ResolvedMember {
    const m = this.members[this.chooser.choose(this.rng)]!;
    this.counts[m.task.name]! += 1;
    return m;
  }

  /** The next example of the mixture. */
  async next(): Promise<Sampled<E>> {
    const m = this.chooseMember();
    return { task: m.task.name, example: await this.take(m.task) };
  }

  private async take(task: Task): Promise<E> {
    const pos = this.positions[task.name]!;
    let it = this.iterators.get(task.name);
    if (!it) {
      it = this.open(task, pos.epoch)[Symbol.asyncIterator]();
      // Resuming: skip what the saved stream had already taken in this epoch.
      for (let i = 0; i < pos.offset; i++) {
        const r = await it.next();
        if (r.done) break;
      }
      this.iterators.set(task.name, it);
    }
    let r = await it.next();
    if (r.done) {
      if (pos.offset === 0) {
        throw new Ext5Error('EMPTY_TASK', `task ${task.name} yielded no examples`, 'check its data files');
      }
      pos.epoch += 1;
      pos.offset = 0;
      it = this.open(task, pos.epoch)[Symbol.asyncIterator]();
      this.iterators.set(task.name, it);
      r = await it.next();
      if (r.done)
        throw new Ext5Error('EMPTY_TASK', `task ${task.name} yielded no examples in epoch ${pos.epoch}`);
    }
    pos.offset += 1;
    return r.value;
  }

  /** How many examples each task has given so far. */
  taskCounts(): Record<string, number> {
    return { ...this.counts };
  }

  /** The normalized rate of each task. */
  rates(): Record<string, number> {
    return Object.fromEntries(this.members.map((m) => [m.task.name, m.share]));
  }

  /** A JSON snapshot; see {@link setState}. */
  getState(): SamplerState {
    return {
      version: 1,
      tasks: this.members.map((m) => m.task.name),
      rng: this.rng.getState(),
      counts: { ...this.counts },
      positions: Object.fromEntries(Object.entries(this.positions).map(([k, v]) => [k, { ...v }])),
    };
  }

  /** Restores a snapshot taken from a sampler over the same tasks. Open streams are re-opened lazily. */
  setState(state: SamplerState): void {
    if (state?.version !== 1 || !Array.isArray(state.tasks)) {
      throw new Ext5Error('BAD_SAMPLER_STATE', 'not a mixture sampler state (version 1)');
    }
    const mine = this.members.map((m) => m.task.name);
    if (state.tasks.join(',') !== mine.join(',')) {
      throw new Ext5Error(
        'BAD_SAMPLER_STATE',
        `the saved sampler state is for tasks [${state.tasks.join(', ')}], this mixture has [${mine.join(', ')}]`,
        'resume with the same mixture (and the same rate options) that wrote the state',
      );
    }
    this.rng = Rng.fromState(state.rng);
    this.counts = { ...state.counts };
    this.positions = Object.fromEntries(Object.entries(state.positions).map(([k, v]) => [k, { ...v }]));
    this.iterators.clear();
  }
}
