/**
 * Every metric by name, declared once: the evaluator calls
 * `computeMetrics(name, predictions, references, options)`, which returns a flat `{ key: value }` object
 * whose keys and scale (0-100) are those of T5's metric functions (`bleu`, `rouge1`, `em`, `f1`,
 * `accuracy`, `mean_3class_f1`, `exact_match`, ...). The metrics that also declare a `report` are
 * the ones `ext5 score` offers (its `--metric` choices, did-you-mean and help come from here); the
 * report prints the full result the way sacreBLEU's command line does.
 */
import { didYouMean, Ext5Error } from '../../util/errors';
import { type BleuOptions, corpusBleu, formatBleu, T5_BLEU_OPTIONS } from './bleu';
import { BootstrapAggregator } from './bootstrap';
import { type ChrfOptions, corpusChrf, formatChrf } from './chrf';
import {
  accuracy,
  allMatch,
  deduplicateMetric,
  f1ScoreWithInvalid,
  type Grouped,
  matthewsCorrcoef,
  meanGroupMetric,
  meanMulticlassF1,
  sequenceAccuracy,
} from './classification';
import { pearsonCorrcoef, spearmanCorrcoef } from './correlation';
import { pyFixed } from './pytext';
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
  /**
   * rouge_bootstrap: samples (default 1000), confidence (0.95), seed (0). rouge's report adds 95%
   * intervals only when this is given with nSamples > 0.
   */
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
  /**
   * Only on the metrics `ext5 score` offers: scores one prediction per line against the references
   * of that line (one or more strings) and describes the result in full (text lines and JSON).
   */
  report?: (
    predictions: readonly string[],
    references: readonly (readonly string[])[],
    options: MetricReportOptions,
  ) => MetricReport;
}

/** Options of a report: the metric options, plus how to print and where the references came from. */
export interface MetricReportOptions extends MetricOptions {
  /** Decimals of the text lines and of BLEU/chrF's rounded JSON `score` (default 2). */
  width?: number;
  /** The references' origin (e.g. file names) for error messages. */
  referenceSource?: string;
}

