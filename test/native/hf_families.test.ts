// The T5 families users start from (t5-small, t5-v1_1-small, t5-small-lm-adapt, flan-t5-small,
// mt5-small), each from its published config.json and from the layout transformers 5 re-saves it
// in (test/fixtures/hf_t5_configs, sizes shrunk here), with random weights stored the way that
// family stores them. Each loads through fromPretrained and its logits equal an explicit
// computation of the head transformers uses for that layout: s · H · Wᵀ, where H are the decoder's
// final hidden states (read through the same body with an identity lm_head), W is shared.weight or
// the checkpoint's own lm_head.weight and s is d_model^-0.5 or 1. Families ext5 does not implement
// are refused by name.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { writeSafetensors } from '../../lib/io/safetensors';
import { safetensorsDtype, tensorToBytes } from '../../lib/io/tensor_io';
import { fromPretrained, savePretrained } from '../../lib/model/hf_checkpoint';
import { T5ForConditionalGeneration } from '../../lib/model/t5';
import { fromTypedArray, type Tensor } from '../../lib/tensor/tensor';

jest.setTimeout(120_000);

const FIXTURES = path.join(__dirname, '..', 'fixtures', 'hf_t5_configs');
// vocab_size = d_model, so that an identity lm_head reads out the hidden states.
const D = 16;
const SIZES = { vocab_size: D, d_model: D, d_kv: 4, d_ff: 24, num_layers: 2, num_heads: 4 };
const INPUTS = [
  [5, 9, 3, 12, 1],
  [7, 2, 1, 0, 0],
];
const MASK = INPUTS.map((r) => r.map((_, j) => (j <= r.indexOf(1) ? 1 : 0)));
const DECODER = [
  [0, 4, 11, 6],
  [0, 13, 2, 8],
];

let root: string;
beforeAll(() => {
  root = fs.mkdtempSync(path.join(os.tmpdir(), 'ext5-families-'));
});
afterAll(() => fs.rmSync(root, { recursive: true, force: true }));

/** A fixture config with its sizes replaced by SIZES (num_decoder_layers only where the file has it). */
function shrunk(file: string): Record<string, unknown> {
  const c = JSON.parse(fs.readFileSync(path.join(FIXTURES, file), 'utf8')) as Record<string, unknown>;
  Object.assign(c, SIZES);
  if (c.num_decoder_layers !== undefined) c.num_decoder_layers = SIZES.num_layers;
  return c;
}

type Stored = 'shared' | 'shared + equal lm_head' | 'shared + own lm_head';

/**
 * Random weights (a seeded model's) of the family's feed-forward kind, as a name -> float32 bytes
 * map in the checkpoint's names: shared.weight and the body, plus lm_head.weight as `stored` says.
 */
function randomWeights(
  ffp: string,
  seed: number,
  stored: Stored,
): Map<string, { shape: number[]; data: Uint8Array }> {
  const m = T5ForConditionalGeneration.fromConfig(
    { ...SIZES, feed_forward_proj: ffp, tie_word_embeddings: false, dropout_rate: 0 },
    { seed },
  );
  const out = new Map<string, { shape: number[]; data: Uint8Array }>();
  for (const [name, t] of m.namedParameters()) {
    out.set(name, { shape: t.shape, data: tensorToBytes(t) });
    t.dispose();
  }
  m.dispose();
  if (stored === 'shared') out.delete('lm_head.weight');
  if (stored === 'shared + equal lm_head') {
    const s = out.get('shared.weight')!;
    out.set('lm_head.weight', { shape: s.shape, data: s.data.slice() });
  }
  return out;
}

function writeCheckpoint(
  dir: string,
  config: Record<string, unknown>,
  weights: Map<string, { shape: number[]; data: Uint8Array }>,
): void {
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(path.join(dir, 'config.json'), JSON.stringify(config, null, 2));
  writeSafetensors(
    path.join(dir, 'model.safetensors'),
    [...weights].map(([name, w]) => ({
      name,
      dtype: safetensorsDtype('float32'),
      shape: w.shape,
      data: () => w.data,
    })),
    { format: 'pt' },
  );
}

function floats(bytes: Uint8Array): Float32Array {
  return new Float32Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength));
}

