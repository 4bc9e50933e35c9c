// Golden values are sacreBLEU's published chrF test cases (mjpost/sacrebleu test/test_chrf.py), restated.
import { corpusChrf, formatChrf, sentenceChrf } from '../../../../lib/eval/metrics';

const EPS = 1e-4;

describe('chrF with epsilon smoothing, beta 3 (sacreBLEU test_chrf.py)', () => {
  test.each([
    [['abcdefg'], ['hijklmnop'], 0.0],
    [['a'], ['b'], 0.0],
    [[''], ['b'], 0.0],
    [[''], ['ref'], 0.0],
    [[''], ['reference'], 0.0],
    [['aa'], ['ab'], 8.3333],
    [['a', 'b'], ['a', 'c'], 8.3333],
    [['a'], ['a'], 16.6667],
    [['a b c'], ['a b c'], 50.0],
    [['a b c'], ['abc'], 50.0],
    [
      [
        ' risk assessment must be made of those who are qualified and expertise in the sector - these are the scientists .',
      ],
      [
        'risk assessment has to be undertaken by those who are qualified and expert in that area - that is the scientists .',
      ],
      63.36173,
    ],
    [
      [' Die    Beziehung zwischen  Obama und Netanjahu ist nicht gerade  freundlich. '],
      ['Das Verhältnis zwischen Obama und Netanyahu ist nicht gerade freundschaftlich.'],
      64.1302698,
    ],
    [
      ['Niemand hat die Absicht, eine Mauer zu errichten'],
      ['Niemand hat die Absicht, eine Mauer zu errichten'],
      100.0,
    ],
  ])('%j vs %j', (h, r, expected) => {
    const s = corpusChrf(h, r, { charOrder: 6, wordOrder: 0, beta: 3, epsSmoothing: true });
    expect(Math.abs(s.score - expected)).toBeLessThan(EPS);
  });
});

describe('chrF with effective order (sacreBLEU < 2.0 behaviour, the default)', () => {
  test.each([
    [['a'], ['a'], 100.0],
    [[''], ['reference'], 0.0],
    [['a b c'], ['a b c'], 100.0],
    [['a b c'], ['abc'], 100.0],
    [[''], ['c'], 0.0],
    [['a', 'b'], ['a', 'c'], 50.0],
    [['aa'], ['ab'], 25.0],
  ])('%j vs %j', (h, r, expected) => {
    expect(Math.abs(corpusChrf(h, r, { beta: 3 }).score - expected)).toBeLessThan(EPS);
  });
});

describe('chrF keeping whitespace', () => {
  test.each([
    [
      'Die Beziehung zwischen Obama und Netanjahu ist nicht gerade freundlich.',
      'Das Verhältnis zwischen Obama und Netanyahu ist nicht gerade freundschaftlich.',
      67.3481606,
    ],
    [
      'risk assessment must be made of those who are qualified and expertise in the sector - these are the scientists .',
      'risk assessment has to be undertaken by those who are qualified and expert in that area - that is the scientists .',
      65.2414427,
    ],
  ])('%s', (h, r, expected) => {
    expect(Math.abs(corpusChrf([h], [r], { beta: 3, whitespace: true }).score - expected)).toBeLessThan(EPS);
  });
});

describe('sentence chrF, default beta 2 (sacreBLEU test_chrf.py)', () => {
  test.each([
    [
      'Co nás nejvíc trápí, protože lékaři si vybírají, kdo bude žít a kdo zemře.',
      'Nejvíce smutní jsme z toho, že musíme rozhodovat o tom, kdo bude žít a kdo zemře.',
      39.14078509,
    ],
    [
      'Nebo prostě nemají vybavení, které by jim pomohlo, uvedli lékaři.',
      'A někdy nemáme ani potřebný materiál, abychom jim pomohli, popsali lékaři.',
      31.22557079,
    ],
    [
      'Lapali po dechu, jejich životy skončily dřív, než skutečně začaly.',
      'Lapali po dechu a pak jejich život skončil - dřív, než skutečně mohl začít, připomněli.',
      57.15704367,
    ],
  ])('%s', (h, r, expected) => {
    expect(Math.abs(sentenceChrf(h, [r], { epsSmoothing: true }).score - expected)).toBeLessThan(EPS);
  });
});

describe('names, signature and multiple references', () => {
  test('chrF2 and chrF2++ names and signature', () => {
    const s = corpusChrf(['a b c'], ['a b c']);
    expect(s.name).toBe('chrF2');
    expect(formatChrf(s)).toBe('chrF2 = 100.00');
    expect(s.signature).toMatch(/^nrefs:1\|case:mixed\|eff:yes\|nc:6\|nw:0\|space:no\|version:/);
    expect(corpusChrf(['a b c'], ['a b c'], { wordOrder: 2 }).name).toBe('chrF2++');
  });

  test('the best reference per segment is used', () => {
    const one = corpusChrf(['the cat sat'], ['the cat sat']).score;
    const two = corpusChrf(['the cat sat'], [['a dog ran', 'the cat sat']]).score;
    expect(two).toBeCloseTo(one, 10);
  });

  test('character n-grams are code points', () => {
    expect(corpusChrf(['😀😀'], ['😀😀']).score).toBeCloseTo(100, 8);
  });

  test('mismatched counts', () => {
    expect(() => corpusChrf(['a'], ['a', 'b'])).toThrow(/1 predictions but 2 references/);
  });
});
