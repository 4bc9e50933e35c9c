/**
 * chrF and chrF++ as sacreBLEU computes them (Popović 2015, 2017). Ported from mjpost/sacrebleu
 * `sacrebleu/metrics/chrf.py` and `metrics/helpers.py` at sacreBLEU 2.6.0. Character n-grams are taken
 * over code points (as Python does), with whitespace removed unless `whitespace` is set.
 */
import { normalizeReferences } from './bleu';
import { codePoints, pyFixed, pySplit } from './pytext';
import { SIGNATURE_VERSION } from './signature';

/** Options of sacreBLEU's `CHRF(...)`; defaults are sacreBLEU's (chrF2: char order 6, word order 0, beta 2). */
export interface ChrfOptions {
  charOrder?: number;
  /** 2 gives chrF++. */
  wordOrder?: number;
  beta?: number;
  lowercase?: boolean;
  /** Keep whitespace inside character n-grams. Default false. */
  whitespace?: boolean;
  /** chrF++.py-style epsilon smoothing instead of sacreBLEU's effective-order averaging. Default false. */
  epsSmoothing?: boolean;
}

/** A chrF result; `score` is in [0, 100]. */
export interface ChrfScore {
  /** `chrF2`, `chrF2++`, ... as sacreBLEU names it. */
  name: string;
  score: number;
  numRefs: number;
  signature: string;
}

interface Resolved {
  charOrder: number;
  wordOrder: number;
  beta: number;
  lowercase: boolean;
  whitespace: boolean;
  epsSmoothing: boolean;
}

function resolve(o: ChrfOptions | undefined): Resolved {
  return {
    charOrder: o?.charOrder ?? 6,
    wordOrder: o?.wordOrder ?? 0,
    beta: o?.beta ?? 2,
    lowercase: o?.lowercase ?? false,
    whitespace: o?.whitespace ?? false,
    epsSmoothing: o?.epsSmoothing ?? false,
  };
}

// string.punctuation, used by chrF++'s word splitter.
const PUNCTS = new Set('!"#$%&\'()*+,-./:;<=>?@[\\]^_`{|}~');

/** chrF++'s primitive word splitter: one leading or trailing ASCII punctuation mark becomes its own word. */
function removePunctuation(sent: string): string[] {
  const out: string[] = [];
  for (const w of pySplit(sent)) {
    const cps = codePoints(w);
    if (cps.length === 1) {
      out.push(w);
    } else if (PUNCTS.has(cps[cps.length - 1]!)) {
      out.push(cps.slice(0, -1).join(''), cps[cps.length - 1]!);
    } else if (PUNCTS.has(cps[0]!)) {
      out.push(cps[0]!, cps.slice(1).join(''));
    } else {
      out.push(w);
    }
  }
  return out;
}

function countNgrams(items: readonly string[], n: number, sep: string): Map<string, number> {
  const m = new Map<string, number>();
  for (let i = 0; i + n <= items.length; i++) {
    const k = items.slice(i, i + n).join(sep);
    m.set(k, (m.get(k) ?? 0) + 1);
  }
  return m;
}

const SURROGATE = /[\uD800-\uDFFF]/;

function allNgrams(sent: string, o: Resolved): Map<string, number>[] {
  const line = o.whitespace ? sent : pySplit(sent).join('');
  const out: Map<string, number>[] = [];
  if (SURROGATE.test(line)) {
    // Astral characters: n-grams must count code points, as Python does, not UTF-16 units.
    const chars = codePoints(line);
    for (let n = 1; n <= o.charOrder; n++) out.push(countNgrams(chars, n, ''));
  } else {
    for (let n = 1; n <= o.charOrder; n++) {
      const m = new Map<string, number>();
      for (let i = 0; i + n <= line.length; i++) {
        const k = line.substring(i, i + n);
        m.set(k, (m.get(k) ?? 0) + 1);
      }
      out.push(m);
    }
  }
  if (o.wordOrder > 0) {
    const words = removePunctuation(sent);
    for (let n = 1; n <= o.wordOrder; n++) out.push(countNgrams(words, n, ' '));
  }
  return out;
}

/** [hyp count, ref count, matches] for one order (sacreBLEU `_get_match_statistics`). */
function matchStats(hyp: Map<string, number>, ref: Map<string, number>): [number, number, number] {
  let match = 0;
  let hypCount = 0;
  for (const [k, v] of hyp) {
    hypCount += v;
    const r = ref.get(k);
    if (r !== undefined) match += Math.min(v, r);
  }
  let refCount = 0;
  for (const v of ref.values()) refCount += v;
  // No reference n-grams of this order: the hypothesis n-grams are not counted at all.
  return [ref.size > 0 ? hypCount : 0, refCount, match];
}

