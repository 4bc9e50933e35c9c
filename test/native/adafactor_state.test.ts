// Adafactor state: save/load round trips continue exactly, and every mismatch is refused before
// anything changes.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { SafetensorsReader, writeSafetensors } from '../../lib/io/safetensors';
import { Adafactor, type AdafactorOptions } from '../../lib/optim/adafactor';
import { type Tensor, tensor } from '../../lib/tensor/tensor';
import { held } from './helpers/held';

let dir: string;
beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ext5-adastate-'));
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

function param(data: number[], shape: number[]): Tensor {
  const t = tensor(data, { shape, dtype: 'float32' });
  t.requiresGrad = true;
  return t;
}

/** Two parameters: a factored 3x4 (minDimSizeToFactor 3) and a vector. */
function model(): Array<[string, Tensor]> {
  return [
    ['w', param([1, -2, 3, 0.5, -1, 2, 0.25, 4, -3, 1.5, 2, -0.5], [3, 4])],
    ['b', param([0.1, -0.2, 0.3], [3])],
  ];
}

function grads(ps: Array<[string, Tensor]>, k: number): void {
  for (const [name, p] of ps) {
    p.zeroGrad();
    const n = p.shape.reduce((a, b) => a * b, 1);
    const g = Array.from({ length: n }, (_, i) => Math.sin(i * 1.7 + k * 0.9 + name.length));
    p.backward(tensor(g, { shape: p.shape, dtype: 'float32' }));
  }
}

const OPTIONS: AdafactorOptions = { minDimSizeToFactor: 3, beta1: 0.9 };

test('a restored optimizer continues exactly like the original', () => {
  const a = model();
  const optA = new Adafactor(a, OPTIONS);
  for (let k = 0; k < 3; k++) {
    grads(a, k);
    optA.step();
  }
  const file = path.join(dir, 'state.safetensors');
  optA.saveState(file);
  using r = SafetensorsReader.open(file);
  expect(r.names().sort()).toEqual(
    [
      'state.b.m',
      'state.b.step',
      'state.b.v',
      'state.w.m',
      'state.w.step',
      'state.w.v_col',
      'state.w.v_row',
    ].sort(),
  );
  expect(r.metadata).toMatchObject({ format: 'ext5-adafactor-1', step_count: '3' });
  expect(r.info('state.w.v_row').shape).toEqual([3]);
  expect(r.info('state.w.v_col').shape).toEqual([4]);

  // A copy of the parameters, a fresh optimizer, the saved state.
  const b: Array<[string, Tensor]> = a.map(([n, p]) => [
    n,
    param(Array.from(p.data() as Float32Array), p.shape),
  ]);
  const optB = new Adafactor(b, OPTIONS);
  optB.loadState(file);
  expect(optB.stepCount).toBe(3);
  for (let k = 3; k < 5; k++) {
    grads(a, k);
    grads(b, k);
    optA.step();
    optB.step();
  }
  for (let i = 0; i < a.length; i++) {
    expect(Array.from(b[i]![1].data() as Float32Array)).toEqual(Array.from(a[i]![1].data() as Float32Array));
  }
});

test('steps, saves and loads leak no tensors', () => {
  const ps = model();
  const opt = new Adafactor(ps, OPTIONS);
  const file = path.join(dir, 'leak.safetensors');
  grads(ps, 0);
  opt.step();
  opt.saveState(file);
  opt.loadState(file);
  const before = held();
  for (let k = 0; k < 20; k++) {
    opt.step();
    opt.saveState(file);
    opt.loadState(file);
  }
  expect(held()).toEqual(before);
});

test('a never-stepped parameter is saved as step 0 and stays fresh', () => {
  const ps = model();
  const opt = new Adafactor(ps, OPTIONS);
  ps[0]![1].backward(tensor(new Array(12).fill(1), { shape: [3, 4], dtype: 'float32' }));
  opt.step();
  const { entries } = opt.stateDict();
  const keys = entries.map(([k]) => k);
  expect(keys).toContain('state.b.step');
  expect(keys).not.toContain('state.b.v');
  expect(entries.find(([k]) => k === 'state.b.step')![1].item()).toBe(0);
});

