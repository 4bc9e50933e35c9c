// Adafactor against hand-computed steps and against an independent numpy implementation of the
// paper's equations (test/reference/adafactor_reference.py).
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Adafactor, type AdafactorOptions } from '../../lib/optim/adafactor';
import { type Tensor, tensor, zeros } from '../../lib/tensor/tensor';

const REFERENCE = path.join(__dirname, '..', 'reference', 'adafactor_reference.py');

/** A leaf tensor that requires grad. */
function param(data: number[] | Float32Array, shape: number[]): Tensor {
  const t = tensor(Array.from(data), { shape, dtype: 'float32' });
  t.requiresGrad = true;
  return t;
}

/** Sets p.grad to exactly g (drops the old gradient first). */
function setGrad(p: Tensor, g: number[] | Float32Array): void {
  p.zeroGrad();
  p.backward(tensor(Array.from(g), { shape: p.shape, dtype: p.dtype }));
}

function expectClose(actual: ArrayLike<number>, expected: ArrayLike<number>, rtol = 1e-5, atol = 1e-7): void {
  expect(actual.length).toBe(expected.length);
  for (let i = 0; i < expected.length; i++) {
    const a = actual[i]!;
    const e = expected[i]!;
    if (Math.abs(a - e) > atol + rtol * Math.abs(e)) {
      throw new Error(`element ${i}: got ${a}, expected ${e} (|diff| ${Math.abs(a - e)})`);
    }
  }
}

/** Deterministic float32 values in [-scale, scale). */
function seeded(n: number, seed: number, scale = 1): Float32Array {
  let s = seed >>> 0 || 1;
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    out[i] = ((s / 2 ** 32) * 2 - 1) * scale;
  }
  return out;
}

interface RefOut {
  params: number[][][];
  state: Array<{
    step: number;
    factoredDims: number[] | null;
    v_row?: number[];
    v_col?: number[];
    v?: number[];
    m?: number[];
  }>;
}

