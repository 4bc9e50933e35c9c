// wsc_simple cases are T5's own (google-research/text-to-text-transfer-transformer
// t5/data/postprocessors_test.py), restated.
import { pyFixed, pyRstrip, pySplit, pyStrip } from '../../../lib/eval/metrics';
import {
  multirc,
  qaAnswer,
  qaAnswers,
  record,
  SUPERGLUE_LABELS,
  stringLabelToClassId,
  wscSimple,
} from '../../../lib/eval/postprocessors';

describe('wsc_simple (postprocessors_test.py)', () => {
  test.each([
    ['potato', 'turnip', 0],
    ['turnip', 'turnip', 1],
    ['the cat', 'cat', 1],
    ["Bob's hat", 'Bob', 0],
    ["Bob's hat", "Bob's hat", 1],
    ['potato', 'Potato', 1],
    ['a potato', 'my potato', 1],
    ['fuzzy bunny', 'fuzzy hungry bunny', 1],
    ['', 'cat', -1],
    ['a this', 'cat', -1],
  ])('%j against referent %j -> %i', (prediction, referent, expected) => {
    expect(wscSimple(prediction, referent)).toBe(expected);
  });
});

describe('label postprocessors', () => {
  test('string label to class id', () => {
    expect(stringLabelToClassId('True', ['False', 'True'])).toBe(1);
    expect(stringLabelToClassId('true', ['False', 'True'])).toBe(-1);
    expect(stringLabelToClassId('x', ['a'], -2)).toBe(-2);
    expect(SUPERGLUE_LABELS.cb).toEqual(['entailment', 'contradiction', 'neutral']);
  });

  test('multirc and record shapes', () => {
    expect(multirc('True')).toEqual({ value: 1 });
    expect(multirc('no', { questionIndex: 4 })).toEqual({ value: -1, group: 4 });
    expect(record('x')).toEqual({ value: 'x' });
    expect(record('x', { answers: ['a'], passageIndex: 1, queryIndex: 2 })).toEqual({
      value: ['a'],
      group: [1, 2],
    });
  });

  test('QA answer cleanup', () => {
    expect(qaAnswer('  Paris \n')).toBe('Paris');
    expect(qaAnswers('answer: Paris answer: Lyon ')).toEqual(['Paris', 'Lyon']);
    expect(qaAnswers('no prefix')).toEqual([]);
  });
});

describe('Python string semantics', () => {
  test('str.split() whitespace set', () => {
    expect(pySplit(' a\u00a0 b\x1c c\u3000')).toEqual(['a', 'b', 'c']);
    expect(pySplit('a\ufeffb')).toEqual(['a\ufeffb']);
    expect(pySplit('   ')).toEqual([]);
    expect(pyRstrip('a \r\n')).toBe('a');
    expect(pyStrip('\x85 a \u2028')).toBe('a');
  });

  test("format(x, '.Nf') rounds exact ties to even", () => {
    expect(pyFixed(0.125, 2)).toBe('0.12');
    expect(pyFixed(0.375, 2)).toBe('0.38');
    expect(pyFixed(2.5, 0)).toBe('2');
    expect(pyFixed(43.91623493, 2)).toBe('43.92');
    expect(pyFixed(1.005, 2)).toBe('1.00'); // 1.005 is below the tie in binary
  });
});
