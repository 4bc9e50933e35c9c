/**
 * Benchmark aggregation: which metrics each downstream task reports and how the per-task numbers
 * become one benchmark score, for the four ExT5 evaluation suites.
 *
 * - SuperGLUE (t5 `t5/data/glue_utils.py` SUPERGLUE_METRICS): a task's score is the mean of its
 *   metrics (CB: macro-F1 and accuracy; MultiRC: F1a and exact match; ReCoRD: EM and F1), and the
 *   benchmark average is the mean of the task scores, as the SuperGLUE leaderboard computes it.
 * - GEM: BLEU, ROUGE-1, ROUGE-2 and ROUGE-L (T5's rougeLsum); the task score is their mean, the number
 *   ExT5 selects checkpoints by.
 * - Rainbow: accuracy.
 * - Closed-book QA (google-research `t5_closed_book_qa`): EM and F1, SQuAD normalization for Natural
 *   Questions and WebQuestions, TriviaQA normalization for TriviaQA; the task score is EM.
 */
import { didYouMean, Ext5Error } from '../util/errors';
import { computeMetricSet, type MetricOptions } from './metrics/registry';

/** The metrics of one task and the keys whose mean is the task's score. */
export interface TaskMetricSpec {
  /** Registry metric names (see `listMetrics()`). */
  metrics: readonly string[];
  /** Result keys averaged into the task score. */
  scoreKeys: readonly string[];
}

/** A benchmark: its known tasks, and the spec used for tasks it does not list (open suites like GEM). */
export interface BenchmarkSpec {
  name: string;
  description: string;
  tasks: Readonly<Record<string, TaskMetricSpec>>;
  /** Spec for any task not in `tasks`; undefined means unknown tasks are an error. */
  anyTask?: TaskMetricSpec;
}

const ACC: TaskMetricSpec = { metrics: ['accuracy'], scoreKeys: ['accuracy'] };
const GEM_TASK: TaskMetricSpec = {
  metrics: ['bleu', 'rouge'],
  scoreKeys: ['bleu', 'rouge1', 'rouge2', 'rougeLsum'],
};

/** The benchmarks ExT5 is evaluated on. */
export const BENCHMARKS: Readonly<Record<string, BenchmarkSpec>> = Object.freeze({
  superglue: {
    name: 'superglue',
    description: 'SuperGLUE: average of task scores; CB, MultiRC and ReCoRD first average their two metrics',
    tasks: {
      boolq: ACC,
      cb: { metrics: ['mean_3class_f1', 'accuracy'], scoreKeys: ['mean_3class_f1', 'accuracy'] },
      copa: ACC,
      multirc: { metrics: ['multirc_f1', 'multirc_em'], scoreKeys: ['f1', 'exact_match'] },
      record: { metrics: ['record'], scoreKeys: ['em', 'f1'] },
      rte: ACC,
      wic: ACC,
      wsc: ACC,
    },
  },
  gem: {
    name: 'gem',
    description:
      'GEM: BLEU (sacreBLEU, T5 settings), ROUGE-1/2/L (rouge_score, rougeLsum), task score = their mean',
    tasks: {
      common_gen: GEM_TASK,
      dart: GEM_TASK,
      e2e_nlg: GEM_TASK,
      totto: GEM_TASK,
      web_nlg_en: GEM_TASK,
      xsum: GEM_TASK,
      wiki_lingua_en: GEM_TASK,
      schema_guided_dialog: GEM_TASK,
    },
    anyTask: GEM_TASK,
  },
  rainbow: {
    name: 'rainbow',
    description: 'Rainbow: accuracy per task, average over tasks',
    tasks: { anli: ACC, cosmosqa: ACC, hellaswag: ACC, physicaliqa: ACC, socialiqa: ACC, winogrande: ACC },
  },
  cbqa: {
    name: 'cbqa',
    description: 'Closed-book QA: EM and F1 (max over gold answers); task score = EM',
    tasks: {
      natural_questions: { metrics: ['squad'], scoreKeys: ['em'] },
      web_questions: { metrics: ['squad'], scoreKeys: ['em'] },
      trivia_qa: { metrics: ['trivia_qa'], scoreKeys: ['em'] },
    },
  },
});

/** The spec of a benchmark; unknown names get the closest one. */
export function getBenchmark(name: string): BenchmarkSpec {
  const b = BENCHMARKS[name];
  if (b === undefined) {
    throw new Ext5Error(
      'E_UNKNOWN_BENCHMARK',
      `unknown benchmark '${name}'${didYouMean(name, Object.keys(BENCHMARKS))}`,
      `known benchmarks: ${Object.keys(BENCHMARKS).join(', ')}.`,
    );
  }
  return b;
}

