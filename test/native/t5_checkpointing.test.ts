// Activation checkpointing of T5 blocks (native/torch/t5_checkpoint.cc): with dropout on and the
// same seed, gradients of every parameter (encoder, decoder, the relative position tables shared
// by the blocks of a stack) equal those of a pass without checkpointing, for T5 v1.0 (ReLU, tied)
// and T5.1.1 (gated GELU, untied); Adafactor training gives the same losses step for step; passes
// without gradients are unchanged; and the peak memory of a training step, measured as the
// process's resident-set high-water mark in a child process per configuration, goes down.
import { parameterShapes } from '../../lib/model/memory_plan';
import { T5ForConditionalGeneration } from '../../lib/model/t5';
import { preset } from '../../lib/model/t5_presets';
import { Adafactor } from '../../lib/optim/adafactor';
import { loadRunConfig } from '../../lib/run/run_config';
import { manualSeed } from '../../lib/tensor/tensor';
import { buildModel } from '../../lib/train/assemble';
import { measureCheckpointMemory, wideTinySpec } from './helpers/checkpoint_memory';

jest.setTimeout(180_000);

// Three blocks per stack, so blocks after the first reuse the first block's position bias.
const VARIANTS = {
  'T5 v1.0 (relu, tied)': { ...preset('t5-tiny'), dropout_rate: 0.2, num_layers: 3, num_decoder_layers: 3 },
  'T5.1.1 (gated-gelu, untied)': {
    ...preset('t5-v1_1-tiny'),
    dropout_rate: 0.2,
    num_layers: 3,
    num_decoder_layers: 3,
  },
};

// Padded rows of different lengths (masks in the biases) and a packed pair of rows.
const PADDED = {
  inputIds: [
    [10, 11, 12, 13, 14, 15, 1],
    [16, 17, 18, 1, 0, 0, 0],
    [19, 20, 21, 22, 1, 0, 0],
  ],
  attentionMask: [
    [1, 1, 1, 1, 1, 1, 1],
    [1, 1, 1, 1, 0, 0, 0],
    [1, 1, 1, 1, 1, 0, 0],
  ],
  labels: [
    [30, 31, 32, 1, -100],
    [33, 1, -100, -100, -100],
    [34, 35, 36, 37, 1],
  ],
};
const PACKED = {
  inputIds: [
    [10, 11, 1, 12, 13, 14, 1, 0],
    [15, 16, 17, 18, 1, 19, 1, 0],
  ],
  encoderSegmentIds: [
    [1, 1, 1, 2, 2, 2, 2, 0],
    [1, 1, 1, 1, 1, 2, 2, 0],
  ],
  encoderPositions: [
    [0, 1, 2, 0, 1, 2, 3, 0],
    [0, 1, 2, 3, 4, 0, 1, 0],
  ],
  labels: [
    [30, 1, 31, 32, 1, -100],
    [33, 34, 1, 35, 1, -100],
  ],
  decoderSegmentIds: [
    [1, 1, 2, 2, 2, 0],
    [1, 1, 1, 2, 2, 0],
  ],
  decoderPositions: [
    [0, 1, 0, 1, 2, 0],
    [0, 1, 2, 0, 1, 0],
  ],
};

function build(config: Record<string, unknown>, checkpointing: boolean): T5ForConditionalGeneration {
  const m = T5ForConditionalGeneration.fromConfig(config, { seed: 5 });
  m.train();
  m.gradientCheckpointing = checkpointing;
  return m;
}

/** Loss and every parameter's gradient after one forwardBackward() from dropout seed `seed`. */
function gradients(
  m: T5ForConditionalGeneration,
  batch: Parameters<T5ForConditionalGeneration['forwardBackward']>[0],
  seed: number,
): { loss: number; grads: Map<string, Float32Array> } {
  m.zeroGrad();
  manualSeed(seed);
  const { loss } = m.forwardBackward(batch);
  const grads = new Map<string, Float32Array>();
  for (const [name, p] of m.namedParameters()) {
    const g = p.grad;
    if (g === null) throw new Error(`${name} has no gradient`);
    grads.set(name, Float32Array.from(g.data() as Float32Array));
    g.dispose();
    p.dispose();
  }
  return { loss, grads };
}