/** A metric's full result as `ext5 score` prints it: sacreBLEU-style text lines and a JSON object. */
export interface MetricReport {
  text: string[];
  json: Record<string, unknown>;
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

/** The single reference of each line, for metrics that compare one label with one label. */
function oneReferenceEach(
  refs: readonly (readonly string[])[],
  metric: string,
  o: MetricReportOptions,
): string[] {
  return refs.map((r, i) => {
    if (r.length !== 1) {
      throw new Ext5Error(
        'E_SCORE_INPUT',
        `${metric} takes one reference per prediction, but line ${i + 1} has ${r.length}` +
          (o.referenceSource !== undefined ? ` (from ${o.referenceSource})` : ''),
        'give a single plain references file (or a JSONL file with one string per line).',
      );
    }
    return r[0]!;
  });
}

/** The text form of a number in a report: Python's rounding to `width` decimals. */
const fixed = (o: MetricReportOptions) => (x: number) => pyFixed(x, o.width ?? 2);

/** sacreBLEU's JSON carries the signature's fields (`nrefs`, `tok`, ...) at top level. */
const signatureFields = (signature: string): Record<string, string> =>
  Object.fromEntries(signature.split('|').map((kv) => kv.split(':') as [string, string]));

/**
 * Macro F1 x100 over the labels that occur in the references (sorted), as CB's metric on string
 * labels; a predicted label outside them gets class -1 and so counts wrong.
 */
function labelMacroF1(
  refs: readonly string[],
  preds: readonly string[],
): { f1: number; classes: string[]; unknown: number } {
  const classes = [...new Set(refs)].sort();
  const id = (x: string): number => classes.indexOf(x);
  const f1 = meanMulticlassF1(refs.map(id), preds.map(id), classes.length);
  return { f1, classes, unknown: preds.filter((p) => !classes.includes(p)).length };
}

function qaReport(
  name: string,
  label: string,
  r: { em: number; f1: number },
  n: number,
  o: MetricReportOptions,
): MetricReport {
  const fx = fixed(o);
  return {
    text: [`${label} EM = ${fx(r.em)} F1 = ${fx(r.f1)} (${n} questions, max over gold answers)`],
    json: { name, em: r.em, f1: r.f1, n },
  };
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
    report: (p, r, o) => {
      const s = corpusBleu(p, r, o.bleu ?? T5_BLEU_OPTIONS);
      return {
        text: [formatBleu(s, o.width ?? 2), `  signature: ${s.signature}`],
        json: {
          name: 'BLEU',
          score: Number(fixed(o)(s.score)),
          signature: s.signature,
          verbose_score: s.verbose,
          ...signatureFields(s.signature),
          exact_score: s.score,
          counts: s.counts,
          totals: s.totals,
          precisions: s.precisions,
          bp: s.bp,
          ratio: s.ratio,
          hyp_len: s.sysLen,
          ref_len: s.refLen,
        },
      };
    },
  },
  {
    name: 'chrf',
    description: "chrF equal to sacreBLEU's CHRF (char order 6, word order 0, beta 2)",
    inputs: 'predictions: strings; references: a string or a list of strings each',
    keys: () => ['chrf'],
    compute: (p, r, o) => ({
      chrf: corpusChrf(strings(p, 'prediction', 'chrf'), refsList(r, 'chrf'), o?.chrf).score,
    }),
    report: (p, r, o) => {
      const s = corpusChrf(p, r, o.chrf);
      return {
        text: [formatChrf(s, o.width ?? 2), `  signature: ${s.signature}`],
        json: {
          name: s.name,
          score: Number(fixed(o)(s.score)),
          signature: s.signature,
          ...signatureFields(s.signature),
          exact_score: s.score,
        },
      };
    },
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
    report: (p, r, o) => {
      const fx = fixed(o);
      const res = corpusRouge(p, r, o.rouge);
      const nSamples = o.bootstrap?.nSamples ?? 0;
      const seed = o.bootstrap?.seed ?? 0;
      let ci: ReturnType<BootstrapAggregator['aggregate']> | undefined;
      if (nSamples > 0) {
        const agg = new BootstrapAggregator({ ...o.bootstrap, nSamples, seed });
        for (const s of res.perExample) agg.addScores(s);
        ci = agg.aggregate();
      }
      const text: string[] = [];
      const json: Record<string, unknown> = { name: 'ROUGE' };
      for (const t of rougeTypes(o)) {
        const s = res.mean[t]!;
        let line = `${t.replace(/^rouge/, 'ROUGE-')} = ${fx(100 * s.fmeasure)} (P = ${fx(100 * s.precision)} R = ${fx(100 * s.recall)})`;
        const entry: Record<string, number> = {
          fmeasure: 100 * s.fmeasure,
          precision: 100 * s.precision,
          recall: 100 * s.recall,
        };
        const c = ci?.[t];
        if (c) {
          line += ` 95% CI [${fx(100 * c.low.fmeasure)}, ${fx(100 * c.high.fmeasure)}]`;
          entry.fmeasure_low = 100 * c.low.fmeasure;
          entry.fmeasure_mid = 100 * c.mid.fmeasure;
          entry.fmeasure_high = 100 * c.high.fmeasure;
        }
        text.push(line);
        json[t] = entry;
      }
      // corpusRouge's defaults: no stemmer, T5's sentence split on.
      const stemmer = o.rouge?.useStemmer ?? false;
      const t5Split = o.rouge?.t5Split ?? true;
      text.push(
        `  settings: mean of ${p.length} examples|stemmer:${stemmer ? 'yes' : 'no'}|t5_split:${t5Split ? 'yes' : 'no'}` +
          (nSamples > 0 ? `|bootstrap:${nSamples}|seed:${seed}` : ''),
      );
      Object.assign(json, {
        n: p.length,
        use_stemmer: stemmer,
        t5_split: t5Split,
        ...(nSamples > 0 ? { bootstrap: nSamples, seed } : {}),
      });
      return { text, json };
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
    report: (p, r, o) => qaReport('squad', 'SQuAD', squad(r, p), p.length, o),
  },
  {
    name: 'trivia_qa',
    description: 'exact match and token F1 x100 after TriviaQA normalization, max over gold answers',
    inputs: 'predictions: strings; references: an answer or a list of gold answers each',
    keys: () => ['em', 'f1'],
    compute: (p, r) => triviaQa(refsList(r, 'trivia_qa'), strings(p, 'prediction', 'trivia_qa')),
    report: (p, r, o) => qaReport('trivia_qa', 'TriviaQA', triviaQa(r, p), p.length, o),
  },
  {
    name: 'accuracy',
    description: 'percentage of predictions equal to the reference (labels or strings)',
    inputs: 'predictions and references: labels (strings, numbers or booleans)',
    keys: () => ['accuracy'],
    compute: (p, r) => ({
      accuracy: accuracy(labels(r, 'reference', 'accuracy'), labels(p, 'prediction', 'accuracy')),
    }),
    report: (p, r, o) => {
      const acc = accuracy(oneReferenceEach(r, 'accuracy', o), p);
      const correct = Math.round((acc * p.length) / 100);
      return {
        text: [`Accuracy = ${fixed(o)(acc)} (${correct}/${p.length})`],
        json: { name: 'accuracy', accuracy: acc, correct, n: p.length },
      };
    },
  },
  {
    name: 'f1',
    description:
      "macro F1 x100 over the labels found in the references (CB's metric on string labels); other predictions count wrong",
    inputs: 'predictions and references: label strings',
    keys: () => ['macro_f1'],
    compute: (p, r) => ({
      macro_f1: labelMacroF1(strings(r, 'reference', 'f1'), strings(p, 'prediction', 'f1')).f1,
    }),
    report: (p, r, o) => {
      const { f1, classes, unknown } = labelMacroF1(oneReferenceEach(r, 'f1', o), p);
      return {
        text: [
          `F1 (macro over ${classes.length} classes) = ${fixed(o)(f1)}` +
            (unknown ? ` (${unknown} predictions outside the reference labels counted wrong)` : ''),
        ],
        json: { name: 'f1', macro_f1: f1, classes, unknown_predictions: unknown, n: p.length },
      };
    },
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
    name: 'matthews_corrcoef',
    description: "Matthews correlation x100 over the labels that occur (T5's CoLA metric, sklearn)",
    inputs: 'predictions and references: labels (class ids; unknown predictions -1)',
    keys: () => ['matthews_corrcoef'],
    compute: (p, r) => ({
      matthews_corrcoef: matthewsCorrcoef(
        labels(r, 'reference', 'matthews_corrcoef'),
        labels(p, 'prediction', 'matthews_corrcoef'),
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

/** The metrics with a report, in registry order: what `ext5 score --metric` offers. */
export function listScoreMetrics(): string[] {
  return SPECS.filter((s) => s.report !== undefined).map((s) => s.name);
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
