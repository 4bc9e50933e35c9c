/**
 * Mixture: tasks and sub-mixtures with rates, after google/seqio seqio/dataset_providers.py (Mixture:
 * nested sub-mixtures contribute `submix_rate * task_rate / submix_total` per task) and seqio/utils.py
 * (mixing_rate_num_examples: `min(num_examples * scale, maximum) ** (1 / temperature)`).
 * Rates are relative weights; `resolve()` flattens a mixture into normalized per-task probabilities.
 *
 * The count examples-proportional mixing takes is the task's declared numExamples, unless the data
 * directory's download record (lib/data/manifest.ts) says fewer rows are present: a partial Hub Parquet
 * export, or a download cut by --max-files. Then it is the rows present: n = min(declared, present), the
 * one known when only one is (see {@link exampleCount}; docs/tasks.md, "Mixing rates and the rows
 * present").
 */
import { Ext5Error } from '../util/errors';
import { MixtureRegistry, TaskRegistry } from './registry';
import { type Task, validateName } from './task';

/** What a rate function may read besides the task. */
export interface RateContext {
  /**
   * The data directory whose download records give the rows present (see {@link exampleCount}); left
   * out, rates take the declared counts only.
   */
  dataDir?: string;
}

/** A rate: a number, or a function of the task (e.g. examples-proportional). */
export type Rate = number | ((task: Task, ctx: RateContext) => number);

/** A mixture member: a task or mixture name, with its rate (a sub-mixture's rate must be a number). */
export type MixtureMember = string | [string, Rate];

export interface ExamplesProportionalOptions {
  /** Cap K on a task's (scaled) example count; the paper's ExMix uses ~3e5. Default: no cap. */
  maximum?: number;
  /** Rate = count^(1/temperature); 1 = proportional, larger flattens. Default 1. */
  temperature?: number;
  /** Multiplies the count before capping (SeqIO's `scale`). Default 1. */
  scale?: number;
  /** The split whose size is used. Default 'train'. */
  split?: string;
}

/** The example count of a task split for mixing, and where it comes from. */
export interface ExampleCount {
  /** The count mixing takes: min(declared, present), or the one known; undefined when neither is. */
  n: number | undefined;
  /** The task's numExamples for the split (from the dataset card). */
  declared: number | undefined;
  /** Rows present in the data directory by its download record; undefined without a record or count. */
  present: number | undefined;
  /** The Hub's Parquet export of the split is partial (a `partial-{split}` folder). */
  partial: boolean;
  /** The download record read, when there is one. */
  manifest?: string;
}

/**
 * The count examples-proportional mixing takes for `task`'s `split`: its declared numExamples, or the rows
 * present in `dataDir` when its download record says fewer (the smaller of the two; the one known when
 * only one is). Without `dataDir`, the declared count.
 * @example
 * const { n, declared, present, partial } = exampleCount(TaskRegistry.get('big_patent'), 'train', dataDir);
 */
export function exampleCount(task: Task, split = 'train', dataDir?: string): ExampleCount {
  const declared = task.numExamples(split);
  const rec =
    dataDir === undefined || !task.source.splits[split] ? undefined : task.rowsPresent(split, dataDir);
  const present = rec?.rows;
  const n = declared === undefined ? present : present === undefined ? declared : Math.min(declared, present);
  return { n, declared, present, partial: rec?.partial ?? false, ...(rec ? { manifest: rec.manifest } : {}) };
}

/**
 * SeqIO's `mixing_rate_num_examples`: rate = min(n·scale, maximum)^(1/temperature), n from
 * {@link exampleCount} (the rows present in the context's data directory when fewer than declared).
 * @example
 * const rate = examplesProportional({ maximum: 300_000 });
 * rate(TaskRegistry.get('super_glue_boolq'), {}); // 9427
 */
