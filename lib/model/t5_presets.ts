/**
 * Named T5 configurations: the public T5 v1.0 and T5.1.1 sizes (T5 paper §3.7; T5.1.1 in the t5 repository's
 * released_checkpoints.md; matching the Hugging Face hub configs `t5-*` and `google/t5-v1_1-*`), and a tiny
 * one for tests.
 */
import { didYouMean, Ext5Error } from '../util/errors';
import { type T5Config, validateConfig } from './t5_config';

type Size = { d_model: number; layers: number; d_ff: number; heads: number; d_kv?: number };

// T5 v1.0: ReLU FFN, tied embeddings, dropout 0.1, vocab 32128.
const V1_0: Record<string, Size> = {
  small: { d_model: 512, layers: 6, d_ff: 2048, heads: 8 },
  base: { d_model: 768, layers: 12, d_ff: 3072, heads: 12 },
  large: { d_model: 1024, layers: 24, d_ff: 4096, heads: 16 },
  xl: { d_model: 1024, layers: 24, d_ff: 16384, heads: 32, d_kv: 128 }, // the hub's t5-3b
  xxl: { d_model: 1024, layers: 24, d_ff: 65536, heads: 128, d_kv: 128 }, // the hub's t5-11b
};

// T5.1.1: gated-GELU FFN, untied lm_head, no pre-training dropout.
const V1_1: Record<string, Size> = {
  small: { d_model: 512, layers: 8, d_ff: 1024, heads: 6 },
  base: { d_model: 768, layers: 12, d_ff: 2048, heads: 12 },
  large: { d_model: 1024, layers: 24, d_ff: 2816, heads: 16 },
  xl: { d_model: 2048, layers: 24, d_ff: 5120, heads: 32 },
  xxl: { d_model: 4096, layers: 24, d_ff: 10240, heads: 64 },
};

function make(s: Size, v11: boolean): T5Config {
  return validateConfig({
    vocab_size: 32128,
    d_model: s.d_model,
    d_kv: s.d_kv ?? 64,
    d_ff: s.d_ff,
    num_layers: s.layers,
    num_decoder_layers: s.layers,
    num_heads: s.heads,
    relative_attention_num_buckets: 32,
    relative_attention_max_distance: 128,
    dropout_rate: 0.1,
    layer_norm_epsilon: 1e-6,
    feed_forward_proj: v11 ? 'gated-gelu' : 'relu',
    tie_word_embeddings: !v11,
    pad_token_id: 0,
    eos_token_id: 1,
    decoder_start_token_id: 0,
  });
}

const TINY: Record<string, unknown> = {
  vocab_size: 128,
  d_model: 32,
  d_kv: 8,
  d_ff: 64,
  num_layers: 2,
  num_heads: 4,
  dropout_rate: 0,
};

/** Builds every preset afresh (callers may mutate what they get). */
function table(): Record<string, () => T5Config> {
  const t: Record<string, () => T5Config> = {};
  for (const [k, s] of Object.entries(V1_0)) t[`t5-${k}`] = () => make(s, false);
  for (const [k, s] of Object.entries(V1_1)) t[`t5-v1_1-${k}`] = () => make(s, true);
  // Test sizes: d_model 32, 2 layers, 4 heads of 8, d_ff 64, vocab 128, no dropout.
  t['t5-tiny'] = () => validateConfig({ ...TINY });
  t['t5-v1_1-tiny'] = () =>
    validateConfig({ ...TINY, feed_forward_proj: 'gated-gelu', tie_word_embeddings: false });
  return t;
}

/** Names of the presets. */
export function presetNames(): string[] {
  return Object.keys(table());
}

/**
 * The config of a named preset.
 *
 * @example
 * preset('t5-v1_1-small').d_ff; // 1024
 * @throws Ext5Error EXT5_UNKNOWN_PRESET with the closest name.
 */
export function preset(name: string): T5Config {
  const t = table();
  const f = t[name];
  if (!f) {
    throw new Ext5Error(
      'EXT5_UNKNOWN_PRESET',
      `unknown T5 preset '${name}'${didYouMean(name, Object.keys(t))}`,
      `presets: ${Object.keys(t).join(', ')}`,
    );
  }
  return f();
}
