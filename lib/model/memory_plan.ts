/**
 * Per-rank memory of T5 training (docs/scale.md, "Planning memory"), from what the native model and
 * Adafactor allocate: parameter shapes as native/torch/t5_model.cc creates them, float32 gradients,
 * Adafactor's second-moment statistics (factored as in native/torch/adafactor.cc FactoredDims), the
 * tensors the forward pass keeps for backward (counted op by op from `Model::block`, `Model::norm`,
 * `Model::core` and the loss in native/torch/t5_model.cc, with and without the block checkpointing of
 * native/torch/t5_checkpoint.cc), and the largest transient on top of them. Sharded data parallelism
 * (ZeRO-1/2/3, `training.sharding`) is modelled with the ZeRO/FSDP formulas over a partition of the
 * real parameter list by whole tensors; it is a plan for a feature that does not run yet.
 *
 * @example
 * const p = planMemory(preset('t5-v1_1-xl'), { rows: 8, inputsLength: 512, targetsLength: 114,
 *   computeDtype: 'bfloat16', gradientCheckpointing: true, dropout: 0, optimizer: {} });
 * p.perRank.total; // bytes per rank
 */
import { Ext5Error } from '../util/errors';
import type { T5Config } from './t5_config';

/** One parameter as the native model creates it (Hugging Face name, shape). */
export interface ParameterShape {
  name: string;
  shape: number[];
}

/** The parameters of a config, in the native model's order (namedParameters()). */
export function parameterShapes(c: T5Config): ParameterShape[] {
  const out: ParameterShape[] = [];
  const d = c.d_model;
  const inner = c.num_heads * c.d_kv;
  const add = (name: string, shape: number[]) => out.push({ name, shape });
  add('shared.weight', [c.vocab_size, d]);
  const stack = (prefix: string, layers: number, decoder: boolean) => {
    for (let i = 0; i < layers; i++) {
      const b = `${prefix}.block.${i}.layer.`;
      const attention = (p: string, rel: boolean) => {
        add(`${p}.q.weight`, [inner, d]);
        add(`${p}.k.weight`, [inner, d]);
        add(`${p}.v.weight`, [inner, d]);
        add(`${p}.o.weight`, [d, inner]);
        if (rel) add(`${p}.relative_attention_bias.weight`, [c.relative_attention_num_buckets, c.num_heads]);
      };
      attention(`${b}0.SelfAttention`, i === 0);
      add(`${b}0.layer_norm.weight`, [d]);
      let ff = 1;
      if (decoder) {
        attention(`${b}1.EncDecAttention`, false);
        add(`${b}1.layer_norm.weight`, [d]);
        ff = 2;
      }
      const f = `${b}${ff}.DenseReluDense.`;
      if (c.feed_forward_proj === 'gated-gelu') {
        add(`${f}wi_0.weight`, [c.d_ff, d]);
        add(`${f}wi_1.weight`, [c.d_ff, d]);
      } else {
        add(`${f}wi.weight`, [c.d_ff, d]);
      }
      add(`${f}wo.weight`, [d, c.d_ff]);
      add(`${b}${ff}.layer_norm.weight`, [d]);
    }
    add(`${prefix}.final_layer_norm.weight`, [d]);
  };
  stack('encoder', c.num_layers, false);
  stack('decoder', c.num_decoder_layers, true);
  if (!c.tie_word_embeddings) add('lm_head.weight', [c.vocab_size, d]);
  return out;
}

const numel = (shape: readonly number[]) => shape.reduce((a, b) => a * b, 1);

/** Adafactor's settings that decide its state size (lib/optim/adafactor.ts names). */
export interface AdafactorStateOptions {
  factored?: boolean;
  minDimSizeToFactor?: number;
  /** Momentum: one more float32 copy of every parameter. */
  beta1?: number | null;
}

/**
 * float32 elements of Adafactor's state for one parameter: a factored matrix keeps a row and a
 * column average of g² (over its largest and second largest dims), anything else the full g²;
 * momentum adds a full copy.
 */
export function adafactorStateElements(shape: readonly number[], o: AdafactorStateOptions = {}): number {
  const n = numel(shape);
  let state = n;
  if ((o.factored ?? true) && shape.length >= 2) {
    // The two largest dims; on a tie the later dim counts as the largest (native FactoredDims).
    const order = shape.map((s, i) => [s, i] as const).sort((a, b) => a[0] - b[0] || a[1] - b[1]);
    const d0 = order[order.length - 1]![0];
    const d1 = order[order.length - 2]![0];
    if (d1 >= (o.minDimSizeToFactor ?? 128)) state = n / d0 + n / d1;
  }
  return state + (o.beta1 !== undefined && o.beta1 !== null ? n : 0);
}

