/**
 * BLEU exactly as sacreBLEU computes it: corpus BLEU from summed n-gram statistics, closest reference
 * length (shorter wins a tie), the four smoothing methods, effective order, and the reproducibility
 * signature. Ported from mjpost/sacrebleu `sacrebleu/metrics/bleu.py`, `metrics/helpers.py`,
 * `metrics/base.py` and `utils.py` (`my_log`) at sacreBLEU 2.6.0.
 *
 * T5 (and so ExT5) reports `corpus_bleu(smooth_method="exp", smooth_value=0, lowercase=False,
 * tokenize="intl", use_effective_order=False)`: that is {@link T5_BLEU_OPTIONS}.
 */
import { Ext5Error } from '../../util/errors';
import { getBleuTokenizer } from './bleu_tokenizers';
import { pyFixed, pyRstrip, pySplit } from './pytext';
import { SIGNATURE_VERSION } from './signature';

export type SmoothMethod = 'none' | 'floor' | 'add-k' | 'exp';
const SMOOTH_DEFAULTS: Record<SmoothMethod, number | null> = {
  none: null,
  floor: 0.1,
  'add-k': 1,
  exp: null,
};

/** Options of sacreBLEU's `BLEU(...)`; defaults are sacreBLEU's. */
export interface BleuOptions {
  /** Tokenizer: '13a' (default), 'intl', 'char' or 'none'. */
  tokenize?: string;
  /** Lowercase hypotheses and references first (sacreBLEU `lowercase`). Default false. */
  lowercase?: boolean;
  /** Default 'exp' (NIST geometric smoothing of zero-count orders). */
  smoothMethod?: SmoothMethod;
  /** Value for 'floor' (default 0.1) and 'add-k' (default 1); ignored by 'exp' and 'none'. */
  smoothValue?: number | null;
  /** Maximum n-gram order. Default 4. */
  maxNgramOrder?: number;
  /** Stop at the last order with a non-zero hypothesis count (sacreBLEU `effective_order`). Default false. */
  effectiveOrder?: boolean;
}

/** The settings T5's `t5.evaluation.metrics.bleu` passes to sacreBLEU. */
export const T5_BLEU_OPTIONS: Readonly<BleuOptions> = Object.freeze({
  tokenize: 'intl',
  lowercase: false,
  smoothMethod: 'exp',
  smoothValue: 0,
  effectiveOrder: false,
});

/** A BLEU result with everything sacreBLEU reports. Scores and precisions are in [0, 100]. */
export interface BleuScore {
  name: 'BLEU';
  score: number;
  /** Matched n-grams per order (clipped by the references). */
  counts: number[];
  /** Hypothesis n-grams per order. */
  totals: number[];
  precisions: number[];
  bp: number;
  sysLen: number;
  refLen: number;
  ratio: number;
  /** References per segment, or -1 when segments have different numbers of references. */
  numRefs: number;
  /** sacreBLEU's signature, e.g. `nrefs:1|case:mixed|eff:no|tok:intl|smooth:exp|version:...`. */
  signature: string;
  /** sacreBLEU's verbose part: `73.7/43.8/38.5/30.0 (BP = 1.000 ratio = 1.056 hyp_len = 19 ref_len = 18)`. */
  verbose: string;
}

interface ResolvedBleuOptions {
  tokenize: string;
  lowercase: boolean;
  smoothMethod: SmoothMethod;
  smoothValue: number | null;
  maxNgramOrder: number;
  effectiveOrder: boolean;
}

