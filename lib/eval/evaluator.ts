/**
 * Evaluates a model on a task the way T5 does: decode each example (greedy or beam search), or
 * score every candidate label (rank classification), apply the task's postprocessor, and
 * compute its metrics. Benchmark tasks (SuperGLUE, GEM, Rainbow, closed-book QA) use the
 * benchmark's metric set and aggregation (lib/eval/aggregate.ts).
 *
 * The metric inputs follow google-research/text-to-text-transfer-transformer
 * t5/data/postprocessors.py and t5/evaluation/metrics.py: MultiRC and ReCoRD are grouped per
 * question / query, WSC compares the predicted referent with the true one (wsc_simple), QA
 * tasks compare against every gold answer.
 */
import { padTokenBatch, type TextVocabulary } from '../model/predict';
import type { T5ForConditionalGeneration } from '../model/t5';
import type { Example, Task } from '../tasks/task';
import { Ext5Error } from '../util/errors';
import { aggregateBenchmark, type BenchmarkReport, getTaskMetricSpec } from './aggregate';
import { computeMetricSet, listMetrics } from './metrics';
import { qaAnswer, SUPERGLUE_LABELS, stringLabelToClassId, wscSimple } from './postprocessors';

/** What the evaluator needs of a vocabulary: what text generation needs (lib/model/predict.ts). */
export type EvalVocabulary = TextVocabulary;

export interface EvalOptions {
  split?: string;
  maxExamples?: number | null;
  batchSize?: number;
  decoding?: 'greedy' | 'beam';
  numBeams?: number;
  lengthPenalty?: number;
  maxNewTokens?: number | null;
  /** Score each candidate label instead of generating (classification tasks). */
  rankClassification?: boolean;
  dataDir?: string;
  /** Examples read with their raw predictions (progress). */
  onProgress?: (done: number, total: number | undefined) => void;
}

export interface PredictionRecord {
  inputs: string;
  target: string;
  prediction: string;
}

export interface TaskEvalResult {
  task: string;
  benchmark?: string;
  benchmarkTask?: string;
  metrics: Record<string, number>;
  count: number;
  predictions: PredictionRecord[];
}

/** Where a registered task sits in a benchmark: `super_glue_cb` → superglue / cb. */
export function benchmarkKey(task: Task): { benchmark: string; key: string } | undefined {
  const n = task.name;
  if (n.startsWith('super_glue_')) return { benchmark: 'superglue', key: n.slice('super_glue_'.length) };
  if (n.startsWith('gem_')) return { benchmark: 'gem', key: n.slice('gem_'.length) };
  if (n.startsWith('rainbow_')) return { benchmark: 'rainbow', key: n.slice('rainbow_'.length) };
  const cbqa: Record<string, string> = {
    natural_questions_open: 'natural_questions',
    web_questions_open: 'web_questions',
    trivia_qa_open: 'trivia_qa',
  };
  if (cbqa[n]) return { benchmark: 'cbqa', key: cbqa[n]! };
  return undefined;
}

/** The metric names a task is scored with: its benchmark's set, else its own. */
export function taskMetricNames(task: Task): string[] {
  const b = benchmarkKey(task);
  if (b) return [...getTaskMetricSpec(b.benchmark, b.key).metrics];
  return task.metrics.length > 0 ? task.metrics : ['sequence_accuracy'];
}

/** The task's label strings in class-id order (its own, else T5's SuperGLUE ones), if it has them. */
function labelClassesOf(task: Task): readonly string[] | undefined {
  if (task.labelClasses) return task.labelClasses;
  const b = benchmarkKey(task);
  return b?.benchmark === 'superglue' ? SUPERGLUE_LABELS[b.key] : undefined;
}

function answersOf(ex: Example): string[] {
  const a = ex.answers;
  if (Array.isArray(a) && a.length > 0) return a.map(String);
  return [ex.targets];
}

/**
 * Turns raw predictions into the inputs each metric expects, following the task's
 * postprocessor. Exported for tests and for scoring predictions made elsewhere.
 */
