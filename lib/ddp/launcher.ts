/**
 * `ext5 launch`: starts the local workers of a data-parallel job with torchrun's environment
 * (pytorch/pytorch torch/distributed/run.py is the model for the variables and for the
 * fail-fast policy), prefixes their output with `[rank i]`, and stops the whole job when one
 * worker fails: SIGTERM to the others, SIGKILL after a grace period, then a non-zero exit that
 * names the failed rank. Signals the launcher receives (SIGINT, SIGTERM) are forwarded.
 * No libtorch here: the launcher only manages processes.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import * as net from 'node:net';
import * as os from 'node:os';
import * as readline from 'node:readline';
import { Ext5Error } from '../util/errors';

export interface LaunchOptions {
  /** Worker processes on this machine. */
  nproc: number;
  /** Machines in the job (default 1). */
  nnodes?: number;
  /** This machine's index in 0..nnodes-1 (default 0). */
  nodeRank?: number;
  /** Address of the machine with node rank 0 (default 127.0.0.1). */
  masterAddr?: string;
  /** Rendezvous port; default: a free port on one machine, 29500 (torchrun's) on several. */
  masterPort?: number;
  /** Collective deadline for workers, in seconds (EXT5_DIST_TIMEOUT). */
  timeoutS?: number;
  /** Wait between SIGTERM and SIGKILL when stopping workers, ms (default 5000). */
  graceMs?: number;
  /** Program and arguments of each worker (e.g. [node, ext5.js, 'train', ...]). */
  argv: string[];
  /** Extra environment for the workers (on top of process.env). */
  env?: NodeJS.ProcessEnv;
  /** Where prefixed output goes (default process.stdout / process.stderr). */
  stdout?: NodeJS.WritableStream;
  stderr?: NodeJS.WritableStream;
  /** Messages of the launcher itself (default: stderr). */
  log?: (line: string) => void;
}

/** How one worker ended. */
export interface WorkerExit {
  rank: number;
  localRank: number;
  pid: number | undefined;
  code: number | null;
  signal: NodeJS.Signals | null;
}

export interface LaunchResult {
  /** The exit status the launcher should return: 0, 1 (a worker failed), 128+n (signal n). */
  exitCode: number;
  /** The first worker that failed, when one did. */
  failed?: WorkerExit;
  /** The signal that stopped the job, when the launcher received one. */
  interrupted?: NodeJS.Signals;
  workers: WorkerExit[];
  masterPort: number;
}

/** A free TCP port on this machine (the OS picks it; it is closed again before returning). */
export function freePort(host = '127.0.0.1'): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, host, () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

/** "exited with code 3" / "was killed by SIGKILL". */
export function describeExit(w: Pick<WorkerExit, 'code' | 'signal'>): string {
  if (w.signal) return `was killed by ${w.signal}`;
  return `exited with code ${w.code}`;
}

function checkInt(v: number | undefined, name: string, min: number, max: number): void {
  if (v === undefined) return;
  if (!Number.isInteger(v) || v < min || v > max) {
    throw new Ext5Error('EXT5_INVALID_ARG', `${name} must be an integer in ${min}..${max}, got ${v}`);
  }
}

/** The environment of the worker with local rank `localRank` (torchrun's variables). */
export function workerEnv(
  opts: Required<Pick<LaunchOptions, 'nproc' | 'nnodes' | 'nodeRank' | 'masterAddr' | 'masterPort'>> &
    Pick<LaunchOptions, 'timeoutS'>,
  localRank: number,
  base: NodeJS.ProcessEnv = process.env,
): NodeJS.ProcessEnv {
  const rank = opts.nodeRank * opts.nproc + localRank;
  const env: NodeJS.ProcessEnv = {
    ...base,
    RANK: String(rank),
    LOCAL_RANK: String(localRank),
    WORLD_SIZE: String(opts.nnodes * opts.nproc),
    LOCAL_WORLD_SIZE: String(opts.nproc),
    GROUP_RANK: String(opts.nodeRank),
    ROLE_RANK: String(rank),
    MASTER_ADDR: opts.masterAddr,
    MASTER_PORT: String(opts.masterPort),
    EXT5_LAUNCH_PID: String(process.pid),
  };
  if (opts.timeoutS !== undefined) env.EXT5_DIST_TIMEOUT = String(opts.timeoutS);
  // Like torchrun: N workers on one machine share its cores, so each gets its share of threads
  // unless the user chose.
  if (opts.nproc > 1) {
    const share = String(Math.max(1, Math.floor(os.availableParallelism() / opts.nproc)));
    if (base.EXT5_NUM_THREADS === undefined) env.EXT5_NUM_THREADS = share;
    if (base.OMP_NUM_THREADS === undefined) env.OMP_NUM_THREADS = share;
  }
  return env;
}

/**
 * A running job. `done` resolves when every worker has exited; `stop(signal)` forwards a signal
 * and stops the job (what the CLI does on SIGINT/SIGTERM).
 */
export interface LaunchHandle {
  readonly done: Promise<LaunchResult>;
  readonly masterPort: number;
  readonly pids: (number | undefined)[];
  stop(signal: NodeJS.Signals): void;
}

/**
 * Starts `nproc` workers and supervises them (see the file comment for the policy).
 *
 * @example
 * const h = await launch({ nproc: 2, argv: [process.execPath, 'dist/bin/ext5.js', 'dist-selftest'] });
 * const r = await h.done; // r.exitCode, r.failed
 */
