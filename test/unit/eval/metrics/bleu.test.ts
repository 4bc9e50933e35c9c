// Golden values are sacreBLEU's own published test cases (mjpost/sacrebleu test/test_bleu.py and
// test/test_sentence_bleu.py, sacreBLEU 2.6.0), restated here; the Unicode cases were computed by
// running sacreBLEU 2.6.0 itself.
import {
  bleuSignature,
  computeBleu,
  corpusBleu,
  formatBleu,
  type SmoothMethod,
  sentenceBleu,
  T5_BLEU_OPTIONS,
  tokenize13a,
  tokenizeChar,
  tokenizeIntl,
} from '../../../../lib/eval/metrics';
import { Ext5Error } from '../../../../lib/util/errors';

// sacreBLEU's README example: two reference streams, transposed here to one list per segment.
const HYPS = ['The dog bit the man.', "It wasn't surprising.", 'The man had just bitten him.'];
const REFS = [
  ['The dog bit the man.', 'The dog had bit the man.'],
  ['It was not unexpected.', 'No one was surprised.'],
  ['The man bit him first.', 'The man had bitten the dog.'],
];

// sacreBLEU's raw_corpus_bleu: no tokenization, floor smoothing, effective order.
const raw = (h: string[], r: string[], smoothValue: number | null = 0.01) =>
  corpusBleu(h, r, { tokenize: 'none', smoothMethod: 'floor', smoothValue, effectiveOrder: true });

describe('corpus BLEU (sacreBLEU test_bleu.py)', () => {
  test.each([
    [{}, 48.530827],
    [{ tokenize: 'none' }, 49.1919566],
    [{ tokenize: '13a' }, 48.530827],
    [{ tokenize: 'intl' }, 43.91623493],
    [{ smoothMethod: 'none' as SmoothMethod }, 48.530827],
  ])('README example with %j', (opts, expected) => {
    expect(Math.abs(corpusBleu(HYPS, REFS, opts).score - expected)).toBeLessThan(1e-6);
  });

  test('empty hypotheses are kept and score 0', () => {
    expect(corpusBleu(['', '', ''], REFS).score).toBe(0);
  });

  test.each([
    [1, '77.65'],
    [2, '60.50'],
    [3, '53.93'],
    [4, '48.53'],
    [5, '46.14'],
    [6, '43.28'],
  ])('max n-gram order %i', (order, expected) => {
    expect(corpusBleu(HYPS, REFS, { maxNgramOrder: order }).score.toFixed(2)).toBe(expected);
  });

  test.each([
    [['this is a test', 'another test'], ['ref1', 'ref2'], 0],
    [['this is a test'], ['this is a test'], 1],
    [['this is a fest'], ['this is a test'], 0.223606797749979],
  ])('raw corpus BLEU %j', (h, r, expected) => {
    expect(Math.abs(raw(h, r).score / 100 - expected)).toBeLessThan(1e-8);
  });

  test.each([
    [['test'], ['a test'], 0.3678794411714425],
    [['a test'], ['a test'], 1],
    [['a little test'], ['a test'], 0.03218297948685433],
  ])('effective order %j', (h, r, expected) => {
    expect(Math.abs(raw(h, r).score / 100 - expected)).toBeLessThan(1e-8);
  });

  test('statistics', () => {
    const s = raw(['am I am a character sequence'], ['I am a symbol string sequence a a']);
    expect(s.counts).toEqual([4, 2, 1, 0]);
    expect(s.totals).toEqual([6, 5, 4, 3]);
  });

  test('floor offset (0 versus the 0.1 default)', () => {
    const h = ['am I am a character sequence'];
    const r = ['I am a symbol string sequence a a'];
    expect(raw(h, r, 0).score).toBe(0);
    expect(Math.abs(raw(h, r, null).score / 100 - 0.1555722182)).toBeLessThan(1e-8);
  });

  test('score from statistics', () => {
    const s = computeBleu([9, 7, 5, 3], [10, 8, 6, 4], 11, 11, { smoothMethod: 'none' });
    expect(Math.abs(s.score / 100 - 0.8375922397)).toBeLessThan(1e-8);
  });

  test("computeBleu defaults to sacreBLEU's compute_bleu: no smoothing, so an order without a match scores 0", () => {
    // sacreBLEU: BLEU.compute_bleu([6, 5, 4, 0], [6, 5, 4, 3], 6, 6).score == 0.0 (smooth_method='none').
    const none = computeBleu([6, 5, 4, 0], [6, 5, 4, 3], 6, 6);
    expect(none.score).toBe(0);
    expect(none.precisions).toEqual([100, 100, 100, 0]);
    expect(computeBleu([6, 5, 4, 0], [6, 5, 4, 3], 6, 6, { smoothMethod: 'none' })).toEqual(none);
    expect(computeBleu([6, 5, 4, 0], [6, 5, 4, 3], 6, 6, { smoothValue: 0.5 })).toEqual(none);
    // 'exp' halves the missing order's precision to 1/(2·3): (1·1·1·1/6)^(1/4).
    const exp = computeBleu([6, 5, 4, 0], [6, 5, 4, 3], 6, 6, { smoothMethod: 'exp' });
    expect(Math.abs(exp.score - 100 * (1 / 6) ** 0.25)).toBeLessThan(1e-9);
    expect(computeBleu([9, 7, 5, 3], [10, 8, 6, 4], 11, 11).score).toBe(
      computeBleu([9, 7, 5, 3], [10, 8, 6, 4], 11, 11, { smoothMethod: 'none' }).score,
    );
  });

  test("corpusBleu and sentenceBleu keep sacreBLEU's BLEU(...) default, 'exp'", () => {
    const hyp = 'the cat sat on a mat';
    const ref = 'the cat sat on the mat';
    expect(corpusBleu([hyp], [ref]).signature).toContain('smooth:exp');
    expect(corpusBleu([hyp], [ref]).score).toBe(corpusBleu([hyp], [ref], { smoothMethod: 'exp' }).score);
    expect(corpusBleu([hyp], [ref]).score).toBeGreaterThan(0);
    expect(sentenceBleu(hyp, [ref]).score).toBe(sentenceBleu(hyp, [ref], { smoothMethod: 'exp' }).score);
  });

  test.each([
    [[0, 0, 0, 0], [4, 4, 2, 1], 0, 1, 0.0],
    [[0, 0, 0, 0], [10, 11, 12, 0], 14, 10, 0.0],
    [[0, 0, 0, 0], [0, 0, 0, 0], 0, 0, 0.0],
    [[6, 5, 4, 0], [6, 5, 4, 3], 6, 6, 0.0],
    [[0, 0, 0, 0], [0, 0, 0, 0], 0, 0, 0.1],
    [[0, 0, 0, 0], [0, 0, 0, 0], 1, 5, 0.01],
  ])('degenerate statistics %j %j sys %i ref %i floor %f give 0', (c, t, sys, ref, offset) => {
    expect(computeBleu(c, t, sys, ref, { smoothMethod: 'floor', smoothValue: offset }).score).toBe(0);
  });

  test('computeBleu does not modify its inputs (add-k)', () => {
    const c = [3, 1, 0, 0];
    const t = [4, 3, 2, 1];
    computeBleu(c, t, 4, 4, { smoothMethod: 'add-k' });
    expect(c).toEqual([3, 1, 0, 0]);
    expect(t).toEqual([4, 3, 2, 1]);
  });
});

