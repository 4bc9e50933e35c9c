// One rank of a test in test/native/dist.test.ts, run in its own process with torchrun's
// variables set by the test. Usage: dist_worker.ts <scenario>. Prints one JSON object (the
// results the test checks) on stdout and exits 0; errors it expects are part of the JSON.
import { allReduceGradients, initFromEnv, type ProcessGroup } from '../../lib/ddp';
import { manualSeed, randn, type Tensor, tensor, tidy } from '../../lib/tensor/tensor';

type Json = Record<string, unknown>;

async function caught(p: Promise<unknown> | (() => unknown)): Promise<Json> {
  const t0 = Date.now();
  try {
    await (typeof p === 'function' ? p() : p);
    return { ok: true, ms: Date.now() - t0 };
  } catch (e) {
    const err = e as { code?: string; message?: string };
    return { ok: false, code: err.code, message: err.message, ms: Date.now() - t0 };
  }
}

const values = (t: Tensor) => Array.from(t.data() as ArrayLike<number | bigint>, Number);

/** A small network whose parameters are equal on all ranks and whose data differ per rank. */
function gradients(rank: number): { params: Tensor[]; local: number[][] } {
  manualSeed(3);
  const params = [randn([30, 20]), randn([20]), randn([20, 7]), randn([7]), randn([7, 3])];
  for (const p of params) p.requiresGrad = true;
  tidy(() => {
    manualSeed(50 + rank);
    const x = randn([9, 30]);
    const [w1, b1, w2, b2, w3] = params as [Tensor, Tensor, Tensor, Tensor, Tensor];
    x.matmul(w1).add(b1).tanh().matmul(w2).add(b2).sigmoid().matmul(w3).square().sum().backward();
  });
  const local = params.map((p) => {
    const g = p.grad!;
    const v = values(g);
    g.dispose();
    return v;
  });
  return { params, local };
}

async function collectives(pg: ProcessGroup): Promise<Json> {
  const r = pg.rank;
  const out: Json = { rank: r };
  // Several tensors and dtypes in one call, bucketed and one collective per tensor.
  const f32 = tensor([1 + r, 2 + r, 3 + r], { dtype: 'float32' });
  const f64 = tensor([[0.5 * (r + 1)], [10 * r]], { dtype: 'float64' });
  const i64 = tensor([r, 100 + r], { dtype: 'int64' });
  const bf16 = tensor([1.5 * (r + 1), -2], { dtype: 'bfloat16' });
  out.sumTraffic = await pg.allReduce([f32, f64, i64], { op: 'sum', bucketBytes: 1 << 20 });
  out.sum = [values(f32), values(f64), values(i64)];
  const perTensor = tensor([r, -r, 2 * r], { dtype: 'float32' });
  out.perTensorTraffic = await pg.allReduce([perTensor, bf16], { op: 'avg', bucketBytes: 0 });
  out.avg = [values(perTensor), values(bf16.to('float32'))];
  const mx = tensor([r, 5 - r, 7], { dtype: 'float32' });
  const mn = tensor([r, 5 - r, 7], { dtype: 'float32' });
  await pg.allReduce([mx], { op: 'max' });
  await pg.allReduce([mn], { op: 'min' });
  out.max = values(mx);
  out.min = values(mn);
  // Broadcast from the last rank into a non-contiguous tensor.
  const base = tensor(
    [
      [r, r + 1],
      [r + 2, r + 3],
    ],
    { dtype: 'float32' },
  );
  const tr = base.transpose(0, 1);
  await pg.broadcast([tr], { root: pg.worldSize - 1 });
  out.broadcast = values(base);
  await pg.barrier();
  out.gathered = await pg.allGatherObject({ rank: r, pad: 'x'.repeat(r * 37) });

  // Gradient averaging across several small buckets vs the gradients each rank computed alone.
  const { params, local } = gradients(r);
  out.localGrads = local;
  out.gradTraffic = await allReduceGradients(pg, params, { bucketBytes: 256 });
  out.reducedGrads = params.map((p) => {
    const g = p.grad!;
    const v = values(g);
    g.dispose();
    return v;
  });

  // Parameters without gradients: one that requires grad but was not used gets zeros (so every
  // rank reduces the same buckets), one that does not require grad is left alone; empty ones are fine.
  const unused = randn([4, 2]);
  unused.requiresGrad = true;
  const frozen = randn([3]);
  const empty = randn([0, 5]);
  empty.requiresGrad = true;
  out.unusedTraffic = await allReduceGradients(pg, [unused, frozen, empty], { bucketBytes: 256 });
  const ug = unused.grad;
  out.unusedGrad = ug ? values(ug) : null;
  out.frozenGrad = frozen.grad === null ? null : 'has grad';

  // Misuse: a second collective before the first resolves; a CUDA tensor or bad op; a destroyed group.
  const a = tensor([1], { dtype: 'float32' });
  const first = pg.allReduce([a]);
  out.busy = await caught(pg.barrier());
  await first;
  out.badOp = await caught(() => pg.allReduce([a], { op: 'prod' as 'sum' }));
  out.badRoot = await caught(() => pg.broadcast([a], { root: 7 }));
  out.boolDtype = await caught(() => pg.allReduce([tensor([true])]));
  out.intAvg = await caught(() => pg.allReduce([tensor([1], { dtype: 'int32' })], { op: 'avg' }));
  out.stillUsable = await caught(pg.barrier());
  out.destroyed = await pg.destroy();
  out.afterDestroy = await caught(() => pg.allReduce([a]));
  out.destroyTwice = await pg.destroy();
  return out;
}

