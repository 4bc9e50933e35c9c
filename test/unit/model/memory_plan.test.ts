// The memory planner's formulas: parameter counts of the published T5 sizes, Adafactor's factored
// state, activations that checkpointing shrinks, sharding over a size-balanced partition of the
// real parameter list, byte sizes parsed exactly, and what the plan says of T5.1.1 XXL on one and
// on eight 80 GB devices. The real model's parameter shapes are checked against parameterShapes()
// in test/native/t5_checkpointing.test.ts, the activation model against measured peaks in
// test/native/memory_plan.test.ts.
import {
  adafactorStateElements,
  type PlanOptions,
  parameterShapes,
  parseByteSize,
  partitionBySize,
  planMemory,
  settingsByCost,
  suggestSettings,
} from '../../../lib/model/memory_plan';
import { preset } from '../../../lib/model/t5_presets';

const count = (name: string) =>
  parameterShapes(preset(name)).reduce((a, p) => a + p.shape.reduce((x, y) => x * y, 1), 0);

test('parameter counts are those of the published checkpoints', () => {
  // Hugging Face num_parameters() of t5-small and google/t5-v1_1-{small,large,xl,xxl}.
  expect(count('t5-small')).toBe(60506624);
  expect(count('t5-v1_1-small')).toBe(76961152);
  expect(count('t5-v1_1-large')).toBe(783150080);
  expect(count('t5-v1_1-xl')).toBe(2849757184);
  expect(count('t5-v1_1-xxl')).toBe(11135332352);
});

test('Adafactor keeps row + column statistics for large matrices, the full square otherwise, plus momentum', () => {
  expect(adafactorStateElements([512, 2048])).toBe(512 + 2048);
  expect(adafactorStateElements([512])).toBe(512);
  expect(adafactorStateElements([32, 8])).toBe(256); // second dim below minDimSizeToFactor 128
  expect(adafactorStateElements([512, 2048], { factored: false })).toBe(512 * 2048);
  expect(adafactorStateElements([512, 2048], { beta1: 0.9 })).toBe(512 + 2048 + 512 * 2048);
  expect(adafactorStateElements([32, 8], { minDimSizeToFactor: 8 })).toBe(32 + 8);
});

const BASE: PlanOptions = {
  rows: 8,
  inputsLength: 512,
  targetsLength: 114,
  computeDtype: 'bfloat16',
  gradientCheckpointing: false,
  dropout: 0.1,
  optimizer: {},
};

test('checkpointing shrinks the activations kept, more with more layers; the rest is unchanged', () => {
  for (const name of ['t5-v1_1-small', 't5-v1_1-xl']) {
    const off = planMemory(preset(name), BASE).perRank;
    const on = planMemory(preset(name), { ...BASE, gradientCheckpointing: true }).perRank;
    expect(on.parameters).toBe(off.parameters);
    expect(on.gradients).toBe(off.parameters);
    expect(on.optimizer).toBe(off.optimizer);
    expect(on.activations).toBeLessThan(off.activations / 4);
    expect(on.total).toBeLessThan(off.total);
    expect(off.total).toBe(off.parameters + off.gradients + off.optimizer + off.activations + off.workspace);
  }
  const a = planMemory(preset('t5-v1_1-small'), BASE).perRank;
  const b = planMemory(preset('t5-v1_1-small'), { ...BASE, rows: 16 }).perRank;
  expect(b.activations / a.activations).toBeGreaterThan(1.9);
  expect(b.activations / a.activations).toBeLessThan(2);
});

