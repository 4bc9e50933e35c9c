// Training through the coarse native calls: a tiny T5 overfits a handful of pairs with the
// project's Adafactor and then generates its targets; memory stays flat over hundreds of steps.
import { T5ForConditionalGeneration } from '../../lib/model/t5';
import { Adafactor } from '../../lib/optim/adafactor';
import { held } from './helpers/held';

// Generous: these spawn Python or train, and the machine may be shared.
jest.setTimeout(120_000);

const PAIRS: Array<[number[], number[]]> = [
  [
    [10, 11, 12, 1],
    [20, 21, 1],
  ],
  [
    [13, 14, 1],
    [22, 23, 24, 1],
  ],
  [
    [15, 16, 17, 18, 1],
    [25, 1],
  ],
  [
    [19, 30, 1],
    [26, 27, 28, 29, 1],
  ],
];

function padRows(rows: number[][], fill: number): { ids: number[][]; mask: number[][] } {
  const L = Math.max(...rows.map((r) => r.length));
  return {
    ids: rows.map((r) => [...r, ...Array(L - r.length).fill(fill)]),
    mask: rows.map((r) => r.map(() => 1).concat(Array(L - r.length).fill(0))),
  };
}

const enc = padRows(
  PAIRS.map((p) => p[0]),
  0,
);
const dec = padRows(
  PAIRS.map((p) => p[1]),
  -100,
);
const BATCH = { inputIds: enc.ids, attentionMask: enc.mask, labels: dec.ids };

// The loss that counts as "memorised" for 4 pairs (mean cross-entropy per target token).
const OVERFIT_LOSS = 0.05;

test('a tiny T5.1.1 overfits 4 pairs with Adafactor (loss < 0.05 within 300 steps) and generates them', async () => {
  const model = T5ForConditionalGeneration.fromConfig('t5-v1_1-tiny', { seed: 3 });
  model.train();
  const opt = new Adafactor(model, { lr: 1e-2 });
  let loss = Number.POSITIVE_INFINITY;
  let steps = 0;
  for (; steps < 300 && loss >= OVERFIT_LOSS; steps++) {
    const out = steps % 2 === 0 ? model.forwardBackward(BATCH) : await model.forwardBackwardAsync(BATCH);
    loss = out.loss as number;
    opt.step();
    opt.zeroGrad();
  }
  expect(loss).toBeLessThan(OVERFIT_LOSS);
  model.eval();
  const out = model.generate(enc.ids, enc.mask, { maxNewTokens: 8 });
  expect(T5ForConditionalGeneration.sequencesToArrays(out)).toEqual(PAIRS.map((p) => p[1]));
  out.dispose();
  const beams = model.generate(enc.ids, enc.mask, { maxNewTokens: 8, numBeams: 3 });
  expect(T5ForConditionalGeneration.sequencesToArrays(beams)).toEqual(PAIRS.map((p) => p[1]));
  beams.dispose();
  opt.dispose();
  model.dispose();
});

test('memory stays flat over 300 training steps (live handles unchanged, RSS within 40 MB)', async () => {
  const model = T5ForConditionalGeneration.fromConfig('t5-tiny', { seed: 1 });
  model.train();
  const opt = new Adafactor(model, { lr: 1e-3 });
  const step = async (i: number) => {
    if (i % 3 === 0) await model.forwardBackwardAsync(BATCH);
    else model.forwardBackward({ ...BATCH, zLoss: 1e-4 });
    opt.step();
    opt.zeroGrad();
    if (i % 50 === 0) model.generate(enc.ids, enc.mask, { maxNewTokens: 4 }).dispose();
  };
  for (let i = 0; i < 50; i++) await step(i);
  const handles = held().tensors;
  const rss0 = process.memoryUsage().rss;
  for (let i = 50; i < 350; i++) await step(i);
  const rss1 = process.memoryUsage().rss;
  expect(held().tensors).toBe(handles);
  expect(rss1 - rss0).toBeLessThan(40 * 2 ** 20);
  opt.dispose();
  model.dispose();
});
