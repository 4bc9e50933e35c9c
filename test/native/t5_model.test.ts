// T5 forward, loss and gradients against the independent Python reference
// (test/reference/t5_reference.py on Debian's python3-torch, same libtorch), in float32.
import { T5ForConditionalGeneration } from '../../lib/model/t5';
import { t5Addon } from '../../lib/native/t5';
import { fromTypedArray, Tensor } from '../../lib/tensor/tensor';
import {
  dumpModel,
  havePythonTorch,
  maxAbsDiff,
  referenceForward,
  removeDir,
} from '../reference/t5_exchange';
import { testDevice } from './test_device';

// Generous: these spawn Python or train, and the machine may be shared.
jest.setTimeout(120_000);

// Tolerance of the float32 comparisons, relative to the largest magnitude compared (or 1).
const TOL = 1e-5;

function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

function ints(r: () => number, rows: number, cols: number, lo: number, hi: number): number[][] {
  return Array.from({ length: rows }, () =>
    Array.from({ length: cols }, () => lo + Math.floor(r() * (hi - lo))),
  );
}

// v1.0: ReLU, tied, more decoder than encoder layers, few buckets so the log-spaced ones are used.
const V10 = {
  vocab_size: 64,
  d_model: 16,
  d_kv: 4,
  d_ff: 24,
  num_layers: 2,
  num_decoder_layers: 3,
  num_heads: 2,
  relative_attention_num_buckets: 8,
  relative_attention_max_distance: 16,
  dropout_rate: 0.1,
  feed_forward_proj: 'relu',
  tie_word_embeddings: true,
};
// v1.1: gated-GELU, untied lm_head, default buckets.
const V11 = {
  vocab_size: 50,
  d_model: 24,
  d_kv: 6,
  d_ff: 20,
  num_layers: 1,
  num_decoder_layers: 2,
  num_heads: 3,
  dropout_rate: 0,
  feed_forward_proj: 'gated-gelu',
  tie_word_embeddings: false,
};

function padded(r: () => number, V: number) {
  // 3 rows, encoder 9 (with padding), decoder 6 (labels with -100 tails)
  const inputIds = ints(r, 3, 9, 2, V);
  const attentionMask = [
    [1, 1, 1, 1, 1, 1, 1, 1, 1],
    [1, 1, 1, 1, 1, 0, 0, 0, 0],
    [1, 1, 1, 0, 0, 0, 0, 0, 0],
  ];
  for (let i = 0; i < 3; i++) {
    for (let j = 0; j < 9; j++) if (attentionMask[i]?.[j] === 0) (inputIds[i] as number[])[j] = 0;
  }
  const labels = ints(r, 3, 6, 2, V);
  (labels[1] as number[])[5] = -100;
  (labels[2] as number[])[3] = -100;
  (labels[2] as number[])[4] = -100;
  (labels[2] as number[])[5] = -100;
  return { inputIds, attentionMask, labels };
}

function packed(r: () => number, V: number) {
  // two rows; row 0 packs 3 examples, row 1 packs 2 and has padding
  const encoderSegmentIds = [
    [1, 1, 1, 2, 2, 3, 3, 3, 3, 3],
    [1, 1, 1, 1, 2, 2, 2, 0, 0, 0],
  ];
  const decoderSegmentIds = [
    [1, 1, 2, 2, 2, 3, 3],
    [1, 1, 1, 2, 2, 0, 0],
  ];
  const positions = (segs: number[][]) =>
    segs.map((row) => {
      let p = 0;
      return row.map((s, i) => {
        if (i > 0 && s !== row[i - 1]) p = 0;
        return p++;
      });
    });
  const inputIds = encoderSegmentIds.map((row) =>
    row.map((s) => (s === 0 ? 0 : 2 + Math.floor(r() * (V - 2)))),
  );
  const labels = decoderSegmentIds.map((row) =>
    row.map((s) => (s === 0 ? -100 : 2 + Math.floor(r() * (V - 2)))),
  );
  return {
    inputIds,
    labels,
    encoderSegmentIds,
    decoderSegmentIds,
    encoderPositions: positions(encoderSegmentIds),
    decoderPositions: positions(decoderSegmentIds),
  };
}

const maybe = havePythonTorch() ? describe : describe.skip;

