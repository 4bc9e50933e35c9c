/**
 * Adafactor step time, side by side with a Python torch Adafactor (bench/baselines/adafactor_torch.py)
 * on the same libtorch, over T5.1.1-small's parameter shapes (~77M parameters; or --preset base).
 * ext5 runs the whole step in one native call; the baseline loops over parameters in Python the
 * way transformers' Adafactor does.
 * Run: npx tsc -p tsconfig.build.json && node dist/bench/adafactor.js [--threads N] [--reps 5] [--rounds 3] [--preset small]
 */
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Adafactor } from '../lib/optim/adafactor';
import { manualSeed, randn, setNumThreads, type Tensor } from '../lib/tensor/tensor';
import { arg } from './args';

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

/** HF T5.1.1 parameter shapes (untied embeddings, gated-GELU) for a size. */
function t5v11Shapes(size: string): number[][] {
  const cfg: Record<string, [number, number, number, number]> = {
    // d_model, layers, d_ff, heads (d_kv 64, vocab 32128)
    small: [512, 8, 1024, 6],
    base: [768, 12, 2048, 12],
  };
  const c = cfg[size];
  if (!c) throw new Error(`unknown --preset ${size} (small or base)`);
  const [d, layers, dff, heads] = c;
  const inner = heads * 64;
  const attn = [
    [inner, d],
    [inner, d],
    [inner, d],
    [d, inner],
  ];
  const ffn = [
    [dff, d],
    [dff, d],
    [d, dff],
  ];
  const shapes: number[][] = [[32128, d]];
  for (let i = 0; i < layers; i++) {
    shapes.push(...attn, [d], ...ffn, [d]);
    if (i === 0) shapes.push([32, heads]);
  }
  shapes.push([d]);
  for (let i = 0; i < layers; i++) {
    shapes.push(...attn, [d], ...attn, [d], ...ffn, [d]);
    if (i === 0) shapes.push([32, heads]);
  }
  shapes.push([d], [32128, d]);
  return shapes;
}

async function main() {
  const threads = Number(arg('threads', String(os.availableParallelism())));
  const reps = Number(arg('reps', '5'));
  const rounds = Number(arg('rounds', '3'));
  const preset = arg('preset', 'small');
  const python = arg('python', '/usr/bin/python3');
  setNumThreads(threads);
  manualSeed(0);
  const shapes = t5v11Shapes(preset);
  const numel = shapes.reduce((a, s) => a + s.reduce((x, y) => x * y, 1), 0);
  const params: Tensor[] = shapes.map((s) => {
    const p = randn(s).mul(0.05);
    p.requiresGrad = true;
    p.backward(randn(s).mul(1e-3));
    return p;
  });
  const opt = new Adafactor(params);
  for (let i = 0; i < 2; i++) opt.step();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ext5-bench-adafactor-'));
  const shapesFile = path.join(dir, 'shapes.json');
  fs.writeFileSync(shapesFile, JSON.stringify(shapes));
  const baseline = path.join(__dirname, '..', '..', 'bench', 'baselines', 'adafactor_torch.py');
  // Rounds alternate ext5 and Python so that load from other processes hits both alike; the
  // minimum over all repetitions is the least disturbed figure.
  const times: number[] = [];
  const asyncTimes: number[] = [];
  const pyTimes: number[] = [];
  let torchVersion = '';
  for (let round = 0; round < rounds; round++) {
    for (let i = 0; i < reps; i++) {
      const t0 = process.hrtime.bigint();
      opt.step();
      times.push(Number(process.hrtime.bigint() - t0) / 1e6);
    }
    for (let i = 0; i < reps; i++) {
      const t0 = process.hrtime.bigint();
      await opt.stepAsync();
      asyncTimes.push(Number(process.hrtime.bigint() - t0) / 1e6);
    }
    const py = JSON.parse(
      execFileSync(python, [baseline, String(threads), shapesFile, String(reps)], { encoding: 'utf8' }),
    ) as { torch: string; allMs: number[] };
    torchVersion = py.torch;
    pyTimes.push(...py.allMs);
  }
  fs.rmSync(dir, { recursive: true, force: true });
  const row = (bench: string, ours: number, base: number) => ({
    bench,
    ext5: ours.toFixed(1),
    python: base.toFixed(1),
    speedRatio: (base / ours).toFixed(3),
  });
  console.log(
    `T5.1.1-${preset} shapes: ${shapes.length} tensors, ${(numel / 1e6).toFixed(1)}M parameters; threads=${threads}; ` +
      `${rounds} rounds x ${reps} reps; python torch ${torchVersion}`,
  );
  console.table([
    row('Adafactor step, best (ms), step()', Math.min(...times), Math.min(...pyTimes)),
    row('Adafactor step, best (ms), stepAsync()', Math.min(...asyncTimes), Math.min(...pyTimes)),
    row('Adafactor step, median (ms), step()', median(times), median(pyTimes)),
    row('Adafactor step, median (ms), stepAsync()', median(asyncTimes), median(pyTimes)),
  ]);
  if (process.argv.includes('--json')) {
    console.log(JSON.stringify({ preset, threads, ours: times, oursAsync: asyncTimes, python: pyTimes }));
  }
}

main();