/** sacreBLEU's `CHRF._compute_f_score` over flattened [hyp, ref, match] statistics. */
export function chrfFromStats(stats: readonly number[], options?: ChrfOptions): number {
  const o = resolve(options);
  const order = o.charOrder + o.wordOrder;
  const eps = 1e-16;
  const factor = o.beta ** 2;
  let score = 0;
  let effectiveOrder = 0;
  let avgPrec = 0;
  let avgRec = 0;
  for (let i = 0; i < order; i++) {
    const nHyp = stats[3 * i]!;
    const nRef = stats[3 * i + 1]!;
    const nMatch = stats[3 * i + 2]!;
    const prec = nHyp > 0 ? nMatch / nHyp : eps;
    const rec = nRef > 0 ? nMatch / nRef : eps;
    const denom = factor * prec + rec;
    score += denom > 0 ? ((1 + factor) * prec * rec) / denom : eps;
    if (nHyp > 0 && nRef > 0) {
      avgPrec += prec;
      avgRec += rec;
      effectiveOrder++;
    }
  }
  if (o.epsSmoothing) return (100 * score) / order;
  if (effectiveOrder === 0) {
    avgPrec = 0;
    avgRec = 0;
  } else {
    avgPrec /= effectiveOrder;
    avgRec /= effectiveOrder;
  }
  if (avgPrec + avgRec) return (100 * ((1 + factor) * avgPrec * avgRec)) / (factor * avgPrec + avgRec);
  return 0;
}

/** sacreBLEU's chrF signature, e.g. `nrefs:1|case:mixed|eff:yes|nc:6|nw:0|space:no|version:...`. */
export function chrfSignature(options: ChrfOptions | undefined, numRefs: number): string {
  const o = resolve(options);
  const nrefs = numRefs === -1 ? 'var' : String(numRefs);
  return (
    `nrefs:${nrefs}|case:${o.lowercase ? 'lc' : 'mixed'}|eff:${o.epsSmoothing ? 'no' : 'yes'}|` +
    `nc:${o.charOrder}|nw:${o.wordOrder}|space:${o.whitespace ? 'yes' : 'no'}|version:${SIGNATURE_VERSION}`
  );
}

/**
 * Corpus chrF, equal to sacreBLEU's `CHRF(**options).corpus_score`. With several references per
 * segment the one with the best segment-level score is used, as sacreBLEU does.
 * `references[i]` is the reference (or list of references) of `hypotheses[i]`.
 * @example corpusChrf(['a b c'], ['abc']).score // 100
 */
export function corpusChrf(
  hypotheses: readonly string[],
  references: readonly (string | readonly string[])[],
  options?: ChrfOptions,
): ChrfScore {
  const o = resolve(options);
  const refs = normalizeReferences(hypotheses, references, 'chrF');
  const order = o.charOrder + o.wordOrder;
  const totals = new Array<number>(3 * order).fill(0);
  const refCounts = new Set<number>();
  const prep = (s: string): string => (o.lowercase ? s.toLowerCase() : s);
  for (let i = 0; i < hypotheses.length; i++) {
    refCounts.add(refs[i]!.length);
    const hypNgrams = allNgrams(prep(hypotheses[i]!), o);
    let best: number[] = [];
    let bestF = -1;
    for (const ref of refs[i]!) {
      const refNgrams = allNgrams(prep(ref), o);
      const stats: number[] = [];
      for (let k = 0; k < order; k++) stats.push(...matchStats(hypNgrams[k]!, refNgrams[k]!));
      const f = chrfFromStats(stats, o);
      if (f > bestF) {
        bestF = f;
        best = stats;
      }
    }
    for (let k = 0; k < best.length; k++) totals[k] = totals[k]! + best[k]!;
  }
  const numRefs = refCounts.size <= 1 ? (refCounts.values().next().value ?? 1) : -1;
  return {
    name: `chrF${o.beta}${'+'.repeat(o.wordOrder)}`,
    score: chrfFromStats(totals, o),
    numRefs,
    signature: chrfSignature(o, numRefs),
  };
}

/** Sentence chrF (sacreBLEU `sentence_chrf`). */
export function sentenceChrf(
  hypothesis: string,
  references: readonly string[],
  options?: ChrfOptions,
): ChrfScore {
  return corpusChrf([hypothesis], [references], options);
}

/** sacreBLEU's text line for chrF: `chrF2 = 59.73`. */
export function formatChrf(score: ChrfScore, width = 2): string {
  return `${score.name} = ${pyFixed(score.score, width)}`;
}
