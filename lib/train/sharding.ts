/**
 * Sharded data parallelism (`training.sharding`): which rank owns which parameter.
 *
 * Adafactor factors a matrix's second moment into row and column statistics of the whole matrix,
 * so a parameter is never split: each rank owns whole tensors, assigned by the size-balanced
 * partition `ext5 plan` uses for its estimate (lib/model/memory_plan.ts partitionBySize), and the
 * owner's update is exactly the unsharded update of that tensor. What a rank keeps of the tensors it
 * does not own depends on the mode (ZeRO stages 1–3, FSDP's SHARD_GRAD_OP and FULL_SHARD):
 *
 * | mode        | parameters            | gradients (between micro-batches) | optimizer state |
 * |-------------|-----------------------|-----------------------------------|-----------------|
 * | `none`      | all                   | all (all-reduced once per step)   | all             |
 * | `optimizer` | all                   | all (all-reduced once per step)   | owned           |
 * | `gradients` | all                   | owned (reduced to the owner)      | owned           |
 * | `full`      | owned + outside blocks| owned (reduced to the owner)      | owned           |
 *
 * With `full`, a block's parameters are gathered from their owners when the block runs (forward,
 * and again for its recomputation in backward) and freed after it; the tensors outside the blocks
 * (embeddings, output layer, final norms, position-bias tables: a few percent of a large T5) stay
 * whole on every rank, like FSDP's root unit, and are sent from their owner after each update.
 */
import { partitionBySize, type ShardingMode } from '../model/memory_plan';
import { Ext5Error } from '../util/errors';

export type { ShardingMode };

/** A parameter of a block of either stack: gathered per block under `full`, its own sharding unit. */
const BLOCK_PARAM = /^(encoder|decoder)\.block\.\d+\./;

/** Who owns what, for one rank of a sharded run. The same on every rank but `rank`. */
export interface ShardLayout {
  mode: ShardingMode;
  rank: number;
  world: number;
  /** Parameter names, in the model's namedParameters() order. */
  names: readonly string[];
  /** The owning rank of each name. */
  owner: readonly number[];
  /**
   * Whether each name is freed on the ranks that do not own it between uses (`full`, block
   * parameters but the position-bias tables, which are used outside the block that holds them).
   */
  perBlock: readonly boolean[];
}

/**
 * The layout of `params` ([name, shape] in namedParameters() order) over `world` ranks.
 * @throws Ext5Error EXT5_CONFIG when there are fewer parameters than ranks (a rank would own nothing).
 */
export function shardLayout(
  params: ReadonlyArray<readonly [string, readonly number[]]>,
  mode: ShardingMode,
  rank: number,
  world: number,
): ShardLayout {
  if (!(Number.isInteger(world) && world >= 1 && Number.isInteger(rank) && rank >= 0 && rank < world)) {
    throw new Ext5Error('EXT5_INVALID_ARG', `rank ${rank} of world size ${world} is not a rank`);
  }
  if (mode !== 'none' && params.length < world) {
    throw new Ext5Error(
      'EXT5_CONFIG',
      `training.sharding '${mode}' over ${world} ranks needs at least ${world} parameter tensors; the model has ${params.length}`,
      'use fewer processes or training.sharding=none',
    );
  }
  const names = params.map(([n]) => n);
  const sizes = params.map(([, s]) => s.reduce((a, b) => a * b, 1));
  const owner = mode === 'none' ? names.map(() => 0) : partitionBySize(sizes, world);
  const perBlock = names.map(
    (n) => mode === 'full' && BLOCK_PARAM.test(n) && !n.endsWith('.relative_attention_bias.weight'),
  );
  return { mode, rank, world, names, owner, perBlock };
}

/** Whether this rank keeps the optimizer state (and, sharded, the gradient) of parameter `i`. */
export function owns(layout: ShardLayout, i: number): boolean {
  return layout.mode === 'none' || layout.owner[i] === layout.rank;
}

/** The names this rank owns, in namedParameters() order (all of them for `none`). */
export function ownedNames(layout: ShardLayout): string[] {
  return layout.names.filter((_, i) => owns(layout, i));
}
