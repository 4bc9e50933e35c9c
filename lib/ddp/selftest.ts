/**
 * The worker of `ext5 dist-selftest` (hidden command): checks, inside a real multi-process job,
 * that the process group gives the right values. Run it as
 * `ext5 launch --nproc 2 -- dist-selftest`. Each rank:
 *   1. joins the group from torchrun's environment and checks that all ranks run the same test;
 *   2. all-reduces known tensors (sum, avg, max) and broadcasts one from rank 0;
 *   3. computes the gradients of a small deterministic network on its own data, averages them
 *      with allReduceGradients in several small buckets, and compares the result with the
 *      average of every rank's gradients that it computes locally: bit for bit with 2 ranks
 *      (float addition of two terms is commutative), within float tolerance with more.
 * `dieAtRank` / `hangAtRank` make one rank crash (SIGKILL itself) or stop responding after the
 * rendezvous, to test what the job does when a worker fails.
 */
import type { NativeTypedArray } from '../native/torch';
import { arange, full, manualSeed, randn, type Tensor, tidy } from '../tensor/tensor';
import { Ext5Error } from '../util/errors';
import { allReduceGradients, broadcastParameters, checkSameConfig } from './data_parallel';
import { initFromEnv, type ProcessGroup } from './process_group';

export interface SelftestOptions {
  /** This rank SIGKILLs itself after the rendezvous (tests a crashed worker). */
  dieAtRank?: number;
  /** This rank stops calling collectives after the rendezvous (tests a stuck worker). */
  hangAtRank?: number;
  /** Bucket size of the gradient check (default 4096 bytes: several buckets). */
  bucketBytes?: number;
  /** Rendezvous and collective deadline in ms (default: EXT5_DIST_TIMEOUT, else 300 s). */
  timeoutMs?: number;
  log?: (line: string) => void;
}

export interface SelftestReport {
  rank: number;
  worldSize: number;
  pid: number;
  checks: { name: string; ok: boolean; detail: string }[];
  gradient: { buckets: number; bytes: number; maxAbsDiff: number; bitExact: boolean };
  ms: number;
}

function f32(t: Tensor): Float32Array {
  return Float32Array.from(t.data() as NativeTypedArray as Float32Array);
}

/** The network of the gradient check: every rank builds the same parameters from one seed. */
function makeParams(seed: number): Tensor[] {
  manualSeed(seed);
  const shapes = [[48, 40], [40], [40, 24], [24], [24, 8], [5]];
  const ps = shapes.map((s) => randn(s).mul(0.3));
  for (const p of ps) p.requiresGrad = true;
  return ps;
}

/** Gradients of rank r's loss on its own deterministic batch (the last parameter stays unused). */
function gradsOf(params: Tensor[], r: number): Float32Array[] {
  for (const p of params) p.zeroGrad();
  tidy(() => {
    manualSeed(1000 + r);
    const x = randn([16, 48]);
    const [w1, b1, w2, b2, w3] = params as [Tensor, Tensor, Tensor, Tensor, Tensor];
    const h = x.matmul(w1).add(b1).tanh().matmul(w2).add(b2).relu().matmul(w3);
    h.square().mean().backward();
  });
  return params.map((p) => {
    const g = p.grad;
    if (!g) return new Float32Array(p.numel);
    const a = f32(g);
    g.dispose();
    return a;
  });
}

/** Runs the self-test on this rank and returns its report; throws EXT5_DIST_SELFTEST when a check fails. */
export async function runSelftest(opts: SelftestOptions = {}): Promise<SelftestReport> {
  const log = opts.log ?? ((s: string) => process.stdout.write(`${s}\n`));
  const t0 = Date.now();
  const pg = await initFromEnv(opts.timeoutMs !== undefined ? { timeoutMs: opts.timeoutMs } : {});
  if (!pg) {
    throw new Ext5Error(
      'EXT5_DIST_ENV',
      'dist-selftest needs a distributed job (WORLD_SIZE of 2 or more), but WORLD_SIZE is unset or 1',
      'run it as `ext5 launch --nproc 2 -- dist-selftest`',
    );
  }
  try {
    return await selftestBody(pg, opts, log, t0);
  } finally {
    await pg.destroy();
  }
}

