/**
 * T5 configuration with the Hugging Face `config.json` keys (T5Config in transformers), and its
 * validation. A config read from a file keeps any extra keys (architectures, model_type, ...) so
 * that a checkpoint written back stays loadable by transformers.
 */
import { closestName, Ext5Error } from '../util/errors';

/** Hugging Face T5 config keys that ext5 reads (others are kept as they are). */
export interface T5Config {
  vocab_size: number;
  d_model: number;
  d_kv: number;
  d_ff: number;
  num_layers: number;
  num_decoder_layers: number;
  num_heads: number;
  relative_attention_num_buckets: number;
  relative_attention_max_distance: number;
  dropout_rate: number;
  layer_norm_epsilon: number;
  feed_forward_proj: 'relu' | 'gated-gelu';
  tie_word_embeddings: boolean;
  pad_token_id: number;
  eos_token_id: number;
  decoder_start_token_id: number;
  [extra: string]: unknown;
}

/** Keys every config must give (the rest have Hugging Face's T5Config defaults). */
export const REQUIRED_KEYS = ['vocab_size', 'd_model', 'd_kv', 'd_ff', 'num_layers', 'num_heads'] as const;

/** Hugging Face T5Config defaults for the optional keys. */
export const CONFIG_DEFAULTS = {
  relative_attention_num_buckets: 32,
  relative_attention_max_distance: 128,
  dropout_rate: 0.1,
  layer_norm_epsilon: 1e-6,
  feed_forward_proj: 'relu',
  tie_word_embeddings: true,
  pad_token_id: 0,
  eos_token_id: 1,
  decoder_start_token_id: 0,
} as const;

const KNOWN_KEYS = [...REQUIRED_KEYS, 'num_decoder_layers', ...Object.keys(CONFIG_DEFAULTS)];

function fail(where: string, message: string, hint?: string): never {
  throw new Ext5Error('EXT5_CONFIG', `${where}: ${message}`, hint);
}

function int(where: string, o: Record<string, unknown>, key: string, min: number): number {
  const v = o[key];
  if (typeof v !== 'number' || !Number.isInteger(v)) {
    fail(where, `'${key}' must be an integer, got ${JSON.stringify(v)}`);
  }
  if (v < min) fail(where, `'${key}' must be >= ${min}, got ${v}`);
  return v;
}

/**
 * Validates a Hugging Face style T5 config object and fills in the defaults.
 * `where` names the source in error messages (a file path, or 'config').
 *
 * @example
 * const cfg = validateConfig({ vocab_size: 128, d_model: 32, d_kv: 8, d_ff: 64, num_layers: 2, num_heads: 4 });
 * cfg.num_decoder_layers; // 2 (defaults to num_layers)
 * @throws Ext5Error EXT5_CONFIG naming the key and the fix.
 */
export function validateConfig(raw: unknown, where = 'config'): T5Config {
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) {
    fail(where, 'a T5 config must be a JSON object with Hugging Face keys (d_model, num_layers, ...)');
  }
  const o = raw as Record<string, unknown>;
  for (const key of REQUIRED_KEYS) {
    if (o[key] === undefined || o[key] === null) {
      const near = closestName(
        key,
        Object.keys(o).filter((k) => !KNOWN_KEYS.includes(k)),
      );
      fail(
        where,
        `missing required key '${key}'${near ? ` (is '${near}' a misspelling of it?)` : ''}`,
        `a T5 config needs ${REQUIRED_KEYS.join(', ')}; start from a preset (e.g. t5-v1_1-small)`,
      );
    }
  }
  const cfg: Record<string, unknown> = { ...CONFIG_DEFAULTS, ...o };
  for (const [k, v] of Object.entries(o))
    if (v === null || v === undefined) cfg[k] = (CONFIG_DEFAULTS as Record<string, unknown>)[k];
  const c = cfg as T5Config;
  c.vocab_size = int(where, cfg, 'vocab_size', 2);
  c.d_model = int(where, cfg, 'd_model', 1);
  c.d_kv = int(where, cfg, 'd_kv', 1);
  c.d_ff = int(where, cfg, 'd_ff', 1);
  c.num_layers = int(where, cfg, 'num_layers', 1);
  c.num_heads = int(where, cfg, 'num_heads', 1);
  if (cfg.num_decoder_layers === undefined || cfg.num_decoder_layers === null)
    c.num_decoder_layers = c.num_layers;
  c.num_decoder_layers = int(where, cfg, 'num_decoder_layers', 1);
  c.relative_attention_num_buckets = int(where, cfg, 'relative_attention_num_buckets', 2);
  c.relative_attention_max_distance = int(where, cfg, 'relative_attention_max_distance', 1);
  if (c.relative_attention_max_distance <= c.relative_attention_num_buckets / 4) {
    fail(where, "'relative_attention_max_distance' must exceed relative_attention_num_buckets / 4");
  }
  for (const key of ['pad_token_id', 'eos_token_id', 'decoder_start_token_id'] as const) {
    c[key] = int(where, cfg, key, 0);
    if (c[key] >= c.vocab_size) fail(where, `'${key}' (${c[key]}) must be < vocab_size (${c.vocab_size})`);
  }
  const dr = cfg.dropout_rate;
  if (typeof dr !== 'number' || !(dr >= 0 && dr < 1))
    fail(where, `'dropout_rate' must be in [0, 1), got ${JSON.stringify(dr)}`);
  const eps = cfg.layer_norm_epsilon;
  if (typeof eps !== 'number' || !(eps > 0 && eps < 1)) {
    fail(where, `'layer_norm_epsilon' must be in (0, 1), got ${JSON.stringify(eps)}`);
  }
  if (cfg.feed_forward_proj !== 'relu' && cfg.feed_forward_proj !== 'gated-gelu') {
    fail(
      where,
      `'feed_forward_proj' must be "relu" (T5 v1.0) or "gated-gelu" (T5.1.1), got ${JSON.stringify(cfg.feed_forward_proj)}`,
    );
  }
  if (typeof cfg.tie_word_embeddings !== 'boolean') {
    fail(
      where,
      `'tie_word_embeddings' must be true or false, got ${JSON.stringify(cfg.tie_word_embeddings)}`,
    );
  }
  return c;
}

/**
 * The config.json to write beside a checkpoint: the validated keys plus the markers that
 * transformers reads to pick the class.
 */
export function toHuggingFaceJson(cfg: T5Config): Record<string, unknown> {
  return {
    architectures: ['T5ForConditionalGeneration'],
    model_type: 't5',
    is_encoder_decoder: true,
    ...cfg,
  };
}