function logitsOf(m: T5ForConditionalGeneration): { data: Float32Array; shape: number[] } {
  const out = m.forward({
    inputIds: INPUTS,
    attentionMask: MASK,
    decoderInputIds: DECODER,
    returnLogits: true,
  });
  const lg = out.logits as Tensor;
  const r = { data: lg.data() as Float32Array, shape: lg.shape };
  lg.dispose();
  return r;
}

/** The decoder's final hidden states [B, T, D]: the same body, untied and unscaled, with lm_head = I. */
function hiddenStates(
  ffp: string,
  weights: Map<string, { shape: number[]; data: Uint8Array }>,
): Float32Array {
  const probe = new T5ForConditionalGeneration({
    ...SIZES,
    feed_forward_proj: ffp,
    tie_word_embeddings: false,
    scale_decoder_outputs: false,
    dropout_rate: 0,
  });
  const eye = new Float32Array(D * D);
  for (let i = 0; i < D; i++) eye[i * D + i] = 1;
  const entries: Array<[string, Tensor]> = [...weights]
    .filter(([name]) => name !== 'lm_head.weight')
    .map(([name, w]) => [name, fromTypedArray(floats(w.data), w.shape)]);
  entries.push(['lm_head.weight', fromTypedArray(eye, [D, D])]);
  probe.loadParameters(entries);
  for (const [, t] of entries) t.dispose();
  const h = logitsOf(probe).data;
  probe.dispose();
  return h;
}

/** s · H · Wᵀ over the last axis, in float64. */
function explicitHead(h: Float32Array, w: Float32Array, scale: number): Float64Array {
  const rows = h.length / D;
  const out = new Float64Array(rows * D);
  for (let r = 0; r < rows; r++)
    for (let v = 0; v < D; v++) {
      let s = 0;
      for (let k = 0; k < D; k++) s += h[r * D + k]! * w[v * D + k]!;
      out[r * D + v] = scale * s;
    }
  return out;
}

function maxRelDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let diff = 0;
  let mag = 1e-6;
  for (let i = 0; i < a.length; i++) {
    diff = Math.max(diff, Math.abs(a[i]! - b[i]!));
    mag = Math.max(mag, Math.abs(b[i]!));
  }
  return diff / mag;
}

interface Case {
  name: string;
  fixture: string;
  stored: Stored;
  /** What transformers does with this checkpoint: its head's matrix and the d_model^-0.5 rescale. */
  head: 'shared' | 'lm_head';
  scaled: boolean;
}

const CASES: Case[] = [
  { name: 't5-small as published', fixture: 't5-small.json', stored: 'shared', head: 'shared', scaled: true },
  {
    name: 't5-small as published, lm_head stored as a copy',
    fixture: 't5-small.json',
    stored: 'shared + equal lm_head',
    head: 'shared',
    scaled: true,
  },
  {
    name: 't5-small re-saved by transformers 5',
    fixture: 't5-small.transformers5.json',
    stored: 'shared',
    head: 'shared',
    scaled: true,
  },
  {
    name: 'google/t5-v1_1-small as published',
    fixture: 't5-v1_1-small.json',
    stored: 'shared + own lm_head',
    head: 'lm_head',
    scaled: false,
  },
  {
    name: 'google/t5-v1_1-small re-saved by transformers 5',
    fixture: 't5-v1_1-small.transformers5.json',
    stored: 'shared + own lm_head',
    head: 'lm_head',
    scaled: false,
  },
  {
    name: 'a T5.1.1 made by transformers 5 (tied lm_head, not rescaled)',
    fixture: 't5-v1_1-small.transformers5.json',
    stored: 'shared',
    head: 'shared',
    scaled: false,
  },
  {
    name: 'google/t5-small-lm-adapt as published',
    fixture: 't5-small-lm-adapt.json',
    stored: 'shared + own lm_head',
    head: 'lm_head',
    scaled: false,
  },
  {
    name: 'google/flan-t5-small as published',
    fixture: 'flan-t5-small.json',
    stored: 'shared + own lm_head',
    head: 'lm_head',
    scaled: false,
  },
  {
    name: 'google/flan-t5-small re-saved by transformers 5',
    fixture: 'flan-t5-small.transformers5.json',
    stored: 'shared + own lm_head',
    head: 'lm_head',
    scaled: false,
  },
  {
    name: 'google/mt5-small as published',
    fixture: 'mt5-small.json',
    stored: 'shared + own lm_head',
    head: 'lm_head',
    scaled: false,
  },
  {
    name: 'google/mt5-small re-saved by transformers 5',
    fixture: 'mt5-small.transformers5.json',
    stored: 'shared + own lm_head',
    head: 'lm_head',
    scaled: false,
  },
];

