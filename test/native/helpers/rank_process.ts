/**
 * One rank of a multi-process test: a worker script run from source (the TypeScript hook) in its
 * own process with the given environment (torchrun's variables), killed at its deadline. The
 * worker prints one JSON line last on stdout; `json` is that line parsed (undefined if none).
 * Tests kill what is still running in afterAll with {@link killRankProcesses}.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import * as path from 'node:path';
import { freePort } from '../../../lib/ddp/launcher';
import { tsHookSource } from './ts_hook';

export interface RankRun {
  code: number | null;
  signal: NodeJS.Signals | null;
  stderr: string;
  // biome-ignore lint/suspicious/noExplicitAny: JSON written by the worker.
  json: any;
}

const children = new Set<ChildProcess>();
const HOOK = tsHookSource();

/** Runs `script` (a .ts file) with `args` and `env` over process.env (and EXT5_NUM_THREADS=1). */
export function runRankProcess(
  script: string,
  args: string[],
  env: NodeJS.ProcessEnv,
  deadlineMs: number,
): Promise<RankRun> {
  const child = spawn(process.execPath, ['-e', HOOK, script, ...args], {
    cwd: path.join(__dirname, '..', '..', '..'),
    env: { ...process.env, EXT5_NUM_THREADS: '1', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.add(child);
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (d) => {
    stdout += d;
  });
  child.stderr!.on('data', (d) => {
    stderr += d;
  });
  const timer = setTimeout(() => child.kill('SIGKILL'), deadlineMs);
  return new Promise((resolve) => {
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      children.delete(child);
      let json: unknown;
      try {
        json = JSON.parse(stdout.trim().split('\n').pop() ?? '');
      } catch {
        json = undefined;
      }
      resolve({ code, signal, stderr, json });
    });
  });
}

/** SIGKILLs every rank process still running. */
export function killRankProcesses(): void {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
}

/**
 * Runs `script` as every rank of a `world`-process job on 127.0.0.1 (torchrun's variables, a free
 * port, the group deadline `timeoutS`), each with its `extra[rank]` environment; resolves with the
 * ranks in order.
 */
export async function runRankJob(
  script: string,
  args: string[],
  world: number,
  opts: { deadlineMs: number; timeoutS: number; extra?: NodeJS.ProcessEnv[] },
): Promise<RankRun[]> {
  const port = await freePort();
  return Promise.all(
    Array.from({ length: world }, (_, r) =>
      runRankProcess(
        script,
        args,
        {
          RANK: String(r),
          WORLD_SIZE: String(world),
          MASTER_ADDR: '127.0.0.1',
          MASTER_PORT: String(port),
          EXT5_DIST_TIMEOUT: String(opts.timeoutS),
          ...opts.extra?.[r],
        },
        opts.deadlineMs,
      ),
    ),
  );
}
