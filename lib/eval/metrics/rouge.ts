/**
 * ROUGE-N, ROUGE-L and ROUGE-Lsum equal to Google's `rouge_score` package. Ported from
 * google-research/google-research `rouge/rouge_scorer.py`, `rouge/tokenize.py`, `rouge/tokenizers.py`
 * and `rouge/scoring.py` (`fmeasure`); T5's sentence-split step is from
 * google-research/text-to-text-transfer-transformer `t5/evaluation/metrics.py` (`_prepare_summary_rouge`).
 * The stemmer is NLTK's Porter stemmer in its default mode, as rouge_score uses it.
 */
import { Ext5Error } from '../../util/errors';
import { PorterStemmer } from './porter';

/** precision, recall and F-measure in [0, 1] (rouge_score's `Score`). */
export interface RougeScore {
  precision: number;
  recall: number;
  fmeasure: number;
}

/** Options of rouge_score's `RougeScorer`. */
export interface RougeOptions {
  /** e.g. ['rouge1', 'rouge2', 'rougeL', 'rougeLsum']; default ['rouge1', 'rouge2', 'rougeLsum'] (T5's). */
  rougeTypes?: readonly string[];
  /** Porter-stem tokens longer than 3 characters. Default false (T5's default). */
  useStemmer?: boolean;
}

/** The ROUGE types T5 reports. */
export const T5_ROUGE_TYPES: readonly string[] = Object.freeze(['rouge1', 'rouge2', 'rougeLsum']);

const ZERO: RougeScore = Object.freeze({ precision: 0, recall: 0, fmeasure: 0 });

/** rouge_score's `scoring.fmeasure`. */
export function fmeasure(precision: number, recall: number): number {
  return precision + recall > 0 ? (2 * precision * recall) / (precision + recall) : 0;
}

const NON_ALNUM = /[^a-z0-9]+/g;
const VALID_TOKEN = /^[a-z0-9]+$/;

/**
 * rouge_score's default tokenizer: lower-case, every run of characters other than a-z0-9 becomes a
 * space, split, optionally stem words longer than 3 characters, keep only non-empty [a-z0-9]+ tokens.
 * Non-ASCII letters are dropped entirely, exactly as rouge_score does.
 * @example rougeTokenize('The quick-brown fox, 2x!') // ['the', 'quick', 'brown', 'fox', '2x']
 */
export function rougeTokenize(
  text: string,
  stemmer?: PorterStemmer | null,
  cache?: Map<string, string>,
): string[] {
  const parts = text.toLowerCase().replace(NON_ALNUM, ' ').split(' ');
  const out: string[] = [];
  for (let tok of parts) {
    if (tok === '') continue;
    if (stemmer && tok.length > 3) {
      let s = cache?.get(tok);
      if (s === undefined) {
        s = stemmer.stem(tok);
        cache?.set(tok, s);
      }
      tok = s;
    }
    if (VALID_TOKEN.test(tok)) out.push(tok);
  }
  return out;
}

/**
 * T5's `_prepare_summary_rouge`: puts a newline after each " . " so that rougeLsum sees sentences.
 * @example prepareSummaryRouge('a b . c d') // 'a b .\nc d'
 */
export function prepareSummaryRouge(summary: string): string {
  return summary.replaceAll(' . ', ' .\n');
}

function validateType(t: string): void {
  if (t === 'rougeL' || t === 'rougeLsum') return;
  const m = /^rouge([0-9])$/.exec(t);
  if (m && Number(m[1]) > 0) return;
  throw new Ext5Error(
    'E_METRIC_OPTION',
    `invalid ROUGE type '${t}'`,
    "use rouge1 ... rouge9, 'rougeL' (LCS over the whole text) or 'rougeLsum' (summary-level LCS, newline-separated sentences).",
  );
}

/** Counts of n-grams; keys are token ids joined by ',' so that equal n-grams share a key. */
function ngramCounts(ids: Int32Array, n: number): Map<string, number> {
  const m = new Map<string, number>();
  for (let i = 0; i + n <= ids.length; i++) {
    let k = String(ids[i]);
    for (let j = 1; j < n; j++) k += `,${ids[i + j]}`;
    m.set(k, (m.get(k) ?? 0) + 1);
  }
  return m;
}

/** rouge_score's `_score_ngrams`. */
function scoreNgrams(target: Map<string, number>, prediction: Map<string, number>): RougeScore {
  let inter = 0;
  let tCount = 0;
  let pCount = 0;
  for (const [k, v] of target) {
    tCount += v;
    const p = prediction.get(k);
    if (p !== undefined) inter += Math.min(v, p);
  }
  for (const v of prediction.values()) pCount += v;
  const precision = inter / Math.max(pCount, 1);
  const recall = inter / Math.max(tCount, 1);
  return { precision, recall, fmeasure: fmeasure(precision, recall) };
}