describe.each(CASES.map((c, i) => [c.name, c, i] as const))('%s', (_name, c, i) => {
  test('loads, and its logits are the explicit head of transformers; generate follows them; save round-trips', async () => {
    const config = shrunk(c.fixture);
    const ffp = (config.feed_forward_proj as string | undefined) ?? 'relu';
    const weights = randomWeights(ffp, 100 + i, c.stored);
    const dir = path.join(root, `case-${i}`);
    writeCheckpoint(dir, config, weights);

    const model = fromPretrained(dir);
    expect(model.config.tie_word_embeddings).toBe(c.head === 'shared');
    expect(model.config.scale_decoder_outputs).toBe(c.scaled);
    const got = logitsOf(model);
    const w = floats(weights.get(c.head === 'shared' ? 'shared.weight' : 'lm_head.weight')!.data);
    const want = explicitHead(hiddenStates(ffp, weights), w, c.scaled ? D ** -0.5 : 1);
    expect(maxRelDiff(got.data, want)).toBeLessThan(1e-5);

    // Greedy's first token is the argmax of the explicit head at the decoder start.
    const T = DECODER[0]!.length;
    const first = model.generateIds(INPUTS, MASK, { maxNewTokens: 1 }).map((r) => r[0]);
    const argmax = [0, 1].map((b) => {
      const row = Array.from(want.subarray(b * T * D, b * T * D + D));
      return row.indexOf(Math.max(...row));
    });
    expect(first).toEqual(argmax);
    expect(model.generateIds(INPUTS, MASK, { maxNewTokens: 6, numBeams: 3 })).toHaveLength(2);

    // What ext5 writes states the head with both keys, every float as a float, one dtype.
    const out = path.join(root, `case-${i}-saved`);
    await savePretrained(model, out);
    const text = fs.readFileSync(path.join(out, 'config.json'), 'utf8');
    expect(text).toContain(`"tie_word_embeddings": ${c.head === 'shared'},`);
    expect(text).toContain(`"scale_decoder_outputs": ${c.scaled},`);
    expect(text).toContain('"initializer_factor": 1.0,');
    expect(text).toContain('"dropout_rate": 0.1,');
    expect(JSON.parse(text)).toMatchObject({ dtype: 'float32', torch_dtype: 'float32' });
    expect(text).toContain('"model_type": "t5"');
    const again = fromPretrained(out);
    expect(logitsOf(again).data).toEqual(got.data);
    again.dispose();
    model.dispose();
  });
});

test('the same weights give the same logits under the equivalent 4.x and 5.x configs', () => {
  const weights = randomWeights('gated-gelu', 7, 'shared + own lm_head');
  const v4 = shrunk('flan-t5-small.json');
  const v5 = shrunk('flan-t5-small.transformers5.json');
  writeCheckpoint(path.join(root, 'eq-4'), v4, weights);
  writeCheckpoint(path.join(root, 'eq-5'), v5, weights);
  const a = fromPretrained(path.join(root, 'eq-4'));
  const b = fromPretrained(path.join(root, 'eq-5'));
  expect(logitsOf(b).data).toEqual(logitsOf(a).data);
  a.dispose();
  b.dispose();
  // A tied, unscaled 5.x model equals the 4.x untied model whose lm_head is a copy of shared.
  const tied = randomWeights('gated-gelu', 8, 'shared');
  writeCheckpoint(path.join(root, 'eq-5-tied'), v5, tied);
  const copy = randomWeights('gated-gelu', 8, 'shared + equal lm_head');
  writeCheckpoint(path.join(root, 'eq-4-copy'), v4, copy);
  const c = fromPretrained(path.join(root, 'eq-5-tied'));
  const d = fromPretrained(path.join(root, 'eq-4-copy'));
  expect(c.config.tie_word_embeddings).toBe(true);
  expect(d.config.tie_word_embeddings).toBe(false);
  expect(logitsOf(c).data).toEqual(logitsOf(d).data);
  c.dispose();
  d.dispose();
});