maybe('T5 forward/backward vs the Python reference (float32)', () => {
  const cases: Array<
    [string, Record<string, unknown>, (r: () => number, V: number) => Record<string, unknown>]
  > = [
    ['v1.0 padded, labels shifted', V10, padded],
    ['v1.1 padded, labels shifted', V11, padded],
    // The head's two keys apart (transformers 5): tied but not rescaled, untied but rescaled.
    [
      'v1.1 tied lm_head, not rescaled',
      { ...V11, tie_word_embeddings: true, scale_decoder_outputs: false },
      padded,
    ],
    [
      'v1.0 own lm_head, rescaled',
      { ...V10, tie_word_embeddings: false, scale_decoder_outputs: true },
      padded,
    ],
    [
      'v1.0 explicit decoder inputs and decoder mask',
      V10,
      (r, V) => {
        const b = padded(r, V);
        return {
          ...b,
          decoderInputIds: ints(r, 3, 6, 0, V),
          decoderAttentionMask: [
            [1, 1, 1, 1, 1, 1],
            [1, 1, 1, 1, 1, 0],
            [1, 1, 1, 0, 0, 0],
          ],
        };
      },
    ],
    ['v1.0 packed segments and positions', V10, packed],
    ['v1.1 packed segments and positions', V11, packed],
    [
      'v1.1 loss weights, z-loss and label smoothing',
      V11,
      (r, V) => ({
        ...padded(r, V),
        lossWeights: [
          [1, 0.5, 2, 1, 0, 1],
          [1, 1, 1, 1, 1, 1],
          [0.25, 1, 1, 1, 1, 1],
        ],
        zLoss: 1e-2,
        labelSmoothing: 0.1,
      }),
    ],
  ];

  test.each(cases)('%s', (_name, config, make) => {
    const model = T5ForConditionalGeneration.fromConfig(config, {
      seed: 7,
      device: testDevice(),
      computeDtype: 'float32',
    });
    const dir = dumpModel(model);
    try {
      const batch = make(rng(11), config.vocab_size as number);
      const ref = referenceForward(dir, batch, true);
      // dropout_rate 0.1 in V10: the default eval mode must not drop anything
      const fwd = model.forward({ ...batch, returnLogits: true } as never);
      const logits = fwd.logits as Tensor;
      const l = maxAbsDiff(logits.data() as Float32Array, ref.logits);
      logits.dispose();
      expect(l.diff).toBeLessThanOrEqual(TOL * Math.max(1, l.scale));
      expect(Math.abs((fwd.loss as number) - (ref.loss as number))).toBeLessThanOrEqual(
        TOL * Math.max(1, ref.loss as number),
      );
      expect(fwd.weightSum).toBeCloseTo(ref.weightSum, 5);

      model.zeroGrad();
      const fb = model.forwardBackward(batch as never);
      expect(fb.loss).toBeCloseTo(fwd.loss as number, 6);
      const params = model.namedParameters();
      params.forEach(([name, p], i) => {
        const g = p.grad;
        const mine = g ? (g.data() as Float32Array) : new Float32Array(p.numel);
        const d = maxAbsDiff(mine, ref.grads?.[i] as Float32Array);
        if (d.diff > TOL * Math.max(1, d.scale))
          throw new Error(`gradient of ${name} differs by ${d.diff} (scale ${d.scale})`);
        g?.dispose();
        p.dispose();
      });
    } finally {
      removeDir(dir);
      model.dispose();
    }
  });

  test('gradient accumulation: two forwardBackward calls add up, gradScale scales', () => {
    const model = T5ForConditionalGeneration.fromConfig(V11, {
      seed: 3,
      device: testDevice(),
      computeDtype: 'float32',
    });
    const batch = padded(rng(5), V11.vocab_size);
    model.forwardBackward(batch);
    const [, p0] = model.namedParameters()[1] as [string, Tensor];
    const once = (p0.grad as Tensor).data() as Float32Array;
    model.forwardBackward({ ...batch, gradScale: 0.5 });
    const twice = (p0.grad as Tensor).data() as Float32Array;
    expect(
      maxAbsDiff(
        twice,
        once.map((x) => 1.5 * x),
      ).diff,
    ).toBeLessThan(1e-6);
    model.zeroGrad();
    expect(p0.grad).toBeNull();
    model.dispose();
  });
});

