/**
 * Per-rank memory of T5 training, from the formulas of what the model and Adafactor allocate
 * (docs/scale.md, "Planning memory"): parameter shapes as native/torch/t5_model.cc creates them,
 * float32 gradients, Adafactor's second-moment statistics (factored as in native/torch/adafactor.cc
 * FactoredDims), and the activations a training step keeps for backward, counted tensor by tensor
 * from the forward pass in native/torch/t5_model.cc, with and without activation checkpointing.
 * Estimates, not measurements: bench/checkpointing.ts measures the real peak on the CPU.
 *
 * @example
 * const p = planMemory(preset('t5-v1_1-xl'), { rows: 8, inputsLength: 512, targetsLength: 114,
 *   computeDtype: 'bfloat16', gradientCheckpointing: true, dropout: 0, optimizer: {} });
 * p.totalBytes; // per rank
 */
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
}

export interface MemoryPlan {
  parameters: number;
  parameterBytes: number;
  gradientBytes: number;
  optimizerBytes: number;
  /** Tensors kept for backward at the end of the forward pass. */
  activationBytes: number;
  /** The largest extra during backward: the logits' gradients, and with checkpointing one block's recomputed activations. */
  backwardPeakBytes: number;
  totalBytes: number;
}

/**
 * Bytes one block keeps for backward (forward of native/torch/t5_model.cc, `Model::block`): per
 * norm the float32 input and normalised copy; per attention the projections' inputs, q/k/v, the
 * float32 probabilities, the dropout mask and dropped probabilities, the merged heads; per FFN
 * its input and hidden activations (gated: both branches, the GELU output and their product).
 */
function blockBytes(
  c: T5Config,
  o: PlanOptions,
  rowsTokens: number,
  cross: { keyTokens: number } | null,
): { bytes: number; hidden: number } {
  const b = o.computeDtype === 'bfloat16' ? 2 : 4;
  const f = 4;
  const drop = o.dropout > 0;
  const d = c.d_model;
  const inner = c.num_heads * c.d_kv;
  const N = o.rows * rowsTokens;
  const norm = 2 * N * d * f + N * f;
  const attention = (queries: number, keys: number) => {
    const A = o.rows * c.num_heads * queries * keys; // probabilities
    const kv = o.rows * keys * inner * 2 * b;
    let bytes = o.rows * queries * d * b + o.rows * queries * inner * b + kv; // input, q, k, v
    bytes += A * f; // float32 softmax output
    if (b !== f) bytes += A * b; // probabilities in the compute dtype
    if (drop) bytes += 2 * A * b; // mask and dropped probabilities
    bytes += o.rows * queries * inner * b; // merged heads, input of o
    if (drop) bytes += o.rows * queries * d * b; // mask of the residual dropout
    return bytes;
  };
  const T = rowsTokens;
  let bytes = norm + attention(T, T);
  if (cross) bytes += norm + attention(T, cross.keyTokens);
  const H = N * c.d_ff * b;
  const gated = c.feed_forward_proj === 'gated-gelu';
  bytes += norm + N * d * b + (gated ? 4 * H : H) + (drop ? 2 * H + N * d * b : 0);
  return { bytes, hidden: N * d * b };
}

/** Estimated memory of one rank training a T5 of config `c` with Adafactor. */
export function planMemory(c: T5Config, o: PlanOptions): MemoryPlan {
  const shapes = parameterShapes(c);
  const parameters = shapes.reduce((a, p) => a + numel(p.shape), 0);
  const optimizerElements = shapes.reduce((a, p) => a + adafactorStateElements(p.shape, o.optimizer), 0);
  const f = 4;
  const S = o.inputsLength;
  const T = o.targetsLength;
  const enc = blockBytes(c, o, S, null);
  const dec = blockBytes(c, o, T, { keyTokens: S });
  const logits = o.rows * T * c.vocab_size * f;
  // Outside the blocks: the final norms, the encoder output, the logits' log-softmax.
  const outside = 2 * o.rows * (S + T) * c.d_model * f + enc.hidden + logits;
  let activationBytes: number;
  let recompute = 0;
  if (o.gradientCheckpointing) {
    const biases = o.rows * c.num_heads * (S * S + T * T) * f; // the stacks' attention biases
    activationBytes = c.num_layers * enc.hidden + c.num_decoder_layers * dec.hidden + biases + outside;
    // During backward one block exists again, with the gradients of its tensors.
    recompute = 2 * Math.max(enc.bytes, dec.bytes);
  } else {
    activationBytes = c.num_layers * enc.bytes + c.num_decoder_layers * dec.bytes + outside;
  }
  const backwardPeakBytes = 2 * logits + recompute;
  const parameterBytes = parameters * f;
  const gradientBytes = parameters * f;
  const optimizerBytes = optimizerElements * f;
  return {
    parameters,
    parameterBytes,
    gradientBytes,
    optimizerBytes,
    activationBytes,
    backwardPeakBytes,
    totalBytes: parameterBytes + gradientBytes + optimizerBytes + activationBytes + backwardPeakBytes,
  };
}