/** `training.sharding`: what each data-parallel rank keeps only its share of (ZeRO stages 1, 2, 3). */
export const SHARDING_MODES = ['none', 'optimizer', 'gradients', 'full'] as const;
export type ShardingMode = (typeof SHARDING_MODES)[number];

/**
 * Whether ext5 runs a setting: sharding `full` gathers each block's parameters inside the
 * checkpointed block, so it needs activation checkpointing; everything else runs.
 */
export function shardingRunnable(mode: ShardingMode, gradientCheckpointing: boolean): boolean {
  return mode !== 'full' || gradientCheckpointing;
}

/**
 * Greedy size-balanced partition of `sizes` over `bins` ranks by whole items: largest first, each
 * to the currently smallest bin (ties: the lowest rank). Returns the bin of each item.
 */
export function partitionBySize(sizes: readonly number[], bins: number): number[] {
  const order = sizes.map((s, i) => [s, i] as const).sort((a, b) => b[0] - a[0] || a[1] - b[1]);
  const load = new Array<number>(bins).fill(0);
  const bin = new Array<number>(sizes.length).fill(0);
  for (const [s, i] of order) {
    let best = 0;
    for (let r = 1; r < bins; r++) if (load[r]! < load[best]!) best = r;
    load[best]! += s;
    bin[i] = best;
  }
  return bin;
}

/** What one rank trains: its micro-batch and how. */
export interface PlanOptions {
  /** Rows per rank and micro-batch. */
  rows: number;
  inputsLength: number;
  targetsLength: number;
  computeDtype: 'float32' | 'bfloat16';
  gradientCheckpointing: boolean;
  /** Dropout rate; > 0 keeps a mask per dropout. */
  dropout: number;
  optimizer: AdafactorStateOptions;
  /** Data-parallel ranks (default 1). */
  worldSize?: number;
  /** What each rank keeps only its share of (default none). */
  sharding?: ShardingMode;
}

/** Bytes per rank. */
export interface PerRankBytes {
  /** float32 master weights (a rank's partition with sharding `full`). */
  parameters: number;
  /** float32 gradients (a rank's partition with sharding `gradients` or `full`). */
  gradients: number;
  /** Adafactor's float32 state (a rank's partition with any sharding). */
  optimizer: number;
  /** What the forward pass keeps for backward, the weight copies it casts or concatenates included. */
  activations: number;
  /** The largest transient on top of the activations, and the gathered block of sharding `full`. */
  workspace: number;
  total: number;
}

export interface MemoryPlan {
  /** Parameters of the model. */
  parameters: number;
  perRank: PerRankBytes;
  /** Parts of the figures above, for the report. */
  detail: {
    /** In `activations`: weight copies the forward pass keeps (bfloat16 casts, concatenated q/k/v). */
    weightCopies: number;
    /** In `workspace`: the loss's transient (the float32 logits' gradients, the output layer's weight gradient). */
    lossTransient: number;
    /** In `workspace`: a block's backward (with checkpointing: its recomputed activations too). */
    blockTransient: number;
    /** In `workspace`: one gathered block's parameters and gradients (sharding `gradients`/`full`). */
    gathered: number;
  };
  /** Whether ext5 runs these settings (sharding `full` needs gradient checkpointing). */
  runnable: boolean;
}

interface Shape {
  rows: number;
  S: number;
  T: number;
  /** Bytes per element of the compute dtype. */
  c: number;
  drop: boolean;
}

const F32 = 4;

/**
 * What a norm keeps (`Model::norm`): the float32 input, the normalised float32 copy, the rsqrt
 * statistics, and its output in the compute dtype (kept by the projection it feeds).
 */
function normKept(tokens: number, d: number, s: Shape): number {
  return 2 * tokens * d * F32 + tokens * F32 + tokens * d * s.c;
}

/** Elements of one attention's probabilities. */
const probs = (c: T5Config, s: Shape, queries: number, keys: number) => s.rows * c.num_heads * queries * keys;

/**
 * What one attention keeps (`Model::attend`, `Model::core` without SDPA): its concatenated (and cast)
 * projection weights, contiguous q/k/v, the float32 softmax output, the dropout mask and dropped
 * probabilities (or without dropout a compute-dtype copy when that is not float32), the merged heads,
 * the output weight's cast, and the residual dropout's mask.
 */