describe('T5 structure', () => {
  test('Hugging Face parameter names, shapes and counts (v1.0 tied / v1.1 untied)', () => {
    const v10 = T5ForConditionalGeneration.fromConfig('t5-tiny');
    const names = v10.namedParameters().map(([n, t]) => {
      t.dispose();
      return n;
    });
    expect(names[0]).toBe('shared.weight');
    expect(names).toContain('encoder.block.0.layer.0.SelfAttention.relative_attention_bias.weight');
    expect(names).not.toContain('encoder.block.1.layer.0.SelfAttention.relative_attention_bias.weight');
    expect(names).toContain('encoder.block.1.layer.1.DenseReluDense.wi.weight');
    expect(names).toContain('decoder.block.1.layer.1.EncDecAttention.o.weight');
    expect(names).toContain('decoder.block.1.layer.2.DenseReluDense.wo.weight');
    expect(names).toContain('decoder.block.0.layer.0.SelfAttention.relative_attention_bias.weight');
    expect(names).not.toContain('decoder.block.0.layer.1.EncDecAttention.relative_attention_bias.weight');
    expect(names).not.toContain('lm_head.weight');
    expect(names[names.length - 1]).toBe('decoder.final_layer_norm.weight');
    // d=32, dkv*H=32, ff=64, V=128, 2+2 layers, 32 buckets x 4 heads
    const attn = 4 * 32 * 32;
    const ffn = 2 * 32 * 64;
    const expected =
      128 * 32 + 2 * (attn + ffn + 2 * 32) + 32 + 2 * (2 * attn + ffn + 3 * 32) + 32 + 2 * 32 * 4;
    expect(v10.numParameters()).toBe(expected);
    const v11 = T5ForConditionalGeneration.fromConfig('t5-v1_1-tiny');
    const n11 = v11.namedParameters().map(([n, t]) => {
      t.dispose();
      return n;
    });
    expect(n11).toContain('encoder.block.0.layer.1.DenseReluDense.wi_0.weight');
    expect(n11).toContain('encoder.block.0.layer.1.DenseReluDense.wi_1.weight');
    expect(n11[n11.length - 1]).toBe('lm_head.weight');
    // one more d_ff x d_model matrix per layer (wi_0 + wi_1) and the untied lm_head
    expect(v11.numParameters()).toBe(expected + 4 * 64 * 32 + 128 * 32);
    v10.dispose();
    v11.dispose();
  });

  test('namedParameters share storage with the model; loadParameters copies in', () => {
    const a = T5ForConditionalGeneration.fromConfig('t5-v1_1-tiny', { seed: 1 });
    const b = T5ForConditionalGeneration.fromConfig('t5-v1_1-tiny', { seed: 2 });
    const batch = { inputIds: [[5, 6, 7, 1]], labels: [[9, 1]] };
    const la = a.forward(batch).loss;
    expect(b.forward(batch).loss).not.toBeCloseTo(la as number, 3);
    const r = b.loadParameters(a.namedParameters());
    expect(r.missing).toEqual([]);
    expect(b.forward(batch).loss).toBeCloseTo(la as number, 6);
    // the handles are live: loading into b changes what b's old handles read
    const [, shared] = b.namedParameters()[0] as [string, Tensor];
    const zeros = fromTypedArray(new Float32Array(shared.numel), shared.shape);
    b.loadParameters([['shared.weight', zeros]], false);
    expect((shared.data() as Float32Array).every((x) => x === 0)).toBe(true);
    a.dispose();
    b.dispose();
  });

  test('HF aliases of shared.weight load into it; strict lists missing and unexpected names', () => {
    const a = T5ForConditionalGeneration.fromConfig('t5-tiny', { seed: 1 });
    const b = T5ForConditionalGeneration.fromConfig('t5-tiny', { seed: 2 });
    const entries = a
      .namedParameters()
      .map(([n, t]): [string, Tensor] => [n === 'shared.weight' ? 'encoder.embed_tokens.weight' : n, t]);
    b.loadParameters(entries);
    const batch = { inputIds: [[5, 6, 7, 1]], labels: [[9, 1]] };
    expect(b.forward(batch).loss).toBeCloseTo(a.forward(batch).loss as number, 6);
    const some = a.namedParameters().slice(1, 3);
    expect(() => b.loadParameters([...some, ['encoder.block.9.nope', some[0]?.[1] as Tensor]])).toThrow(
      /missing \d+ parameter\(s\): shared.weight.*unexpected 1: encoder.block.9.nope/,
    );
    const r = b.loadParameters(some, false);
    expect(r.loaded).toBe(2);
    expect(r.missing.length).toBe(a.namedParameters().length - 2);
    a.dispose();
    b.dispose();
  });

  test('savePretrained / fromPretrained round trip through lib/model/hf_checkpoint.ts', async () => {
    const dir = require('node:fs').mkdtempSync(
      require('node:path').join(require('node:os').tmpdir(), 'ext5-t5ckpt-'),
    );
    try {
      const a = T5ForConditionalGeneration.fromConfig('t5-v1_1-tiny', { seed: 12 });
      await a.savePretrained(dir);
      const b = T5ForConditionalGeneration.fromPretrained(dir);
      const batch = { inputIds: [[5, 6, 7, 1]], labels: [[9, 1]] };
      expect(b.forward(batch).loss).toBe(a.forward(batch).loss);
      expect(b.config.feed_forward_proj).toBe('gated-gelu');
      a.dispose();
      b.dispose();
    } finally {
      removeDir(dir);
    }
  });

  test('relative position buckets: worked examples of HF _relative_position_bucket (32 buckets, 128)', () => {
    const rel = fromTypedArray(
      new BigInt64Array([-200, -128, -20, -9, -8, -1, 0, 1, 7, 8, 12, 16, 64, 127, 128, 500].map(BigInt)),
      [16],
    );
    const bi = Tensor.fromHandle(t5Addon().t5RelativePositionBucket(rel, true, 32, 128));
    // bidirectional: 16 buckets per sign, 8 exact, then 8 + floor(log(d/8) / log(16) * 8);
    // keys after the query take 16..31 (e.g. d = 20: 8 + floor(2.64) = 10; d = 16: 16 + 8 + 2 = 26)
    expect(Array.from(bi.data() as BigInt64Array, Number)).toEqual([
      15, 15, 10, 8, 8, 1, 0, 17, 23, 24, 25, 26, 30, 31, 31, 31,
    ]);
    const causal = Tensor.fromHandle(t5Addon().t5RelativePositionBucket(rel, false, 32, 128));
    // causal: keys after the query map to 0; 16 exact, then 16 + floor(log(d/16) / log(8) * 16)
    // (d = 20: 16 + floor(1.72) = 17; d >= 128 clamps to 31)
    expect(Array.from(causal.data() as BigInt64Array, Number)).toEqual([
      31, 31, 17, 9, 8, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    ]);
    rel.dispose();
    bi.dispose();
    causal.dispose();
  });

  test('bfloat16 compute (the CUDA default, opt-in on CPU): close to float32, float32 master weights and grads', () => {
    const f32 = T5ForConditionalGeneration.fromConfig(V11, { seed: 6 });
    const bf16 = T5ForConditionalGeneration.fromConfig(V11, { seed: 6, computeDtype: 'bfloat16' });
    expect(f32.computeDtype).toBe('float32');
    expect(bf16.computeDtype).toBe('bfloat16');
    const batch = padded(rng(2), V11.vocab_size);
    const a = f32.forward(batch).loss as number;
    const b = bf16.forwardBackward(batch).loss as number;
    expect(Math.abs(a - b) / a).toBeLessThan(0.02);
    const [, p] = bf16.namedParameters()[1] as [string, Tensor];
    expect(p.dtype).toBe('float32');
    const g = p.grad as Tensor;
    expect(g.dtype).toBe('float32');
    expect(g.abs().sum().item()).toBeGreaterThan(0);
    const seq = bf16.generate(batch.inputIds, batch.attentionMask, { maxNewTokens: 4, numBeams: 2 });
    expect(seq.shape[0]).toBe(3);
    f32.dispose();
    bf16.dispose();
  });

  test('dropout only in training mode', () => {
    const m = T5ForConditionalGeneration.fromConfig({ ...V10, dropout_rate: 0.5 }, { seed: 4 });
    const batch = padded(rng(9), V10.vocab_size);
    expect(m.training).toBe(false);
    expect(m.forward(batch).loss).toBe(m.forward(batch).loss);
    m.train();
    expect(m.training).toBe(true);
    expect(m.forward(batch).loss).not.toBe(m.forward(batch).loss);
    m.eval();
    expect(m.forward(batch).loss).toBe(m.forward(batch).loss);
    m.dispose();
  });
});
