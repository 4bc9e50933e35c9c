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
  /** lm_head is shared.weight (true) or a matrix of its own, lm_head.weight (false). */
  tie_word_embeddings: boolean;
  /** The decoder output is multiplied by d_model^-0.5 before lm_head (T5 v1.0). */
  scale_decoder_outputs: boolean;
  pad_token_id: number;
  eos_token_id: number;
  decoder_start_token_id: number;
  [extra: string]: unknown;
}

/** How transformers 5's T5Config types a key; 'float' keys are always written with a decimal point. */
export type ConfigFieldType = 'int' | 'float' | 'bool' | 'string';

interface ConfigField {
  type: ConfigFieldType;
  /** transformers' default, filled in by validateConfig (absent: required, derived, or not read by ext5). */
  default?: number | string | boolean;
}

/**
 * The keys of transformers 5's T5Config (src/transformers/models/t5/configuration_t5.py, a strict
 * dataclass that refuses an int where a float is declared) with their types and defaults: the one
 * declaration that validateConfig reads and configJson writes from. Keys without a default are
 * required (the six sizes), derived (num_decoder_layers = num_layers, scale_decoder_outputs =
 * tie_word_embeddings) or kept only when given (initializer_factor, classifier_dropout, ...: ext5
 * does not read them, but writes them with their type).
 */
export const T5_CONFIG_FIELDS = {
  vocab_size: { type: 'int' },
  d_model: { type: 'int' },
  d_kv: { type: 'int' },
  d_ff: { type: 'int' },
  num_layers: { type: 'int' },
  num_heads: { type: 'int' },
  num_decoder_layers: { type: 'int' },
  relative_attention_num_buckets: { type: 'int', default: 32 },
  relative_attention_max_distance: { type: 'int', default: 128 },
  dropout_rate: { type: 'float', default: 0.1 },
  layer_norm_epsilon: { type: 'float', default: 1e-6 },
  initializer_factor: { type: 'float' },
  classifier_dropout: { type: 'float' },
  feed_forward_proj: { type: 'string', default: 'relu' },
  tie_word_embeddings: { type: 'bool', default: true },
  scale_decoder_outputs: { type: 'bool' },
  pad_token_id: { type: 'int', default: 0 },
  eos_token_id: { type: 'int', default: 1 },
  decoder_start_token_id: { type: 'int', default: 0 },
  is_encoder_decoder: { type: 'bool' },
  is_decoder: { type: 'bool' },
  use_cache: { type: 'bool' },
} as const satisfies Record<string, ConfigField>;

type FieldName = keyof typeof T5_CONFIG_FIELDS;

/** Keys every config must give (the rest have Hugging Face's T5Config defaults). */
export const REQUIRED_KEYS = ['vocab_size', 'd_model', 'd_kv', 'd_ff', 'num_layers', 'num_heads'] as const;

/** Hugging Face T5Config defaults for the optional keys that ext5 reads. */
export const CONFIG_DEFAULTS: Readonly<Record<string, number | string | boolean>> = Object.freeze(
  Object.fromEntries(
    Object.entries(T5_CONFIG_FIELDS as Record<string, ConfigField>)
      .filter(([, f]) => f.default !== undefined)
      .map(([k, f]) => [k, f.default as number | string | boolean]),
  ),
);

const KNOWN_KEYS: string[] = Object.keys(T5_CONFIG_FIELDS);

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
  // transformers 4.x had no such key: tie_word_embeddings decided the rescale too.
  if (cfg.scale_decoder_outputs === undefined || cfg.scale_decoder_outputs === null)
    c.scale_decoder_outputs = c.tie_word_embeddings;
  for (const [key, f] of Object.entries(T5_CONFIG_FIELDS) as Array<[FieldName, ConfigField]>) {
    const v = cfg[key];
    if (v === undefined || v === null) continue;
    const ok =
      f.type === 'bool'
        ? typeof v === 'boolean'
        : f.type === 'string'
          ? typeof v === 'string'
          : typeof v === 'number' && Number.isFinite(v);
    if (!ok)
      fail(
        where,
        `'${key}' must be ${f.type === 'bool' ? 'true or false' : `a ${f.type}`}, got ${JSON.stringify(v)}`,
      );
  }
  checkDtypeKeys(cfg, where);
  return c;
}

/**
 * The stored dtype of the weights: transformers 5 reads "dtype", 4.x (before 4.56) "torch_dtype";
 * either is accepted, and a config whose two keys disagree is refused.
 * @throws Ext5Error EXT5_CONFIG naming both values.
 */
function checkDtypeKeys(cfg: Record<string, unknown>, where: string): void {
  const a = cfg.dtype;
  const b = cfg.torch_dtype;
  for (const [k, v] of [
    ['dtype', a],
    ['torch_dtype', b],
  ] as const) {
    if (v !== undefined && v !== null && typeof v !== 'string')
      fail(where, `'${k}' must be a dtype name such as "float32", got ${JSON.stringify(v)}`);
  }
  if (typeof a === 'string' && typeof b === 'string' && a !== b) {
    fail(
      where,
      `"dtype" is ${JSON.stringify(a)} but "torch_dtype" is ${JSON.stringify(b)}`,
      'transformers 5 reads "dtype" and 4.x "torch_dtype": give one dtype (or both with the same value)',
    );
  }
}

/** A number as a JSON float literal: integral values get ".0" (JSON.stringify writes 1.0 as 1). */
function floatLiteral(v: number): string {
  const s = JSON.stringify(v);
  return /[.eE]/.test(s) ? s : `${s}.0`;
}

/**
 * config.json text (2-space indent, newline at the end) that writes every float-typed key of
 * T5_CONFIG_FIELDS with a decimal point ("initializer_factor": 1.0, not 1): transformers 5's
 * strict T5Config refuses an int where it declares a float. Keys whose value is undefined are left
 * out, as JSON.stringify does.
 *
 * @example
 * configJsonText({ d_model: 8, initializer_factor: 1, dropout_rate: 0 });
 * // '{\n  "d_model": 8,\n  "initializer_factor": 1.0,\n  "dropout_rate": 0.0\n}\n'
 */
export function configJsonText(config: Record<string, unknown>): string {
  const fields = T5_CONFIG_FIELDS as Record<string, ConfigField>;
  const lines = Object.entries(config)
    .filter(([, v]) => v !== undefined && typeof v !== 'function')
    .map(([k, v]) => {
      const text =
        fields[k]?.type === 'float' && typeof v === 'number' && Number.isFinite(v)
          ? floatLiteral(v)
          : JSON.stringify(v, null, 2).replace(/\n/g, '\n  ');
      return `  ${JSON.stringify(k)}: ${text}`;
    });
  return lines.length === 0 ? '{}\n' : `{\n${lines.join(',\n')}\n}\n`;
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
