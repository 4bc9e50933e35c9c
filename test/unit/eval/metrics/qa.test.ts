// Golden values from T5's own tests (google-research/text-to-text-transfer-transformer
// t5/evaluation/qa_utils_test.py and metrics_test.py), restated, plus hand-computed cases.
import {
  computeMetrics,
  normalizeSquad,
  normalizeTriviaQa,
  qaMetrics,
  squad,
  tokenF1,
  triviaQa,
} from '../../../../lib/eval/metrics';

describe('answer normalization (qa_utils_test.py)', () => {
  test('SQuAD deletes ASCII punctuation only', () => {
    expect(normalizeSquad("`Needs\tA_LOT of the 'normalization'.\"‘")).toBe('needs alot of normalization‘');
    expect(normalizeSquad('needs no normalization')).toBe('needs no normalization');
  });

  test('TriviaQA turns punctuation (and ‘’´`_) into spaces', () => {
    expect(normalizeTriviaQa("`Needs\tA_LOT of the 'normalization'.\"‘")).toBe('needs lot of normalization');
    expect(normalizeTriviaQa('needs no normalization')).toBe('needs no normalization');
  });

  test('articles are whole words under Unicode word boundaries (Python re semantics)', () => {
    expect(normalizeSquad('The cat and a dog, an owl')).toBe('cat and dog owl');
    // 'a' inside a non-ASCII word is not an article: Python's \b sees é as a word character.
    expect(normalizeSquad('éa bé the')).toBe('éa bé');
    expect(normalizeSquad('a\u00a0b')).toBe('b');
    expect(normalizeSquad('another theme')).toBe('another theme');
  });
});

describe('EM and F1 (metrics_test.py)', () => {
  const ref = 'this is a string';
  test('same and different', () => {
    expect(
      squad(
        [
          ['', ref],
          [ref, ref],
        ],
        [ref, ref],
      ),
    ).toEqual({ em: 100, f1: 100 });
    expect(
      squad(
        [
          [ref, ref],
          [ref, ref],
        ],
        ['', ''],
      ),
    ).toEqual({ em: 0, f1: 0 });
  });

  const GOLD = [['big moose', 'hippo'], ['correct1'], ['correct2.1', 'correct2.2'], ['a', 'b']];
  const PRED = ['‘a big  Moose!‘', 'wrong', 'correct2.2', 'c'];

  test('squad big', () => {
    const r = squad(GOLD, PRED);
    expect(r.em).toBeCloseTo(25, 2);
    expect(r.f1).toBeCloseTo(35, 2);
  });

  test('squad small', () => {
    const r = squad([['abc abd', '$$$$']], ['abd']);
    expect(r.em).toBe(0);
    expect(r.f1).toBeCloseTo((100 * 2) / 3, 10);
  });

  test('trivia_qa', () => {
    expect(triviaQa(GOLD, PRED)).toEqual({ em: 50, f1: 50 });
  });

  test('token F1 counts repeated tokens once per occurrence (hand-computed)', () => {
    // common = {a: 1, b: 1} -> P = 2/3, R = 2/2, F1 = 0.8
    expect(tokenF1('a b', 'a a b')).toBeCloseTo(0.8, 12);
    expect(tokenF1('', '')).toBe(0);
  });

  test('a single gold answer may be a plain string', () => {
    expect(squad(['Paris'], ['paris.'])).toEqual({ em: 100, f1: 100 });
  });

  test('registry keys and bad input', () => {
    expect(computeMetrics('squad', ['Paris'], [['Paris', 'Lyon']])).toEqual({ em: 100, f1: 100 });
    expect(computeMetrics('trivia_qa', ['the paris'], ['Paris'])).toEqual({ em: 100, f1: 100 });
    expect(() => qaMetrics([['a']], ['a', 'b'])).toThrow(/2 predictions but 1 answer lists/);
    expect(() => squad([[]], ['a'])).toThrow(/no gold answer/);
    expect(() => computeMetrics('squad', [3], ['a'])).toThrow(/prediction 0 is number 3, expected a string/);
  });
});
