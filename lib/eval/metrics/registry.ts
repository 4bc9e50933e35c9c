/**
 * Every metric by name, the way the evaluator and `ext5 score` call them:
 * `computeMetrics(name, predictions, references, options)` returns a flat `{ key: value }` object
 * whose keys and scale (0-100) are those of T5's metric functions (`bleu`, `rouge1`, `em`, `f1`,
 * `accuracy`, `mean_3class_f1`, `exact_match`, ...).
 */
import { didYouMean, Ext5Error } from '../../util/errors';
import { type BleuOptions, corpusBleu, T5_BLEU_OPTIONS } from './bleu';
import { BootstrapAggregator } from './bootstrap';
import { type ChrfOptions, corpusChrf } from './chrf';
import {
  accuracy,
  allMatch,
  deduplicateMetric,
  f1ScoreWithInvalid,
  type Grouped,
  meanGroupMetric,
  meanMulticlassF1,
  sequenceAccuracy,
} from './classification';
import { pearsonCorrcoef, spearmanCorrcoef } from './correlation';
import { squad, triviaQa } from './qa';
import { corpusRouge, type RougeOptions } from './rouge';

/** Options any metric may read; each metric documents which it uses. */
export interface MetricOptions {
  /** bleu: sacreBLEU options (default T5's: intl tokenizer, exp smoothing). */
  bleu?: BleuOptions;
  /** chrf: sacreBLEU CHRF options (default chrF2). */
  chrf?: ChrfOptions;
  /** rouge / rouge_bootstrap: types, stemmer, T5 sentence split (default on). */
  rouge?: RougeOptions & { t5Split?: boolean };
  /** rouge_bootstrap: samples (default 1000), confidence (0.95), seed (0). */
  bootstrap?: { nSamples?: number; confidenceInterval?: number; seed?: number };
  /** macro_f1: number of classes (labels 0..n-1). */
  numClasses?: number;
}

/** One registered metric. */
export interface MetricSpec {
  name: string;
  /** One line for `ext5 score --help` and docs. */
  description: string;
  /** What `predictions` and `references` must hold. */
  inputs: string;
  /** The keys of the returned object. */
  keys: (options?: MetricOptions) => string[];
  compute: (
    predictions: readonly unknown[],
    references: readonly unknown[],
    options?: MetricOptions,
  ) => Record<string, number>;
}

function strings(xs: readonly unknown[], what: string, metric: string): string[] {
  xs.forEach((x, i) => {
    if (typeof x !== 'string') {
      throw new Ext5Error('E_METRIC_INPUT', `${metric}: ${what} ${i} is ${describe(x)}, expected a string`);
    }
  });
  return xs as string[];
}

function refsList(xs: readonly unknown[], metric: string): (string | string[])[] {
  xs.forEach((x, i) => {
    const ok = typeof x === 'string' || (Array.isArray(x) && x.every((y) => typeof y === 'string'));
    if (!ok) {
      throw new Ext5Error(
        'E_METRIC_INPUT',
        `${metric}: reference ${i} is ${describe(x)}, expected a string or a list of strings`,
      );
    }
  });
  return xs as (string | string[])[];
}

function labels(xs: readonly unknown[], what: string, metric: string): (string | number | boolean)[] {
  xs.forEach((x, i) => {
    if (typeof x !== 'string' && typeof x !== 'number' && typeof x !== 'boolean') {
      throw new Ext5Error('E_METRIC_INPUT', `${metric}: ${what} ${i} is ${describe(x)}, expected a label`);
    }
  });
  return xs as (string | number | boolean)[];
}

function ints(xs: readonly unknown[], what: string, metric: string): number[] {
  xs.forEach((x, i) => {
    if (typeof x !== 'number' || !Number.isInteger(x)) {
      throw new Ext5Error(
        'E_METRIC_INPUT',
        `${metric}: ${what} ${i} is ${describe(x)}, expected a class id`,
        'map string labels to ids first with stringLabelToClassId (unknown labels become -1).',
      );
    }
  });
  return xs as number[];
}

