/**
 * The one rank sharding of the data pipeline: each rank of a data-parallel job reads a disjoint
 * share of the records, round robin (record i goes to rank i mod worldSize), so that together the
 * ranks see what one process would and stay in step however long a stream is. `Task.records`
 * (lib/tasks/task.ts) shards every task this way, after the split's slicing; lib/ddp re-exports
 * it. Pure TypeScript; no libtorch.
 */
import { Ext5Error } from '../../util/errors';

/** One rank's share of a job. */
export interface Shard {
  readonly rank: number;
  readonly worldSize: number;
  /** True when item `index` of a stream belongs to this rank (round robin: index % worldSize). */
  owns(index: number): boolean;
  /** The items of `source` that belong to this rank, round robin, lazily. */
  take<T>(source: Iterable<T>): Generator<T>;
  /** Async version of {@link Shard.take} (streamed sources). */
  takeAsync<T>(source: AsyncIterable<T>): AsyncGenerator<T>;
}

function checkRank(rank: number, worldSize: number): void {
  if (!Number.isInteger(worldSize) || worldSize < 1) {
    throw new Ext5Error('EXT5_INVALID_ARG', `worldSize must be a positive integer, got ${worldSize}`);
  }
  if (!Number.isInteger(rank) || rank < 0 || rank >= worldSize) {
    throw new Ext5Error('EXT5_INVALID_ARG', `rank must be an integer in 0..${worldSize - 1}, got ${rank}`);
  }
}

/**
 * The share of `rank` in a job of `worldSize` ranks: item i goes to rank i % worldSize (`owns`,
 * or `take`/`takeAsync` over a stream).
 *
 * @example
 * const shard = shardFor(pg?.rank ?? 0, pg?.worldSize ?? 1);
 * for (const batch of shard.take(batches)) { ... }
 */
export function shardFor(rank: number, worldSize: number): Shard {
  checkRank(rank, worldSize);
  return {
    rank,
    worldSize,
    owns: (index: number) => index % worldSize === rank,
    *take<T>(source: Iterable<T>): Generator<T> {
      let i = 0;
      for (const item of source) {
        if (i % worldSize === rank) yield item;
        i++;
      }
    },
    async *takeAsync<T>(source: AsyncIterable<T>): AsyncGenerator<T> {
      let i = 0;
      for await (const item of source) {
        if (i % worldSize === rank) yield item;
        i++;
      }
    },
  };
}
