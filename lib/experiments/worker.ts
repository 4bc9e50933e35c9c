/**
 * Runs one experiment cell: registers its mixtures, builds its config (run preset + --set strings),
 * trains with the public `train()`, and records the result atomically. `ext5 experiment` starts it
 * as a child process per cell (`node dist/lib/experiments/worker.js <experiment dir> <cell id>
 * <threads>`), so that a crash or the memory of one run cannot take the sweep down with it.
 *
 * Exit codes: 0 recorded, 130 stopped by a signal (nothing recorded; a resumed sweep continues the
 * cell from its last checkpoint), 1 failed (the error is in the cell's worker.log).
 *
 * A worker dies with its sweep: when the sweep process is gone (killed, even by SIGKILL), the
 * worker stops as on SIGTERM (finishes the step, saves, exits 130), so that a rerun does not find
 * the old worker still writing the cell. It notices through the IPC channel the runner opens
 * (its 'disconnect' event) and, as a second way, through its parent pid changing (checked every
 * second; Node has no prctl(PR_SET_PDEATHSIG)). Until it has exited, the cell's run directory
 * stays locked (lib/run/run_lock.ts), so a rerun cannot start the cell twice.
 */
import * as fs from 'node:fs';
import { writeFileDurable } from '../io/durable';
import { loadReportRun } from '../report/runs';
import { checkpointName, listCheckpoints } from '../run/run_checkpoints';
import { loadRunConfig } from '../run/run_config';
import { examplesProportional, Mixture, MixtureRegistry } from '../tasks';
import { train } from '../train/trainer';
import { Ext5Error } from '../util/errors';
import { reportError } from '../util/report_error';
import { type CellResult, type CellSpec, cellRunDir, expPaths, type MixtureSpec } from './cell';

/** Registers a cell's mixtures (idempotent within a process: a name already registered is kept). */
export function registerCellMixtures(specs: readonly MixtureSpec[] | undefined): void {
  if (!specs || specs.length === 0) return;
  for (const m of specs) {
    if (MixtureRegistry.has(m.name)) continue;
    MixtureRegistry.add(
      new Mixture({
        name: m.name,
        description: `experiment mixture ${m.name}`,
        members: m.members.map(([name, rate]) => [
          name,
          typeof rate === 'number'
            ? rate
            : examplesProportional({
                maximum: rate.proportional.K,
                temperature: rate.proportional.temperature,
              }),
        ]),
      }),
    );
  }
}

/** Trains one cell in this process and writes its result file; returns undefined when stopped. */
export async function runCell(dir: string, cell: CellSpec, threads: number): Promise<CellResult | undefined> {
  registerCellMixtures(cell.mixtures);
  const runDir = cellRunDir(dir, cell);
  const config = loadRunConfig({
    preset: cell.preset,
    set: [
      ...cell.sets,
      `run.dir=${runDir}`,
      `run.name=${cell.id}`,
      `training.threads=${threads}`,
      'logging.progress=false',
      'checkpoint.resume=auto',
    ],
  });
  const t0 = Date.now();
  const r = await train(config, runDir);
  if (r.stoppedBy === 'signal') return undefined;
  const run = loadReportRun(runDir);
  const val = run.series.find((s) => s.split === 'validation' && s.name === 'loss');
  const ckDir = `${runDir}/checkpoints`;
  const result: CellResult = {
    id: cell.id,
    seconds: (Date.now() - t0) / 1000,
    step: r.step,
    lastLoss: r.lastLoss,
    evals: r.evals,
    validationLoss: val?.points.at(-1)?.value ?? null,
    checkpoints: listCheckpoints(ckDir).map((c) => checkpointName(c.step)),
  };
  writeFileDurable(expPaths.result(dir, cell.id), `${JSON.stringify(result, null, 2)}\n`, { mkdir: true });
  return result;
}

/** How often the worker checks that its parent is still its parent, ms. */
const PARENT_CHECK_MS = 1000;
/** How long a worker whose sweep is gone may take to save and stop before it exits anyway, ms. */
const ORPHAN_GRACE_MS = 60_000;

/**
 * Stops this process (SIGTERM to itself, then exit 130 after a grace period) when the process that
 * started it is gone: its IPC channel disconnects or its parent pid changes. Neither keeps the
 * process alive.
 */
export function stopWithParent(): void {
  const parent = process.ppid;
  let stopping = false;
  const stop = (why: string) => {
    if (stopping) return;
    stopping = true;
    clearInterval(timer);
    process.stderr.write(`ext5 experiment worker: ${why}; saving and stopping\n`);
    setTimeout(() => process.exit(130), ORPHAN_GRACE_MS).unref();
    process.kill(process.pid, 'SIGTERM');
  };
  const timer = setInterval(() => {
    if (process.ppid !== parent) stop(`its sweep (pid ${parent}) is gone`);
  }, PARENT_CHECK_MS);
  timer.unref();
  if (process.channel) {
    process.on('disconnect', () => stop(`its sweep (pid ${parent}) is gone`));
    process.channel.unref();
  }
}

/** The worker's command line: `<experiment dir> <cell id> <threads>`. */
export async function workerMain(argv: string[]): Promise<number> {
  const [dir, id, threadsArg] = argv;
  try {
    if (!dir || !id)
      throw new Ext5Error('E_EXPERIMENT', 'usage: worker.js <experiment dir> <cell id> [threads]');
    const plan = JSON.parse(fs.readFileSync(expPaths.plan(dir), 'utf8')) as { cells: CellSpec[] };
    const cell = plan.cells.find((c) => c.id === id);
    if (!cell) throw new Ext5Error('E_EXPERIMENT', `no cell '${id}' in ${expPaths.plan(dir)}`);
    const threads = Math.max(1, Number(threadsArg ?? 1) || 1);
    const r = await runCell(dir, cell, threads);
    return r ? 0 : 130;
  } catch (err) {
    return reportError(err);
  }
}

if (require.main === module) {
  stopWithParent();
  workerMain(process.argv.slice(2)).then(
    (code) => process.exit(code),
    () => process.exit(1),
  );
}