function resolveOptions(options: BleuOptions | undefined, effectiveDefault: boolean): ResolvedBleuOptions {
  const smoothMethod = options?.smoothMethod ?? 'exp';
  if (!(smoothMethod in SMOOTH_DEFAULTS)) {
    throw new Ext5Error(
      'E_METRIC_OPTION',
      `unknown BLEU smoothing method '${String(smoothMethod)}'`,
      `use one of: ${Object.keys(SMOOTH_DEFAULTS).join(', ')}.`,
    );
  }
  const maxNgramOrder = options?.maxNgramOrder ?? 4;
  if (!Number.isInteger(maxNgramOrder) || maxNgramOrder < 1) {
    throw new Ext5Error(
      'E_METRIC_OPTION',
      `BLEU maxNgramOrder must be a positive integer, got ${maxNgramOrder}`,
    );
  }
  return {
    tokenize: options?.tokenize ?? '13a',
    lowercase: options?.lowercase ?? false,
    smoothMethod,
    smoothValue: options?.smoothValue ?? null,
    maxNgramOrder,
    effectiveOrder: options?.effectiveOrder ?? effectiveDefault,
  };
}

/** sacreBLEU's `my_log`: log, floored to -9999999999 at zero so that exp() of the mean gives 0. */
function myLog(x: number): number {
  return x === 0 ? -9999999999 : Math.log(x);
}

/**
 * BLEU from sufficient statistics (sacreBLEU's `BLEU.compute_bleu`), with its defaults: no smoothing
 * (`smoothMethod: 'none'`, where `BLEU(...)`, corpusBleu and sentenceBleu default to 'exp'), so an
 * order without a match scores 0. `correct` and `total` are not modified (sacreBLEU's add-k mutates
 * its lists; ext5 works on copies).
 * @example
 * computeBleu([9, 7, 5, 3], [10, 8, 6, 4], 11, 11).score // 83.75922397
 * computeBleu([6, 5, 4, 0], [6, 5, 4, 3], 6, 6).score // 0: no 4-gram matches
 * computeBleu([6, 5, 4, 0], [6, 5, 4, 3], 6, 6, { smoothMethod: 'exp' }).score // 63.89431042
 */
export function computeBleu(
  correct: readonly number[],
  total: readonly number[],
  sysLen: number,
  refLen: number,
  options?: Pick<BleuOptions, 'smoothMethod' | 'smoothValue' | 'effectiveOrder' | 'maxNgramOrder'>,
): Omit<BleuScore, 'numRefs' | 'signature'> {
  const o = resolveOptions({ ...options, smoothMethod: options?.smoothMethod ?? 'none' }, false);
  const smoothValue = o.smoothValue ?? SMOOTH_DEFAULTS[o.smoothMethod] ?? 0;
  const order = o.maxNgramOrder;
  const c = correct.slice(0, order);
  const t = total.slice(0, order);
  while (c.length < order) c.push(0);
  while (t.length < order) t.push(0);

  let bp = 1.0;
  if (sysLen < refLen) bp = sysLen > 0 ? Math.exp(1 - refLen / sysLen) : 0.0;

  const precisions = new Array<number>(order).fill(0);
  // sacreBLEU #141: no match at any order is a score of 0 whatever the smoothing.
  if (!c.some((x) => x !== 0)) return makeScore(0, c, t, precisions, bp, sysLen, refLen);

  let smoothMteval = 1;
  let effOrder = order;
  for (let n = 1; n <= order; n++) {
    if (o.smoothMethod === 'add-k' && n > 1) {
      c[n - 1] = c[n - 1]! + smoothValue;
      t[n - 1] = t[n - 1]! + smoothValue;
    }
    const tn = t[n - 1]!;
    if (tn === 0) break;
    if (o.effectiveOrder) effOrder = n;
    const cn = c[n - 1]!;
    if (cn === 0) {
      if (o.smoothMethod === 'exp') {
        smoothMteval *= 2;
        precisions[n - 1] = 100 / (smoothMteval * tn);
      } else if (o.smoothMethod === 'floor') {
        precisions[n - 1] = (100 * smoothValue) / tn;
      }
    } else {
      precisions[n - 1] = (100 * cn) / tn;
    }
  }
  let logSum = 0;
  for (let i = 0; i < effOrder; i++) logSum += myLog(precisions[i]!);
  const score = bp * Math.exp(logSum / effOrder);
  return makeScore(score, c, t, precisions, bp, sysLen, refLen);
}