async function main(): Promise<void> {
  const scenario = process.argv[2];
  const out: Json = { scenario };
  const init = Date.now();
  let pg: ProcessGroup | null = null;
  try {
    pg = await initFromEnv();
  } catch (e) {
    const err = e as { code?: string; message?: string };
    out.init = { ok: false, code: err.code, message: err.message, ms: Date.now() - init };
    process.stdout.write(`${JSON.stringify(out)}\n`);
    return;
  }
  out.init = { ok: true, ms: Date.now() - init };
  if (!pg) throw new Error('no process group: WORLD_SIZE not set');
  const rank = pg.rank;
  switch (scenario) {
    case 'collectives':
      Object.assign(out, await collectives(pg));
      break;
    case 'mismatch': {
      // Tensors of different sizes on the two ranks.
      const t = tensor(
        Array.from({ length: rank === 0 ? 10 : 1000 }, () => 1),
        { dtype: 'float32' },
      );
      out.result = await caught(pg.allReduce([t], { timeoutMs: 4000 }));
      out.status = pg.status();
      out.after = await caught(() => pg.barrier());
      // Same element count, different shapes.
      const shaped = randn(rank === 0 ? [2, 6] : [3, 4]);
      out.shapes = await caught(pg.allReduce([shaped]));
      break;
    }
    case 'timeout':
      // Rank 1 never joins the barrier; rank 0 must give up after its deadline.
      if (rank === 0) out.result = await caught(pg.barrier({ timeoutMs: 700 }));
      else await new Promise((r) => setTimeout(r, 1500));
      break;
    case 'dead-peer':
      // Rank 1 crashes; rank 0 must notice within its deadline.
      if (rank === 1) process.kill(process.pid, 'SIGKILL');
      await new Promise((r) => setTimeout(r, 300));
      out.result = await caught(pg.allReduce([tensor([1, 2, 3], { dtype: 'float32' })], { timeoutMs: 5000 }));
      break;
    default:
      throw new Error(`unknown scenario ${scenario}`);
  }
  await pg.destroy();
  process.stdout.write(`${JSON.stringify(out)}\n`);
}

main().then(
  () => process.exit(0),
  (e) => {
    process.stderr.write(`worker failed: ${(e as Error).stack}\n`);
    process.exit(2);
  },
);