test('savePretrained in bfloat16 writes dtype and torch_dtype with the one value, over the loaded "dtype"', async () => {
  const dir = path.join(root, 'dtype-src');
  writeCheckpoint(
    dir,
    shrunk('flan-t5-small.transformers5.json'),
    randomWeights('gated-gelu', 9, 'shared + own lm_head'),
  );
  const model = fromPretrained(dir);
  expect(model.config.dtype).toBe('float32');
  const out = path.join(root, 'dtype-bf16');
  await savePretrained(model, out, { dtype: 'bfloat16' });
  model.dispose();
  const cfg = JSON.parse(fs.readFileSync(path.join(out, 'config.json'), 'utf8'));
  expect([cfg.dtype, cfg.torch_dtype]).toEqual(['bfloat16', 'bfloat16']);
  fromPretrained(out).dispose();
});

describe('refused by name', () => {
  const v11 = () => shrunk('t5-v1_1-small.json');
  const mt5 = () => shrunk('mt5-small.json');
  test.each([
    [
      'UMT5',
      () => ({ ...v11(), model_type: 'umt5', architectures: ['UMT5ForConditionalGeneration'] }),
      'shared + own lm_head' as Stored,
      'EXT5_CHECKPOINT',
      /"model_type" is "umt5"/,
      /own relative position bias/,
    ],
    [
      'LongT5',
      () => ({ ...v11(), model_type: 'longt5', architectures: ['LongT5ForConditionalGeneration'] }),
      'shared + own lm_head' as Stored,
      'EXT5_CHECKPOINT',
      /"model_type" is "longt5"/,
      /transient-global attention/,
    ],
    [
      'an MT5 encoder-only checkpoint',
      () => ({ ...mt5(), architectures: ['MT5EncoderModel'] }),
      'shared' as Stored,
      'EXT5_CHECKPOINT',
      /MT5EncoderModel checkpoint has no decoder/,
      /encoder-decoder/,
    ],
    [
      'a classification head',
      () => ({ ...v11(), architectures: ['T5ForSequenceClassification'] }),
      'shared + own lm_head' as Stored,
      'EXT5_CHECKPOINT',
      /"T5ForSequenceClassification"; ext5 implements T5ForConditionalGeneration only/,
      /language-model head/,
    ],
    [
      'an MT5 with a feed-forward kind ext5 lacks',
      () => ({ ...mt5(), feed_forward_proj: 'gated-silu' }),
      'shared + own lm_head' as Stored,
      'EXT5_CONFIG',
      /'feed_forward_proj' must be "relu" \(T5 v1.0\) or "gated-gelu" \(T5.1.1\), got "gated-silu"/,
      undefined,
    ],
    [
      'an mT5 whose head is tied (4.x would rescale, 5.x would not)',
      () => shrunk('mt5-small.transformers5.json'),
      'shared' as Stored,
      'EXT5_CONFIG',
      /an mT5 checkpoint whose lm_head is tied/,
      /transformers 4.x rescales a tied mT5 decoder output/,
    ],
    [
      'an mT5 that asks for the rescale',
      () => ({ ...mt5(), scale_decoder_outputs: true }),
      'shared + own lm_head' as Stored,
      'EXT5_CONFIG',
      /an mT5 config with "scale_decoder_outputs": true/,
      /never rescales/,
    ],
    [
      'a 5.x layout that says untied but stores no lm_head',
      () => ({ ...shrunk('t5-v1_1-small.transformers5.json'), tie_word_embeddings: false }),
      'shared' as Stored,
      'EXT5_CHECKPOINT',
      /missing 1 tensor\(s\): lm_head.weight/,
      undefined,
    ],
    [
      'a config whose dtype and torch_dtype disagree',
      () => ({ ...v11(), dtype: 'bfloat16', torch_dtype: 'float32' }),
      'shared + own lm_head' as Stored,
      'EXT5_CONFIG',
      /"dtype" is "bfloat16" but "torch_dtype" is "float32"/,
      /one dtype/,
    ],
  ])('%s', (name, config, stored, code, message, hint) => {
    const c: Record<string, unknown> = config();
    const dir = path.join(root, `refused-${name.replace(/\W+/g, '-')}`);
    const kind = String(c.feed_forward_proj ?? 'relu').startsWith('gated') ? 'gated-gelu' : 'relu';
    writeCheckpoint(dir, c, randomWeights(kind, 3, stored));
    expect(() => fromPretrained(dir)).toThrow(
      expect.objectContaining({
        code,
        message: expect.stringMatching(message),
        ...(hint ? { hint: expect.stringMatching(hint) } : {}),
      }),
    );
  });
});