export function metricInputs(
  task: Task,
  examples: readonly Example[],
  outputs: readonly string[],
): { predictions: unknown[]; references: unknown[] } {
  const post = task.postprocessor;
  const labelSet = labelClassesOf(task);
  const predictions: unknown[] = [];
  const references: unknown[] = [];
  examples.forEach((ex, i) => {
    const out = outputs[i] ?? '';
    switch (post) {
      case 'multirc': {
        const group = `${ex['idx/paragraph']}-${ex['idx/question']}`;
        predictions.push({ group, value: stringLabelToClassId(out, ['False', 'True']) });
        references.push({ group, value: stringLabelToClassId(ex.targets, ['False', 'True']) });
        break;
      }
      case 'record': {
        const group = `${ex['idx/passage']}-${ex['idx/query']}`;
        predictions.push({ group, value: out });
        references.push({ group, value: answersOf(ex) });
        break;
      }
      case 'wsc_simple':
        predictions.push(wscSimple(out, ex.targets));
        references.push(Number(ex.label ?? 1));
        break;
      case 'qa':
        predictions.push(qaAnswer(out));
        references.push(answersOf(ex));
        break;
      case 'string_to_float': {
        const v = Number.parseFloat(out);
        predictions.push(Number.isFinite(v) ? v : -1);
        references.push(Number.parseFloat(ex.targets));
        break;
      }
      default:
        if (labelSet) {
          predictions.push(stringLabelToClassId(out, labelSet));
          references.push(stringLabelToClassId(ex.targets, labelSet));
        } else {
          predictions.push(out);
          references.push(ex.targets);
        }
    }
  });
  return { predictions, references };
}

/** Reads up to `max` evaluation examples of a task. */
export async function readExamples(
  task: Task,
  split: string,
  max: number | null | undefined,
  dataDir?: string,
) {
  const out: Example[] = [];
  for await (const ex of task.examples(split, { dataDir })) {
    out.push(ex);
    if (max && out.length >= max) break;
  }
  if (out.length === 0) {
    throw new Ext5Error('EXT5_NO_EXAMPLES', `task ${task.name} has no examples in split '${split}'`);
  }
  return out;
}

/** Decodes outputs for the examples with model.predict, in batches. */
async function generateOutputs(
  model: T5ForConditionalGeneration,
  vocab: EvalVocabulary,
  task: Task,
  examples: readonly Example[],
  opts: EvalOptions,
): Promise<string[]> {
  const bs = opts.batchSize ?? 16;
  const beam = opts.decoding === 'beam';
  const outputs: string[] = [];
  for (let i = 0; i < examples.length; i += bs) {
    const chunk = examples.slice(i, i + bs);
    const texts = await model.predict(
      chunk.map((e) => e.inputs),
      vocab,
      {
        maxInputLength: task.outputFeatures.inputsLength,
        batchSize: chunk.length,
        maxNewTokens: opts.maxNewTokens ?? task.outputFeatures.targetsLength,
        numBeams: beam ? (opts.numBeams ?? 4) : 1,
        lengthPenalty: opts.lengthPenalty ?? 0.6,
      },
    );
    outputs.push(...texts);
    opts.onProgress?.(Math.min(i + bs, examples.length), examples.length);
  }
  return outputs;
}

/**
 * Rank classification (T5's `rank_classification`): scores every candidate target for each
 * input and predicts the most likely. Candidates are the task's label names when known
 * (SuperGLUE), else the distinct targets of the evaluated examples.
 */
async function rankOutputs(
  model: T5ForConditionalGeneration,
  vocab: EvalVocabulary,
  task: Task,
  examples: readonly Example[],
  opts: EvalOptions,
): Promise<string[]> {
  const known = labelClassesOf(task);
  const candidates = known ? [...known] : [...new Set(examples.map((e) => e.targets))].sort();
  if (candidates.length < 2 || candidates.length > 64) {
    throw new Ext5Error(
      'EXT5_RANK_CLASSIFICATION',
      `rank classification needs 2 to 64 candidate targets; task ${task.name} has ${candidates.length}`,
      'use generation (drop --rank-classification) for tasks with free-form targets',
    );
  }
  const candIds = await vocab.encodeBatchAsync(candidates);
  const bs = Math.max(1, Math.floor((opts.batchSize ?? 16) / candidates.length) || 1);
  const outputs: string[] = [];
  for (let i = 0; i < examples.length; i += bs) {
    const chunk = examples.slice(i, i + bs);
    const enc = await vocab.encodeBatchAsync(chunk.map((e) => e.inputs));
    const rows: Int32Array[] = [];
    const tg: Int32Array[] = [];
    for (const e of enc) {
      for (const c of candIds) {
        rows.push(e);
        tg.push(c);
      }
    }
    const x = padTokenBatch(rows, task.outputFeatures.inputsLength, vocab.eosId);
    const y = padTokenBatch(tg, task.outputFeatures.targetsLength, vocab.eosId);
    const { sums } = await model.scoreAsync(x.ids, x.mask, y.ids, y.mask);
    for (let k = 0; k < chunk.length; k++) {
      let best = 0;
      for (let c = 1; c < candidates.length; c++) {
        if (sums[k * candidates.length + c]! > sums[k * candidates.length + best]!) best = c;
      }
      outputs.push(candidates[best]!);
    }
    opts.onProgress?.(Math.min(i + bs, examples.length), examples.length);
  }
  return outputs;
}