function makeScore(
  score: number,
  counts: number[],
  totals: number[],
  precisions: number[],
  bp: number,
  sysLen: number,
  refLen: number,
): Omit<BleuScore, 'numRefs' | 'signature'> {
  const ratio = refLen ? sysLen / refLen : 0;
  const verbose =
    `${precisions.map((p) => pyFixed(p, 1)).join('/')} (BP = ${pyFixed(bp, 3)} ` +
    `ratio = ${pyFixed(ratio, 3)} hyp_len = ${sysLen} ref_len = ${refLen})`;
  return { name: 'BLEU', score, counts, totals, precisions, bp, sysLen, refLen, ratio, verbose };
}

/**
 * n-gram counts per order (index n-1) of a token list. Keys join tokens by a space, which tokens never
 * contain; each key is built by extending the previous order's key, so no array is sliced per n-gram.
 */
function wordNgrams(tokens: readonly string[], maxOrder: number): Map<string, number>[] {
  const counts: Map<string, number>[] = [];
  for (let n = 0; n < maxOrder; n++) counts.push(new Map());
  for (let i = 0; i < tokens.length; i++) {
    let key = tokens[i]!;
    const last = Math.min(maxOrder, tokens.length - i);
    for (let n = 0; n < last; n++) {
      if (n > 0) key += ` ${tokens[i + n]}`;
      const m = counts[n]!;
      m.set(key, (m.get(key) ?? 0) + 1);
    }
  }
  return counts;
}

/** sacreBLEU's `_get_closest_ref_len`: the nearest reference length, the shorter one on a tie. */
function closestRefLen(hypLen: number, refLens: readonly number[]): number {
  let bestDiff = -1;
  let best = -1;
  for (const r of refLens) {
    const d = Math.abs(hypLen - r);
    if (bestDiff === -1 || d < bestDiff) {
      bestDiff = d;
      best = r;
    } else if (d === bestDiff && r < best) {
      best = r;
    }
  }
  return best;
}

/** Normalizes references to segment-major lists: `refs[i]` holds every reference of hypothesis i. */
export function normalizeReferences(
  hypotheses: readonly string[],
  references: readonly (string | readonly string[])[],
  metric: string,
): string[][] {
  if (hypotheses.length !== references.length) {
    throw new Ext5Error(
      'E_METRIC_INPUT',
      `${metric}: ${hypotheses.length} predictions but ${references.length} references`,
      'give exactly one reference entry (a string or a list of strings) per prediction.',
    );
  }
  return references.map((r, i) => {
    const list = typeof r === 'string' ? [r] : [...r];
    if (list.length === 0) {
      throw new Ext5Error(
        'E_METRIC_INPUT',
        `${metric}: prediction ${i} has no reference`,
        'every prediction needs at least one reference string.',
      );
    }
    for (const x of list) {
      if (typeof x !== 'string') {
        throw new Ext5Error('E_METRIC_INPUT', `${metric}: reference ${i} holds a ${typeof x}, not a string`);
      }
    }
    return list;
  });
}

/** sacreBLEU's signature string for BLEU. */
export function bleuSignature(options: BleuOptions | undefined, numRefs: number): string {
  const o = resolveOptions(options, false);
  let smooth: string = o.smoothMethod;
  const def = SMOOTH_DEFAULTS[o.smoothMethod];
  if (def !== null) smooth += `[${pyFixed(o.smoothValue ?? def, 2)}]`;
  const nrefs = numRefs === -1 ? 'var' : String(numRefs);
  return `nrefs:${nrefs}|case:${o.lowercase ? 'lc' : 'mixed'}|eff:${o.effectiveOrder ? 'yes' : 'no'}|tok:${o.tokenize}|smooth:${smooth}|version:${SIGNATURE_VERSION}`;
}