function attentionKept(c: T5Config, s: Shape, queries: number, keys: number, self: boolean): number {
  const d = c.d_model;
  const inner = c.num_heads * c.d_kv;
  const A = probs(c, s, queries, keys);
  let bytes = (self ? 3 : 2) * inner * d * s.c; // cat(q,k,v) / cat(k,v) weights
  if (!self && s.c !== F32) bytes += inner * d * s.c; // q's cast
  if (s.c !== F32) bytes += inner * d * s.c; // o's cast
  bytes += s.rows * (queries + 2 * keys) * inner * s.c; // q, k, v
  bytes += A * F32;
  if (s.drop) bytes += 2 * A * s.c;
  else if (s.c !== F32) bytes += A * s.c;
  bytes += s.rows * queries * inner * s.c; // merged heads
  if (s.drop) bytes += s.rows * queries * d * s.c;
  return bytes;
}

/** What one FFN keeps (`Model::ffn`): the weights' casts, the hidden layers (gated: both branches, GELU, product), masks. */
function ffnKept(c: T5Config, s: Shape, tokens: number): number {
  const gated = c.feed_forward_proj === 'gated-gelu';
  const H = tokens * c.d_ff * s.c;
  let bytes = s.c !== F32 ? (gated ? 3 : 2) * c.d_ff * c.d_model * s.c : 0;
  // gated: wi_0 out, GELU out, wi_1 out, and the product (or with dropout its mask and result).
  // relu: its output (with dropout also the mask and result).
  bytes += gated ? (s.drop ? 5 : 4) * H : (s.drop ? 3 : 1) * H;
  if (s.drop) bytes += tokens * c.d_model * s.c;
  return bytes;
}

/** Bytes one block keeps for backward (`Model::block`). */
function blockKept(c: T5Config, s: Shape, decoder: boolean): number {
  const L = decoder ? s.T : s.S;
  const N = s.rows * L;
  let bytes = normKept(N, c.d_model, s) + attentionKept(c, s, L, L, true);
  if (decoder) bytes += normKept(N, c.d_model, s) + attentionKept(c, s, L, s.S, false);
  return bytes + normKept(N, c.d_model, s) + ffnKept(c, s, N);
}

/** Weight copies in {@link blockKept}: the bfloat16 casts, or in float32 the concatenated projections. */
function blockWeightCopies(c: T5Config, s: Shape, decoder: boolean): number {
  const d = c.d_model;
  const inner = c.num_heads * c.d_kv;
  if (s.c === F32) return (decoder ? 5 : 3) * inner * d * F32;
  const ff = (c.feed_forward_proj === 'gated-gelu' ? 3 : 2) * c.d_ff * d;
  return ((decoder ? 8 : 4) * inner * d + ff) * s.c;
}

/**
 * The transient of one block's backward on top of what the step keeps: the gradient of the
 * stack's self-attention bias (float32 [rows, heads, L, L]), which accumulates over its blocks, the
 * FFN's hidden-layer gradients (gated: three of them at once, relu: two), and the largest weight
 * gradient before it is added to `.grad` (and its float32 cast under bfloat16). The attention's own
 * gradients reuse what its kept tensors free as backward passes them (measured: docs/scale.md).
 */
function blockBackward(c: T5Config, s: Shape, decoder: boolean): number {
  const L = decoder ? s.T : s.S;
  const N = s.rows * L;
  const ffn = (c.feed_forward_proj === 'gated-gelu' ? 3 : 2) * N * c.d_ff * s.c;
  const weightGrad = c.d_ff * c.d_model * (s.c + (s.c !== F32 ? F32 : 0));
  return probs(c, s, L, L) * F32 + ffn + weightGrad;
}

/** Parameters of one sharding unit (a block, or a large tensor outside the blocks) by name. */
function unitOf(name: string): string {
  const m = /^(encoder|decoder)\.block\.(\d+)\./.exec(name);
  return m ? `${m[1]}.${m[2]}` : name;
}