describe('mismatches are refused', () => {
  let file: string;
  beforeAll(() => {
    const ps = model();
    const opt = new Adafactor(ps, OPTIONS);
    grads(ps, 0);
    opt.step();
    file = path.join(dir, 'base.safetensors');
    opt.saveState(file);
  });

  function errorOf(fn: () => void): { code: string; message: string } {
    try {
      fn();
    } catch (e) {
      return e as { code: string; message: string };
    }
    throw new Error('expected an error');
  }

  /** Rewrites the saved file with edited tensors or metadata. */
  function edited(
    edit: (
      t: Map<string, { dtype: 'F32' | 'I64'; shape: number[]; data: Uint8Array }>,
      m: Record<string, string>,
    ) => void,
  ): string {
    using r = SafetensorsReader.open(file);
    const tensors = new Map(
      r
        .names()
        .map((k) => [
          k,
          { dtype: r.info(k).dtype as 'F32' | 'I64', shape: r.info(k).shape, data: r.read(k) },
        ]),
    );
    const meta = { ...r.metadata };
    edit(tensors, meta);
    const out = path.join(dir, `edited-${Math.random().toString(36).slice(2)}.safetensors`);
    writeSafetensors(
      out,
      [...tensors].map(([name, t]) => ({ name, ...t })),
      meta,
    );
    return out;
  }

  test.each<[string, () => Adafactor, () => string, RegExp]>([
    [
      'another parameter list',
      () => new Adafactor([model()[0]!], OPTIONS),
      () => file,
      /saved for 2 parameters, but this optimizer has 1/,
    ],
    [
      'renamed parameters',
      () =>
        new Adafactor(
          model().map(([n, p]) => [`x.${n}`, p] as [string, Tensor]),
          OPTIONS,
        ),
      () => file,
      /parameter 0 was \["w",\[3,4\]\] when saved, but is \['x.w', \[3,4\]\] now/,
    ],
    [
      'other shapes',
      () =>
        new Adafactor(
          [
            ['w', param(new Array(12).fill(1), [4, 3])],
            ['b', param([0, 0, 0], [3])],
          ],
          OPTIONS,
        ),
      () => file,
      /parameter 0 was \["w",\[3,4\]\]/,
    ],
    [
      'no momentum now (unexpected key)',
      () => new Adafactor(model(), { minDimSizeToFactor: 3 }),
      () => file,
      /unexpected key 'state.b.m'/,
    ],
    [
      'no factoring now (missing key)',
      () => new Adafactor(model(), { beta1: 0.9 }),
      () => file,
      /no 'state.w.v' for parameter 'w'/,
    ],
    [
      'a statistic of the wrong shape',
      () => new Adafactor(model(), OPTIONS),
      () =>
        edited((t) => {
          t.set('state.w.v_row', { dtype: 'F32', shape: [4], data: new Uint8Array(16) });
        }),
      /'state.w.v_row' has shape \[4\] but parameter 'w' of shape \[3, 4\] needs \[3\]/,
    ],
    [
      'a missing step',
      () => new Adafactor(model(), OPTIONS),
      () => edited((t) => t.delete('state.b.step')),
      /no 'state.b.step' for parameter 'b'/,
    ],
    [
      'not an optimizer state',
      () => new Adafactor(model(), OPTIONS),
      () => edited((_t, m) => (m.format = 'pt')),
      /not an ext5 Adafactor state \(format "pt"/,
    ],
    [
      'a bad step count',
      () => new Adafactor(model(), OPTIONS),
      () => edited((_t, m) => (m.step_count = '-3')),
      /bad step_count "-3"/,
    ],
  ])('%s', (_name, make, source, message) => {
    const opt = make();
    const err = errorOf(() => opt.loadState(source()));
    expect(err.code).toBe('EXT5_OPTIMIZER_STATE');
    expect(err.message).toMatch(message);
    // Nothing changed: the optimizer still has no state.
    expect(opt.stepCount).toBe(0);
  });
});

test('stateBytes counts the second moments and momentum as they are, without copying them', () => {
  const ps = model();
  const opt = new Adafactor(ps, OPTIONS);
  try {
    expect(opt.stateBytes).toBe(0);
    grads(ps, 1);
    opt.step();
    // w 3x4 factored: rows 3 + columns 4; b 3 unfactored; momentum (beta1) for both: 12 + 3.
    expect(opt.stateBytes).toBe(4 * (3 + 4 + 3 + 12 + 3));
  } finally {
    opt.dispose();
    for (const [, p] of ps) p.dispose();
  }
});