/**
 * Corpus BLEU, equal to sacreBLEU's `BLEU(**options).corpus_score(hypotheses, refs)`.
 * `references[i]` is the reference (or the list of references) of `hypotheses[i]` — segment-major,
 * unlike sacreBLEU's list of reference streams.
 * @example
 * corpusBleu(['The dog bit the man.'], [['The dog bit the man.', 'The dog had bit the man.']]).score // 100
 * corpusBleu(preds, refs, T5_BLEU_OPTIONS) // what T5 reports
 */
export function corpusBleu(
  hypotheses: readonly string[],
  references: readonly (string | readonly string[])[],
  options?: BleuOptions,
): BleuScore {
  return bleuFromSegments(hypotheses, normalizeReferences(hypotheses, references, 'BLEU'), options, false);
}

/**
 * Sentence BLEU as sacreBLEU's `sentence_bleu` (effective order on by default, as sacreBLEU recommends).
 * @example sentenceBleu('this is a test', ['this is a test']).score // 100
 */
export function sentenceBleu(
  hypothesis: string,
  references: readonly string[],
  options?: BleuOptions,
): BleuScore {
  return bleuFromSegments(
    [hypothesis],
    normalizeReferences([hypothesis], [references], 'BLEU'),
    options,
    true,
  );
}

function bleuFromSegments(
  hypotheses: readonly string[],
  refs: readonly string[][],
  options: BleuOptions | undefined,
  effectiveDefault: boolean,
): BleuScore {
  const o = resolveOptions(options, effectiveDefault);
  const tokenizer = getBleuTokenizer(o.tokenize);
  const prep = (s: string): string[] => pySplit(tokenizer(pyRstrip(o.lowercase ? s.toLowerCase() : s)));
  const order = o.maxNgramOrder;
  const correct = new Array<number>(order).fill(0);
  const total = new Array<number>(order).fill(0);
  let sysLen = 0;
  let refLen = 0;
  const refCounts = new Set<number>();
  for (let i = 0; i < hypotheses.length; i++) {
    const segRefs = refs[i]!;
    refCounts.add(segRefs.length);
    // Clipping counts are the maximum count of each n-gram over the references.
    let refNgrams: Map<string, number>[] | undefined;
    const refLens: number[] = [];
    for (const ref of segRefs) {
      const toks = prep(ref);
      refLens.push(toks.length);
      const ng = wordNgrams(toks, order);
      if (refNgrams === undefined) refNgrams = ng;
      else {
        for (let n = 0; n < order; n++) {
          const into = refNgrams[n]!;
          for (const [k, v] of ng[n]!) if (v > (into.get(k) ?? 0)) into.set(k, v);
        }
      }
    }
    const hypToks = prep(hypotheses[i]!);
    sysLen += hypToks.length;
    refLen += closestRefLen(hypToks.length, refLens);
    const hypNgrams = wordNgrams(hypToks, order);
    for (let n = 0; n < order; n++) {
      const r = refNgrams?.[n];
      let t = 0;
      let c = 0;
      for (const [k, v] of hypNgrams[n]!) {
        t += v;
        const rv = r?.get(k);
        if (rv !== undefined) c += Math.min(v, rv);
      }
      total[n] = total[n]! + t;
      correct[n] = correct[n]! + c;
    }
  }
  const numRefs = refCounts.size <= 1 ? (refCounts.values().next().value ?? 1) : -1;
  const s = computeBleu(correct, total, sysLen, refLen, o);
  return { ...s, numRefs, signature: bleuSignature(o, numRefs) };
}

/** sacreBLEU's text line for a BLEU score: `BLEU = 43.92 73.7/43.8/38.5/30.0 (BP = ...)`. */
export function formatBleu(score: BleuScore, width = 2): string {
  return `BLEU = ${pyFixed(score.score, width)} ${score.verbose}`;
}
