/**
 * Rank sharding for the data pipeline: each rank of a data-parallel job reads a disjoint share
 * of the examples, so that together the ranks see what one process would (and each example once
 * per epoch). Pure TypeScript; no libtorch.
 */
import { Ext5Error } from '../util/errors';

/** One rank's share of a job. */
export interface Shard {
  readonly rank: number;
  readonly worldSize: number;
  /** True when item `index` of a stream belongs to this rank (round robin: index % worldSize). */
  owns(index: number): boolean;
  /** The contiguous range [start, end) of `count` items for this rank (sizes differ by at most 1). */
  range(count: number): [number, number];
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
 * The contiguous share [start, end) of `count` items for `rank`: the first `count % worldSize`
 * ranks get one extra item. Shares are disjoint and cover 0..count.
 * @example shardRange(10, 1, 3) // [4, 7]
 */
export function shardRange(count: number, rank: number, worldSize: number): [number, number] {
  checkRank(rank, worldSize);
  if (!Number.isInteger(count) || count < 0) {
    throw new Ext5Error('EXT5_INVALID_ARG', `count must be a non-negative integer, got ${count}`);
  }
  const base = Math.floor(count / worldSize);
  const extra = count % worldSize;
  const start = rank * base + Math.min(rank, extra);
  return [start, start + base + (rank < extra ? 1 : 0)];
}

/**
 * The share of `rank` in a job of `worldSize` ranks. For streams (mixtures, tokenized batches)
 * use `owns`/`take`: item i goes to rank i % worldSize, so ranks stay in step however long the
 * stream is. For indexed data of known size use `range`.
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
    range: (count: number) => shardRange(count, rank, worldSize),
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