export function examplesProportional(
  opts: ExamplesProportionalOptions = {},
): (task: Task, ctx?: RateContext) => number {
  const { maximum = Number.POSITIVE_INFINITY, temperature = 1, scale = 1, split = 'train' } = opts;
  if (!(temperature > 0)) throw new Ext5Error('BAD_RATE', `temperature must be > 0, got ${temperature}`);
  if (!(maximum > 0)) throw new Ext5Error('BAD_RATE', `maximum (K) must be > 0, got ${maximum}`);
  if (!(scale > 0)) throw new Ext5Error('BAD_RATE', `scale must be > 0, got ${scale}`);
  return (task: Task, ctx: RateContext = {}) => {
    const { n } = exampleCount(task, split, ctx.dataDir);
    if (n === undefined) {
      throw new Ext5Error(
        'NO_NUM_EXAMPLES',
        `task ${task.name} has no example count for split '${split}', so it cannot be mixed examples-proportionally`,
        'give the task numExamples or an explicit rate in the mixture, or download its Parquet export (`ext5 data download`): the rows present then count',
      );
    }
    return Math.min(n * scale, maximum) ** (1 / temperature);
  };
}

/** A task whose split in a data directory is a partial Hub export or holds fewer rows than declared. */
export interface PartialMember extends ExampleCount {
  task: string;
}

/** Whether a count is flagged: a partial export, or fewer rows present than declared. */
export function isShort(c: ExampleCount): boolean {
  return c.partial || (c.present !== undefined && c.declared !== undefined && c.present < c.declared);
}

/**
 * The members whose `split` in `dataDir` is a partial Hub export or holds fewer rows than declared (by the
 * download records), in the members' order.
 */
export function partialMembers(
  members: readonly ResolvedMember[],
  dataDir: string,
  split = 'train',
): PartialMember[] {
  return members.map((m) => ({ task: m.task.name, ...exampleCount(m.task, split, dataDir) })).filter(isShort);
}

/** How a flagged member reads in a message: `name: 3 rows present of 9427 declared (partial Hub export)`. */
export function describePartial(p: PartialMember): string {
  const rows = `${p.present ?? 'unknown'} rows present of ${p.declared ?? 'unknown'} declared`;
  return `${p.task}: ${rows}${p.partial ? ' (partial Hub export)' : ''}`;
}

/**
 * The one line a run prints when it starts on `mixture` with flagged members in `dataDir` (see
 * {@link partialMembers}), or undefined when there are none.
 */
export function partialNotice(mixture: Mixture, dataDir: string, split = 'train'): string | undefined {
  const flagged = partialMembers(mixture.resolve({ dataDir }), dataDir, split);
  if (flagged.length === 0) return undefined;
  return `partial data for ${flagged.length} task${flagged.length === 1 ? '' : 's'} of the mixture (examples-proportional rates take the rows present when fewer than declared; docs/data.md): ${flagged.map(describePartial).join('; ')}`;
}

/** One task of a resolved mixture, with its absolute rate and its share (rate / total). */
export interface ResolvedMember {
  task: Task;
  rate: number;
  share: number;
}

export interface MixtureOptions {
  name: string;
  members: MixtureMember[];
  /** The rate of members given by name only. */
  defaultRate?: Rate;
  description?: string;
}

function checkRate(value: number, what: string, mixture: string): number {
  if (typeof value !== 'number' || Number.isNaN(value) || value < 0 || !Number.isFinite(value)) {
    throw new Ext5Error(
      'BAD_RATE',
      `mixture ${mixture}: the rate of ${what} is ${value}; rates must be finite numbers ≥ 0`,
      'check the rate function (a count of 0 or a missing numExamples can cause this)',
    );
  }
  return value;
}

/**
 * A weighted mixture of tasks and sub-mixtures.
 * @example
 * const m = new Mixture({ name: 'pair', members: [['task_a', 2], ['task_b', 1]] });
 * m.resolve().map((r) => r.share); // [0.667, 0.333]
 */
export class Mixture {
  readonly name: string;
  readonly members: ReadonlyArray<readonly [string, Rate]>;
  readonly description: string;

  constructor(opts: MixtureOptions) {
    validateName(opts.name, 'mixture');
    if (opts.members.length === 0) throw new Ext5Error('BAD_MIXTURE', `mixture ${opts.name} has no members`);
    this.name = opts.name;
    this.description = opts.description ?? '';
    this.members = opts.members.map((m) => {
      if (typeof m === 'string') {
        if (opts.defaultRate === undefined) {
          throw new Ext5Error(
            'BAD_MIXTURE',
            `mixture ${opts.name}: member '${m}' has no rate and the mixture has no defaultRate`,
            `write ['${m}', rate] or give defaultRate`,
          );
        }
        return [m, opts.defaultRate] as const;
      }
      return [m[0], m[1]] as const;
    });
  }

