/**
 * A c10d process group (Gloo on CPU, NCCL on CUDA) behind a small TypeScript class: rendezvous
 * from torchrun's environment, and Promise-returning collectives with deadlines. The native side
 * is native/torch/dist_pg.cc; see docs/distributed.md for how jobs are started and what happens
 * when a worker dies.
 */
import { type DistAddon, type DistBackend, type DistTraffic, distAddon, type ReduceOp } from '../native/dist';
import type { Tensor } from '../tensor/tensor';
import { Ext5Error } from '../util/errors';
import { type DistEnv, readDistEnv } from './env';

/** Default deadline of the rendezvous and of each collective (like torch's 30 min for Gloo is too long to notice a hang). */
export const DEFAULT_TIMEOUT_MS = 300_000;
/** Default bucket size of the gradient all-reduce: DDP's 25 MB. */
export const DEFAULT_BUCKET_BYTES = 25 * 1024 * 1024;

export interface CollectiveOptions {
  /** Deadline of this call in ms (default: the group's timeout). */
  timeoutMs?: number;
}

export interface AllReduceOptions extends CollectiveOptions {
  /** Default 'sum'. */
  op?: ReduceOp;
  /**
   * Tensors are packed into flat buffers of at most this many bytes, one collective each
   * (default {@link DEFAULT_BUCKET_BYTES}); 0 runs one collective per tensor.
   */
  bucketBytes?: number;
}

export interface BroadcastOptions extends CollectiveOptions {
  /** The rank whose values everyone receives (default 0). */
  root?: number;
  bucketBytes?: number;
}

export interface ProcessGroupOptions {
  rank: number;
  worldSize: number;
  masterAddr: string;
  masterPort: number;
  /** Deadline of the rendezvous and default deadline of collectives (default 300 000 ms). */
  timeoutMs?: number;
  /** 'gloo' (CPU tensors, default) or 'nccl' (CUDA tensors; needs a CUDA build). */
  backend?: DistBackend;
  /** Network interface for Gloo (GLOO_SOCKET_IFNAME). */
  ifname?: string;
  /** Local host name or address for Gloo to bind to. */
  hostname?: string;
  /** This process's index on its machine (LOCAL_RANK), for picking a GPU; default = rank. */
  localRank?: number;
}

function checkTimeout(ms: number | undefined, what: string): void {
  if (ms !== undefined && !(Number.isInteger(ms) && ms > 0)) {
    throw new Ext5Error(
      'EXT5_INVALID_ARG',
      `${what} must be a positive integer number of milliseconds, got ${ms}`,
    );
  }
}

/**
 * One process's membership in a group of `worldSize` processes. Collectives must be called by
 * every rank, in the same order, one at a time (await each); they work on tensors in place.
 *
 * @example
 * const pg = await ProcessGroup.create({ rank, worldSize: 2, masterAddr: '127.0.0.1', masterPort: 29500 });
 * await pg.allReduce([t], { op: 'avg' });
 * await pg.destroy();
 */
export class ProcessGroup {
  readonly rank: number;
  readonly worldSize: number;
  readonly localRank: number;
  readonly backend: DistBackend;
  readonly timeoutMs: number;
  private readonly id: number;
  private readonly addon: DistAddon;

  /** The group's number in the addon, for native code that runs collectives itself (a sharded model). */
  get nativeId(): number {
    return this.id;
  }

  private constructor(addon: DistAddon, id: number, opts: ProcessGroupOptions, timeoutMs: number) {
    this.addon = addon;
    this.id = id;
    this.rank = opts.rank;
    this.worldSize = opts.worldSize;
    this.localRank = opts.localRank ?? opts.rank;
    this.backend = opts.backend ?? 'gloo';
    this.timeoutMs = timeoutMs;
  }

  /**
   * Joins the rendezvous at masterAddr:masterPort (rank 0 hosts it) and connects to every peer.
   * Resolves once all `worldSize` ranks have joined; rejects with EXT5_DIST_TIMEOUT after
   * `timeoutMs`, EXT5_DIST_PORT_IN_USE when rank 0 cannot listen, EXT5_DIST_CONFIG when ranks
   * disagree on the world size or two claim one rank.
   */
  static async create(opts: ProcessGroupOptions): Promise<ProcessGroup> {
    const timeoutMs = opts.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    checkTimeout(timeoutMs, 'timeoutMs');
    const addon = distAddon();
    const id = await addon.distInit({
      rank: opts.rank,
      worldSize: opts.worldSize,
      masterAddr: opts.masterAddr,
      masterPort: opts.masterPort,
      timeoutMs,
      backend: opts.backend ?? 'gloo',
      ...(opts.ifname !== undefined ? { ifname: opts.ifname } : {}),
      ...(opts.hostname !== undefined ? { hostname: opts.hostname } : {}),
      ...(opts.localRank !== undefined ? { localRank: opts.localRank } : {}),
    });
    return new ProcessGroup(addon, id, opts, timeoutMs);
  }

  /** The device this rank's tensors live on: 'cpu' for Gloo, `cuda:<localRank>` for NCCL. */
  get device(): string {
    return this.backend === 'nccl' ? `cuda:${this.localRank}` : 'cpu';
  }

  /** Reduces `tensors` in place across all ranks (default op 'sum'). */
  async allReduce(tensors: Tensor[], opts: AllReduceOptions = {}): Promise<DistTraffic> {
    checkTimeout(opts.timeoutMs, 'timeoutMs');
    return this.addon.distAllReduce(
      this.id,
      tensors,
      opts.op ?? 'sum',
      opts.bucketBytes ?? DEFAULT_BUCKET_BYTES,
      opts.timeoutMs,
      false,
    );
  }