const maxAbs = (a: Float32Array) => a.reduce((m, x) => Math.max(m, Math.abs(x)), 0);

/** max |a - b| / max |b|, per parameter. */
function relativeDiffs(a: Map<string, Float32Array>, b: Map<string, Float32Array>): Map<string, number> {
  const out = new Map<string, number>();
  for (const [name, gb] of b) {
    const ga = a.get(name)!;
    let d = 0;
    for (let i = 0; i < gb.length; i++) d = Math.max(d, Math.abs(ga[i]! - gb[i]!));
    out.set(name, d / Math.max(maxAbs(gb), 1e-30));
  }
  return out;
}

describe.each(Object.entries(VARIANTS))('%s', (_label, config) => {
  test.each([
    ['padded rows', PADDED],
    ['packed rows', PACKED],
  ])('gradients with checkpointing equal those without (dropout 0.2, same seed): %s', (_b, batch) => {
    const plain = build(config, false);
    const ckpt = build(config, true);
    expect(ckpt.gradientCheckpointing).toBe(true);
    expect(plain.gradientCheckpointing).toBe(false);
    const ref = gradients(plain, batch, 11);
    const got = gradients(ckpt, batch, 11);
    expect(got.loss).toBe(ref.loss);
    // Every parameter has a gradient, the position tables and the encoder (through cross-attention) included.
    for (const [name, g] of ref.grads) expect([name, maxAbs(g) > 0]).toEqual([name, true]);
    expect([...ref.grads.keys()].filter((n) => n.includes('relative_attention_bias'))).toEqual([
      'encoder.block.0.layer.0.SelfAttention.relative_attention_bias.weight',
      'decoder.block.0.layer.0.SelfAttention.relative_attention_bias.weight',
    ]);
    const diffs = relativeDiffs(got.grads, ref.grads);
    for (const [name, d] of diffs) expect([name, d]).toEqual([name, expect.any(Number)]);
    const worst = (prefix: string) =>
      Math.max(...[...diffs].filter(([n]) => n.startsWith(prefix)).map(([, d]) => d));
    expect(worst('encoder.')).toBeLessThanOrEqual(1e-6);
    expect(worst('decoder.')).toBeLessThanOrEqual(1e-6);
    expect(Math.max(...diffs.values())).toBeLessThanOrEqual(1e-6);
    // Dropout is really on: another seed gives other gradients, so the equality above is the
    // replayed masks, not the absence of randomness.
    const other = gradients(plain, batch, 12);
    expect(Math.max(...relativeDiffs(other.grads, ref.grads).values())).toBeGreaterThan(1e-3);
    plain.dispose();
    ckpt.dispose();
  });

  test('5 Adafactor steps give the same losses step for step, and the same weights', () => {
    const run = (checkpointing: boolean) => {
      const m = build(config, checkpointing);
      const opt = new Adafactor(m, { lr: 1e-2 });
      manualSeed(3); // once, as the trainer does: the random stream runs on across steps
      const losses: number[] = [];
      for (let s = 0; s < 5; s++) {
        losses.push(m.forwardBackward(s % 2 === 0 ? PADDED : PACKED).loss);
        opt.step();
        opt.zeroGrad();
      }
      const weights = new Map<string, Float32Array>();
      for (const [n, p] of m.namedParameters()) {
        weights.set(n, Float32Array.from(p.data() as Float32Array));
        p.dispose();
      }
      opt.dispose();
      m.dispose();
      return { losses, weights };
    };
    const plain = run(false);
    const ckpt = run(true);
    for (let s = 0; s < 5; s++) {
      expect(Math.abs(ckpt.losses[s]! - plain.losses[s]!)).toBeLessThanOrEqual(1e-6 * plain.losses[s]!);
    }
    expect(Math.max(...relativeDiffs(ckpt.weights, plain.weights).values())).toBeLessThanOrEqual(1e-5);
    // The losses moved (the run trained), so equal losses are not equal constants.
    expect(new Set(plain.losses).size).toBe(5);
  });
});