test('bfloat16 compute keeps float32 master weights and accounts for the bfloat16 copies the step keeps', () => {
  const c = preset('t5-v1_1-large');
  const bf = planMemory(c, BASE);
  const fp = planMemory(c, { ...BASE, computeDtype: 'float32' });
  expect(bf.perRank.parameters).toBe(fp.perRank.parameters);
  expect(bf.perRank.parameters).toBe(4 * 783150080);
  // Without checkpointing every block's weights are cast once and kept for backward (2 bytes
  // each), the output layer's too: all but the norms' float32 weights, i.e. almost 2 B/parameter.
  expect(bf.detail.weightCopies).toBeGreaterThan(0.99 * 2 * 783150080 - 2 * c.vocab_size * c.d_model);
  expect(bf.detail.weightCopies).toBeLessThanOrEqual(2 * 783150080);
  // With checkpointing only the output layer's stays between forward and backward.
  const ck = planMemory(c, { ...BASE, gradientCheckpointing: true });
  expect(ck.detail.weightCopies).toBe(2 * c.vocab_size * c.d_model);
});

test('partitionBySize: largest first onto the least loaded rank, by whole tensors', () => {
  expect(partitionBySize([5, 4, 3, 3, 2, 1], 2)).toEqual([0, 1, 1, 0, 1, 0]); // loads 9 and 9
  expect(partitionBySize([10, 1, 1], 2)).toEqual([0, 1, 1]); // a tensor is never split
  expect(partitionBySize([3, 3, 3], 1)).toEqual([0, 0, 0]);
});

test('sharding: optimizer state, then gradients, then parameters per rank are the largest bin of the partition', () => {
  const c = preset('t5-v1_1-xl');
  const sizes = parameterShapes(c).map((p) => p.shape.reduce((x, y) => x * y, 1));
  const total = sizes.reduce((a, b) => a + b, 0);
  const bins = partitionBySize(sizes, 8);
  const loads = new Array<number>(8).fill(0);
  sizes.forEach((s, i) => {
    loads[bins[i]!]! += s;
  });
  const largest = Math.max(...loads);
  // Not a plain 1/N: whole tensors, so the largest bin is above it, by less than the largest tensor.
  expect(largest).toBeGreaterThan(total / 8);
  expect(largest - total / 8).toBeLessThan(Math.max(...sizes));
  const o = { ...BASE, worldSize: 8 };
  const none = planMemory(c, { ...o, sharding: 'none' });
  const opt = planMemory(c, { ...o, sharding: 'optimizer' });
  const grads = planMemory(c, { ...o, sharding: 'gradients' });
  const full = planMemory(c, { ...o, sharding: 'full' });
  expect(none.perRank.parameters).toBe(4 * total);
  expect(opt.perRank.parameters).toBe(4 * total);
  expect(opt.perRank.gradients).toBe(4 * total);
  // The optimizer state of each rank's tensors (the partition is by parameter size).
  const state = new Array<number>(8).fill(0);
  parameterShapes(c).forEach((p, i) => {
    state[bins[i]!]! += adafactorStateElements(p.shape);
  });
  expect(opt.perRank.optimizer).toBe(4 * Math.max(...state));
  expect(opt.perRank.optimizer).toBeLessThan(none.perRank.optimizer / 2);
  expect(grads.perRank.gradients).toBe(4 * largest);
  expect(grads.perRank.parameters).toBe(4 * total);
  expect(full.perRank.parameters).toBe(4 * largest);
  expect(full.perRank.gradients).toBe(4 * largest);
  // full gathers its largest unit with its gradients as workspace: for XL the embedding
  // (32128 × 2048), a little larger than a decoder block with its gradients as workspace.
  const decoderBlock = parameterShapes(c)
    .filter((p) => p.name.startsWith('decoder.block.0.'))
    .reduce((a, p) => a + p.shape.reduce((x, y) => x * y, 1), 0);
  expect(decoderBlock).toBeLessThan(c.vocab_size * c.d_model);
  expect(full.detail.gathered).toBe(2 * 4 * c.vocab_size * c.d_model);
  expect(grads.detail.gathered).toBe(4 * c.vocab_size * c.d_model);
  // Every mode runs, but `full` only with checkpointing (it gathers inside the checkpointed block).
  expect([none.runnable, opt.runnable, grads.runnable, full.runnable]).toEqual([
    true,
    true,
    true,
    o.gradientCheckpointing,
  ]);
  expect(planMemory(c, { ...o, sharding: 'full', gradientCheckpointing: true }).runnable).toBe(true);
  // One rank: sharding keeps everything there.
  expect(planMemory(c, { ...BASE, sharding: 'full' }).perRank.parameters).toBe(4 * total);
});

