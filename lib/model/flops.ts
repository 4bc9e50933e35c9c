/**
 * Floating-point operations of a T5 encoder-decoder, counted per stack: the one count that every
 * benchmark and report in ext5 uses for FLOP/s and MFU (bench/gpu/ext5_side.ts hands it to the
 * Python side in its batch file, so transformers' figures use the same number).
 *
 * A matmul of an [n, a] activation with an [a, b] weight costs 2·n·a·b FLOPs (a multiply and an
 * add per weight per token). What is counted, per example, with S input and T target tokens:
 *   encoder     every encoder layer's Q, K, V, O projections (4·d_model·inner) and feed-forward
 *               (2·d_model·d_ff, or 3·d_model·d_ff gated) on the S encoder tokens;
 *   decoder     every decoder layer's self-attention Q, K, V, O, cross-attention Q and O, and
 *               feed-forward on the T decoder tokens;
 *   crossKv     every decoder layer's cross-attention K and V projections, on the S encoder
 *               tokens (the encoder output is projected once per layer, not once per target;
 *               none when T is 0);
 *   lmHead      d_model·vocab on the T decoder tokens;
 *   attention   the score and value products Q·Kᵀ and A·V: encoder self-attention S·S, decoder
 *               self-attention T·T (the full square: the causal mask is applied to a dense
 *               product, nothing is skipped), cross-attention T·S; each 2·inner FLOPs per pair.
 * Not counted: the embedding lookup (a gather, not a matmul), the relative position bias, layer
 * norms, softmax, activations, dropout and the loss (elementwise, a few percent at most).
 * Training is 3 × forward: the backward pass computes two matmuls (activation and weight
 * gradients) for each forward one, so 6 FLOPs per weight per token; inference is 1 × forward.
 * Padding positions are computed and so counted: S and T are the padded lengths.
 */
import { Ext5Error } from '../util/errors';
import type { T5Config } from './t5_config';

/** The config keys the count reads (a full T5Config fits). */
export type T5FlopConfig = Pick<
  T5Config,
  'vocab_size' | 'd_model' | 'd_kv' | 'd_ff' | 'num_layers' | 'num_heads' | 'feed_forward_proj'
> & { num_decoder_layers?: number };

/** Forward FLOPs of one batch, per component (see the file header), and their totals. */
export interface T5FlopCount {
  encoder: number;
  decoder: number;
  crossKv: number;
  lmHead: number;
  encoderAttention: number;
  decoderSelfAttention: number;
  crossAttention: number;
  /** Sum of the components: one forward pass. */
  forward: number;
  /** One training step: forward and backward, 3 × forward. */
  training: number;
}

export interface T5FlopShape {
  /** Encoder tokens per example (padded length). */
  inputLength: number;
  /** Decoder tokens per example (padded length). */
  targetLength: number;
  /** Examples in the batch (default 1). */
  batchSize?: number;
}

function positiveInt(where: string, v: unknown, min: number): number {
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < min) {
    throw new Ext5Error(
      'EXT5_FLOPS_INPUT',
      `t5Flops: '${where}' must be an integer >= ${min}, got ${JSON.stringify(v)}`,
    );
  }
  return v;
}

/**
 * FLOPs of a T5 forward pass and training step on a batch of `batchSize` examples of
 * `inputLength` encoder and `targetLength` decoder tokens.
 *
 * @example
 * t5Flops(preset('t5-v1_1-base'), { inputLength: 512, targetLength: 114 }).training; // ≈ 4.26e11
 * @throws Ext5Error EXT5_FLOPS_INPUT when a size is not a positive integer (zero lengths allowed).
 */
export function t5Flops(config: T5FlopConfig, shape: T5FlopShape): T5FlopCount {
  const d = positiveInt('d_model', config.d_model, 1);
  const inner = positiveInt('num_heads', config.num_heads, 1) * positiveInt('d_kv', config.d_kv, 1);
  const dff = positiveInt('d_ff', config.d_ff, 1);
  const vocab = positiveInt('vocab_size', config.vocab_size, 1);
  const le = positiveInt('num_layers', config.num_layers, 0);
  const ld = positiveInt('num_decoder_layers', config.num_decoder_layers ?? config.num_layers, 0);
  if (config.feed_forward_proj !== 'relu' && config.feed_forward_proj !== 'gated-gelu') {
    throw new Ext5Error(
      'EXT5_FLOPS_INPUT',
      `t5Flops: 'feed_forward_proj' must be 'relu' or 'gated-gelu', got ${JSON.stringify(config.feed_forward_proj)}`,
    );
  }
  const S = positiveInt('inputLength', shape.inputLength, 0);
  const T = positiveInt('targetLength', shape.targetLength, 0);
  const B = positiveInt('batchSize', shape.batchSize ?? 1, 1);

  // Weights (multiply-adds per token) of each matmul group.
  const attnProj = 4 * d * inner; // Q, K, V, O
  const ffn = (config.feed_forward_proj === 'gated-gelu' ? 3 : 2) * d * dff;
  const crossQo = 2 * d * inner;
  const crossKv = 2 * d * inner;

  const c = {
    encoder: 2 * B * S * le * (attnProj + ffn),
    decoder: 2 * B * T * ld * (attnProj + crossQo + ffn),
    // The encoder output is projected only when a decoder runs.
    crossKv: T > 0 ? 2 * B * S * ld * crossKv : 0,
    lmHead: 2 * B * T * d * vocab,
    // Q·Kᵀ and A·V: 2 products × inner multiply-adds per (query, key) pair × 2 FLOPs each.
    encoderAttention: 2 * 2 * B * le * S * S * inner,
    decoderSelfAttention: 2 * 2 * B * ld * T * T * inner,
    crossAttention: 2 * 2 * B * ld * T * S * inner,
  };
  const forward =
    c.encoder +
    c.decoder +
    c.crossKv +
    c.lmHead +
    c.encoderAttention +
    c.decoderSelfAttention +
    c.crossAttention;
  return { ...c, forward, training: 3 * forward };
}
