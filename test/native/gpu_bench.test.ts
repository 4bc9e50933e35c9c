// The TypeScript pieces of bench/gpu/ (run on a GPU machine by bench/gpu/run.sh) run here on
// the CPU at small sizes, so that a bug in them shows up before a GPU run is spent on it.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { runAb } from '../../bench/gpu/attention_ab';
import { parity, speed, TOLERANCE } from '../../bench/gpu/ext5_side';
import { maxAbsDiff as maxDiff } from '../../bench/t5_interleave';
import { t5Flops } from '../../lib/model/flops';
import { T5ForConditionalGeneration } from '../../lib/model/t5';
import { preset } from '../../lib/model/t5_presets';
import type { Tensor } from '../../lib/tensor/tensor';
import { testDevice } from './test_device';

jest.setTimeout(120_000);

let root: string;
beforeAll(() => {
  root = fs.mkdtempSync(path.join(os.tmpdir(), 'ext5-gpu-bench-'));
});
afterAll(() => fs.rmSync(root, { recursive: true, force: true }));

test('maxDiff reports the largest difference and the scale of the reference', () => {
  expect(maxDiff([1, -2, 3], [1, -2.5, 2])).toEqual({ diff: 1, scale: 2.5 });
  expect(() => maxDiff([1], [1, 2])).toThrow(/length mismatch/);
});

test('parity: reads expected.json, compares both dtypes, saves the model back', async () => {
  // Stands in for hf_side.py make-parity: a saved checkpoint and float32 expectations computed
  // by ext5 itself (so float32 must match exactly), bfloat16 expectations equal to float32's.
  const dir = path.join(root, 'parity', 'm');
  const model = T5ForConditionalGeneration.fromConfig('t5-v1_1-tiny', { seed: 4 });
  await model.savePretrained(dir);
  const e = {
    input_ids: [
      [5, 6, 7, 1],
      [8, 9, 1, 0],
    ],
    attention_mask: [
      [1, 1, 1, 1],
      [1, 1, 1, 0],
    ],
    labels: [
      [4, 3, 1],
      [7, 1, -100],
    ],
  };
  const out = model.forward({
    inputIds: e.input_ids,
    attentionMask: e.attention_mask,
    labels: e.labels,
    returnLogits: true,
  });
  const logits = Array.from((out.logits as Tensor).data() as Float32Array);
  out.logits?.dispose();
  model.dispose();
  const ref = { logits, loss: out.loss as number };
  fs.writeFileSync(path.join(dir, 'expected.json'), JSON.stringify({ ...e, float32: ref, bfloat16: ref }));
  const r = (await parity(path.join(root, 'parity'), testDevice())) as {
    ok: boolean;
    models: {
      name: string;
      float32: { logitsMaxDiff: number; pass: boolean };
      bfloat16: { pass: boolean };
    }[];
  };
  const m = r.models[0];
  expect(m?.name).toBe('m');
  expect(m?.float32.logitsMaxDiff).toBeLessThanOrEqual(TOLERANCE.float32.logits);
  expect(m?.float32.pass).toBe(true);
  expect(m?.bfloat16.pass).toBe(true);
  expect(r.ok).toBe(true);
  expect(fs.existsSync(path.join(dir, 'ext5_saved', 'model.safetensors'))).toBe(true);
  const saved = JSON.parse(fs.readFileSync(path.join(dir, 'ext5_logits.json'), 'utf8'));
  expect(saved.logits).toHaveLength(logits.length);

  // A wrong expectation must fail the comparison.
  const bad = { ...ref, loss: ref.loss + 1 };
  fs.writeFileSync(path.join(dir, 'expected.json'), JSON.stringify({ ...e, float32: bad, bfloat16: ref }));
  expect(((await parity(path.join(root, 'parity'), testDevice())) as { ok: boolean }).ok).toBe(false);
  await expect(parity(path.join(root, 'nothing-here-' + Date.now()), 'cpu')).rejects.toThrow();
});

test('speed: training steps, generation, the batch and weights for transformers', async () => {
  const dir = path.join(root, 'speed');
  fs.mkdirSync(dir);
  const r = (await speed(dir, testDevice(), {
    config: 't5-v1_1-tiny',
    dtype: 'float32',
    B: 2,
    S: 12,
    T: 5,
    N: 4,
    steps: 2,
  })) as {
    tokensPerS: number;
    stepMs: number;
    losses: number[];
    parameters: number;
    trainingFlopsPerStep: number;
    flopsPerS: number;
    generate: { tokensPerS: number };
  };
  expect(r.tokensPerS).toBeGreaterThan(0);
  // FLOPs are the per-stack count of lib/model/flops.ts, and transformers' side gets the same number.
  const flops = t5Flops(preset('t5-v1_1-tiny'), { inputLength: 12, targetLength: 5, batchSize: 2 }).training;
  expect(r.trainingFlopsPerStep).toBe(flops);
  expect(Math.abs((r.flopsPerS * r.stepMs) / 1e3 / flops - 1)).toBeLessThan(1e-9);
  expect(r.losses).toHaveLength(4);
  expect(r.losses.every(Number.isFinite)).toBe(true);
  expect(r.generate.tokensPerS).toBeGreaterThan(0);
  const b = JSON.parse(fs.readFileSync(path.join(dir, 'speed_batch.json'), 'utf8'));
  expect(b.input_ids).toHaveLength(2);
  expect(b.labels[0]).toHaveLength(5);
  expect(b.trainingFlopsPerStep).toBe(flops);
  expect(fs.existsSync(path.join(dir, 'speed_model', 'config.json'))).toBe(true);
});

test('attention A/B: both paths run and give the same loss', () => {
  const [row] = runAb({
    configs: ['t5-v1_1-tiny'],
    device: testDevice(),
    dtype: 'float32',
    B: 2,
    S: 10,
    T: 4,
    N: 3,
    steps: 1,
  });
  expect(row?.lossDiff).toBeLessThan(1e-5);
  expect(row?.trainStepMsSdpa).toBeGreaterThan(0);
  expect(row?.generateTokPerSExplicit).toBeGreaterThan(0);
});