describe('sentence BLEU (sacreBLEU test_sentence_bleu.py)', () => {
  const REF = 'producţia de zahăr brut se exprimă în zahăr alb;';
  const SYS = 'Producția de zahăr primă va fi exprimată în ceea ce privește zahărul alb;';
  test.each([
    ['exp', null, false, '13a', 8.493],
    ['none', null, false, '13a', 0.0],
    ['floor', null, false, '13a', 4.51688],
    ['floor', 0.1, false, '13a', 4.51688],
    ['floor', 0.5, false, '13a', 10.1],
    ['add-k', null, false, '13a', 14.882],
    ['add-k', 1, false, '13a', 14.882],
    ['add-k', 2, false, '13a', 21.389],
    ['exp', null, false, 'none', 7.347],
    ['exp', null, false, 'intl', 8.493],
    ['exp', null, false, 'char', 40.8759],
    ['exp', null, true, 'char', 42.0267],
  ] as const)('%s %s lowercase=%s tok=%s', (smoothMethod, smoothValue, lowercase, tokenize, expected) => {
    const s = sentenceBleu(SYS, [REF], { smoothMethod, smoothValue, lowercase, tokenize });
    expect(Math.abs(s.score - expected)).toBeLessThan(1e-3);
  });

  test.each(['exp', 'none', 'floor', 'add-k'] as const)('no match at all gives 0 with %s', (smoothMethod) => {
    expect(sentenceBleu('this is a cat', ['okay thanks'], { smoothMethod }).score).toBe(0);
  });
});