export async function launch(opts: LaunchOptions): Promise<LaunchHandle> {
  const nnodes = opts.nnodes ?? 1;
  const nodeRank = opts.nodeRank ?? 0;
  checkInt(opts.nproc, 'nproc', 1, 1024);
  checkInt(nnodes, 'nnodes', 1, 65536);
  checkInt(nodeRank, 'node-rank', 0, nnodes - 1);
  checkInt(opts.masterPort, 'master-port', 1, 65535);
  if (opts.timeoutS !== undefined && !(opts.timeoutS > 0)) {
    throw new Ext5Error(
      'EXT5_INVALID_ARG',
      `timeout must be a positive number of seconds, got ${opts.timeoutS}`,
    );
  }
  if (opts.argv.length === 0) throw new Ext5Error('EXT5_INVALID_ARG', 'no worker command given');
  const masterAddr = opts.masterAddr ?? '127.0.0.1';
  if (nnodes > 1 && opts.masterAddr === undefined) {
    throw new Ext5Error(
      'EXT5_INVALID_ARG',
      `--nnodes ${nnodes} needs --master-addr: the address of the machine with --node-rank 0`,
      'run the same `ext5 launch --nnodes N --master-addr HOST --master-port P ...` on every machine, each with its own --node-rank',
    );
  }
  const masterPort = opts.masterPort ?? (nnodes > 1 ? 29500 : await freePort());
  const graceMs = opts.graceMs ?? 5000;
  const out = opts.stdout ?? process.stdout;
  const err = opts.stderr ?? process.stderr;
  const log = opts.log ?? ((line: string) => process.stderr.write(`ext5 launch: ${line}\n`));
  const cfg = { nproc: opts.nproc, nnodes, nodeRank, masterAddr, masterPort, timeoutS: opts.timeoutS };

  const children: ChildProcess[] = [];
  const exits: (WorkerExit | undefined)[] = new Array(opts.nproc).fill(undefined);
  let failed: WorkerExit | undefined;
  let interrupted: NodeJS.Signals | undefined;
  let killTimer: NodeJS.Timeout | undefined;
  let stopping = false;
  let resolveDone!: (r: LaunchResult) => void;
  const done = new Promise<LaunchResult>((r) => {
    resolveDone = r;
  });

  const alive = () => children.filter((_, i) => exits[i] === undefined);
  const stopAll = (signal: NodeJS.Signals) => {
    if (stopping) return;
    stopping = true;
    for (const c of alive()) c.kill(signal);
    killTimer = setTimeout(() => {
      const left = alive();
      if (left.length > 0) log(`${left.length} worker(s) still running after ${graceMs} ms; sending SIGKILL`);
      for (const c of left) c.kill('SIGKILL');
    }, graceMs);
  };
  const finishIfDone = () => {
    if (exits.some((e) => e === undefined)) return;
    if (killTimer) clearTimeout(killTimer);
    const workers = exits as WorkerExit[];
    let exitCode = 0;
    if (failed) exitCode = 1;
    else if (interrupted) exitCode = 128 + (os.constants.signals[interrupted] ?? 0);
    resolveDone({
      exitCode,
      workers,
      masterPort,
      ...(failed ? { failed } : {}),
      ...(interrupted ? { interrupted } : {}),
    });
  };

  for (let local = 0; local < opts.nproc; local++) {
    const rank = nodeRank * opts.nproc + local;
    const env = workerEnv(cfg, local, { ...process.env, ...opts.env });
    const child = spawn(opts.argv[0]!, opts.argv.slice(1), { env, stdio: ['ignore', 'pipe', 'pipe'] });
    children.push(child);
    const prefix = `[rank ${rank}] `;
    let streams = 2;
    let exitInfo: { code: number | null; signal: NodeJS.Signals | null } | undefined;
    // A worker counts as ended once it has exited and its output is drained, so its last lines
    // come before the launcher's verdict.
    const settle = () => {
      if (streams > 0 || !exitInfo) return;
      const w: WorkerExit = { rank, localRank: local, pid: child.pid, ...exitInfo };
      exits[local] = w;
      const bad = w.code !== 0;
      if (bad && !failed && !stopping) {
        failed = w;
        const others = alive().length;
        log(`rank ${rank} (pid ${child.pid}) ${describeExit(w)}; stopping the other ${others} worker(s)`);
        stopAll('SIGTERM');
      }
      finishIfDone();
    };
    for (const [src, dst] of [
      [child.stdout, out],
      [child.stderr, err],
    ] as const) {
      if (!src) {
        streams--;
        continue;
      }
      const rl = readline.createInterface({ input: src, crlfDelay: Number.POSITIVE_INFINITY });
      rl.on('line', (line) => dst.write(`${prefix}${line}\n`));
      rl.on('close', () => {
        streams--;
        settle();
      });
    }
    child.on('error', (e) => {
      // spawn failed (e.g. the program does not exist): treat as a failed worker.
      if (!exitInfo) {
        log(`rank ${rank}: cannot start '${opts.argv[0]}': ${e.message}`);
        exitInfo = { code: 127, signal: null };
        streams = 0;
        settle();
      }
    });
    child.on('exit', (code, signal) => {
      exitInfo = { code, signal };
      settle();
    });
  }

  return {
    done,
    masterPort,
    pids: children.map((c) => c.pid),
    stop(signal: NodeJS.Signals) {
      if (!interrupted && !failed) interrupted = signal;
      if (alive().length > 0) log(`received ${signal}; forwarding it to ${alive().length} worker(s)`);
      if (!stopping) stopAll(signal);
      else for (const c of alive()) c.kill(signal); // a second Ctrl-C goes straight through
    },
  };
}