function reference(spec: unknown): RefOut {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ext5-adafactor-'));
  try {
    const file = path.join(dir, 'spec.json');
    fs.writeFileSync(file, JSON.stringify(spec));
    return JSON.parse(execFileSync('/usr/bin/python3', [REFERENCE, file], { encoding: 'utf8' })) as RefOut;
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

describe('Adafactor: hand-computed steps', () => {
  test('2x2 factored (minDimSizeToFactor 2), relative step, parameter scaling, clipping', () => {
    // X0 = [[1, 2], [3, 4]], G = [[2, 0], [0, 1]], t = 1 so beta2 = 1 - 1^-0.8 = 0.
    // G^2 row sums R = [4, 1], column sums C = [4, 1], sum(R) = 5.
    // V = R C^T / sum(R) = [[3.2, 0.8], [0.8, 0.2]].
    // U = G / sqrt(V) = [[2/sqrt(3.2), 0], [0, 1/sqrt(0.2)]] = [[1.1180340, 0], [0, 2.2360680]].
    // RMS(U) = sqrt((1.25 + 5) / 4) = 1.25 > d = 1, so U /= 1.25 -> [[0.8944272, 0], [0, 1.7888544]].
    // rho = min(1e-2, 1/sqrt(1)) = 0.01; RMS(X0) = sqrt(30/4) = sqrt(7.5); a = 0.01 sqrt(7.5).
    // a * 0.8944272 = 0.01 sqrt(7.5 * 0.8) = 0.01 sqrt(6) = 0.024494897;  a * 1.7888544 = 0.048989795.
    const p = param([1, 2, 3, 4], [2, 2]);
    setGrad(p, [2, 0, 0, 1]);
    const opt = new Adafactor([p], { minDimSizeToFactor: 2 });
    expect(opt.paramInfo()[0]!.factoredDims).toEqual([1, 0]);
    expect(opt.step()).toBe(1);
    expectClose(p.data() as Float32Array, [1 - 0.01 * Math.sqrt(6), 2, 3, 4 - 0.02 * Math.sqrt(6)], 1e-6);
    // Implementations keep means instead of sums: v_row = R / 2, v_col = C / 2.
    const state = new Map(opt.stateDict().entries);
    expectClose(tensorData(state.get('state.0.v_row')), [2, 0.5]);
    expectClose(tensorData(state.get('state.0.v_col')), [2, 0.5]);
  });

  test('2x2 unfactored (below minDimSizeToFactor): V = G^2 + eps1', () => {
    // V = G^2 + 1e-30, U = G / |G| = [[1, 0], [0, 1]] (0 / 1e-15 = 0); RMS(U) = sqrt(0.5) < 1,
    // so no clipping; a = 0.01 sqrt(7.5) = 0.027386128.
    const p = param([1, 2, 3, 4], [2, 2]);
    setGrad(p, [2, 0, 0, 1]);
    const opt = new Adafactor([p]);
    expect(opt.paramInfo()[0]!.factoredDims).toBeNull();
    opt.step();
    const a = 0.01 * Math.sqrt(7.5);
    expectClose(p.data() as Float32Array, [1 - a, 2, 3, 4 - a], 1e-6);
  });

  test('explicit lr without parameter scaling, with momentum: second step by hand', () => {
    // 1-D x = [1, -1], g = [0.5, -0.25] both steps, lr = 0.1, beta1 = 0.5, no scaling, no clip.
    // t=1: V = g^2, U = sign(g) = [1, -1]; M1 = 0.5 * 0.1 * U = [0.05, -0.05]; x1 = [0.95, -0.95].
    // t=2: beta2 = 1 - 2^-0.8; V = b V + (1-b) g^2 = g^2 again, U = [1, -1];
    //      M2 = 0.5 * M1 + 0.5 * 0.1 * U = [0.075, -0.075]; x2 = [0.875, -0.875].
    const p = param([1, -1], [2]);
    const opt = new Adafactor([p], { lr: 0.1, scaleParameter: false, beta1: 0.5, clipThreshold: 0 });
    setGrad(p, [0.5, -0.25]);
    opt.step();
    expectClose(p.data() as Float32Array, [0.95, -0.95], 1e-6);
    setGrad(p, [0.5, -0.25]);
    opt.step();
    expectClose(p.data() as Float32Array, [0.875, -0.875], 1e-6);
    expect(opt.stepCount).toBe(2);
  });
});

function tensorData(t: Tensor | undefined): Float32Array {
  if (!t) throw new Error('missing state tensor');
  return t.data() as Float32Array;
}

interface Case {
  name: string;
  options: AdafactorOptions;
  shapes: number[][];
  steps: number;
  lrs?: number[];
  /** Params (by index) that get no gradient at a given step. */
  skip?: Array<[number, number]>;
}

const CASES: Case[] = [
  { name: 'factored 128x130, T5 defaults', options: {}, shapes: [[128, 130]], steps: 3 },
  { name: 'unfactored vector and small matrix, defaults', options: {}, shapes: [[7], [4, 6]], steps: 3 },
  {
    name: 'explicit lr, no parameter scaling, no clipping',
    options: { lr: 0.05, scaleParameter: false, clipThreshold: 0, minDimSizeToFactor: 3 },
    shapes: [[5, 4], [3]],
    steps: 3,
  },
  {
    name: 'momentum and weight decay, factored and not',
    options: { beta1: 0.9, weightDecay: 0.01, minDimSizeToFactor: 4 },
    shapes: [
      [6, 4],
      [2, 3],
    ],
    steps: 4,
  },
  {
    name: 'three dims: the two largest are factored, ties go to the later dim',
    options: { minDimSizeToFactor: 4 },
    shapes: [
      [3, 8, 5],
      [6, 3, 6],
    ],
    steps: 3,
  },
  {
    name: 'per-step learning rates (a schedule) and warm-up-free decay 0.5',
    options: { relativeStep: false, decayRate: 0.5, minDimSizeToFactor: 2 },
    shapes: [[3, 3]],
    steps: 3,
    lrs: [0.01, 0.02, 0.005],
  },
  {
    name: 'relative step with warmupInit; a parameter without a gradient is skipped',
    options: { warmupInit: true, minDimSizeToFactor: 2 },
    shapes: [[2, 5], [4]],
    steps: 3,
    skip: [[1, 1]],
  },
  { name: 'factoring disabled', options: { factored: false }, shapes: [[130, 128]], steps: 2 },
];

describe('Adafactor against the numpy reference (paper equations)', () => {
  test.each(CASES)('$name', (c) => {
    const inits = c.shapes.map((s, i) =>
      seeded(
        s.reduce((a, b) => a * b, 1),
        11 + i,
        2,
      ),
    );
    const grads = Array.from({ length: c.steps }, (_, k) =>
      c.shapes.map((s, i) =>
        c.skip?.some(([step, idx]) => step === k && idx === i)
          ? null
          : seeded(
              s.reduce((a, b) => a * b, 1),
              101 + 7 * k + i,
              0.5,
            ),
      ),
    );
    const ref = reference({
      options: c.options,
      params: c.shapes.map((shape, i) => ({ shape, data: Array.from(inits[i]!) })),
      grads: grads.map((gs) => gs.map((g) => (g ? Array.from(g) : null))),
      lrs: c.lrs,
    });
    const params = c.shapes.map((s, i) => param(inits[i]!, s));
    const opt = new Adafactor(
      params.map((p, i) => [`p${i}`, p] as [string, Tensor]),
      c.options,
    );
    for (let k = 0; k < c.steps; k++) {
      params.forEach((p, i) => {
        const g = grads[k]![i];
        if (g) setGrad(p, g);
        else p.zeroGrad();
      });
      const updated = opt.step(c.lrs?.[k]);
      expect(updated).toBe(grads[k]!.filter((g) => g !== null).length);
      params.forEach((p, i) => {
        expectClose(p.data() as Float32Array, ref.params[k]![i]!, 2e-5, 1e-6);
      });
    }
    const state = new Map(opt.stateDict().entries);
    ref.state.forEach((s, i) => {
      expect(opt.paramInfo()[i]!.factoredDims).toEqual(s.factoredDims);
      for (const field of ['v_row', 'v_col', 'v', 'm'] as const) {
        const expected = s[field];
        if (expected) expectClose(tensorData(state.get(`state.p${i}.${field}`)), expected, 1e-4, 1e-30);
        else expect(state.has(`state.p${i}.${field}`)).toBe(false);
      }
    });
  });
});

describe('Adafactor behaviour', () => {
  test('a tiny linear regression converges', () => {
    const n = 32;
    const xs = seeded(n * 4, 5, 1);
    const trueW = [0.5, -1.5, 2, 0.25];
    const ys = new Float32Array(n);
    for (let i = 0; i < n; i++) for (let j = 0; j < 4; j++) ys[i]! += xs[i * 4 + j]! * trueW[j]!;
    const X = tensor(Array.from(xs), { shape: [n, 4], dtype: 'float32' });
    const y = tensor(Array.from(ys), { shape: [n, 1], dtype: 'float32' });
    const w = zeros([4, 1]);
    w.requiresGrad = true;
    const opt = new Adafactor([w], { lr: 0.05, scaleParameter: false });
    const lossOf = () => X.matmul(w).sub(y).square().mean();
    const first = lossOf().item() as number;
    for (let i = 0; i < 300; i++) {
      opt.zeroGrad();
      lossOf().backward();
      opt.step();
    }
    const last = lossOf().item() as number;
    expect(first).toBeGreaterThan(1);
    expect(last).toBeLessThan(1e-3 * first);
    expectClose(w.data() as Float32Array, trueW, 0, 0.05);
  });

  test('stepAsync runs on a worker, gives the same result, and refuses a concurrent step', async () => {
    const a = param([1, 2, 3, 4], [2, 2]);
    const b = param([1, 2, 3, 4], [2, 2]);
    setGrad(a, [0.1, -0.2, 0.3, 0.4]);
    setGrad(b, [0.1, -0.2, 0.3, 0.4]);
    const oa = new Adafactor([a], { minDimSizeToFactor: 2 });
    const ob = new Adafactor([b], { minDimSizeToFactor: 2 });
    oa.step();
    const pending = ob.stepAsync();
    expect(() => ob.step()).toThrow(expect.objectContaining({ code: 'EXT5_BUSY' }));
    await expect(ob.stepAsync()).rejects.toMatchObject({ code: 'EXT5_BUSY' });
    expect(await pending).toBe(1);
    expect(ob.stepCount).toBe(1);
    expect(() => ob.zeroGrad()).not.toThrow();
    expect(Array.from(b.data() as Float32Array)).toEqual(Array.from(a.data() as Float32Array));
  });

  test('a rate of 0 (the first step of a warm-up schedule) leaves parameters as they are', () => {
    const p = param([1, 2], [2]);
    setGrad(p, [1, -1]);
    const opt = new Adafactor([p], { lr: 0 });
    expect(opt.step()).toBe(1);
    expect(Array.from(p.data() as Float32Array)).toEqual([1, 2]);
    opt.step(0.5);
    expect((p.data() as Float32Array)[0]).toBeLessThan(1);
  });

  test('zeroGrad drops gradients; parameters without gradients are left alone', () => {
    const p = param([1, 2], [2]);
    const q = param([3, 4], [2]);
    setGrad(p, [1, 1]);
    const opt = new Adafactor([p, q]);
    expect(opt.step()).toBe(1);
    expect(Array.from(q.data() as Float32Array)).toEqual([3, 4]);
    opt.zeroGrad();
    expect(p.grad).toBeNull();
    expect(opt.step()).toBe(0);
  });

  test('bfloat16 parameters update through float32, momentum can be kept in bfloat16', () => {
    const p32 = param([1, 2, 3, 4], [2, 2]);
    const p16 = tensor([1, 2, 3, 4], { shape: [2, 2], dtype: 'bfloat16' });
    p16.requiresGrad = true;
    setGrad(p32, [0.5, 0.5, -0.5, 0.25]);
    setGrad(p16, [0.5, 0.5, -0.5, 0.25]);
    const o32 = new Adafactor([p32], { lr: 0.25, scaleParameter: false, beta1: 0.9 });
    const o16 = new Adafactor([p16], {
      lr: 0.25,
      scaleParameter: false,
      beta1: 0.9,
      momentumDtype: 'bfloat16',
    });
    o32.step();
    o16.step();
    expect(p16.dtype).toBe('bfloat16');
    expectClose(p16.data() as Float32Array, p32.data() as Float32Array, 1e-2);
    expect(new Map(o16.stateDict().entries).get('state.0.m')!.dtype).toBe('bfloat16');
  });
});

describe('Adafactor: bad input', () => {
  const p = () => param([1, 2], [2]);
  test.each<[string, () => unknown, RegExp, string]>([
    ['empty list', () => new Adafactor([]), /at least one parameter/, 'EXT5_INVALID_ARG'],
    [
      'integer tensor',
      () => new Adafactor([tensor([1, 2], { dtype: 'int64' })]),
      /int64.*floating-point/,
      'EXT5_DTYPE',
    ],
    [
      'the same tensor twice',
      () => {
        const t = p();
        return new Adafactor([t, t]);
      },
      /same tensor/,
      'EXT5_INVALID_ARG',
    ],
    [
      'duplicate names',
      () => new Adafactor([['w', p()] as const, ['w', p()] as const]),
      /duplicate parameter name 'w'/,
      'EXT5_INVALID_ARG',
    ],
    [
      'unknown option',
      () => new Adafactor([p()], { beta2: 0.9 } as never),
      /unknown Adafactor option 'beta2'/,
      'EXT5_INVALID_ARG',
    ],
    [
      'misspelt option',
      () => new Adafactor([p()], { clipTreshold: 1 } as never),
      /did you mean 'clipThreshold'/,
      'EXT5_INVALID_ARG',
    ],
    [
      'lr with relativeStep',
      () => new Adafactor([p()], { lr: 0.1, relativeStep: true }),
      /cannot be combined/,
      'EXT5_INVALID_ARG',
    ],
    [
      'beta1 out of range',
      () => new Adafactor([p()], { beta1: 1 }),
      /beta1 must be in \[0, 1\)/,
      'EXT5_INVALID_ARG',
    ],
    ['negative lr', () => new Adafactor([p()], { lr: -1 }), /lr must be/, 'EXT5_INVALID_ARG'],
    [
      'step(lr) with relative step',
      () => new Adafactor([p()]).step(0.1),
      /needs relativeStep: false/,
      'EXT5_INVALID_ARG',
    ],
    [
      'no lr at all',
      () => new Adafactor([p()], { relativeStep: false }).step(),
      /no learning rate/,
      'EXT5_INVALID_ARG',
    ],
    ['not a list', () => new Adafactor(42 as never), /must be an array/, 'EXT5_INVALID_ARG'],
  ])('%s', (_name, fn, message, code) => {
    let err: unknown;
    try {
      fn();
    } catch (e) {
      err = e;
    }
    // Native errors come from another realm under jest: check the shape, not instanceof.
    expect(typeof (err as Error)?.message).toBe('string');
    expect((err as Error).message).toMatch(message);
    expect((err as { code?: string }).code).toBe(code);
  });

  test('a disposed optimizer says so', () => {
    const opt = new Adafactor([p()]);
    opt.dispose();
    expect(() => opt.step()).toThrow(expect.objectContaining({ code: 'EXT5_DISPOSED' }));
  });
});
