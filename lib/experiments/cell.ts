/**
 * One cell of an experiment: a training run (pre-training, co-training, fine-tuning or a loss probe)
 * described as data, so that a plan can be written to disk, run in a child process, and skipped on
 * resume once its result file exists.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { checkpointName } from '../run/run_checkpoints';
import { Ext5Error } from '../util/errors';

/** A mixture a cell registers before it builds its config (rates: a number, or examples-proportional). */
export interface MixtureSpec {
  name: string;
  members: [string, number | { proportional: { K?: number; temperature?: number } }][];
}

/** What to run. */
export interface CellSpec {
  id: string;
  /** Cells whose results (checkpoints) this one needs. */
  deps: string[];
  /** Run preset the config starts from. */
  preset: string;
  /** `--set` strings applied after the preset (run.dir and threads are added by the runner). */
  sets: string[];
  /** Mixtures to register first, inner ones before the ones that use them. */
  mixtures?: MixtureSpec[];
  /** A short label for progress lines. */
  label: string;
  /** The run directory relative to the experiment directory (default cells/<id>). */
  dir?: string;
}

/** What a finished cell recorded. */
export interface CellResult {
  id: string;
  seconds: number;
  step: number;
  lastLoss: number | null;
  /** Task → metric → value, from the run's final evaluation. */
  evals: Record<string, Record<string, number>>;
  /** The last validation loss the run logged, if any. */
  validationLoss: number | null;
  /** Checkpoints the run kept (directory names under checkpoints/). */
  checkpoints: string[];
}

/** The layout of an experiment directory. */
export const expPaths = {
  plan: (dir: string) => path.join(dir, 'plan.json'),
  cellDir: (dir: string, id: string) => path.join(dir, 'cells', id),
  result: (dir: string, id: string) => path.join(dir, 'results', `${id}.json`),
  results: (dir: string) => path.join(dir, 'results.json'),
  report: (dir: string) => path.join(dir, 'report.html'),
};

/** Where a cell's run lives. */
export function cellRunDir(dir: string, cell: Pick<CellSpec, 'id' | 'dir'>): string {
  return cell.dir ? path.join(dir, cell.dir) : expPaths.cellDir(dir, cell.id);
}

/** `<run>/checkpoints/step-00000100`, the trainer's checkpoint layout. */
export function checkpointPath(runDir: string, step: number): string {
  return path.join(runDir, 'checkpoints', checkpointName(step));
}

/** A finished cell's result, or undefined when it has not finished (or its file is unreadable). */
export function readCellResult(dir: string, id: string): CellResult | undefined {
  const file = expPaths.result(dir, id);
  if (!fs.existsSync(file)) return undefined;
  try {
    const r = JSON.parse(fs.readFileSync(file, 'utf8')) as CellResult;
    return r && r.id === id ? r : undefined;
  } catch {
    return undefined;
  }
}

/** Cell ids become directory names: keep them to a safe alphabet. */
export function checkCellId(id: string): void {
  if (!/^[A-Za-z0-9][A-Za-z0-9._-]*$/.test(id)) {
    throw new Ext5Error('E_EXPERIMENT', `cell id '${id}' is not a safe directory name`);
  }
}

/** The cells in an order where every dependency comes first; throws on unknown ids and cycles. */
export function topoOrder(cells: readonly CellSpec[]): CellSpec[] {
  const byId = new Map<string, CellSpec>();
  for (const c of cells) {
    checkCellId(c.id);
    if (byId.has(c.id)) throw new Ext5Error('E_EXPERIMENT', `two cells are named '${c.id}'`);
    byId.set(c.id, c);
  }
  const out: CellSpec[] = [];
  const state = new Map<string, 'visiting' | 'done'>();
  const visit = (c: CellSpec, chain: string[]) => {
    const s = state.get(c.id);
    if (s === 'done') return;
    if (s === 'visiting') {
      throw new Ext5Error('E_EXPERIMENT', `cells depend on each other: ${[...chain, c.id].join(' -> ')}`);
    }
    state.set(c.id, 'visiting');
    for (const d of c.deps) {
      const dep = byId.get(d);
      if (!dep) throw new Ext5Error('E_EXPERIMENT', `cell '${c.id}' depends on unknown cell '${d}'`);
      visit(dep, [...chain, c.id]);
    }
    state.set(c.id, 'done');
    out.push(c);
  };
  for (const c of cells) visit(c, []);
  return out;
}

/** The mean of a task's metric values (a task with several metrics, e.g. squad em/f1, counts once). */
export function taskScore(metrics: Record<string, number> | undefined): number {
  const vs = Object.values(metrics ?? {}).filter((v) => Number.isFinite(v));
  if (vs.length === 0) return Number.NaN;
  return vs.reduce((a, b) => a + b, 0) / vs.length;
}

/** The mean task score over `tasks` from a cell's evals (NaN when one is missing). */
export function meanTaskScore(evals: CellResult['evals'], tasks: readonly string[]): number {
  if (tasks.length === 0) return Number.NaN;
  let s = 0;
  for (const t of tasks) s += taskScore(evals[t]);
  return s / tasks.length;
}
