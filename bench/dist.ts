/**
 * Data-parallel communication on one machine: 2 processes over Gloo on 127.0.0.1, side by side
 * with Python torch.distributed on the same libtorch (bench/baselines/dist_allreduce.py).
 *  - all-reduce (sum) of one float32 tensor of 1, 10 and 100 MB: median time and bandwidth
 *    (bytes / time; with 2 ranks NCCL-tests' "bus bandwidth", 2(n-1)/n of it, is the same);
 *  - one step's gradient all-reduce for T5.1.1-small's parameter shapes (~77M floats, 308 MB):
 *    25 MB buckets, average. ext5 packs, reduces and unpacks in one native call (two buckets in
 *    flight); the baseline packs with torch's _flatten_dense_tensors and reduces one bucket at a
 *    time, as a hook-less DDP would.
 * On a 2-core machine both processes share the cores with Gloo's threads: the figures measure
 * memory copies and loopback TCP, not a network, and do not show how this scales.
 *
 * Run: npx tsc -p tsconfig.build.json && node dist/bench/dist.js [--reps 5] [--skip-python]
 */
import { type ChildProcess, spawn } from 'node:child_process';
import * as path from 'node:path';
import { initFromEnv } from '../lib/ddp';
import { freePort } from '../lib/ddp/launcher';
import { ones, randn, type Tensor } from '../lib/tensor/tensor';
import { arg } from './args';

interface Result {
  allreduce: { mb: number; ms: number }[];
  step: { params: number; ms: number } | null;
}

function t5SmallShapes(): number[][] {
  const [d, layers, dff, inner] = [512, 8, 1024, 6 * 64];
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
  for (let i = 0; i < layers; i++) shapes.push(...attn, [d], ...ffn, [d], ...(i === 0 ? [[32, 6]] : []));
  shapes.push([d]);
  for (let i = 0; i < layers; i++) {
    shapes.push(...attn, [d], ...attn, [d], ...ffn, [d], ...(i === 0 ? [[32, 6]] : []));
  }
  shapes.push([d], [32128, d]);
  return shapes;
}

async function worker(reps: number): Promise<void> {
  const pg = await initFromEnv({ timeoutMs: 120_000 });
  if (!pg) throw new Error('worker without WORLD_SIZE');
  const timed = async (fn: () => Promise<unknown>, n: number): Promise<number> => {
    await fn();
    await fn();
    const ms: number[] = [];
    for (let i = 0; i < n; i++) {
      await pg.barrier();
      const t0 = performance.now();
      await fn();
      ms.push(performance.now() - t0);
    }
    ms.sort((a, b) => a - b);
    return ms[Math.floor(ms.length / 2)]!;
  };
  const res: Result = { allreduce: [], step: null };
  for (const mb of [1, 10, 100]) {
    const t = ones([(mb * 1024 * 1024) / 4]);
    res.allreduce.push({ mb, ms: await timed(() => pg.allReduce([t], { op: 'sum', bucketBytes: 0 }), reps) });
    t.dispose();
  }
  const grads: Tensor[] = t5SmallShapes().map((s) => randn(s));
  const params = grads.reduce((a, g) => a + g.numel, 0);
  const stepMs = await timed(
    () => pg.allReduce(grads, { op: 'avg', bucketBytes: 25 * 1024 * 1024 }),
    Math.max(3, reps >> 1),
  );
  res.step = { params, ms: stepMs };
  if (pg.rank === 0) process.stdout.write(`${JSON.stringify(res)}\n`);
  await pg.destroy();
}

async function runJob(argv: string[], label: string): Promise<Result> {
  const port = await freePort();
  const kids: ChildProcess[] = [];
  const outs = await Promise.all(
    [0, 1].map(
      (rank) =>
        new Promise<string>((resolve, reject) => {
          const child = spawn(argv[0]!, argv.slice(1), {
            env: {
              ...process.env,
              RANK: String(rank),
              WORLD_SIZE: '2',
              LOCAL_RANK: String(rank),
              LOCAL_WORLD_SIZE: '2',
              MASTER_ADDR: '127.0.0.1',
              MASTER_PORT: String(port),
              EXT5_NUM_THREADS: '1',
            },
            stdio: ['ignore', 'pipe', 'inherit'],
          });
          kids.push(child);
          let out = '';
          child.stdout!.on('data', (d) => {
            out += d;
          });
          const timer = setTimeout(() => child.kill('SIGKILL'), 600_000);
          child.on('close', (code) => {
            clearTimeout(timer);
            if (code === 0) resolve(out);
            else {
              for (const k of kids) k.kill('SIGKILL');
              reject(new Error(`${label} rank ${rank} exited with ${code}`));
            }
          });
        }),
    ),
  );
  return JSON.parse(outs[0]!.trim()) as Result;
}

async function main(): Promise<void> {
  const reps = Number(arg('reps', '5'));
  if (process.argv.includes('--worker')) return worker(reps);
  const ours = await runJob([process.execPath, __filename, '--worker', '--reps', String(reps)], 'ext5');
  const base = process.argv.includes('--skip-python')
    ? null
    : await runJob(
        [
          '/usr/bin/python3',
          path.join(__dirname, '..', '..', 'bench', 'baselines', 'dist_allreduce.py'),
          String(reps),
        ],
        'python',
      );
  const bw = (mb: number, ms: number) => (mb / 1024 / (ms / 1000)).toFixed(2);
  console.log('2 processes, Gloo over 127.0.0.1, 1 torch thread each; median of', reps, 'runs');
  console.log('size     ext5 ms       GB/s  torch.distributed ms       GB/s  ext5/python time');
  for (const r of ours.allreduce) {
    const b = base?.allreduce.find((x) => x.mb === r.mb);
    console.log(
      `${String(r.mb).padStart(3)} MB  ${r.ms.toFixed(2).padStart(8)}  ${bw(r.mb, r.ms).padStart(9)}  ` +
        `${b ? b.ms.toFixed(2).padStart(20) : '-'.padStart(20)}  ${b ? bw(b.mb, b.ms).padStart(9) : '-'.padStart(9)}  ` +
        `${b ? (r.ms / b.ms).toFixed(2) : '-'}`,
    );
  }
  const s = ours.step!;
  const sb = base?.step;
  const mb = (s.params * 4) / 1024 / 1024;
  console.log(
    `T5.1.1-small gradients (${(s.params / 1e6).toFixed(1)}M floats, ${mb.toFixed(0)} MB, 25 MB buckets, avg): ` +
      `ext5 ${s.ms.toFixed(1)} ms (${bw(mb, s.ms)} GB/s)` +
      (sb
        ? `, torch.distributed ${sb.ms.toFixed(1)} ms (${bw(mb, sb.ms)} GB/s), ratio ${(s.ms / sb.ms).toFixed(2)}`
        : ''),
  );
  console.log(JSON.stringify({ ext5: ours, python: base }));
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