describe("T5's settings and reporting", () => {
  test('T5 options are the intl tokenizer with exp smoothing', () => {
    expect(corpusBleu(HYPS, REFS, T5_BLEU_OPTIONS).score).toBeCloseTo(43.91623493, 6);
  });

  test('T5 metrics_test: identical strings give 100, empty predictions 0, multiple references', () => {
    const ref = 'this is a string';
    expect(corpusBleu([ref, ref], [ref, ref], T5_BLEU_OPTIONS).score).toBeCloseTo(100, 8);
    expect(corpusBleu(['', ''], [ref, ref], T5_BLEU_OPTIONS).score).toBe(0);
    expect(
      corpusBleu(
        [ref, ref],
        [
          ['', ref],
          [ref, ''],
        ],
        T5_BLEU_OPTIONS,
      ).score,
    ).toBeCloseTo(100, 8);
  });

  test('text line and signature match sacreBLEU', () => {
    const s = corpusBleu(HYPS, REFS, { tokenize: 'intl' });
    expect(formatBleu(s)).toBe(
      'BLEU = 43.92 73.7/43.8/38.5/30.0 (BP = 1.000 ratio = 1.056 hyp_len = 19 ref_len = 18)',
    );
    expect(s.signature).toMatch(/^nrefs:2\|case:mixed\|eff:no\|tok:intl\|smooth:exp\|version:/);
    expect(bleuSignature({ smoothMethod: 'floor', lowercase: true }, -1)).toMatch(
      /^nrefs:var\|case:lc\|eff:no\|tok:13a\|smooth:floor\[0\.10\]\|version:/,
    );
    expect(bleuSignature({ smoothMethod: 'add-k', smoothValue: 2 }, 1)).toContain('smooth:add-k[2.00]');
  });

  test('closest reference length prefers the shorter on a tie', () => {
    // hypothesis of 3 tokens, references of 2 and 4 tokens: sacreBLEU takes 2 -> no brevity penalty.
    const s = corpusBleu(['a b c'], [['a b', 'a b c d']], { tokenize: 'none' });
    expect(s.refLen).toBe(2);
    expect(s.bp).toBe(1);
  });

  test('a variable number of references is nrefs:var', () => {
    const s = corpusBleu(['a b', 'c d'], [['a b'], ['c d', 'c e']]);
    expect(s.numRefs).toBe(-1);
    expect(s.signature).toContain('nrefs:var');
  });
});

describe('tokenizers', () => {
  test('13a splits ASCII punctuation, keeps decimals and thousands, unescapes entities', () => {
    expect(tokenize13a('Hello, world! It costs $3.50 (1,000 items).')).toBe(
      'Hello , world ! It costs $ 3.50 ( 1,000 items ) .',
    );
    expect(tokenize13a('a &amp; b &quot;c&quot; <skipped> 2019.')).toBe('a & b " c " 2019 .');
    expect(tokenize13a('5-6 x-y')).toBe('5 - 6 x-y');
  });

  test('intl splits Unicode punctuation and symbols (cases computed with sacreBLEU 2.6.0)', () => {
    expect(tokenizeIntl('Bonjour, «monde» 3.5€')).toBe('Bonjour , « monde » 3.5 €');
    expect(tokenizeIntl('日本語。中文、😀 done.')).toBe('日本語 。 中文 、 😀 done .');
    // mteval-v14 keeps the period after a final number (not padded, unlike 13a).
    expect(tokenizeIntl('It was 2019.')).toBe('It was 2019.');
    expect(tokenizeIntl("l'homme naïve ٣٫٥")).toBe("l ' homme naïve ٣٫٥");
  });

  test('intl splits on Python whitespace (NBSP, ideographic space) like str.split()', () => {
    expect(tokenizeIntl('a\u00a0b\u3000c\x1cd')).toBe('a b c d');
  });

  test('char tokenizer works on code points', () => {
    expect(tokenizeChar('a😀b')).toBe('a 😀 b');
  });

  test('astral characters count as one token each in char BLEU', () => {
    const s = corpusBleu(['😀😀'], ['😀😀'], { tokenize: 'char' });
    expect(s.sysLen).toBe(2);
  });
});

describe('bad input', () => {
  test('mismatched counts name both counts', () => {
    expect(() => corpusBleu(['a', 'b'], ['a'])).toThrow(/2 predictions but 1 references/);
  });

  test('a segment with no reference', () => {
    expect(() => corpusBleu(['a'], [[]])).toThrow(Ext5Error);
  });

  test('unknown tokenizer suggests the closest', () => {
    expect(() => corpusBleu(['a'], ['a'], { tokenize: 'intI' })).toThrow(/did you mean 'intl'/);
  });

  test('unknown smoothing method', () => {
    expect(() => corpusBleu(['a'], ['a'], { smoothMethod: 'expo' as SmoothMethod })).toThrow(/smoothing/);
  });

  test('empty references give BP 1 with ref_len 0 and score 0', () => {
    const s = corpusBleu(['a b c d'], ['']);
    expect(s.score).toBe(0);
    expect(s.refLen).toBe(0);
    expect(s.ratio).toBe(0);
  });

  test('very long inputs', () => {
    const words = Array.from({ length: 20000 }, (_, i) => `w${i % 97}`);
    const line = words.join(' ');
    const s = corpusBleu([line], [line]);
    expect(s.score).toBeCloseTo(100, 8);
    expect(s.sysLen).toBe(20000);
  });
});