test('bfloat16 compute (bf16 hidden states between blocks): gradients with checkpointing equal those without', () => {
  const make = (on: boolean) => {
    const m = T5ForConditionalGeneration.fromConfig(VARIANTS['T5.1.1 (gated-gelu, untied)'], {
      seed: 5,
      computeDtype: 'bfloat16',
    });
    m.train();
    m.gradientCheckpointing = on;
    return m;
  };
  const plain = make(false);
  const ckpt = make(true);
  const ref = gradients(plain, PADDED, 11);
  const got = gradients(ckpt, PADDED, 11);
  expect(got.loss).toBe(ref.loss);
  expect(Math.max(...relativeDiffs(got.grads, ref.grads).values())).toBeLessThanOrEqual(1e-6);
  plain.dispose();
  ckpt.dispose();
});

test('passes without gradients are unaffected: eval forward, score and cached generation', () => {
  const plain = build(VARIANTS['T5.1.1 (gated-gelu, untied)'], false);
  const ckpt = build(VARIANTS['T5.1.1 (gated-gelu, untied)'], true);
  for (const m of [plain, ckpt]) m.eval();
  expect(ckpt.forward(PADDED).loss).toBe(plain.forward(PADDED).loss);
  const targets = [
    [30, 31, 1],
    [33, 1, 0],
    [34, 35, 1],
  ];
  const s1 = plain.score(PADDED.inputIds, PADDED.attentionMask, targets);
  const s2 = ckpt.score(PADDED.inputIds, PADDED.attentionMask, targets);
  expect(Array.from(s2.sums)).toEqual(Array.from(s1.sums));
  const g1 = plain.generate(PADDED.inputIds, PADDED.attentionMask, { maxNewTokens: 6 });
  const g2 = ckpt.generate(PADDED.inputIds, PADDED.attentionMask, { maxNewTokens: 6 });
  expect(T5ForConditionalGeneration.sequencesToArrays(g2)).toEqual(
    T5ForConditionalGeneration.sequencesToArrays(g1),
  );
  g1.dispose();
  g2.dispose();
  plain.dispose();
  ckpt.dispose();
});

test('gradientCheckpointing takes only a boolean', () => {
  const m = build(VARIANTS['T5 v1.0 (relu, tied)'], false);
  expect(() => {
    (m as unknown as { gradientCheckpointing: unknown }).gradientCheckpointing = 'yes';
  }).toThrow(expect.objectContaining({ code: 'EXT5_INVALID_ARG' }));
  expect(m.gradientCheckpointing).toBe(false);
  m.dispose();
});

test('checkpointing lowers the peak memory of a training step (VmHWM per process)', () => {
  const spec = { ...wideTinySpec(), steps: 1, threads: 1 };
  const plain = measureCheckpointMemory({ ...spec, checkpointing: false }, 150_000);
  const ckpt = measureCheckpointMemory({ ...spec, checkpointing: true }, 150_000);
  console.log(
    `peak memory added by one step: ${plain.peakAddedMiB.toFixed(1)} MiB without checkpointing, ` +
      `${ckpt.peakAddedMiB.toFixed(1)} MiB with (step ${plain.stepMs[0]!.toFixed(0)} ms vs ${ckpt.stepMs[0]!.toFixed(0)} ms)`,
  );
  expect(ckpt.losses).toEqual(plain.losses);
  expect(plain.peakAddedMiB).toBeGreaterThan(50);
  expect(ckpt.peakAddedMiB).toBeLessThan(0.6 * plain.peakAddedMiB);
});

test('model.gradientCheckpointing in a run config reaches the model the run builds', () => {
  for (const on of [false, true]) {
    const c = loadRunConfig({ preset: 'tiny-test', set: [`model.gradientCheckpointing=${on}`] });
    const m = buildModel(c, 2048);
    expect(m.gradientCheckpointing).toBe(on);
    m.dispose();
  }
});

test('the memory planner lists the parameters the native model creates, by name and shape', () => {
  for (const config of Object.values(VARIANTS)) {
    const m = build(config, false);
    const real = m.namedParameters().map(([name, t]) => {
      const shape = [...t.shape];
      t.dispose();
      return { name, shape };
    });
    expect(parameterShapes(m.config)).toEqual(real);
    m.dispose();
  }
});
