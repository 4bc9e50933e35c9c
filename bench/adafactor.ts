/**
 * Adafactor step time, side by side with a Python torch Adafactor (bench/baselines/adafactor_torch.py)
 * on the same libtorch, over T5.1.1-small's parameter shapes (~77M parameters; or --preset base).
 * ext5 runs the whole step in one native call; the baseline loops over parameters in Python the
 * way transformers' Adafactor does.
 * Run: npx tsc -p tsconfig.build.json && node dist/bench/adafactor.js [--threads N] [--reps 5] [--preset small]
 */
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Adafactor } from '../lib/optim/adafactor';
import { manualSeed, randn, setNumThreads, type Tensor } from '../lib/tensor/tensor';

function arg(name: string, def: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] ? process.argv[i + 1]! : def;
}

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
  const times: number[] = [];
  for (let i = 0; i < reps; i++) {
    const t0 = process.hrtime.bigint();
    opt.step();
    times.push(Number(process.hrtime.bigint() - t0) / 1e6);
  }
  const asyncTimes: number[] = [];
  for (let i = 0; i < reps; i++) {
    const t0 = process.hrtime.bigint();
    await opt.stepAsync();
    asyncTimes.push(Number(process.hrtime.bigint() - t0) / 1e6);
  }
  const ours = median(times);
  const oursAsync = median(asyncTimes);

  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ext5-bench-adafactor-'));
  const shapesFile = path.join(dir, 'shapes.json');
  fs.writeFileSync(shapesFile, JSON.stringify(shapes));
  const py = JSON.parse(
    execFileSync(
      python,
      [
        path.join(__dirname, '..', '..', 'bench', 'baselines', 'adafactor_torch.py'),
        String(threads),
        shapesFile,
        String(reps),
      ],
      {
        encoding: 'utf8',
      },
    ),
  ) as { torch: string; threads: number; stepMs: number };
  fs.rmSync(dir, { recursive: true, force: true });

  console.log(
    `T5.1.1-${preset} shapes: ${shapes.length} tensors, ${(numel / 1e6).toFixed(1)}M parameters; threads=${threads}; python torch ${py.torch}`,
  );
  console.table([
    {
      bench: 'Adafactor step (ms), sync',
      ext5: ours.toFixed(1),
      python: py.stepMs.toFixed(1),
      speedRatio: (py.stepMs / ours).toFixed(3),
    },
    {
      bench: 'Adafactor step (ms), stepAsync',
      ext5: oursAsync.toFixed(1),
      python: py.stepMs.toFixed(1),
      speedRatio: (py.stepMs / oursAsync).toFixed(3),
    },
  ]);
  if (process.argv.includes('--json'))
    console.log(JSON.stringify({ preset, threads, ours, oursAsync, python: py }));
}

main();