/** Estimated memory of one rank training a T5 of config `c` with Adafactor. */
export function planMemory(c: T5Config, o: PlanOptions): MemoryPlan {
  const world = o.worldSize ?? 1;
  const sharding = o.sharding ?? 'none';
  const shapes = parameterShapes(c);
  const sizes = shapes.map((p) => numel(p.shape));
  const parameters = sizes.reduce((a, b) => a + b, 0);
  const state = shapes.map((p) => adafactorStateElements(p.shape, o.optimizer));

  // Sharding: each rank keeps the tensors of its bin of a size-balanced partition; the figures are
  // those of the largest bin, per quantity.
  const bins = sharding === 'none' || world === 1 ? 1 : world;
  const bin = partitionBySize(sizes, bins);
  const largest = (per: readonly number[]) => {
    const sum = new Array<number>(bins).fill(0);
    per.forEach((v, i) => {
      sum[bin[i]!]! += v;
    });
    return Math.max(...sum);
  };
  const paramShare = sharding === 'full' ? largest(sizes) : parameters;
  const gradShare = sharding === 'full' || sharding === 'gradients' ? largest(sizes) : parameters;
  const stateShare = sharding === 'none' ? state.reduce((a, b) => a + b, 0) : largest(state);

  const s: Shape = {
    rows: o.rows,
    S: o.inputsLength,
    T: o.targetsLength,
    c: o.computeDtype === 'bfloat16' ? 2 : 4,
    drop: o.dropout > 0,
  };
  const d = c.d_model;
  const V = c.vocab_size;
  const Ne = s.rows * s.S;
  const Nd = s.rows * s.T;
  const D = s.drop ? 1 : 0;
  const logits = Nd * V * F32;
  // Outside the blocks: the embeddings' dropout masks, the final norms (the encoder's output is
  // kept by every cross-attention, the decoder's by the output layer), the output layer's weight
  // cast, and the float32 log-softmax of the logits.
  const outputWeightCopy = s.c !== F32 ? V * d * s.c : 0;
  const outside =
    D * (Ne + Nd) * d * s.c +
    2 * Ne * d * F32 +
    Ne * d * s.c * (1 + D) +
    2 * Nd * d * F32 +
    Nd * d * s.c * (1 + D) +
    outputWeightCopy +
    logits;
  const enc = blockKept(c, s, false);
  const dec = blockKept(c, s, true);
  // The loss's backward: the gradients of the gather and of the log-softmax (float32 logits), the
  // compute-dtype gradient of the output layer, and its weight gradient before it reaches `.grad`.
  const lossTransient =
    2 * logits + (s.c !== F32 ? Nd * V * s.c : 0) + V * d * (s.c + (s.c !== F32 ? F32 : 0));
  let activations: number;
  let weightCopies: number;
  let blockTransient: number;
  if (o.gradientCheckpointing) {
    // Kept: every block's input, the two stacks' self-attention biases (float32 [rows, heads, L, L])
    // and the cross-attention mask; during backward one block at a time is recomputed in full.
    const biases = s.rows * c.num_heads * (s.S * s.S + s.T * s.T) * F32 + s.rows * s.S * F32;
    activations = (c.num_layers * Ne + c.num_decoder_layers * Nd) * d * s.c + biases + outside;
    weightCopies = outputWeightCopy;
    // During backward one block is recomputed in full; its backward frees what it recomputed as it
    // goes, and hands back the gradient of its self-attention bias (float32) to accumulate.
    const again = (decoder: boolean) =>
      blockKept(c, s, decoder) + probs(c, s, decoder ? s.T : s.S, decoder ? s.T : s.S) * F32;
    blockTransient = Math.max(
      c.num_layers > 0 ? again(false) : 0,
      c.num_decoder_layers > 0 ? again(true) : 0,
    );
  } else {
    activations = c.num_layers * enc + c.num_decoder_layers * dec + outside;
    weightCopies =
      c.num_layers * blockWeightCopies(c, s, false) +
      c.num_decoder_layers * blockWeightCopies(c, s, true) +
      outputWeightCopy;
    blockTransient = Math.max(blockBackward(c, s, false), blockBackward(c, s, true));
  }
  // ZeRO-2/3: a block's full gradients exist until they are reduce-scattered; ZeRO-3 also gathers
  // the block's full parameters for its forward and backward. The unit is the largest block (or a
  // tensor outside the blocks, the embedding).
  let gathered = 0;
  if (bins > 1 && (sharding === 'gradients' || sharding === 'full')) {
    const units = new Map<string, number>();
    shapes.forEach((p, i) => {
      units.set(unitOf(p.name), (units.get(unitOf(p.name)) ?? 0) + sizes[i]!);
    });
    const unit = Math.max(...units.values());
    gathered = unit * F32 * (sharding === 'full' ? 2 : 1);
  }
  const workspace = Math.max(lossTransient, blockTransient) + gathered;
  const perRank: PerRankBytes = {
    parameters: paramShare * F32,
    gradients: gradShare * F32,
    optimizer: stateShare * F32,
    activations,
    workspace,
    total: 0,
  };
  perRank.total =
    perRank.parameters + perRank.gradients + perRank.optimizer + perRank.activations + perRank.workspace;
  return {
    parameters,
    perRank,
    detail: { weightCopies, lossTransient, blockTransient, gathered },
    runnable: shardingRunnable(sharding, o.gradientCheckpointing),
  };
}