async function selftestBody(
  pg: ProcessGroup,
  opts: SelftestOptions,
  log: (s: string) => void,
  t0: number,
): Promise<SelftestReport> {
  const { rank, worldSize: n } = pg;
  log(`rank ${rank} of ${n} joined (pid ${process.pid})`);
  const bucketBytes = opts.bucketBytes ?? 4096;
  await checkSameConfig(
    pg,
    { selftest: 1, bucketBytes, die: opts.dieAtRank, hang: opts.hangAtRank },
    'self-test',
  );

  if (opts.dieAtRank === rank) {
    log(`rank ${rank}: dying now, as asked (--die-at-rank)`);
    process.kill(process.pid, 'SIGKILL');
  }
  if (opts.hangAtRank === rank) {
    log(`rank ${rank}: hanging now, as asked (--hang-at-rank)`);
    await new Promise<void>(() => {
      setInterval(() => {}, 60_000);
    });
  }

  const checks: SelftestReport['checks'] = [];
  const check = (name: string, got: ArrayLike<number>, want: (i: number) => number) => {
    let bad = -1;
    for (let i = 0; i < got.length; i++) {
      if (got[i] !== want(i)) {
        bad = i;
        break;
      }
    }
    const detail = bad < 0 ? `${got.length} values` : `element ${bad}: got ${got[bad]}, want ${want(bad)}`;
    checks.push({ name, ok: bad < 0, detail });
  };

  const sum = full([1000], rank + 1);
  await pg.allReduce([sum], { op: 'sum' });
  check('allReduce sum', f32(sum), () => (n * (n + 1)) / 2);
  const avg = full([1000], rank + 1);
  await pg.allReduce([avg], { op: 'avg' });
  check('allReduce avg', f32(avg), () => (n + 1) / 2);
  const max = arange(0, 300, 1, { dtype: 'float32' }).mul(rank + 1);
  await pg.allReduce([max], { op: 'max' });
  check('allReduce max', f32(max), (i) => i * n);
  const b = arange(0, 777, 1, { dtype: 'float32' }).add(rank * 1000);
  await pg.broadcast([b], { root: 0 });
  check('broadcast from rank 0', f32(b), (i) => i);
  await pg.barrier();

  // Every rank builds its parameters from its own seed; after broadcastParameters they must all
  // hold rank 0's values (written in place into leaves that require grad, as in training).
  const params = makeParams(7 + rank);
  const reference = makeParams(7).map(f32);
  await broadcastParameters(pg, params, { bucketBytes });
  let firstDiff = -1;
  params.forEach((p, i) => {
    if (firstDiff < 0 && !f32(p).every((v, j) => v === reference[i]![j])) firstDiff = i;
  });
  checks.push({
    name: 'broadcastParameters',
    ok: firstDiff < 0,
    detail: firstDiff < 0 ? `${params.length} parameters equal rank 0's` : `parameter ${firstDiff} differs`,
  });

  // Expected average of all ranks' gradients, computed locally in float32 like Gloo's sum.
  const all = Array.from({ length: n }, (_, r) => gradsOf(params, r));
  const expected = params.map((p, i) => {
    const e = new Float32Array(p.numel);
    for (let j = 0; j < e.length; j++) {
      let s = 0;
      for (let r = 0; r < n; r++) s = Math.fround(s + all[r]![i]![j]!);
      e[j] = Math.fround(s / n);
    }
    return e;
  });
  gradsOf(params, rank);
  params[5]!.zeroGrad(); // unused parameter: no gradient on any rank (zeros are reduced)
  const traffic = await allReduceGradients(pg, params, { bucketBytes });
  let maxAbsDiff = 0;
  let bitExact = true;
  let maxAbs = 0;
  params.forEach((p, i) => {
    const g = p.grad;
    const got = g ? f32(g) : new Float32Array(p.numel);
    g?.dispose();
    for (let j = 0; j < got.length; j++) {
      const d = Math.abs(got[j]! - expected[i]![j]!);
      if (d !== 0) bitExact = false;
      maxAbsDiff = Math.max(maxAbsDiff, d);
      maxAbs = Math.max(maxAbs, Math.abs(expected[i]![j]!));
    }
  });
  const gradOk = n === 2 ? bitExact : maxAbsDiff <= 1e-6 * Math.max(1, maxAbs);
  checks.push({
    name: 'allReduceGradients',
    ok: gradOk && traffic.buckets > 1,
    detail: `${traffic.buckets} buckets, ${traffic.bytes} bytes, max |diff| ${maxAbsDiff}${bitExact ? ' (bit-exact)' : ''}`,
  });
  await pg.barrier();

  for (const c of checks) log(`rank ${rank}: ${c.ok ? 'ok  ' : 'FAIL'} ${c.name}: ${c.detail}`);
  const report: SelftestReport = {
    rank,
    worldSize: n,
    pid: process.pid,
    checks,
    gradient: { buckets: traffic.buckets, bytes: traffic.bytes, maxAbsDiff, bitExact },
    ms: Date.now() - t0,
  };
  const bad = checks.filter((c) => !c.ok);
  if (bad.length > 0) {
    throw new Ext5Error(
      'EXT5_DIST_SELFTEST',
      `rank ${rank}: ${bad.length} check(s) failed: ${bad.map((c) => `${c.name} (${c.detail})`).join('; ')}`,
    );
  }
  return report;
}