/** Length of the longest common subsequence, in O(min) memory. */
export function lcsLength(a: ArrayLike<number>, b: ArrayLike<number>): number {
  const n = b.length;
  let prev = new Int32Array(n + 1);
  let cur = new Int32Array(n + 1);
  for (let i = 1; i <= a.length; i++) {
    const ai = a[i - 1];
    for (let j = 1; j <= n; j++) {
      if (ai === b[j - 1]) cur[j] = prev[j - 1]! + 1;
      else {
        const up = prev[j]!;
        const left = cur[j - 1]!;
        cur[j] = Math.max(up, left);
      }
    }
    const t = prev;
    prev = cur;
    cur = t;
  }
  return prev[n]!;
}

/**
 * Indices into `ref` of one LCS, chosen as rouge_score's `_backtrack_norec` chooses it (on a tie it
 * moves up in `ref`, which decides which tokens the summary-level union counts).
 */
export function lcsIndices(ref: ArrayLike<number>, can: ArrayLike<number>): number[] {
  const rows = ref.length;
  const cols = can.length;
  const w = cols + 1;
  const t = new Int32Array((rows + 1) * w);
  for (let i = 1; i <= rows; i++) {
    for (let j = 1; j <= cols; j++) {
      if (ref[i - 1] === can[j - 1]) t[i * w + j] = t[(i - 1) * w + j - 1]! + 1;
      else {
        const up = t[(i - 1) * w + j]!;
        const left = t[i * w + j - 1]!;
        t[i * w + j] = Math.max(up, left);
      }
    }
  }
  const out: number[] = [];
  let i = rows;
  let j = cols;
  while (i > 0 && j > 0) {
    if (ref[i - 1] === can[j - 1]) {
      out.push(i - 1);
      i--;
      j--;
    } else if (t[i * w + j - 1]! > t[(i - 1) * w + j]!) {
      j--;
    } else {
      i--;
    }
  }
  return out.reverse();
}

/** rouge_score's `_score_lcs` (ROUGE-L). */
function scoreLcs(target: Int32Array, prediction: Int32Array): RougeScore {
  if (target.length === 0 || prediction.length === 0) return { ...ZERO };
  const lcs = lcsLength(target, prediction);
  const precision = lcs / prediction.length;
  const recall = lcs / target.length;
  return { precision, recall, fmeasure: fmeasure(precision, recall) };
}

/** rouge_score's `_summary_level_lcs` (ROUGE-Lsum): union LCS per reference sentence, no double counting. */
function summaryLevelLcs(refSents: Int32Array[], canSents: Int32Array[]): RougeScore {
  if (refSents.length === 0 || canSents.length === 0) return { ...ZERO };
  let m = 0;
  let n = 0;
  for (const s of refSents) m += s.length;
  for (const s of canSents) n += s.length;
  if (m === 0 || n === 0) return { ...ZERO };
  const cntR = new Map<number, number>();
  const cntC = new Map<number, number>();
  for (const s of refSents) for (const t of s) cntR.set(t, (cntR.get(t) ?? 0) + 1);
  for (const s of canSents) for (const t of s) cntC.set(t, (cntC.get(t) ?? 0) + 1);
  let hits = 0;
  for (const r of refSents) {
    const union = new Set<number>();
    for (const c of canSents) for (const idx of lcsIndices(r, c)) union.add(idx);
    const sorted = [...union].sort((a, b) => a - b);
    for (const idx of sorted) {
      const tok = r[idx]!;
      const c = cntC.get(tok) ?? 0;
      const rr = cntR.get(tok) ?? 0;
      if (c > 0 && rr > 0) {
        hits++;
        cntC.set(tok, c - 1);
        cntR.set(tok, rr - 1);
      }
    }
  }
  const recall = hits / m;
  const precision = hits / n;
  return { precision, recall, fmeasure: fmeasure(precision, recall) };
}

/**
 * rouge_score's `RougeScorer`: `score(target, prediction)` gives precision, recall and F-measure per
 * ROUGE type; `scoreMulti(targets, prediction)` keeps, per type, the target with the best F-measure.
 * @example
 * new RougeScorer({ rougeTypes: ['rouge1'] }).score('testing one two', 'testing').rouge1
 * // { precision: 1, recall: 1/3, fmeasure: 0.5 }
 */
export class RougeScorer {
  readonly rougeTypes: readonly string[];
  private readonly stemmer: PorterStemmer | null;
  private readonly stemCache = new Map<string, string>();
  // Tokens become small integers so that LCS and n-gram keys compare numbers, not strings.
  private readonly vocab = new Map<string, number>();

  constructor(options?: RougeOptions) {
    this.rougeTypes = [...(options?.rougeTypes ?? T5_ROUGE_TYPES)];
    if (this.rougeTypes.length === 0) {
      throw new Ext5Error('E_METRIC_OPTION', 'no ROUGE type given', 'give at least one, e.g. rouge1.');
    }
    for (const t of this.rougeTypes) validateType(t);
    this.stemmer = options?.useStemmer ? new PorterStemmer() : null;
  }