/** One setting `suggest` tries, cheapest first. */
export interface PlanSetting {
  sharding: ShardingMode;
  gradientCheckpointing: boolean;
}

/**
 * The settings in order of cost. Sharding the optimizer state or the gradients moves the same
 * bytes as data parallelism's all-reduce (a reduce-scatter plus an all-gather); sharding the
 * parameters adds an all-gather in forward and backward (1.5× the traffic), which overlaps with
 * compute within a node; checkpointing adds a forward pass of every block (about 1.35× the step
 * time, measured in docs/scale.md). So every sharding without checkpointing comes first.
 */
export function settingsByCost(worldSize: number): PlanSetting[] {
  const modes: ShardingMode[] = worldSize > 1 ? [...SHARDING_MODES] : ['none'];
  return [false, true].flatMap((gradientCheckpointing) =>
    modes.map((sharding) => ({ sharding, gradientCheckpointing })),
  );
}

export interface PlanSuggestion extends PlanSetting {
  total: number;
  runnable: boolean;
}

/**
 * The cheapest setting whose total fits `deviceBytes`, and the cheapest runnable one (sharding
 * `full` runs with checkpointing only), at the batch of `o`; null where none fits.
 */
export function suggestSettings(
  c: T5Config,
  o: PlanOptions,
  deviceBytes: number,
): { cheapest: PlanSuggestion | null; cheapestRunnable: PlanSuggestion | null } {
  const fitting = settingsByCost(o.worldSize ?? 1)
    .map((st) => {
      const p = planMemory(c, { ...o, ...st });
      return { ...st, total: p.perRank.total, runnable: p.runnable };
    })
    .filter((x) => x.total <= deviceBytes);
  return { cheapest: fitting[0] ?? null, cheapestRunnable: fitting.find((x) => x.runnable) ?? null };
}

const UNITS: Record<string, bigint> = {
  B: 1n,
  kB: 10n ** 3n,
  KB: 10n ** 3n,
  MB: 10n ** 6n,
  GB: 10n ** 9n,
  TB: 10n ** 12n,
  KiB: 2n ** 10n,
  MiB: 2n ** 20n,
  GiB: 2n ** 30n,
  TiB: 2n ** 40n,
};

/**
 * A memory size with its unit, exactly: decimal (kB, MB, GB, TB: powers of 1000) or binary (KiB,
 * MiB, GiB, TiB: powers of 1024), a whole or decimal number that must come to whole bytes.
 *
 * @example
 * parseByteSize('80GB');     // 80000000000
 * parseByteSize('80GiB');    // 85899345920
 * parseByteSize('81920MiB'); // 85899345920
 * @throws Ext5Error EXT5_INVALID_ARG for anything else.
 */
export function parseByteSize(text: string, what = 'size'): number {
  const m = /^\s*(\d+)(?:\.(\d+))?\s*([A-Za-z]+)\s*$/.exec(text);
  const unit = m ? UNITS[m[3]!] : undefined;
  const units = Object.keys(UNITS).join(', ');
  if (!m || unit === undefined) {
    throw new Ext5Error(
      'EXT5_INVALID_ARG',
      `${what}: '${text}' is not a size with a unit`,
      `write a number and one of ${units}, e.g. 80GB (80·10⁹ bytes) or 80GiB (80·2³⁰ bytes)`,
    );
  }
  const frac = m[2] ?? '';
  const scaled = BigInt(m[1]! + frac) * unit;
  const div = 10n ** BigInt(frac.length);
  if (scaled % div !== 0n) {
    throw new Ext5Error(
      'EXT5_INVALID_ARG',
      `${what}: '${text}' is not a whole number of bytes`,
      'give fewer decimals or a smaller unit',
    );
  }
  const bytes = scaled / div;
  if (bytes <= 0n || bytes > BigInt(Number.MAX_SAFE_INTEGER)) {
    throw new Ext5Error(
      'EXT5_INVALID_ARG',
      `${what}: '${text}' is out of range`,
      `give a size above 0 and below ${Number.MAX_SAFE_INTEGER} bytes`,
    );
  }
  return Number(bytes);
}