function numbers(xs: readonly unknown[], what: string, metric: string): number[] {
  xs.forEach((x, i) => {
    if (typeof x !== 'number' || Number.isNaN(x)) {
      throw new Ext5Error('E_METRIC_INPUT', `${metric}: ${what} ${i} is ${describe(x)}, expected a number`);
    }
  });
  return xs as number[];
}

function grouped(xs: readonly unknown[], what: string, metric: string): Grouped<unknown>[] {
  xs.forEach((x, i) => {
    if (typeof x !== 'object' || x === null || !('value' in x)) {
      throw new Ext5Error(
        'E_METRIC_INPUT',
        `${metric}: ${what} ${i} is ${describe(x)}, expected an object { group, value }`,
        'use the multirc / record postprocessors to build them.',
      );
    }
  });
  return xs as Grouped<unknown>[];
}

function describe(x: unknown): string {
  if (x === null) return 'null';
  if (Array.isArray(x)) return 'a list';
  const s = JSON.stringify(x);
  return `${typeof x} ${s !== undefined && s.length > 40 ? `${s.slice(0, 40)}...` : s}`;
}

function sameLength(metric: string, p: readonly unknown[], r: readonly unknown[]): void {
  if (p.length !== r.length) {
    throw new Ext5Error(
      'E_METRIC_INPUT',
      `${metric}: ${p.length} predictions but ${r.length} references`,
      'give exactly one reference entry per prediction.',
    );
  }
  if (p.length === 0) {
    throw new Ext5Error('E_METRIC_INPUT', `${metric}: no predictions to score`, 'give at least one example.');
  }
}

const rougeTypes = (o?: MetricOptions): string[] => [
  ...(o?.rouge?.rougeTypes ?? ['rouge1', 'rouge2', 'rougeLsum']),
];

