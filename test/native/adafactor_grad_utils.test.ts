// Global-norm clipping, gradient norms and gradient scaling (native/torch/grad_utils.cc), and
// gradient accumulation across backward calls.

import { T5ForConditionalGeneration } from '../../lib/model/t5';
import { accumulateGradients } from '../../lib/optim/accumulate';
import { Adafactor, clipGradNorm, gradNorm, scaleGrads } from '../../lib/optim/adafactor';
import { type Tensor, tensor, tidy } from '../../lib/tensor/tensor';
import { held } from './helpers/held';

function param(data: number[], shape: number[]): Tensor {
  const t = tensor(data, { shape, dtype: 'float32' });
  t.requiresGrad = true;
  return t;
}

function setGrad(p: Tensor, g: number[]): void {
  p.zeroGrad();
  p.backward(tensor(g, { shape: p.shape, dtype: 'float32' }));
}

function grad(p: Tensor): number[] {
  const g = p.grad;
  if (!g) throw new Error('no grad');
  return Array.from(g.data() as Float32Array);
}

describe('clipGradNorm', () => {
  test('scales all gradients together to the max norm and returns the norm before clipping', () => {
    // grads [3, 4] and [12]: global norm sqrt(9 + 16 + 144) = 13; coefficient 6.5 / (13 + 1e-6).
    const a = param([0, 0], [2]);
    const b = param([0], [1]);
    setGrad(a, [3, 4]);
    setGrad(b, [12]);
    expect(gradNorm([a, b])).toBeCloseTo(13, 5);
    expect(clipGradNorm([a, b], 6.5)).toBeCloseTo(13, 5);
    const c = 6.5 / (13 + 1e-6);
    const ga = grad(a);
    expect(ga[0]).toBeCloseTo(3 * c, 5);
    expect(ga[1]).toBeCloseTo(4 * c, 5);
    expect(grad(b)[0]).toBeCloseTo(12 * c, 5);
    expect(gradNorm([a, b])).toBeCloseTo(6.5, 4);
  });

  test('leaves gradients below the max norm alone; skips parameters without gradients', () => {
    const a = param([0, 0], [2]);
    const none = param([1], [1]);
    setGrad(a, [0.3, 0.4]);
    expect(clipGradNorm([a, none], 1)).toBeCloseTo(0.5, 6);
    expect(grad(a)).toEqual([Math.fround(0.3), Math.fround(0.4)]);
    expect(clipGradNorm([none], 1)).toBe(0);
  });

  test('the infinity norm is the largest absolute gradient', () => {
    const a = param([0, 0, 0], [3]);
    setGrad(a, [1, -5, 2]);
    expect(gradNorm([a], Number.POSITIVE_INFINITY)).toBe(5);
    expect(clipGradNorm([a], 2.5, Number.POSITIVE_INFINITY)).toBe(5);
    expect(grad(a)[1]).toBeCloseTo(-2.5, 5);
  });

  test('a NaN or infinite gradient is reported and nothing is scaled', () => {
    const a = param([0, 0], [2]);
    const b = param([0], [1]);
    setGrad(a, [3, 4]);
    setGrad(b, [Number.NaN]);
    expect(clipGradNorm([a, b], 1)).toBeNaN();
    expect(grad(a)).toEqual([3, 4]);
    setGrad(b, [Number.POSITIVE_INFINITY]);
    expect(clipGradNorm([a, b], 1)).toBe(Number.POSITIVE_INFINITY);
    expect(grad(a)).toEqual([3, 4]);
  });

  test('takes an optimizer or named parameters as well', () => {
    const a = param([0, 0], [2]);
    setGrad(a, [6, 8]);
    const opt = new Adafactor([['a', a] as const]);
    expect(gradNorm(opt)).toBeCloseTo(10, 5);
    expect(gradNorm([['a', a] as const])).toBeCloseTo(10, 5);
  });

  test('with a model: wrappers made for the call are freed; an optimizer built in tidy() keeps its own', () => {
    const model = T5ForConditionalGeneration.fromConfig('t5-tiny', { seed: 2 });
    model.forwardBackward({ inputIds: [[5, 6, 1]], labels: [[7, 1]] });
    const before = held().tensors;
    const norm = gradNorm(model);
    for (let i = 0; i < 10; i++) expect(gradNorm(model)).toBe(norm);
    expect(held().tensors).toBe(before);
    const opt = tidy(() => new Adafactor(model));
    expect(clipGradNorm(opt, 1e9)).toBe(norm);
    opt.dispose();
    expect(held().tensors).toBe(before);
    model.dispose();
  });

  test('bad input', () => {
    const a = param([0], [1]);
    expect(() => clipGradNorm([a], 0)).toThrow(/maxNorm must be > 0/);
    expect(() => clipGradNorm([a], 1, 3)).toThrow(/normType must be 1, 2 or Infinity/);
    expect(() => gradNorm([tensor([1], { dtype: 'int64' })])).toThrow(/only floating-point/);
    expect(() => scaleGrads([a], Number.NaN)).toThrow(/factor/);
  });
});

describe('gradient accumulation', () => {
  test('backward calls add up; scaleGrads(1/k) averages them', () => {
    // loss_i = sum(w * x_i): dloss/dw = x_i. Two micro-batches then scale by 1/2 = mean of x.
    const w = param([1, 1], [2]);
    for (const x of [
      [1, 2],
      [3, -4],
    ]) {
      w.mul(tensor(x, { dtype: 'float32' }))
        .sum()
        .backward();
    }
    expect(grad(w)).toEqual([4, -2]);
    scaleGrads([w], 0.5);
    expect(grad(w)).toEqual([2, -1]);
  });

  test('accumulateGradients over micro-batches equals one pass over their union', async () => {
    // loss = mean over rows of (x . w)^2; the halves weighted by their rows equal the whole batch,
    // also when the micro-batches differ in size (1 row and 3 rows), as the trainer weights by tokens.
    const rows = [
      [1, 2],
      [3, -1],
      [0.5, 0.5],
      [-2, 1],
    ];
    const lossOf = (w: Tensor, xs: number[][], gradScale = 1) => {
      const x = tensor(xs, { dtype: 'float32' });
      const l = x.matmul(w).square().mean();
      l.mul(gradScale).backward();
      return l.item() as number;
    };
    const whole = param([0.3, -0.7], [2, 1]);
    const full = lossOf(whole, rows);
    for (const cut of [2, 1]) {
      const split = param([0.3, -0.7], [2, 1]);
      const parts = [rows.slice(0, cut), rows.slice(cut)];
      const mean = await accumulateGradients(
        parts,
        parts.map((p) => p.length),
        (xs, gradScale) => lossOf(split, xs, gradScale),
      );
      expect(mean).toBeCloseTo(full, 6);
      const a = grad(whole);
      const b = grad(split);
      expect(b[0]).toBeCloseTo(a[0]!, 6);
      expect(b[1]).toBeCloseTo(a[1]!, 6);
    }
    const split = param([0.3, -0.7], [2, 1]);
    await expect(accumulateGradients([], [], () => 0)).rejects.toThrow(/at least one micro-batch/);
    await expect(accumulateGradients([rows], [1, 2], () => 0)).rejects.toThrow(
      /1 micro-batches but 2 weights/,
    );
    await expect(accumulateGradients([rows], [-1], () => lossOf(split, rows))).rejects.toThrow(
      /weight must be/,
    );
  });
});