  /** Token ids of `text` under rouge_score's tokenizer. */
  private ids(text: string): Int32Array {
    const toks = rougeTokenize(text, this.stemmer, this.stemCache);
    const out = new Int32Array(toks.length);
    for (let i = 0; i < toks.length; i++) {
      let id = this.vocab.get(toks[i]!);
      if (id === undefined) {
        id = this.vocab.size;
        this.vocab.set(toks[i]!, id);
      }
      out[i] = id;
    }
    return out;
  }

  /** Scores of `prediction` against one `target`, per ROUGE type. */
  score(target: string, prediction: string): Record<string, RougeScore> {
    const needsFlat = this.rougeTypes.some((t) => t !== 'rougeLsum');
    const tIds = needsFlat ? this.ids(target) : new Int32Array(0);
    const pIds = needsFlat ? this.ids(prediction) : new Int32Array(0);
    const result: Record<string, RougeScore> = {};
    for (const type of this.rougeTypes) {
      if (type === 'rougeL') {
        result[type] = scoreLcs(tIds, pIds);
      } else if (type === 'rougeLsum') {
        // Sentences are the non-empty lines; rouge_score does not split sentences itself.
        const sents = (s: string): Int32Array[] =>
          s
            .split('\n')
            .filter((x) => x.length > 0)
            .map((x) => this.ids(x));
        result[type] = summaryLevelLcs(sents(target), sents(prediction));
      } else {
        const n = Number(type.slice(5));
        result[type] = scoreNgrams(ngramCounts(tIds, n), ngramCounts(pIds, n));
      }
    }
    return result;
  }

  /** rouge_score's `score_multi`: per type, the score against the target with the highest F-measure (first on a tie). */
  scoreMulti(targets: readonly string[], prediction: string): Record<string, RougeScore> {
    if (targets.length === 0) {
      throw new Ext5Error(
        'E_METRIC_INPUT',
        'ROUGE: a prediction has no reference',
        'give at least one reference.',
      );
    }
    const all = targets.map((t) => this.score(t, prediction));
    const out: Record<string, RougeScore> = {};
    for (const type of this.rougeTypes) {
      let best = all[0]![type]!;
      for (const s of all) if (s[type]!.fmeasure > best.fmeasure) best = s[type]!;
      out[type] = best;
    }
    return out;
  }
}

/** Per-example ROUGE scores and their means (T5's `rouge_mean`, in [0, 1]). */
export interface RougeCorpusResult {
  perExample: Record<string, RougeScore>[];
  mean: Record<string, RougeScore>;
}

/**
 * Scores every (prediction, reference) pair and averages precision, recall and F-measure per type.
 * With `t5Split` (default true) both sides first go through {@link prepareSummaryRouge}, as T5 does.
 * `references[i]` may be a list: the best-scoring reference is used per type (rouge_score `score_multi`).
 * @example corpusRouge(['the cat sat'], ['the cat sat down']).mean.rouge1.fmeasure // 0.857142...
 */
export function corpusRouge(
  predictions: readonly string[],
  references: readonly (string | readonly string[])[],
  options?: RougeOptions & { t5Split?: boolean },
): RougeCorpusResult {
  if (predictions.length !== references.length) {
    throw new Ext5Error(
      'E_METRIC_INPUT',
      `ROUGE: ${predictions.length} predictions but ${references.length} references`,
      'give exactly one reference entry per prediction.',
    );
  }
  const scorer = new RougeScorer(options);
  const prep = options?.t5Split === false ? (s: string) => s : prepareSummaryRouge;
  const perExample: Record<string, RougeScore>[] = [];
  const sums: Record<string, RougeScore> = {};
  for (const t of scorer.rougeTypes) sums[t] = { precision: 0, recall: 0, fmeasure: 0 };
  for (let i = 0; i < predictions.length; i++) {
    const ref = references[i]!;
    const p = prep(predictions[i]!);
    const s = typeof ref === 'string' ? scorer.score(prep(ref), p) : scorer.scoreMulti(ref.map(prep), p);
    perExample.push(s);
    for (const t of scorer.rougeTypes) {
      const acc = sums[t]!;
      acc.precision += s[t]!.precision;
      acc.recall += s[t]!.recall;
      acc.fmeasure += s[t]!.fmeasure;
    }
  }
  const n = predictions.length;
  const mean: Record<string, RougeScore> = {};
  for (const t of scorer.rougeTypes) {
    const acc = sums[t]!;
    mean[t] = n
      ? { precision: acc.precision / n, recall: acc.recall / n, fmeasure: acc.fmeasure / n }
      : { ...ZERO };
  }
  return { perExample, mean };
}
