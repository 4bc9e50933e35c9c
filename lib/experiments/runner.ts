/**
 * Runs an experiment's cells: each in a child process (lib/experiments/worker.ts), up to `jobs` at a
 * time, dependencies first. A cell whose result file exists is not run again, so a killed sweep
 * resumes where it stopped; a cell whose spec changed since it ran is run again. A failed cell does
 * not stop the others, only the cells that need it.
 */
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { writeFileDurable } from '../io/durable';
import { Ext5Error } from '../util/errors';
import { type CellSpec, cellRunDir, expPaths, readCellResult, topoOrder } from './cell';

/** How one cell ended. */
export type CellOutcome = 'done' | 'stopped' | 'failed';

/** Runs one cell; the default starts the worker in a child process. */
export type CellRunner = (cell: CellSpec, threads: number) => Promise<CellOutcome>;

export interface SweepEvents {
  /** Once, before any cell starts: how many cells will run and how many finished before. */
  begin?: (toRun: number, reused: number) => void;
  start?: (cell: CellSpec) => void;
  end?: (cell: CellSpec, outcome: CellOutcome, seconds: number) => void;
}

export interface SweepOptions {
  dir: string;
  /** Saved with the plan; a directory holding a different study is refused. */
  header: { study: string; preset: string; params: unknown };
  cells: readonly CellSpec[];
  jobs: number;
  /** libtorch threads per cell. */
  threads: number;
  runner?: CellRunner;
  events?: SweepEvents;
}

export interface SweepSummary {
  ran: string[];
  reused: string[];
  failed: string[];
  /** Cells not run because a dependency failed, or because the sweep was stopped. */
  skipped: string[];
  stopped: boolean;
}

/** Writes plan.json; results of cells whose spec changed are removed so that they run again. */
export function preparePlan(opts: Pick<SweepOptions, 'dir' | 'header' | 'cells'>): CellSpec[] {
  const cells = topoOrder(opts.cells);
  const planFile = expPaths.plan(opts.dir);
  if (fs.existsSync(planFile)) {
    let old: { study?: string; cells?: CellSpec[] };
    try {
      old = JSON.parse(fs.readFileSync(planFile, 'utf8'));
    } catch (err) {
      throw new Ext5Error(
        'E_EXPERIMENT',
        `${planFile} is not readable JSON (${(err as Error).message})`,
        'use another --out directory, or delete this one to start afresh',
      );
    }
    if (old.study !== opts.header.study) {
      throw new Ext5Error(
        'E_EXPERIMENT',
        `${opts.dir} holds a '${old.study}' experiment, not '${opts.header.study}'`,
        'use another --out directory',
      );
    }
    const before = new Map((old.cells ?? []).map((c) => [c.id, JSON.stringify(c)]));
    for (const c of cells) {
      const prev = before.get(c.id);
      if (prev !== undefined && prev !== JSON.stringify(c)) {
        fs.rmSync(expPaths.result(opts.dir, c.id), { force: true });
        fs.rmSync(cellRunDir(opts.dir, c), { recursive: true, force: true });
      }
    }
  }
  writeFileDurable(planFile, `${JSON.stringify({ ...opts.header, cells }, null, 2)}\n`, { mkdir: true });
  return cells;
}

/** The worker script next to this module (compiled JavaScript). */
function workerScript(): string {
  const js = path.join(__dirname, 'worker.js');
  if (!fs.existsSync(js)) {
    throw new Ext5Error(
      'E_EXPERIMENT',
      `the experiment worker ${js} is missing`,
      'build first: npm run build:ts',
    );
  }
  return js;
}

const children = new Set<import('node:child_process').ChildProcess>();

/** The default runner: `node worker.js <dir> <id> <threads>`, output to the cell's worker.log. */
export function childRunner(dir: string): CellRunner {
  const script = workerScript();
  return (cell, threads) =>
    new Promise((resolve) => {
      const log = path.join(cellRunDir(dir, cell), 'worker.log');
      fs.mkdirSync(path.dirname(log), { recursive: true });
      const fd = fs.openSync(log, 'a');
      // The IPC channel is how the worker notices that this process is gone (lib/experiments/worker.ts).
      const child = spawn(process.execPath, [script, dir, cell.id, String(threads)], {
        stdio: ['ignore', fd, fd, 'ipc'],
      });
      children.add(child);
      const finish = (outcome: CellOutcome) => {
        children.delete(child);
        fs.closeSync(fd);
        resolve(outcome);
      };
      child.on('error', () => finish('failed'));
      child.on('exit', (code, signal) => {
        if (code === 0 && readCellResult(dir, cell.id)) finish('done');
        else if (code === 130 || signal === 'SIGINT' || signal === 'SIGTERM') finish('stopped');
        else finish('failed');
      });
    });
}

/** Runs the plan's unfinished cells. SIGINT/SIGTERM stop it cleanly: running cells save and stop. */
export async function runSweep(opts: SweepOptions): Promise<SweepSummary> {
  if (!Number.isInteger(opts.jobs) || opts.jobs < 1) {
    throw new Ext5Error('E_EXPERIMENT', `--jobs must be a positive integer, got ${opts.jobs}`);
  }
  const cells = preparePlan(opts);
  const runner = opts.runner ?? childRunner(opts.dir);
  const summary: SweepSummary = { ran: [], reused: [], failed: [], skipped: [], stopped: false };
  const done = new Set<string>();
  const pending: CellSpec[] = [];
  for (const c of cells) {
    if (readCellResult(opts.dir, c.id)) {
      done.add(c.id);
      summary.reused.push(c.id);
    } else pending.push(c);
  }
  opts.events?.begin?.(pending.length, summary.reused.length);
  const bad = new Set<string>();
  const running = new Map<string, Promise<void>>();
  const onSignal = (sig: NodeJS.Signals) => {
    summary.stopped = true;
    // Children share the terminal's process group for Ctrl-C; a `kill <pid>` of this process
    // reaches them only through us.
    for (const ch of children) ch.kill(sig);
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  try {
    while (pending.length > 0 || running.size > 0) {
      if (!summary.stopped) {
        for (let i = 0; i < pending.length && running.size < opts.jobs; ) {
          const c = pending[i]!;
          if (c.deps.some((d) => bad.has(d))) {
            bad.add(c.id);
            summary.skipped.push(c.id);
            pending.splice(i, 1);
            continue;
          }
          if (!c.deps.every((d) => done.has(d))) {
            i++;
            continue;
          }
          pending.splice(i, 1);
          opts.events?.start?.(c);
          const t0 = Date.now();
          running.set(
            c.id,
            runner(c, opts.threads).then((outcome) => {
              running.delete(c.id);
              if (outcome === 'done') {
                done.add(c.id);
                summary.ran.push(c.id);
              } else if (outcome === 'failed') {
                bad.add(c.id);
                summary.failed.push(c.id);
              } else summary.stopped = true;
              opts.events?.end?.(c, outcome, (Date.now() - t0) / 1000);
            }),
          );
        }
      }
      if (running.size === 0) {
        // Nothing can start: stopped, or what is left waits on cells that will never finish.
        summary.skipped.push(...pending.map((c) => c.id));
        break;
      }
      await Promise.race(running.values());
    }
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
  return summary;
}
