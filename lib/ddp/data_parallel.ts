/**
 * Data-parallel training helpers over a {@link ProcessGroup}: start every rank from rank 0's
 * parameters, average gradients across ranks after each accumulation cycle, and check that a
 * resumed run has the world size it was saved with.
 *
 * The gradient all-reduce works like PyTorch DistributedDataParallel's reducer
 * (pytorch/pytorch torch/csrc/distributed/c10d/reducer.cpp) without its autograd hooks: one
 * native call packs the gradients into flat buckets of about 25 MB, all-reduces each bucket
 * (average), and copies the results back. It runs after backward, not overlapped with it; the
 * next bucket is packed while the previous one is on the wire.
 */
import type { DistTraffic } from '../native/dist';
import { type Device, fromTypedArray, type Tensor } from '../tensor/tensor';
import { Ext5Error } from '../util/errors';
import { DEFAULT_BUCKET_BYTES, type ProcessGroup } from './process_group';

export interface GradientAllReduceOptions {
  /** Bytes per flat bucket (default 25 MiB, like DDP). */
  bucketBytes?: number;
  /** Deadline in ms (default: the group's timeout). */
  timeoutMs?: number;
}

/**
 * Copies rank 0's parameter values to every other rank, so that all ranks start identical.
 * Call once after building (or loading) the model, before the first step. In place, without
 * autograd.
 *
 * @example
 * const pg = await initFromEnv();
 * if (pg) await broadcastParameters(pg, model.parameters());
 */
export function broadcastParameters(
  pg: ProcessGroup,
  params: Tensor[],
  opts: GradientAllReduceOptions = {},
): Promise<DistTraffic> {
  return pg.broadcast(params, {
    root: 0,
    bucketBytes: opts.bucketBytes ?? DEFAULT_BUCKET_BYTES,
    ...(opts.timeoutMs !== undefined ? { timeoutMs: opts.timeoutMs } : {}),
  });
}

/**
 * Averages the gradients of `params` across all ranks, in place, in flat buckets of
 * `bucketBytes`. Call it once per optimizer step, after the backward of the last micro-batch of
 * the accumulation cycle (micro-batches before it need no communication), and before gradient
 * clipping and the optimizer step. Every rank must pass the same parameter list in the same
 * order. A parameter that requires grad but got none this cycle contributes zeros.
 *
 * With gradients accumulated as sums over `k` micro-batches on each of `n` ranks, the result is
 * the sum over the rank's micro-batches averaged over ranks: scale by 1/k as in single-process
 * training (e.g. scaleGrads), before or after this call.
 *
 * @example
 * for (let m = 0; m < microBatches; m++) { model.backward(batch[m]); }
 * if (pg) await allReduceGradients(pg, model.parameters());
 * optimizer.step();
 */
export function allReduceGradients(
  pg: ProcessGroup,
  params: Tensor[],
  opts: GradientAllReduceOptions = {},
): Promise<DistTraffic> {
  const bucketBytes = opts.bucketBytes ?? DEFAULT_BUCKET_BYTES;
  if (!(Number.isInteger(bucketBytes) && bucketBytes >= 0)) {
    throw new Ext5Error('EXT5_INVALID_ARG', `bucketBytes must be a non-negative integer, got ${bucketBytes}`);
  }
  return pg.allReduceGrads(params, {
    op: 'avg',
    bucketBytes,
    ...(opts.timeoutMs !== undefined ? { timeoutMs: opts.timeoutMs } : {}),
  });
}

/**
 * Checks that a run resumes with the world size its checkpoint was saved with: the data order,
 * the per-rank shards and the effective batch size all depend on it. `sharded` (the checkpoint or
 * the run uses training.sharding other than none) allows another world size: the model and
 * optimizer state are re-sharded by parameter name, and each rank's data stream starts afresh
 * (lib/train/setup.ts).
 * @throws Ext5Error EXT5_DIST_WORLD_SIZE with both sizes and the fix.
 *
 * @example
 * checkSameWorldSize(checkpoint.meta.worldSize, pg?.worldSize ?? 1);
 */
export function checkSameWorldSize(saved: number | undefined, current: number, sharded = false): void {
  const was = saved ?? 1;
  if (was === current || sharded) return;
  throw new Ext5Error(
    'EXT5_DIST_WORLD_SIZE',
    `the checkpoint was saved by a run with ${was} process${was === 1 ? '' : 'es'} (world size ${was}), ` +
      `but this run has ${current}: its data shards and effective batch size would differ`,
    `resume with the same number of processes (\`ext5 launch --nproc ${was} -- ...\`${was === 1 ? ' or no launcher' : ''}), ` +
      'or start a new run from the checkpoint weights instead of resuming it',
  );
}

/**
 * Checks that every rank holds the same configuration (e.g. the model and training options),
 * so a mismatch fails fast with a clear message instead of as a shape error or a hang in a
 * later collective. Compares JSON encodings.
 * @throws Ext5Error EXT5_DIST_CONFIG naming the first rank that differs from rank 0.
 */
export async function checkSameConfig(
  pg: ProcessGroup,
  config: unknown,
  what = 'configuration',
): Promise<void> {
  const all = await pg.allGatherObject(config);
  const ref = JSON.stringify(all[0]);
  for (let r = 1; r < all.length; r++) {
    const mine = JSON.stringify(all[r]);
    if (mine !== ref) {
      throw new Ext5Error(
        'EXT5_DIST_CONFIG',
        `rank ${r} has a different ${what} from rank 0: ${truncate(mine)} vs ${truncate(ref)}`,
        'start every worker with the same command line and files',
      );
    }
  }
}

function truncate(s: string): string {
  return s.length > 200 ? `${s.slice(0, 200)}…` : s;
}

/**
 * Sums a few numbers across ranks (float64, one small collective), on the group's device (NCCL
 * moves CUDA tensors only).
 */
export async function allReduceScalars(pg: ProcessGroup, values: readonly number[]): Promise<number[]> {
  const host = fromTypedArray(Float64Array.from(values), [values.length]);
  const buf = pg.device === 'cpu' ? host : host.to(pg.device as Device);
  try {
    await pg.allReduce([buf], { op: 'sum' });
    if (buf === host) return Array.from(host.data() as Float64Array);
    const back = buf.to('cpu');
    try {
      return Array.from(back.data() as Float64Array);
    } finally {
      back.dispose();
    }
  } finally {
    if (buf !== host) buf.dispose();
    host.dispose();
  }
}

/**
 * The device a rank trains on: with NCCL, plain 'cuda' means this rank's GPU (`cuda:<LOCAL_RANK>`,
 * the group's device), as torchrun's convention is; anything else is used as given.
 *
 * @example
 * rankDevice('cuda', pg); // 'cuda:3' on local rank 3 of an NCCL group
 */
export function rankDevice(device: string, pg: ProcessGroup | null): string {
  return pg?.backend === 'nccl' && device === 'cuda' ? pg.device : device;
}
