// The per-stack FLOP count (lib/model/flops.ts) against a count written out by hand, component by
// component, for t5-small (T5 v1.0: d_model 512, 8 heads of 64, d_ff 2048 ReLU, 6 + 6 layers,
// vocab 32128) at 512 input and 114 target tokens, the T5 pre-training lengths.
import { t5Flops } from '../../../lib/model/flops';
import { preset } from '../../../lib/model/t5_presets';

const S = 512;
const T = 114;

test('t5-small at 512/114: every component matches the hand count', () => {
  const c = t5Flops(preset('t5-small'), { inputLength: S, targetLength: T });
  // Multiply-adds per token of one layer's matmul groups, then × 2 FLOPs.
  const qkvo = 4 * 512 * 512; // 1,048,576: Q, K, V, O, each 512 × (8 · 64)
  const ffn = 512 * 2048 + 2048 * 512; // 2,097,152: wi and wo (ReLU, not gated)
  const crossQo = 2 * 512 * 512; // 524,288: cross-attention Q and O, on decoder tokens
  const crossKv = 2 * 512 * 512; // 524,288: cross-attention K and V, on encoder tokens
  // encoder: 512 tokens × 6 layers × (1,048,576 + 2,097,152) × 2
  expect(c.encoder).toBe(2 * 512 * 6 * (qkvo + ffn));
  expect(c.encoder).toBe(19_327_352_832);
  // decoder: 114 tokens × 6 layers × (1,048,576 + 524,288 + 2,097,152) × 2
  expect(c.decoder).toBe(2 * 114 * 6 * (qkvo + crossQo + ffn));
  expect(c.decoder).toBe(5_020_581_888);
  // cross K/V: 512 encoder tokens × 6 decoder layers × 524,288 × 2
  expect(c.crossKv).toBe(2 * 512 * 6 * crossKv);
  expect(c.crossKv).toBe(3_221_225_472);
  // LM head: 114 decoder tokens × 512 × 32128 × 2 (tied or not, it is a matmul)
  expect(c.lmHead).toBe(2 * 114 * 512 * 32128);
  expect(c.lmHead).toBe(3_750_494_208);
  // Q·Kᵀ and A·V: 2 products × 512 (= 8 heads × 64) multiply-adds per pair × 2 FLOPs × 6 layers
  expect(c.encoderAttention).toBe(2 * 2 * 6 * 512 * 512 * 512); // 512 × 512 pairs
  expect(c.encoderAttention).toBe(3_221_225_472);
  expect(c.decoderSelfAttention).toBe(2 * 2 * 6 * 114 * 114 * 512); // 114 × 114 pairs
  expect(c.decoderSelfAttention).toBe(159_694_848);
  expect(c.crossAttention).toBe(2 * 2 * 6 * 114 * 512 * 512); // 114 queries × 512 keys
  expect(c.crossAttention).toBe(717_225_984);
  expect(c.forward).toBe(35_417_800_704);
  expect(c.training).toBe(3 * 35_417_800_704);
});

test('the count is about half of 6 · parameters · (input + target tokens)', () => {
  // t5-small has 60,506,624 parameters (the embedding counted once: tied).
  const naive = 6 * 60_506_624 * (S + T);
  const c = t5Flops(preset('t5-small'), { inputLength: S, targetLength: T });
  expect(naive / c.training).toBeCloseTo(2.139, 3);
  // T5.1.1-base: ~0.43 TFLOP per example against 6 · 247,577,856 · 626 ≈ 0.93 TFLOP.
  const base = t5Flops(preset('t5-v1_1-base'), { inputLength: S, targetLength: T });
  expect(base.training / 1e12).toBeCloseTo(0.426, 3);
  expect((6 * 247_577_856 * (S + T)) / base.training).toBeCloseTo(2.18, 2);
});

test('gated feed-forward, decoder depth and batch size enter where they should', () => {
  const relu = preset('t5-small');
  const gated = { ...relu, feed_forward_proj: 'gated-gelu' as const };
  const a = t5Flops(relu, { inputLength: 10, targetLength: 4 });
  const b = t5Flops(gated, { inputLength: 10, targetLength: 4 });
  // One more d_model × d_ff matrix per layer, on 10 encoder and 4 decoder tokens, 6 layers each.
  expect(b.forward - a.forward).toBe(2 * 6 * (10 + 4) * 512 * 2048);
  const shallow = t5Flops({ ...relu, num_decoder_layers: 1 }, { inputLength: 10, targetLength: 4 });
  expect(shallow.encoder).toBe(a.encoder);
  expect(shallow.decoder).toBe(a.decoder / 6);
  expect(shallow.crossKv).toBe(a.crossKv / 6);
  const batch = t5Flops(relu, { inputLength: 10, targetLength: 4, batchSize: 3 });
  expect(batch.training).toBe(3 * a.training);
  // Without targets only the encoder runs.
  const enc = t5Flops(relu, { inputLength: 10, targetLength: 0 });
  expect(enc.forward).toBe(enc.encoder + enc.encoderAttention);
  expect(enc.crossKv).toBe(0);
});

test('bad sizes are refused with a coded error', () => {
  const cfg = preset('t5-small');
  expect(() => t5Flops(cfg, { inputLength: -1, targetLength: 4 })).toThrow(
    expect.objectContaining({ code: 'EXT5_FLOPS_INPUT' }),
  );
  expect(() => t5Flops(cfg, { inputLength: 2.5, targetLength: 4 })).toThrow(/inputLength/);
  expect(() => t5Flops(cfg, { inputLength: 2, targetLength: 4, batchSize: 0 })).toThrow(/batchSize/);
  expect(() => t5Flops({ ...cfg, d_model: Number.NaN }, { inputLength: 2, targetLength: 4 })).toThrow(
    /d_model/,
  );
  expect(() =>
    t5Flops({ ...cfg, feed_forward_proj: 'swish' as 'relu' }, { inputLength: 2, targetLength: 4 }),
  ).toThrow(/feed_forward_proj/);
});