/** Evaluates one task: predictions, postprocessing, metrics. */
export async function evaluateTask(
  model: T5ForConditionalGeneration,
  vocab: EvalVocabulary,
  task: Task,
  opts: EvalOptions = {},
): Promise<TaskEvalResult> {
  const examples = await readExamples(task, opts.split ?? 'validation', opts.maxExamples, opts.dataDir);
  const wasTraining = model.training;
  model.eval();
  let outputs: string[];
  try {
    outputs = opts.rankClassification
      ? await rankOutputs(model, vocab, task, examples, opts)
      : await generateOutputs(model, vocab, task, examples, opts);
  } finally {
    if (wasTraining) model.train();
  }
  return scoreOutputs(task, examples, outputs);
}

/** Scores outputs already decoded for the examples (used by evaluateTask and by tests). */
export function scoreOutputs(
  task: Task,
  examples: readonly Example[],
  outputs: readonly string[],
): TaskEvalResult {
  if (outputs.length !== examples.length) {
    throw new Ext5Error(
      'EXT5_EVAL_COUNT',
      `${task.name}: ${outputs.length} predictions for ${examples.length} examples`,
      'give one prediction per example, in the same order',
    );
  }
  const names = taskMetricNames(task);
  const known = new Set(listMetrics());
  const missing = names.filter((n) => !known.has(n));
  if (missing.length > 0) {
    throw new Ext5Error(
      'EXT5_UNKNOWN_METRIC',
      `task ${task.name} names unknown metric(s): ${missing.join(', ')}`,
    );
  }
  const { predictions, references } = metricInputs(task, examples, outputs);
  const metrics = computeMetricSet(names, predictions, references);
  const b = benchmarkKey(task);
  return {
    task: task.name,
    benchmark: b?.benchmark,
    benchmarkTask: b?.key,
    metrics,
    count: examples.length,
    predictions: examples.map((e, i) => ({ inputs: e.inputs, target: e.targets, prediction: outputs[i]! })),
  };
}

/** A benchmark report from per-task results (tasks of one benchmark). */
export function benchmarkReport(benchmark: string, results: readonly TaskEvalResult[]): BenchmarkReport {
  const byKey: Record<string, Record<string, number>> = {};
  for (const r of results) {
    if (r.benchmark !== benchmark || !r.benchmarkTask) {
      throw new Ext5Error('EXT5_INTERNAL', `${r.task} is not a ${benchmark} task`);
    }
    byKey[r.benchmarkTask] = r.metrics;
  }
  return aggregateBenchmark(benchmark, byKey);
}

/** What {@link evaluateTasks} gives back: each task's result, and a report per benchmark among them. */
export interface TasksEvaluation {
  results: TaskEvalResult[];
  /** One per benchmark the tasks belong to, in the order its first task came. */
  reports: BenchmarkReport[];
}

/** What a caller of {@link evaluateTasks} sees and sets per task. */
export interface EvaluateTasksHooks {
  /** Options of one task over the shared ones (its progress callback, say). */
  taskOptions?: (task: Task) => EvalOptions;
  /** Each task's result as soon as it is scored (to log it, or write its predictions). */
  onResult?: (result: TaskEvalResult, task: Task) => void;
}

/**
 * Evaluates tasks one after another (decode, postprocess, metrics), then reports each benchmark
 * the tasks belong to (lib/eval/aggregate.ts): what training's periodic evaluation and `ext5 eval`
 * both run.
 */
export async function evaluateTasks(
  model: T5ForConditionalGeneration,
  tasks: readonly Task[],
  vocabFor: (task: Task) => EvalVocabulary,
  opts: EvalOptions = {},
  hooks: EvaluateTasksHooks = {},
): Promise<TasksEvaluation> {
  const results: TaskEvalResult[] = [];
  for (const task of tasks) {
    const r = await evaluateTask(model, vocabFor(task), task, { ...opts, ...hooks.taskOptions?.(task) });
    results.push(r);
    hooks.onResult?.(r, task);
  }
  const benchmarks = [...new Set(results.map((r) => r.benchmark).filter((b): b is string => !!b))];
  const reports = benchmarks.map((b) =>
    benchmarkReport(
      b,
      results.filter((r) => r.benchmark === b),
    ),
  );
  return { results, reports };
}