  /** The rate of each direct member (sub-mixtures keep their own rate), validated. */
  private memberRates(
    seen: string[],
    ctx: RateContext,
  ): Array<{ name: string; rate: number; sub?: Mixture }> {
    return this.members.map(([name, rate]) => {
      if (MixtureRegistry.has(name)) {
        const sub = MixtureRegistry.get(name);
        if (seen.includes(name)) {
          throw new Ext5Error('BAD_MIXTURE', `mixture cycle: ${[...seen, name].join(' -> ')}`);
        }
        if (typeof rate !== 'number') {
          throw new Ext5Error(
            'BAD_RATE',
            `mixture ${this.name}: sub-mixture '${name}' needs a numeric rate (rate functions apply to tasks)`,
          );
        }
        return { name, rate: checkRate(rate, `sub-mixture '${name}'`, this.name), sub };
      }
      const task = TaskRegistry.get(name);
      const value = typeof rate === 'function' ? rate(task, ctx) : rate;
      return { name, rate: checkRate(value, `task '${name}'`, this.name) };
    });
  }

  /**
   * Flattens into tasks with absolute rates; a sub-mixture's tasks get `submixRate · taskRate / submixTotal`.
   * A task reached twice has its rates summed. With `ctx.dataDir`, examples-proportional rates take the rows
   * present there when fewer than declared (see {@link exampleCount}).
   */
  resolve(ctx: RateContext = {}): ResolvedMember[] {
    return this.resolveWithin([], ctx);
  }

  private resolveWithin(seen: string[], ctx: RateContext): ResolvedMember[] {
    const path = [...seen, this.name];
    const rates = new Map<string, { task: Task; rate: number }>();
    const addRate = (task: Task, rate: number) => {
      const cur = rates.get(task.name);
      if (cur) cur.rate += rate;
      else rates.set(task.name, { task, rate });
    };
    for (const m of this.memberRates(path, ctx)) {
      if (m.sub) {
        const inner = m.sub.resolveWithin(path, ctx);
        const total = inner.reduce((s, r) => s + r.rate, 0);
        if (total <= 0) throw new Ext5Error('BAD_RATE', `mixture ${m.name}: all rates are 0`);
        for (const r of inner) addRate(r.task, (m.rate * r.rate) / total);
      } else {
        addRate(TaskRegistry.get(m.name), m.rate);
      }
    }
    const list = [...rates.values()];
    const total = list.reduce((s, r) => s + r.rate, 0);
    if (!(total > 0)) throw new Ext5Error('BAD_RATE', `mixture ${this.name}: all rates are 0`);
    return list.map((r) => ({ task: r.task, rate: r.rate, share: r.rate / total }));
  }

  /** The task names, flattened. */
  taskNames(): string[] {
    return this.resolve().map((r) => r.task.name);
  }

  /** The tasks, flattened. */
  tasks(): Task[] {
    return this.resolve().map((r) => r.task);
  }
}

/** ExT5's mixing knobs (config keys mixture.R, mixture.K, mixture.temperature). */
export interface MixingParams {
  /** Span-corruption examples per supervised example. */
  R: number;
  /** Examples-proportional cap per task. */
  K: number;
  temperature: number;
}

/** Builds the variant of a registered mixture for other mixing knobs. */
export type MixtureVariant = (p: MixingParams) => Mixture;

const VARIANTS = new Map<string, MixtureVariant>();

/**
 * Declares that the registered mixture `name` takes the mixing knobs: the module that registers a
 * mixture says how to rebuild it for another R / K / temperature, so callers need no list of names.
 */
export function registerMixtureVariant(name: string, build: MixtureVariant): void {
  VARIANTS.set(name, build);
}

/** The registered mixtures that take the mixing knobs, sorted. */
export function mixtureVariantNames(): string[] {
  return [...VARIANTS.keys()].sort();
}

/** The variant of mixture `name` for `p`, or undefined when that mixture takes no knobs. */
export function mixtureVariant(name: string, p: MixingParams): Mixture | undefined {
  return VARIANTS.get(name)?.(p);
}
