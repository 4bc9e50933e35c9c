/**
 * TaskRegistry and MixtureRegistry, after google/seqio seqio/dataset_providers.py (DatasetProviderRegistry):
 * global, name-keyed, duplicates rejected, and — unlike SeqIO — a "did you mean" on a typo.
 * Task and mixture names share one namespace, so a mixture member name is never ambiguous.
 */
import { didYouMean, Ext5Error } from '../util/errors';
import type { Mixture } from './mixture';
import { type Family, Task, type TaskOptions, validateName } from './task';

/** A name-keyed registry of tasks or mixtures (the two share one namespace). */
class Registry<T extends { name: string }> {
  private readonly items = new Map<string, T>();
  constructor(
    private readonly kind: 'task' | 'mixture',
    private readonly other: () => Registry<{ name: string }> | undefined,
  ) {}

  /** Registers `item`; throws on an invalid or taken name. */
  add(item: T): T {
    validateName(item.name, this.kind);
    if (this.items.has(item.name)) {
      throw new Ext5Error(
        'DUPLICATE_NAME',
        `${this.kind} '${item.name}' is already registered`,
        `pick another name, or call ${this.kind === 'task' ? 'TaskRegistry' : 'MixtureRegistry'}.remove('${item.name}') first`,
      );
    }
    const other = this.other();
    if (other?.has(item.name)) {
      throw new Ext5Error(
        'DUPLICATE_NAME',
        `'${item.name}' is already registered as a ${this.kind === 'task' ? 'mixture' : 'task'}`,
        'tasks and mixtures share one namespace',
      );
    }
    this.items.set(item.name, item);
    return item;
  }

  /** Whether `name` is registered here. */
  has(name: string): boolean {
    return this.items.has(name);
  }

  /** The item named `name`, or an error with the closest registered name. */
  get(name: string): T {
    const item = this.items.get(name);
    if (!item) {
      const all = [...this.items.keys(), ...(this.other()?.names() ?? [])];
      throw new Ext5Error(
        this.kind === 'task' ? 'UNKNOWN_TASK' : 'UNKNOWN_MIXTURE',
        `unknown ${this.kind} '${name}'${didYouMean(name, all)}`,
        `list them with \`ext5 ${this.kind === 'task' ? 'tasks' : 'mixtures'} list\``,
      );
    }
    return item;
  }

  /** Unregisters `name` (for tests and redefinitions); true when it was there. */
  remove(name: string): boolean {
    return this.items.delete(name);
  }

  /** All names, sorted. */
  names(): string[] {
    return [...this.items.keys()].sort();
  }

  /** All items, sorted by name. */
  values(): T[] {
    return this.names().map((n) => this.items.get(n)!);
  }
}

class TaskRegistryImpl extends Registry<Task> {
  /** Registers a Task (or builds one from options). */
  override add(task: Task | TaskOptions): Task {
    return super.add(task instanceof Task ? task : new Task(task));
  }
  /** The tasks of one family. */
  byFamily(family: Family): Task[] {
    return this.values().filter((t) => t.family === family);
  }
}

let mixtures: Registry<Mixture> | undefined;

/** Every registered Task. */
export const TaskRegistry = new TaskRegistryImpl('task', () => mixtures);
mixtures = new Registry<Mixture>('mixture', () => TaskRegistry);
/** Every registered Mixture. */
export const MixtureRegistry = mixtures;

/** A task or a mixture by name, with one "did you mean" over both. */
export function getProvider(name: string): Task | Mixture {
  if (TaskRegistry.has(name)) return TaskRegistry.get(name);
  if (MixtureRegistry.has(name)) return MixtureRegistry.get(name);
  const all = [...TaskRegistry.names(), ...MixtureRegistry.names()];
  throw new Ext5Error(
    'UNKNOWN_NAME',
    `no task or mixture named '${name}'${didYouMean(name, all)}`,
    'list them with `ext5 tasks list` and `ext5 mixtures list`',
  );
}