  /**
   * Reduces the gradients of `params` in place (a parameter that requires grad but has none gets
   * zeros; parameters that do not require grad are skipped). Do not run backward meanwhile.
   */
  async allReduceGrads(params: Tensor[], opts: AllReduceOptions = {}): Promise<DistTraffic> {
    checkTimeout(opts.timeoutMs, 'timeoutMs');
    return this.addon.distAllReduce(
      this.id,
      params,
      opts.op ?? 'avg',
      opts.bucketBytes ?? DEFAULT_BUCKET_BYTES,
      opts.timeoutMs,
      true,
    );
  }

  /** Overwrites `tensors` on every rank with the root's values (default root 0). */
  async broadcast(tensors: Tensor[], opts: BroadcastOptions = {}): Promise<DistTraffic> {
    checkTimeout(opts.timeoutMs, 'timeoutMs');
    return this.addon.distBroadcast(
      this.id,
      tensors,
      opts.root ?? 0,
      opts.bucketBytes ?? DEFAULT_BUCKET_BYTES,
      opts.timeoutMs,
    );
  }

  /** Resolves once every rank has reached this barrier. */
  async barrier(opts: CollectiveOptions = {}): Promise<void> {
    checkTimeout(opts.timeoutMs, 'timeoutMs');
    return this.addon.distBarrier(this.id, opts.timeoutMs);
  }

  /** Every rank's bytes, in rank order. */
  async allGatherBytes(data: Uint8Array, opts: CollectiveOptions = {}): Promise<Uint8Array[]> {
    checkTimeout(opts.timeoutMs, 'timeoutMs');
    return this.addon.distAllGatherBytes(this.id, data, opts.timeoutMs);
  }

  /**
   * Every rank's value (JSON-serialisable, small), in rank order: for checking that ranks agree
   * on a configuration.
   */
  async allGatherObject<V>(value: V, opts: CollectiveOptions = {}): Promise<V[]> {
    const json = JSON.stringify(value);
    if (json === undefined)
      throw new Ext5Error('EXT5_INVALID_ARG', 'allGatherObject needs a JSON-serialisable value');
    const parts = await this.allGatherBytes(new TextEncoder().encode(json), opts);
    const dec = new TextDecoder();
    return parts.map((p) => JSON.parse(dec.decode(p)) as V);
  }

  /** The group's state as the native side sees it (busy, destroyed, broken and why). */
  status() {
    return this.addon.distStatus(this.id);
  }

  /**
   * Leaves the group and frees its sockets and threads. Later calls reject with
   * EXT5_DIST_DESTROYED. Idempotent; resolves false when already destroyed.
   */
  async destroy(): Promise<boolean> {
    return this.addon.distDestroy(this.id);
  }
}

export interface InitFromEnvOptions {
  /** Rendezvous and collective deadline (default EXT5_DIST_TIMEOUT, else 300 000 ms). */
  timeoutMs?: number;
  /** Default: 'nccl' when `device` is CUDA, else 'gloo'. */
  backend?: DistBackend;
  /** The training device ('cpu', 'cuda'); picks the backend when `backend` is not given. */
  device?: string;
  /** Environment to read (default process.env). */
  env?: NodeJS.ProcessEnv;
  /**
   * Exit this process when the launcher that started it (EXT5_LAUNCH_PID) goes away, so that
   * workers never outlive a killed `ext5 launch`. Default true.
   */
  exitWithLauncher?: boolean;
}

let parentWatch: NodeJS.Timeout | undefined;

function watchLauncher(env: NodeJS.ProcessEnv): void {
  const pid = Number(env.EXT5_LAUNCH_PID);
  if (!Number.isInteger(pid) || pid <= 1 || process.ppid !== pid || parentWatch) return;
  parentWatch = setInterval(() => {
    if (process.ppid !== pid) {
      process.stderr.write(`ext5: the launcher (pid ${pid}) is gone; exiting\n`);
      process.exit(1);
    }
  }, 1000);
  parentWatch.unref();
}

/**
 * The process group of a job started by `ext5 launch` or torchrun, or null for a
 * single-process run (WORLD_SIZE unset or 1). Throws EXT5_DIST_ENV naming a missing or bad
 * variable.
 *
 * @example
 * const pg = await initFromEnv({ timeoutMs: 60_000 });
 * if (pg) await broadcastParameters(pg, model.parameters());
 */
export async function initFromEnv(opts: InitFromEnvOptions = {}): Promise<ProcessGroup | null> {
  const env = opts.env ?? process.env;
  const de: DistEnv | null = readDistEnv(env);
  if (de === null) return null;
  if (opts.exitWithLauncher ?? true) watchLauncher(env);
  const backend = opts.backend ?? (opts.device?.startsWith('cuda') ? 'nccl' : 'gloo');
  return ProcessGroup.create({
    rank: de.rank,
    worldSize: de.worldSize,
    localRank: de.localRank,
    masterAddr: de.masterAddr,
    masterPort: de.masterPort,
    timeoutMs: opts.timeoutMs ?? de.timeoutMs ?? DEFAULT_TIMEOUT_MS,
    backend,
    ...(de.ifname !== undefined ? { ifname: de.ifname } : {}),
  });
}
