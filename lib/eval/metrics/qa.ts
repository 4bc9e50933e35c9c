/**
 * Question-answering exact match and token F1, maximized over the gold answers, with the SQuAD v1.1
 * and TriviaQA answer normalizations. Ported from google-research/text-to-text-transfer-transformer
 * `t5/evaluation/qa_utils.py` and `t5/evaluation/metrics.py` (`squad`, `trivia_qa`). Scores are in [0, 100].
 */
import { Ext5Error } from '../../util/errors';
import { pySplit, pyStrip } from './pytext';

// Python's string.punctuation.
const ASCII_PUNCT = '!"#$%&\'()*+,-./:;<=>?@[\\]^_`{|}~';
const SQUAD_PUNCT = new Set(ASCII_PUNCT);
const TRIVIA_PUNCT = new Set(`${ASCII_PUNCT}‘’´\`_`);

// Python's `re` \b is Unicode-aware (word characters are letters, numbers and '_'); JS's \b is ASCII-only,
// so the boundaries are spelled out with look-arounds.
const ARTICLES = /(?<![\p{L}\p{N}_])(?:a|an|the)(?![\p{L}\p{N}_])/gu;

function normalizeAnswer(text: string, punct: Set<string>, repl: string): string {
  let s = text.toLowerCase();
  let out = '';
  for (const ch of s) out += punct.has(ch) ? repl : ch;
  s = out.replace(ARTICLES, ' ');
  return pySplit(s).join(' ');
}

/**
 * The official SQuAD v1.1 normalization: lower-case, delete ASCII punctuation, articles a/an/the become
 * spaces, collapse whitespace.
 * @example normalizeSquad('The  Eiffel-Tower!') // 'eiffeltower'
 */
export function normalizeSquad(answer: string): string {
  return normalizeAnswer(answer, SQUAD_PUNCT, '');
}

/**
 * The official TriviaQA normalization: as SQuAD's, but punctuation (plus ‘ ’ ´ ` _) becomes a space.
 * @example normalizeTriviaQa('The  Eiffel-Tower!') // 'eiffel tower'
 */
export function normalizeTriviaQa(answer: string): string {
  return pyStrip(normalizeAnswer(answer, TRIVIA_PUNCT, ' '));
}

/** Token F1 between two normalized strings (qa_utils `_f1_score`), in [0, 1]. */
export function tokenF1(target: string, prediction: string): number {
  const p = pySplit(prediction);
  const t = pySplit(target);
  const counts = new Map<string, number>();
  for (const w of t) counts.set(w, (counts.get(w) ?? 0) + 1);
  let same = 0;
  for (const w of p) {
    const c = counts.get(w);
    if (c !== undefined && c > 0) {
      same++;
      counts.set(w, c - 1);
    }
  }
  if (same === 0) return 0;
  const precision = same / p.length;
  const recall = same / t.length;
  return (2 * precision * recall) / (precision + recall);
}

/**
 * Mean over questions of the max-over-gold-answers exact match and F1, ×100, on already-normalized text
 * (qa_utils `qa_metrics`).
 */
export function qaMetrics(
  targets: readonly (readonly string[])[],
  predictions: readonly string[],
): { em: number; f1: number } {
  if (targets.length !== predictions.length) {
    throw new Ext5Error(
      'E_METRIC_INPUT',
      `QA metrics: ${predictions.length} predictions but ${targets.length} answer lists`,
      'give one list of gold answers per prediction.',
    );
  }
  if (targets.length === 0) return { em: Number.NaN, f1: Number.NaN };
  let em = 0;
  let f1 = 0;
  for (let i = 0; i < targets.length; i++) {
    const golds = targets[i]!;
    const p = predictions[i]!;
    if (golds.length === 0) {
      throw new Ext5Error(
        'E_METRIC_INPUT',
        `QA metrics: question ${i} has no gold answer`,
        'give at least one answer.',
      );
    }
    let bestEm = 0;
    let bestF1 = 0;
    for (const g of golds) {
      if (g === p) bestEm = 1;
      const f = tokenF1(g, p);
      if (f > bestF1) bestF1 = f;
    }
    em += bestEm;
    f1 += bestF1;
  }
  return { em: (100 * em) / targets.length, f1: (100 * f1) / targets.length };
}

function asAnswerLists(targets: readonly (string | readonly string[])[]): string[][] {
  return targets.map((t) => (typeof t === 'string' ? [t] : [...t]));
}

/**
 * T5's `metrics.squad`: SQuAD-normalize answers and predictions, then EM/F1 maximized over answers.
 * @example squad([['The Eiffel Tower', 'Eiffel tower']], ['eiffel tower.']) // { em: 100, f1: 100 }
 */
export function squad(
  targets: readonly (string | readonly string[])[],
  predictions: readonly string[],
): { em: number; f1: number } {
  return qaMetrics(
    asAnswerLists(targets).map((u) => u.map(normalizeSquad)),
    predictions.map(normalizeSquad),
  );
}

/** T5's `metrics.trivia_qa`: as {@link squad} with the TriviaQA normalization (closed-book TriviaQA). */
export function triviaQa(
  targets: readonly (string | readonly string[])[],
  predictions: readonly string[],
): { em: number; f1: number } {
  return qaMetrics(
    asAnswerLists(targets).map((u) => u.map(normalizeTriviaQa)),
    predictions.map(normalizeTriviaQa),
  );
}
