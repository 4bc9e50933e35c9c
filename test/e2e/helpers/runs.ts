// Real processes around run directories: the built CLI started in the background, waits with a
// deadline, the steps a run logged, and a live process holding a run directory's lock.
import { type ChildProcess, spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { cliPath, root } from './cli';

export interface Ended {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** Starts the CLI in the background; `done` resolves with its exit and output once it has closed. */
export function startCli(args: string[]): { p: ChildProcess; done: Promise<Ended> } {
  const p = spawn(process.execPath, [cliPath, ...args], { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  p.stdout!.on('data', (d) => {
    stdout += d;
  });
  p.stderr!.on('data', (d) => {
    stderr += d;
  });
  const done = new Promise<Ended>((resolve) =>
    p.on('close', (code, signal) => resolve({ code, signal, stdout, stderr })),
  );
  return { p, done };
}

/** Polls `cond` until it holds; throws naming `what` after `timeoutMs`. */
export async function waitFor(cond: () => boolean, what: string, timeoutMs = 120_000): Promise<void> {
  const t0 = Date.now();
  while (!cond()) {
    if (Date.now() - t0 > timeoutMs) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

/** The steps of a run directory's metrics.jsonl train rows, in file order. */
export function trainSteps(runDir: string): number[] {
  return fs
    .readFileSync(path.join(runDir, 'metrics.jsonl'), 'utf8')
    .split('\n')
    .filter((l) => l.trim())
    .map((l) => JSON.parse(l))
    .filter((r) => r.split === 'train')
    .map((r) => r.step as number);
}

/** /proc/PID/stat of a process, or null when it is gone. */
export function procStat(pid: number): string | null {
  try {
    return fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return null;
  }
}

/** The fields of /proc/PID/stat from field 3 (the state) on: field N is at index N - 3. */
export function statFields(stat: string): string[] {
  return stat.slice(stat.lastIndexOf(')') + 2).split(' ');
}

/**
 * Makes a live process of this machine (a `sleep`) the holder of `runDir`'s lock, with its real
 * start time and this boot's id, as a run still writing the directory would be. Kill it when done.
 */
export async function holdRunLock(runDir: string, command: string): Promise<ChildProcess> {
  const holder = spawn('sleep', ['600'], { stdio: 'ignore' });
  await new Promise((r) => holder.once('spawn', r));
  fs.mkdirSync(runDir, { recursive: true });
  fs.writeFileSync(
    path.join(runDir, 'run.lock'),
    JSON.stringify({
      pid: holder.pid,
      host: os.hostname(),
      startedAt: new Date().toISOString(),
      bootId: fs.readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim(),
      procStart: statFields(procStat(holder.pid!)!)[19],
      command,
    }),
  );
  return holder;
}
