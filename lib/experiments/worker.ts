/**
 * Runs one experiment cell: registers its mixtures, builds its config (run preset + --set strings),
 * trains with the public `train()`, and records the result atomically. `ext5 experiment` starts it
 * as a child process per cell (`node dist/lib/experiments/worker.js <experiment dir> <cell id>
 * <threads>`), so that a crash or the memory of one run cannot take the sweep down with it.
 *
 * Exit codes: 0 recorded, 130 stopped by a signal (nothing recorded; a resumed sweep continues the
 * cell from its last checkpoint), 1 failed (the error is in the cell's worker.log).
 */
import * as fs from 'node:fs';
import { writeFileDurable } from '../io/durable';
import { loadReportRun } from '../report/runs';
import { checkpointName, listCheckpoints } from '../run/run_checkpoints';
import { Ext5Error } from '../util/errors';
import { type CellResult, type CellSpec, cellRunDir, expPaths, type MixtureSpec } from './cell';

/** Registers a cell's mixtures (idempotent within a process: a name already registered is kept). */
export function registerCellMixtures(specs: readonly MixtureSpec[] | undefined): void {
  if (!specs || specs.length === 0) return;
  const { Mixture, MixtureRegistry, examplesProportional } = require('../tasks') as typeof import('../tasks');
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
  require('../tasks');
  registerCellMixtures(cell.mixtures);
  const { loadRunConfig } = require('../run/run_config') as typeof import('../run/run_config');
  const { train } = require('../train/trainer') as typeof import('../train/trainer');
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
    const { reportError } = require('../cli/main') as typeof import('../cli/main');
    return reportError(err);
  }
}

if (require.main === module) {
  workerMain(process.argv.slice(2)).then(
    (code) => process.exit(code),
    () => process.exit(1),
  );
}
