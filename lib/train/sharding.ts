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
import { allReduceGradients, allReduceScalars } from '../ddp/data_parallel';
import { DEFAULT_BUCKET_BYTES, type ProcessGroup } from '../ddp/process_group';
import { partitionBySize, type ShardingMode } from '../model/memory_plan';
import type { T5ForConditionalGeneration } from '../model/t5';
import { type Adafactor, gradNorm, scaleGrads } from '../optim/adafactor';
import type { Tensor } from '../tensor/tensor';
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

/**
 * The per-step work of a sharded run on one rank, around the loop's forward/backward and
 * optimizer step (lib/train/trainer.ts). Built by {@link ShardedStep.setUp} once the model and the
 * optimizer (over {@link ownedNames}) exist; every rank makes the same calls in the same order.
 */
export class ShardedStep {
  /** The model's parameters, in namedParameters() order (the layout's). */
  private readonly params: Tensor[];
  /** By owner: the parameters it sends after each step (all but those freed per block). */
  private readonly sent: Tensor[][];

  private constructor(
    private readonly pg: ProcessGroup,
    private readonly model: T5ForConditionalGeneration,
    readonly layout: ShardLayout,
  ) {
    this.params = model.parameters();
    this.sent = Array.from({ length: layout.world }, (_, r) =>
      this.params.filter((_, i) => layout.owner[i] === r && !layout.perBlock[i]),
    );
  }

  /**
   * Sets `model` up for `layout` (under `gradients`/`full` the model reduces gradients to their
   * owners; under `full` it frees the block parameters this rank does not own). Null for `none`.
   */
  static setUp(pg: ProcessGroup, model: T5ForConditionalGeneration, layout: ShardLayout): ShardedStep | null {
    if (layout.mode === 'none') return null;
    if (layout.mode !== 'optimizer') {
      if (layout.mode === 'full' && !model.gradientCheckpointing) {
        throw new Ext5Error(
          'EXT5_CONFIG',
          "training.sharding 'full' gathers each block's parameters while the block runs, which needs model.gradientCheckpointing",
          'set model.gradientCheckpointing=true (--gradient-checkpointing)',
        );
      }
      model.setSharding(pg, layout.owner, layout.perBlock, model.gradientCheckpointing);
    }
    return new ShardedStep(pg, model, layout);
  }

  /** After each micro-batch's backward: its gradients go to their owners (`gradients`, `full`). */
  async afterMicroBatch(): Promise<void> {
    if (this.layout.mode !== 'optimizer') await this.model.reduceShardedGradsAsync();
  }

  /**
   * After the step's last micro-batch: each owner holds the average over ranks of its parameters'
   * gradients in `.grad`, and no rank holds any other gradient.
   */
  async reduceGradients(): Promise<void> {
    if (this.layout.mode !== 'optimizer') {
      this.model.finishShardedGrads();
      return;
    }
    // ZeRO-1: every rank keeps every gradient (the optimizer reads its own); the loop drops them
    // all after the step (model.zeroGrad), since the optimizer's zeroGrad covers its own only.
    await allReduceGradients(this.pg, this.params);
  }

  /**
   * The global gradient norm over every rank's owned gradients, clipped to `maxNorm` when > 0 with
   * the rule of clipGradNorm (coefficient maxNorm / (norm + 1e-6), applied when below 1).
   */
  async clipGradNorm(optimizer: Adafactor, maxNorm: number): Promise<number> {
    const local = gradNorm(optimizer);
    const [sq] = await allReduceScalars(this.pg, [local * local]);
    const norm = Math.sqrt(sq!);
    if (maxNorm > 0 && Number.isFinite(norm)) {
      const coef = maxNorm / (norm + 1e-6);
      if (coef < 1) scaleGrads(optimizer, coef);
    }
    return norm;
  }

  /** After the optimizer step: each owner sends its updated parameters to the ranks that keep a copy. */
  async afterStep(): Promise<void> {
    for (let r = 0; r < this.layout.world; r++) {
      const mine = this.sent[r]!;
      if (mine.length > 0) await this.pg.broadcast(mine, { root: r, bucketBytes: DEFAULT_BUCKET_BYTES });
    }
  }

  /** Drops the parameter handles it holds (the parameters stay the model's). */
  dispose(): void {
    for (const t of this.params) t.dispose();
  }

  /** `full`: every rank gathers the whole model (e.g. for rank 0 to evaluate); undo with {@link release}. */
  async gather(): Promise<void> {
    if (this.layout.mode === 'full') await this.model.gatherShardedParametersAsync();
  }

  release(): void {
    if (this.layout.mode === 'full') this.model.releaseShardedParameters();
  }
}

/** Bytes a rank holds now: its parameters (as stored: freed copies count 0), gradients, optimizer state. */
export function rankMemory(
  model: T5ForConditionalGeneration,
  optimizer: Adafactor,
): { parameters: number; gradients: number; optimizer: number } {
  const { parameters, gradients } = model.shardBytes();
  return { parameters, gradients, optimizer: optimizer.stateBytes };
}