test('parseByteSize reads decimal and binary units exactly and refuses the rest with a coded error', () => {
  expect(parseByteSize('80GB')).toBe(80e9);
  expect(parseByteSize('80GiB')).toBe(80 * 2 ** 30);
  expect(parseByteSize('81920MiB')).toBe(80 * 2 ** 30);
  expect(parseByteSize('1.5GiB')).toBe(1610612736);
  expect(parseByteSize('0.5kB')).toBe(500);
  expect(parseByteSize(' 512 B ')).toBe(512);
  for (const bad of [
    '80',
    '80gb',
    '80Gb',
    'GB',
    '-1GB',
    '0GB',
    '0.5B',
    '1e3GB',
    '80 GB extra',
    '9999999TB',
  ]) {
    expect(() => parseByteSize(bad, '--device-memory')).toThrow(
      expect.objectContaining({
        code: 'EXT5_INVALID_ARG',
        message: expect.stringContaining('--device-memory'),
      }),
    );
  }
});

test('settings are tried cheapest first; one rank has nothing to shard', () => {
  expect(settingsByCost(1)).toEqual([
    { sharding: 'none', gradientCheckpointing: false },
    { sharding: 'none', gradientCheckpointing: true },
  ]);
  expect(settingsByCost(8).map((s) => `${s.sharding}/${s.gradientCheckpointing}`)).toEqual([
    'none/false',
    'optimizer/false',
    'gradients/false',
    'full/false',
    'none/true',
    'optimizer/true',
    'gradients/true',
    'full/true',
  ]);
});

describe('T5.1.1 XXL at 512/114 tokens in bfloat16 on 80 GB devices', () => {
  const xxl = preset('t5-v1_1-xxl');
  const GB80 = parseByteSize('80GB');
  const one = { ...BASE, rows: 1 };

  test('batch 1 does not fit one device without sharding, with or without checkpointing', () => {
    for (const gradientCheckpointing of [false, true]) {
      const p = planMemory(xxl, { ...one, gradientCheckpointing });
      // Its float32 weights and gradients alone are 89 GB.
      expect(p.perRank.parameters + p.perRank.gradients).toBeGreaterThan(GB80);
      expect(p.perRank.total).toBeGreaterThan(GB80);
    }
    expect(suggestSettings(xxl, one, GB80)).toEqual({ cheapest: null, cheapestRunnable: null });
  });

  test('on 8 devices, 1 row each: ZeRO-3 fits without checkpointing (not runnable), sharded gradients with it', () => {
    const s = suggestSettings(xxl, { ...one, worldSize: 8 }, GB80);
    expect(s.cheapest).toMatchObject({ sharding: 'full', gradientCheckpointing: false, runnable: false });
    expect(s.cheapest!.total).toBeLessThan(GB80);
    expect(s.cheapestRunnable).toMatchObject({
      sharding: 'gradients',
      gradientCheckpointing: true,
      runnable: true,
    });
    // Unsharded data parallelism keeps the whole model per rank: the 1-device figures.
    const dp = planMemory(xxl, { ...one, worldSize: 8, gradientCheckpointing: true });
    expect(dp.perRank.total).toBeGreaterThan(GB80);
  });

  test('on 8 devices, 16 rows each: sharded gradients with checkpointing is the cheapest that fits', () => {
    const s = suggestSettings(xxl, { ...BASE, rows: 16, worldSize: 8 }, GB80);
    expect(s.cheapest).toMatchObject({ sharding: 'gradients', gradientCheckpointing: true, runnable: true });
    expect(s.cheapestRunnable).toEqual(s.cheapest);
  });
});
