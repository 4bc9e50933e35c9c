/**
 * `ext5 experiment <study>` as a library: resolve the study's parameters, plan its cells, run the
 * unfinished ones (resumable, in parallel child processes), analyse whatever results exist, and write
 * results.json and report.html into the experiment directory.
 * @example
 * const out = await runExperiment({ study: 'scaling', preset: 'mini', dir: 'runs/scaling', jobs: 2 });
 * console.log(out.analysis.verdicts.join('\n'));
 */
import * as os from 'node:os';
import { writeFileDurable } from '../io/durable';
import { renderExperimentPage } from '../report/experiment_page';
import { Ext5Error } from '../util/errors';
import type { StudyAnalysis } from './analysis';
import { type CellResult, type CellSpec, expPaths, readCellResult } from './cell';
import { analyzeStudy, parameterRows, planStudy, STUDY_DEFS } from './registry';
import { runSweep, type SweepEvents, type SweepSummary } from './runner';
import { STUDIES, STUDY_PRESETS, type StudyName, type StudyParams } from './studies';

export * from './analysis';
export * from './cell';
export * from './demo';
export * from './registry';
export * from './runner';
export { metricRange, perTaskBreakdown, type Results, scoreRange, type TaskArm } from './scores';
export * from './stats';
export * from './studies';

/** Checks the name of a study of `ext5 experiment` (the demo has its own command). */
export function studyName(s: string): StudyName {
  if (!(STUDIES as readonly string[]).includes(s)) {
    throw new Ext5Error('E_EXPERIMENT', `unknown study '${s}'`, `studies: ${STUDIES.join(', ')}`);
  }
  return s as StudyName;
}

/** A preset's parameters with the given overrides applied. */
export function studyParams(preset: string, overrides: Partial<StudyParams> = {}): StudyParams {
  const base = STUDY_PRESETS[preset];
  if (!base) {
    throw new Ext5Error(
      'E_EXPERIMENT',
      `unknown experiment preset '${preset}'`,
      `presets: ${Object.keys(STUDY_PRESETS).join(', ')}`,
    );
  }
  const clean = Object.fromEntries(Object.entries(overrides).filter(([, v]) => v !== undefined));
  return { ...base.params, ...clean };
}

export interface ExperimentOptions {
  study: StudyName;
  preset: string;
  dir: string;
  overrides?: Partial<StudyParams>;
  jobs?: number;
  /** libtorch threads per cell (default: the cores shared out among the jobs). */
  threads?: number;
  /** Plan only: write nothing, run nothing. */
  dryRun?: boolean;
  events?: SweepEvents;
}

export interface ExperimentOutcome {
  study: StudyName;
  preset: string;
  dir: string;
  params: StudyParams;
  cells: CellSpec[];
  sweep: SweepSummary | null;
  analysis: StudyAnalysis | null;
  /** Finished cells / all cells. */
  complete: { done: number; total: number };
  resultsFile: string | null;
  reportFile: string | null;
}

/** Runs (or plans) an experiment and writes its results and report. */
export async function runExperiment(o: ExperimentOptions): Promise<ExperimentOutcome> {
  const params = studyParams(o.preset, o.overrides);
  const cells = planStudy(o.study, params, o.dir);
  const base = { study: o.study, preset: o.preset, dir: o.dir, params, cells };
  if (o.dryRun) {
    return {
      ...base,
      sweep: null,
      analysis: null,
      complete: { done: 0, total: cells.length },
      resultsFile: null,
      reportFile: null,
    };
  }
  const jobs = o.jobs ?? 1;
  const threads = o.threads ?? Math.max(1, Math.floor(os.availableParallelism() / Math.max(1, jobs)));
  const sweep = await runSweep({
    dir: o.dir,
    header: { study: o.study, preset: o.preset, params },
    cells,
    jobs,
    threads,
    events: o.events,
  });
  const results = new Map<string, CellResult>();
  for (const c of cells) {
    const r = readCellResult(o.dir, c.id);
    if (r) results.set(c.id, r);
  }
  const analysis = analyzeStudy(o.study, params, results, o.dir);
  const complete = { done: results.size, total: cells.length };
  const resultsFile = expPaths.results(o.dir);
  writeFileDurable(
    resultsFile,
    `${JSON.stringify({ study: o.study, preset: o.preset, params, complete, verdicts: analysis.verdicts, numbers: analysis.numbers, cells: Object.fromEntries(results) }, null, 2)}\n`,
    { mkdir: true },
  );
  const reportFile = expPaths.report(o.dir);
  writeFileDurable(reportFile, experimentPage(o.study, params, analysis, complete, results), { mkdir: true });
  return { ...base, sweep, analysis, complete, resultsFile, reportFile };
}

/** The report page of a study: its analysis, its own parameters, and how complete it is. */
function experimentPage(
  study: StudyName,
  p: StudyParams,
  analysis: StudyAnalysis,
  complete: { done: number; total: number },
  results: ReadonlyMap<string, CellResult>,
): string {
  const def = STUDY_DEFS[study];
  const cellSeconds = [...results.values()].reduce((a, r) => a + r.seconds, 0);
  const examples =
    p.evalExamples === null ? 'all validation examples' : `${p.evalExamples} validation examples`;
  return renderExperimentPage({
    title: `${def.command}: ${def.title}`,
    subtitle: [
      `preset ${p.preset}`,
      `${p.seeds} seed${p.seeds > 1 ? 's' : ''}`,
      `${p.pretrainSteps} pre-training / ${p.finetuneSteps} fine-tuning steps per cell`,
      `${examples} per task`,
      `${complete.done}/${complete.total} cells finished`,
      `${Math.round(cellSeconds)} s of training`,
    ].join(' · '),
    verdicts: analysis.verdicts,
    // The study's own parameters as a table (one row per knob), not a JSON line that wraps mid-word.
    tables: [
      ...analysis.tables,
      { title: 'Parameters', head: ['parameter', 'value'], rows: parameterRows(study, p) },
    ],
    charts: analysis.charts,
    notes: [
      ...(analysis.notes ?? []),
      complete.done < complete.total
        ? `Incomplete: ${complete.total - complete.done} cells have no result; run the same command again to finish them.`
        : 'All cells finished.',
    ],
  });
}
