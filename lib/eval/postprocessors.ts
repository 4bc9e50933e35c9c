/**
 * Postprocessors that turn decoded model text (and, for targets, the example) into what the metrics
 * compare. Ported from google-research/text-to-text-transfer-transformer `t5/data/postprocessors.py`
 * (`string_label_to_class_id`, `multirc`, `record`, `qa`, `wsc_simple`) and
 * google-research/google-research `t5_closed_book_qa/t5_cbqa/postprocessors.py` (answer prefixes).
 */
import { pyStrip } from './metrics/pytext';

/**
 * Index of `label` in `labelClasses`, or `defaultId` (-1) when the model produced something else, so
 * that an unknown label is counted wrong rather than crashing the evaluation.
 * @example stringLabelToClassId('neutral', ['entailment', 'contradiction', 'neutral']) // 2
 * @example stringLabelToClassId('maybe', ['False', 'True']) // -1
 */
export function stringLabelToClassId(label: string, labelClasses: readonly string[], defaultId = -1): number {
  const i = labelClasses.indexOf(label);
  return i === -1 ? defaultId : i;
}

/** The SuperGLUE label sets T5 uses, in class-id order. */
export const SUPERGLUE_LABELS: Readonly<Record<string, readonly string[]>> = Object.freeze({
  boolq: ['False', 'True'],
  cb: ['entailment', 'contradiction', 'neutral'],
  copa: ['choice1', 'choice2'],
  multirc: ['False', 'True'],
  rte: ['entailment', 'not_entailment'],
  wic: ['False', 'True'],
});

/**
 * MultiRC: the class id of 'False'/'True'; a target also carries its question index as `group`, so
 * that exact match can be computed per question.
 * @example multirc('True') // { value: 1 }
 * @example multirc('False', { questionIndex: 7 }) // { value: 0, group: 7 }
 */
export function multirc(
  output: string,
  target?: { questionIndex: number | string },
): { value: number; group?: number | string } {
  const value = stringLabelToClassId(output, ['False', 'True']);
  return target === undefined ? { value } : { value, group: target.questionIndex };
}

/**
 * ReCoRD: a prediction is its answer; a target is every gold answer plus the (passage, query) index
 * pair that the deduplicated metric groups by.
 * @example record('Obama') // { value: 'Obama' }
 * @example record('', { answers: ['Obama', 'Barack Obama'], passageIndex: 3, queryIndex: 0 })
 *   // { value: ['Obama', 'Barack Obama'], group: [3, 0] }
 */
export function record(
  output: string,
  target?: { answers: readonly string[]; passageIndex: number | string; queryIndex: number | string },
): { value: string | string[]; group?: (number | string)[] } {
  if (target === undefined) return { value: output };
  return { value: [...target.answers], group: [target.passageIndex, target.queryIndex] };
}

// The determiners wsc_simple ignores when comparing a predicted referent with the true one.
const WSC_DETERMINERS = new Set([
  'a',
  'an',
  'few',
  'her',
  'his',
  'each',
  'every',
  'many',
  'much',
  'my',
  'our',
  'some',
  'that',
  'the',
  'their',
  'these',
  'this',
  'those',
  'which',
  'whose',
  'your',
]);

function wscClean(s: string): string {
  // T5 splits on single spaces (not on whitespace runs), so doubled spaces leave empty words; kept as is.
  return pyStrip(s)
    .toLowerCase()
    .split(' ')
    .filter((w) => !WSC_DETERMINERS.has(w))
    .join(' ');
}

/**
 * T5's `wsc_simple` for a prediction: 1 if the predicted text names the same referent as
 * `referent` (the example's target text), 0 if not, -1 for an empty prediction (so it can never
 * match a label by accident). Case and determiners are ignored; one word set must contain the other
 * ("fuzzy bunny" matches "bunny"), and a possessive on one side only is never a match ("Bob" is not
 * "Bob's hat"). Compare the result with the example's 0/1 label using accuracy.
 * @example wscSimple('The fuzzy bunny', 'bunny') // 1
 * @example wscSimple('Bob', "Bob's hat") // 0
 */
export function wscSimple(prediction: string, referent: string): number {
  const p = wscClean(prediction);
  if (!p) return -1;
  const r = wscClean(referent);
  if (p.includes("'") !== r.includes("'")) return 0;
  const pw = new Set(p.split(' '));
  const rw = new Set(r.split(' '));
  const subset = (a: Set<string>, b: Set<string>): boolean => [...a].every((x) => b.has(x));
  return subset(pw, rw) || subset(rw, pw) ? 1 : 0;
}

/**
 * Answer cleanup for generative QA: trims whitespace and, when `prefix` is given (T5's closed-book NQ
 * uses "answer:"), returns the text after each prefix occurrence as separate answers.
 * @example qaAnswer('  Paris \n') // 'Paris'
 * @example qaAnswers('answer: Paris answer: Lyon', 'answer:') // ['Paris', 'Lyon']
 */
export function qaAnswer(output: string): string {
  return pyStrip(output);
}

/** The answers after each `prefix` occurrence, trimmed (closed-book QA's `natural_questions` postprocessor). */
export function qaAnswers(output: string, prefix = 'answer:'): string[] {
  return output
    .split(prefix)
    .slice(1)
    .map((s) => pyStrip(s));
}