const SPECS: MetricSpec[] = [
  {
    name: 'bleu',
    description: "corpus BLEU equal to sacreBLEU; default T5's settings (tokenize intl, exp smoothing)",
    inputs: 'predictions: strings; references: a string or a list of strings each',
    keys: () => ['bleu'],
    compute: (p, r, o) => ({
      bleu: corpusBleu(strings(p, 'prediction', 'bleu'), refsList(r, 'bleu'), o?.bleu ?? T5_BLEU_OPTIONS)
        .score,
    }),
  },
  {
    name: 'chrf',
    description: "chrF equal to sacreBLEU's CHRF (char order 6, word order 0, beta 2)",
    inputs: 'predictions: strings; references: a string or a list of strings each',
    keys: () => ['chrf'],
    compute: (p, r, o) => ({
      chrf: corpusChrf(strings(p, 'prediction', 'chrf'), refsList(r, 'chrf'), o?.chrf).score,
    }),
  },
  {
    name: 'rouge',
    description:
      "mean ROUGE F-measure x100 equal to rouge_score (T5's rouge_mean): rouge1, rouge2, rougeLsum",
    inputs: 'predictions: strings; references: a string or a list of strings (best one per type) each',
    keys: rougeTypes,
    compute: (p, r, o) => {
      const res = corpusRouge(strings(p, 'prediction', 'rouge'), refsList(r, 'rouge'), o?.rouge);
      const out: Record<string, number> = {};
      for (const [t, s] of Object.entries(res.mean)) out[t] = 100 * s.fmeasure;
      return out;
    },
  },
  {
    name: 'rouge_bootstrap',
    description:
      "T5's rouge: bootstrap median F-measure x100 with 95% bounds (<type>_low, <type>_high), seeded",
    inputs: 'predictions: strings; references: a string or a list of strings each',
    keys: (o) => rougeTypes(o).flatMap((t) => [t, `${t}_low`, `${t}_high`]),
    compute: (p, r, o) => {
      const res = corpusRouge(strings(p, 'prediction', 'rouge'), refsList(r, 'rouge'), o?.rouge);
      const agg = new BootstrapAggregator(o?.bootstrap);
      for (const s of res.perExample) agg.addScores(s);
      const out: Record<string, number> = {};
      for (const [t, a] of Object.entries(agg.aggregate())) {
        out[t] = 100 * a.mid.fmeasure;
        out[`${t}_low`] = 100 * a.low.fmeasure;
        out[`${t}_high`] = 100 * a.high.fmeasure;
      }
      return out;
    },
  },
  {
    name: 'squad',
    description: 'exact match and token F1 x100 after SQuAD normalization, max over gold answers',
    inputs: 'predictions: strings; references: an answer or a list of gold answers each',
    keys: () => ['em', 'f1'],
    compute: (p, r) => squad(refsList(r, 'squad'), strings(p, 'prediction', 'squad')),
  },
  {
    name: 'trivia_qa',
    description: 'exact match and token F1 x100 after TriviaQA normalization, max over gold answers',
    inputs: 'predictions: strings; references: an answer or a list of gold answers each',
    keys: () => ['em', 'f1'],
    compute: (p, r) => triviaQa(refsList(r, 'trivia_qa'), strings(p, 'prediction', 'trivia_qa')),
  },
  {
    name: 'accuracy',
    description: 'percentage of predictions equal to the reference (labels or strings)',
    inputs: 'predictions and references: labels (strings, numbers or booleans)',
    keys: () => ['accuracy'],
    compute: (p, r) => ({
      accuracy: accuracy(labels(r, 'reference', 'accuracy'), labels(p, 'prediction', 'accuracy')),
    }),
  },
  {
    name: 'sequence_accuracy',
    description: 'percentage of predictions exactly equal to the reference string',
    inputs: 'predictions and references: strings',
    keys: () => ['sequence_accuracy'],
    compute: (p, r) => ({
      sequence_accuracy: sequenceAccuracy(
        strings(r, 'reference', 'sequence_accuracy'),
        strings(p, 'prediction', 'sequence_accuracy'),
      ),
    }),
  },
  {
    name: 'pearson_corrcoef',
    description: "Pearson's r x100 (T5's STS-B metric, scipy.stats.pearsonr)",
    inputs: 'predictions and references: numbers',
    keys: () => ['pearson_corrcoef'],
    compute: (p, r) => ({
      pearson_corrcoef: pearsonCorrcoef(
        numbers(r, 'reference', 'pearson_corrcoef'),
        numbers(p, 'prediction', 'pearson_corrcoef'),
      ),
    }),
  },
  {
    name: 'spearman_corrcoef',
    description: "Spearman's rho x100 with average ranks for ties (scipy.stats.spearmanr)",
    inputs: 'predictions and references: numbers',
    keys: () => ['spearman_corrcoef'],
    compute: (p, r) => ({
      spearman_corrcoef: spearmanCorrcoef(
        numbers(r, 'reference', 'spearman_corrcoef'),
        numbers(p, 'prediction', 'spearman_corrcoef'),
      ),
    }),
  },
  {
    name: 'mean_3class_f1',
    description: 'macro F1 x100 over classes 0, 1, 2 (CB); -1 (unknown label) counts wrong',
    inputs: 'predictions and references: class ids',
    keys: () => ['mean_3class_f1'],
    compute: (p, r) => ({
      mean_3class_f1: meanMulticlassF1(
        ints(r, 'reference', 'mean_3class_f1'),
        ints(p, 'prediction', 'mean_3class_f1'),
        3,
      ),
    }),
  },
  {
    name: 'macro_f1',
    description:
      'macro F1 x100 over classes 0..numClasses-1 (option numClasses, default 1 + the largest reference id)',
    inputs: 'predictions and references: class ids',
    keys: (o) => [`mean_${o?.numClasses ?? 'n'}class_f1`],
    compute: (p, r, o) => {
      const refs = ints(r, 'reference', 'macro_f1');
      const n = o?.numClasses ?? Math.max(...refs) + 1;
      return { [`mean_${n}class_f1`]: meanMulticlassF1(refs, ints(p, 'prediction', 'macro_f1'), n) };
    },
  },
  {
    name: 'f1_with_invalid',
    description: 'binary F1 x100 of class 1; predictions other than 0/1 count wrong',
    inputs: 'predictions and references: class ids (0 or 1; predictions may be -1)',
    keys: () => ['f1'],
    compute: (p, r) => ({
      f1: f1ScoreWithInvalid(
        ints(r, 'reference', 'f1_with_invalid'),
        ints(p, 'prediction', 'f1_with_invalid'),
      ),
    }),
  },
  {
    name: 'exact_match',
    description: 'T5 all_match: 100 if every prediction equals its reference, else 0',
    inputs: 'predictions and references: labels',
    keys: () => ['exact_match'],
    compute: (p, r) => ({
      exact_match: allMatch(labels(r, 'reference', 'exact_match'), labels(p, 'prediction', 'exact_match')),
    }),
  },
  {
    name: 'multirc_f1',
    description: 'MultiRC F1a: F1 x100 over all answer options (invalid predictions count wrong)',
    inputs: 'predictions { value: class id }; references { group, value: class id } (multirc postprocessor)',
    keys: () => ['f1'],
    compute: (p, r) => {
      const t = grouped(r, 'reference', 'multirc_f1');
      const q = grouped(p, 'prediction', 'multirc_f1');
      return {
        f1: f1ScoreWithInvalid(
          ints(
            t.map((x) => x.value),
            'reference value',
            'multirc_f1',
          ),
          ints(
            q.map((x) => x.value),
            'prediction value',
            'multirc_f1',
          ),
        ),
      };
    },
  },
  {
    name: 'multirc_em',
    description: 'MultiRC exact match: percentage of questions with every answer option right',
    inputs: 'predictions { value }; references { group: question id, value } (multirc postprocessor)',
    keys: () => ['exact_match'],
    compute: (p, r) =>
      meanGroupMetric(
        (t, q) => ({
          exact_match: allMatch(
            labels(t, 'reference value', 'multirc_em'),
            labels(q, 'prediction value', 'multirc_em'),
          ),
        }),
        grouped(r, 'reference', 'multirc_em'),
        grouped(p, 'prediction', 'multirc_em'),
      ),
  },
  {
    name: 'record',
    description: 'ReCoRD: SQuAD EM/F1 x100, max over answers, one example per (passage, query)',
    inputs: 'predictions { value: answer }; references { group, value: [answers] } (record postprocessor)',
    keys: () => ['em', 'f1'],
    compute: (p, r) =>
      deduplicateMetric(
        (t, q) => squad(refsList(t, 'record'), strings(q, 'prediction value', 'record')),
        grouped(r, 'reference', 'record'),
        grouped(p, 'prediction', 'record'),
      ),
  },
];