/** The metric spec of a task of a benchmark. */
export function getTaskMetricSpec(benchmark: string, task: string): TaskMetricSpec {
  const b = getBenchmark(benchmark);
  const spec = b.tasks[task] ?? b.anyTask;
  if (spec === undefined) {
    throw new Ext5Error(
      'E_UNKNOWN_TASK',
      `${benchmark} has no task '${task}'${didYouMean(task, Object.keys(b.tasks))}`,
      `${benchmark} tasks: ${Object.keys(b.tasks).join(', ')}.`,
    );
  }
  return spec;
}

/**
 * Computes a task's metrics with its benchmark's metric set (postprocessed predictions and references).
 * @example scoreBenchmarkTask('superglue', 'cb', [0, 2, 1], [0, 2, 2]) // { mean_3class_f1: ..., accuracy: 66.7 }
 */
export function scoreBenchmarkTask(
  benchmark: string,
  task: string,
  predictions: readonly unknown[],
  references: readonly unknown[],
  options?: MetricOptions,
): Record<string, number> {
  return computeMetricSet(getTaskMetricSpec(benchmark, task).metrics, predictions, references, options);
}

/** One task's row of a benchmark report. */
export interface TaskReport {
  task: string;
  metrics: Record<string, number>;
  /** Mean of the task's score keys. */
  score: number;
}

/** A benchmark report (what `--json` prints). */
export interface BenchmarkReport {
  benchmark: string;
  tasks: TaskReport[];
  /** Mean of the task scores. */
  average: number;
}

/**
 * Aggregates per-task metric results into a benchmark report.
 * @example
 * aggregateBenchmark('superglue', { cb: { mean_3class_f1: 80, accuracy: 90 }, rte: { accuracy: 70 } })
 * // tasks: cb score 85, rte score 70; average 77.5
 */
export function aggregateBenchmark(
  benchmark: string,
  taskResults: Readonly<Record<string, Readonly<Record<string, number>>>>,
): BenchmarkReport {
  getBenchmark(benchmark);
  const tasks: TaskReport[] = [];
  for (const [task, metrics] of Object.entries(taskResults)) {
    const spec = getTaskMetricSpec(benchmark, task);
    let sum = 0;
    for (const k of spec.scoreKeys) {
      const v = metrics[k];
      if (typeof v !== 'number' || Number.isNaN(v)) {
        throw new Ext5Error(
          'E_METRIC_INPUT',
          `${benchmark}/${task}: result has no number for '${k}' (has: ${Object.keys(metrics).join(', ') || 'nothing'})`,
          `compute the task with scoreBenchmarkTask('${benchmark}', '${task}', ...) so that it has ${spec.scoreKeys.join(', ')}.`,
        );
      }
      sum += v;
    }
    tasks.push({ task, metrics: { ...metrics }, score: sum / spec.scoreKeys.length });
  }
  if (tasks.length === 0) {
    throw new Ext5Error('E_METRIC_INPUT', `${benchmark}: no task results to aggregate`);
  }
  const average = tasks.reduce((a, t) => a + t.score, 0) / tasks.length;
  return { benchmark, tasks, average };
}

/**
 * A plain-text table of a report: one row per task (score, then each metric), then the average.
 * @example
 * formatBenchmarkTable(report)
 * // task   score  metrics
 * // cb     85.00  mean_3class_f1=80.00 accuracy=90.00
 * // ...
 * // average 77.50 (2 tasks)
 */
export function formatBenchmarkTable(report: BenchmarkReport, digits = 2): string {
  const rows = report.tasks.map((t) => [
    t.task,
    t.score.toFixed(digits),
    Object.entries(t.metrics)
      .map(([k, v]) => `${k}=${v.toFixed(digits)}`)
      .join(' '),
  ]);
  const header = ['task', 'score', 'metrics'];
  const w0 = Math.max(header[0]!.length, 'average'.length, ...rows.map((r) => r[0]!.length));
  const w1 = Math.max(
    header[1]!.length,
    ...rows.map((r) => r[1]!.length),
    report.average.toFixed(digits).length,
  );
  const line = (r: string[]): string => `${r[0]!.padEnd(w0)}  ${r[1]!.padStart(w1)}  ${r[2]}`.trimEnd();
  const out = [`${report.benchmark}`, line(header), ...rows.map(line)];
  out.push(
    line([
      'average',
      report.average.toFixed(digits),
      `(${report.tasks.length} task${report.tasks.length === 1 ? '' : 's'})`,
    ]),
  );
  return `${out.join('\n')}\n`;
}
