/**
 * Tensor-layer benchmarks, side by side with Python torch on the same libtorch:
 *  - large f32 matmul throughput through the addon vs torch.matmul (target ratio >= 0.95);
 *  - per-call overhead of a small op (add on 16 elements) vs `x + y` in Python (target: no slower).
 * Run: node dist/bench/tensor.js [--threads N] [--sizes 1024,2048] [--reps 10]
 * Needs /usr/bin/python3 with Debian's python3-torch (`bash scripts/setup.sh --bench`).
 */
import { execFileSync } from 'node:child_process';
import * as path from 'node:path';
import { torch } from '../lib/native/torch';
import { manualSeed, randn, setNumThreads } from '../lib/tensor/tensor';
import { arg } from './args';

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

function main() {
  const threads = Number(arg('threads', String(require('node:os').availableParallelism())));
  const sizes = arg('sizes', '1024,2048').split(',').map(Number);
  const reps = Number(arg('reps', '10'));
  const smallIters = Number(arg('small-iters', '200000'));
  const python = arg('python', '/usr/bin/python3');

  setNumThreads(threads);
  manualSeed(0);
  const t = torch();
  const ours: { matmul: Record<string, number>; smallAddNs: number } = { matmul: {}, smallAddNs: 0 };
  for (const n of sizes) {
    const a = randn([n, n]);
    const b = randn([n, n]);
    for (let i = 0; i < 2; i++) t.dispose(t.matmul(a.handle, b.handle));
    const times: number[] = [];
    for (let i = 0; i < reps; i++) {
      const t0 = process.hrtime.bigint();
      const c = t.matmul(a.handle, b.handle);
      times.push(Number(process.hrtime.bigint() - t0) / 1e9);
      t.dispose(c);
    }
    ours.matmul[String(n)] = (2 * n ** 3) / median(times) / 1e9;
    a.dispose();
    b.dispose();
  }
  // Small op through the public Tensor API (wrapper object, scope tracking, dispose), the way
  // a script would write it.
  const x = randn([16]);
  const y = randn([16]);
  for (let i = 0; i < 1000; i++) x.add(y).dispose();
  let best = Number.POSITIVE_INFINITY;
  for (let r = 0; r < 5; r++) {
    const t0 = process.hrtime.bigint();
    for (let i = 0; i < smallIters; i++) x.add(y).dispose();
    best = Math.min(best, Number(process.hrtime.bigint() - t0) / smallIters);
  }
  ours.smallAddNs = best;

  const py = JSON.parse(
    execFileSync(
      python,
      [
        path.join(__dirname, '..', '..', 'bench', 'baselines', 'tensor_ops.py'),
        String(threads),
        sizes.join(','),
        String(reps),
        String(smallIters),
      ],
      { encoding: 'utf8' },
    ),
  );

  const rows = sizes.map((n) => {
    const o = ours.matmul[String(n)]!;
    const p = py.matmul[String(n)] as number;
    return {
      bench: `matmul f32 ${n}x${n} (GFLOP/s)`,
      ext5: o.toFixed(1),
      python: p.toFixed(1),
      ratio: (o / p).toFixed(3),
      target: '>= 0.95',
    };
  });
  rows.push({
    bench: 'add, 16 elements (ns/call)',
    ext5: ours.smallAddNs.toFixed(0),
    python: (py.smallAddNs as number).toFixed(0),
    ratio: ((py.smallAddNs as number) / ours.smallAddNs).toFixed(3),
    target: '>= 1.0 (speed ratio)',
  });
  console.log(`threads=${threads} libtorch=${t.info().torchVersion} python torch=${py.torch}`);
  console.table(rows);
  if (process.argv.includes('--json')) console.log(JSON.stringify({ threads, ours, python: py }));
}

main();
