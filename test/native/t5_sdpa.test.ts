// The two attention paths agree: libtorch 2.x's fused scaled_dot_product_attention (the default
// there) and the explicit matmul/softmax path (EXT5_SDPA=0 when the model is created). Same
// seed, same batches: logits, loss, every gradient (the relative position table gets its
// gradient through SDPA's additive mask) and decoded tokens. On libtorch 1.x both models take
// the explicit path, so the comparisons hold trivially there; t5_model.test.ts checks either
// path against the Python reference.
import { T5ForConditionalGeneration } from '../../lib/model/t5';
import { torch } from '../../lib/native/torch';
import type { Tensor } from '../../lib/tensor/tensor';
import { maxAbsDiff } from '../reference/t5_exchange';
import { testDevice } from './test_device';

jest.setTimeout(120_000);

const TOL = 1e-5;

const V11 = {
  vocab_size: 50,
  d_model: 24,
  d_kv: 6,
  d_ff: 20,
  num_layers: 2,
  num_decoder_layers: 2,
  num_heads: 3,
  relative_attention_num_buckets: 8,
  relative_attention_max_distance: 16,
  dropout_rate: 0,
  feed_forward_proj: 'gated-gelu',
  tie_word_embeddings: false,
};
const V10 = { ...V11, feed_forward_proj: 'relu', tie_word_embeddings: true, num_decoder_layers: 3 };

function model(
  config: Record<string, unknown>,
  sdpa: boolean,
  computeDtype: 'float32' | 'bfloat16' = 'float32',
) {
  const before = process.env.EXT5_SDPA;
  process.env.EXT5_SDPA = sdpa ? '1' : '0';
  try {
    return T5ForConditionalGeneration.fromConfig(config, { seed: 5, device: testDevice(), computeDtype });
  } finally {
    if (before === undefined) delete process.env.EXT5_SDPA;
    else process.env.EXT5_SDPA = before;
  }
}

// Padding (row 1 short, row 2 entirely padding: a fully masked row), ignored labels, and a
// packed variant with segment ids and positions.
const padded = {
  inputIds: [
    [5, 9, 13, 22, 7, 31, 4, 1],
    [8, 3, 17, 1, 0, 0, 0, 0],
    [0, 0, 0, 0, 0, 0, 0, 0],
  ],
  attentionMask: [
    [1, 1, 1, 1, 1, 1, 1, 1],
    [1, 1, 1, 1, 0, 0, 0, 0],
    [0, 0, 0, 0, 0, 0, 0, 0],
  ],
  labels: [
    [11, 12, 40, 2, 1],
    [6, 33, 1, -100, -100],
    [9, 1, -100, -100, -100],
  ],
};
const packed = {
  inputIds: [[5, 9, 13, 1, 22, 7, 1, 0]],
  encoderSegmentIds: [[1, 1, 1, 1, 2, 2, 2, 0]],
  encoderPositions: [[0, 1, 2, 3, 0, 1, 2, 0]],
  labels: [[11, 12, 1, 40, 2, 1]],
  decoderSegmentIds: [[1, 1, 1, 2, 2, 2]],
  decoderPositions: [[0, 1, 2, 0, 1, 2]],
};

function compare(a: T5ForConditionalGeneration, b: T5ForConditionalGeneration, batch: object, tol: number) {
  const fa = a.forwardBackward({ ...batch, returnLogits: true } as never);
  const fb = b.forwardBackward({ ...batch, returnLogits: true } as never);
  const la = (fa.logits as Tensor).data() as Float32Array;
  const lb = (fb.logits as Tensor).data() as Float32Array;
  fa.logits?.dispose();
  fb.logits?.dispose();
  expect(la.some(Number.isNaN)).toBe(false);
  const l = maxAbsDiff(la, lb);
  expect(l.diff).toBeLessThanOrEqual(tol * Math.max(1, l.scale));
  expect(Math.abs((fa.loss as number) - (fb.loss as number))).toBeLessThanOrEqual(
    tol * Math.max(1, fb.loss as number),
  );
  const pa = a.namedParameters();
  const pb = b.namedParameters();
  pa.forEach(([name, p], i) => {
    const q = (pb[i] as [string, Tensor])[1];
    const ga = p.grad;
    const gb = q.grad;
    const da = ga ? (ga.data() as Float32Array) : new Float32Array(p.numel);
    const db = gb ? (gb.data() as Float32Array) : new Float32Array(q.numel);
    const d = maxAbsDiff(da, db);
    if (d.diff > tol * Math.max(1, d.scale))
      throw new Error(`gradient of ${name} differs by ${d.diff} (scale ${d.scale})`);
    if (name.includes('relative_attention_bias')) expect(d.scale).toBeGreaterThan(0);
    ga?.dispose();
    gb?.dispose();
    p.dispose();
    q.dispose();
  });
  a.zeroGrad();
  b.zeroGrad();
}

describe('attention paths (fused SDPA vs explicit)', () => {
  test('the build reports a libtorch version', () => {
    expect(torch().info().torchVersionMajor).toBeGreaterThanOrEqual(1);
  });

  test.each([
    ['v1.1 padded', V11, padded],
    ['v1.1 packed', V11, packed],
    ['v1.0 padded', V10, padded],
  ])('%s: float32 logits, loss and gradients agree', (_name, config, batch) => {
    const a = model(config, true);
    const b = model(config, false);
    try {
      compare(a, b, batch, TOL);
    } finally {
      a.dispose();
      b.dispose();
    }
  });

  test('bfloat16 compute: close, no NaN from fully masked rows', () => {
    const a = model(V11, true, 'bfloat16');
    const b = model(V11, false, 'bfloat16');
    try {
      compare(a, b, padded, 3e-2);
    } finally {
      a.dispose();
      b.dispose();
    }
  });

  test('greedy and beam decoding give the same tokens', () => {
    const a = model(V11, true);
    const b = model(V11, false);
    try {
      const ids = padded.inputIds.slice(0, 2);
      const mask = padded.attentionMask.slice(0, 2);
      for (const opts of [
        { maxNewTokens: 6 },
        { maxNewTokens: 5, numBeams: 3 },
        { maxNewTokens: 5, useCache: false },
      ]) {
        const sa = a.generate(ids, mask, opts);
        const sb = b.generate(ids, mask, opts);
        expect(sa.toArray()).toEqual(sb.toArray());
        sa.dispose();
        sb.dispose();
      }
    } finally {
      a.dispose();
      b.dispose();
    }
  });

  test('training mode with dropout runs on both paths and still learns through the position table', () => {
    for (const sdpa of [true, false]) {
      const m = model({ ...V11, dropout_rate: 0.3 }, sdpa);
      m.train();
      const out = m.forwardBackward(padded);
      expect(Number.isFinite(out.loss)).toBe(true);
      const rel = m.namedParameters().find(([n]) => n.endsWith('relative_attention_bias.weight'));
      const g = (rel as [string, Tensor])[1].grad as Tensor;
      expect(g.abs().sum().item()).toBeGreaterThan(0);
      g.dispose();
      m.dispose();
    }
  });
});
