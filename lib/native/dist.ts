/**
 * The typed contract of the torch addon's c10d exports (native/torch/dist_pg.cc): a TCPStore
 * rendezvous, Gloo (CPU) and NCCL (CUDA) process groups, and the collectives data-parallel
 * training needs. Use the wrappers in lib/ddp/ rather than these raw calls: they read torchrun's
 * environment, keep the group id, and give the calls names and defaults.
 *
 * Every collective returns a Promise: the waiting happens on a libuv worker thread, so timers and
 * signal handlers keep running. Errors carry a `code`:
 * - `EXT5_DIST_TIMEOUT`: a rendezvous or collective passed its deadline (names the op and peers);
 * - `EXT5_DIST_PEER_LOST`: a peer closed its connection (it exited or crashed);
 * - `EXT5_DIST_PORT_IN_USE`: rank 0 could not listen on MASTER_PORT;
 * - `EXT5_DIST_CONFIG`: ranks disagree on WORLD_SIZE, or two workers claim the same RANK;
 * - `EXT5_DIST_BROKEN`: an earlier collective of this group failed, so it cannot be used again;
 * - `EXT5_DIST_DESTROYED`: the group was destroyed;
 * - `EXT5_DIST_UNAVAILABLE`: the backend is not compiled in (NCCL without CUDA, no Gloo headers);
 * - `EXT5_DIST_MISMATCH`: the ranks passed different tensors (count, sizes, shapes, dtypes) or a
 *   different op/root to the same collective; checked before any data moves, so every rank gets
 *   this error and the group stays usable;
 * - `EXT5_DIST`: anything else Gloo/NCCL reported;
 * - `EXT5_BUSY`: a second collective was started before the first one finished.
 */
import { loadAddon } from './loader';
import type { TensorArg } from './torch';

/** Which collective backend moves the data. */
export type DistBackend = 'gloo' | 'nccl';
/** Reduction of an all-reduce; `avg` is a sum divided by the world size (floating point only). */
export type ReduceOp = 'sum' | 'avg' | 'max' | 'min';

/** What `distInit` needs; lib/ddp/env.ts reads these from torchrun's variables. */
export interface DistInitOptions {
  rank: number;
  worldSize: number;
  masterAddr: string;
  masterPort: number;
  /** Deadline of the rendezvous, and the default deadline of every collective. */
  timeoutMs: number;
  backend?: DistBackend;
  /** Network interface Gloo binds to (like GLOO_SOCKET_IFNAME). */
  ifname?: string;
  /** Host name or address Gloo binds to (default: 127.0.0.1 when masterAddr is loopback). */
  hostname?: string;
  /** This process's index on its machine: NCCL's group messages go to cuda:<localRank>. */
  localRank?: number;
}

/** What one collective moved: the number of flat buffers and their total bytes (per rank). */
export interface DistTraffic {
  buckets: number;
  bytes: number;
}

export interface DistStatus {
  rank: number;
  worldSize: number;
  backend: DistBackend;
  /** MASTER_ADDR:MASTER_PORT of the rendezvous. */
  address: string;
  timeoutMs: number;
  busy: boolean;
  destroyed: boolean;
  /** Why the group cannot be used any more, or null. */
  broken: string | null;
}

type T = TensorArg;

export interface DistAddon {
  /** Which backends this build of the addon can create. */
  distBackends(): { gloo: boolean; nccl: boolean };
  /** Joins the rendezvous and creates a process group; resolves to its id. */
  distInit(opts: DistInitOptions): Promise<number>;
  /**
   * Reduces `tensors` in place across ranks, packed into flat buffers of at most `bucketBytes`
   * (per dtype and device; `bucketBytes <= 0`: one collective per tensor). With `grads` true the
   * list holds parameters and their gradients are reduced (a missing gradient becomes zeros;
   * parameters that do not require grad are skipped).
   */
  distAllReduce(
    id: number,
    tensors: T[],
    op: ReduceOp,
    bucketBytes: number,
    timeoutMs?: number,
    grads?: boolean,
  ): Promise<DistTraffic>;
  /** Overwrites `tensors` on every rank with the values of rank `root` (bucketed likewise). */
  distBroadcast(
    id: number,
    tensors: T[],
    root: number,
    bucketBytes: number,
    timeoutMs?: number,
  ): Promise<DistTraffic>;
  distBarrier(id: number, timeoutMs?: number): Promise<void>;
  /** Every rank's bytes, in rank order (for small messages: configuration checks). */
  distAllGatherBytes(id: number, data: Uint8Array, timeoutMs?: number): Promise<Uint8Array[]>;
  distStatus(id: number): DistStatus;
  /** Releases the group (off the JS thread); false when it was already destroyed. */
  distDestroy(id: number): Promise<boolean>;
}

/** The torch addon, typed for its c10d exports (loads libtorch on first call). */
export function distAddon(): DistAddon {
  return loadAddon<DistAddon>('torch');
}