const REGISTRY = new Map<string, MetricSpec>(SPECS.map((s) => [s.name, s]));

/** The names of every registered metric. */
export function listMetrics(): string[] {
  return [...REGISTRY.keys()];
}

/** The spec of a metric; unknown names get an error with the closest name. */
export function getMetric(name: string): MetricSpec {
  const spec = REGISTRY.get(name);
  if (spec === undefined) {
    throw new Ext5Error(
      'E_UNKNOWN_METRIC',
      `unknown metric '${name}'${didYouMean(name, REGISTRY.keys())}`,
      `known metrics: ${listMetrics().join(', ')}.`,
    );
  }
  return spec;
}

/**
 * Computes one metric by name. Values are on T5's 0-100 scale.
 * @example computeMetrics('squad', ['Paris'], [['Paris', 'paris, France']]) // { em: 100, f1: 100 }
 * @example computeMetrics('bleu', preds, refs) // { bleu: 27.3 } with T5's sacreBLEU settings
 */
export function computeMetrics(
  name: string,
  predictions: readonly unknown[],
  references: readonly unknown[],
  options?: MetricOptions,
): Record<string, number> {
  const spec = getMetric(name);
  sameLength(name, predictions, references);
  return spec.compute(predictions, references, options);
}

/** Computes several metrics on the same examples and merges their keys (later names win on a clash). */
export function computeMetricSet(
  names: readonly string[],
  predictions: readonly unknown[],
  references: readonly unknown[],
  options?: MetricOptions,
): Record<string, number> {
  const out: Record<string, number> = {};
  for (const n of names) Object.assign(out, computeMetrics(n, predictions, references, options));
  return out;
}
