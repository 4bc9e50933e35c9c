// Golden values are rouge_score's published tests (google-research/google-research rouge/rouge_scorer_test.py,
// rouge/tokenize_test.py, rouge/scoring_test.py), whose "ground truth" comes from ROUGE-1.5.5; the inputs of
// its testdata files (synthetic random strings) are restated inline. Stems come from NLTK 3.8's PorterStemmer,
// bootstrap bounds from numpy with np.random.seed(123).
import {
  BootstrapAggregator,
  computeMetrics,
  corpusRouge,
  lcsIndices,
  lcsLength,
  MersenneTwister,
  PorterStemmer,
  prepareSummaryRouge,
  RougeScorer,
  rougeTokenize,
} from '../../../../lib/eval/metrics';

// rouge/testdata/target.txt and prediction.txt, lines 1 and 2.
const TARGETS = [
  "ZfbCUIUuePaiLVUlCaUXxkpu XPeWing tUHfPMuZ',-Xd Y BrUgVJing M-HV.-DgdDaY.rFDJCRing Ht-LM EKBDXkME,yz'RBr q'wtion wIojNbN wL,b .a-'XdQggyFl jB-RPP'iyOIcUxer tKM L\n",
  "KsJdPByEtAor fE-Qg Dpdbring cw-WeFyu vC MoBL Xdn g wkvcEiGvKtion BDFhrpMtion psing sbKao Q m qiing LMmer HqqLFXe,XPY,J XsurkMer ,ed nB'wH'bWVHjWFEing tQ.saefZwJtKrTlixYpMMsJing UCAPwNHeYVjDing c T BUySKtion gMPfJpwGw p'NvxAoping eu pBwMBKV'I DNxqelhu,PHPxDEq,mtion SN\n",
];
const PREDICTIONS = [
  "rFDJCRtion Ht-LM EKtDXkME,yz'RBr q'wer wrojNbN wL,b .a-'XdQggyFl jB-RPP'iyOIcUxi\n",
  "n cw-WeFyu vC MoBL Xdn g wkvcEiGvKtion BDFhrpMer pstion sbKao Q m qier LMmed HqqLFXe,XPY,J XsurkMeo ,ed nB'wH'bWVHjWFEer tQ.saefZwJtKrTlixYpMMNJtion UCAPwNHeYVjD\n",
];
// rouge/testdata/pyrouge_files/target_multi.0.txt and prediction_multi.0.txt.
const TARGET_MULTI_0 = `${TARGETS[0]}${TARGETS[1]}NhETebUbBk'er WOvoHMTjSRizKgH'vHiing Xu,hWxfs VkNE QhgKiLHE -HidivzoM.dO anhtion jbLQiSGDTCsuhREebUaKM dv J dVN tmbOT
vMR HDm,xOAetion D,tion HJtodT.mHl UIv-p VjWH'BdyWjnfGU-OjT aEMdFICyLWfQMtion wEMfdOKing AwkeKbO 'DxqNOHBH qKtVvm OYJl mM
`;
const PREDICTION_MULTI_0 = `${PREDICTIONS[0]}${PREDICTIONS[1]}xfs VkJE QhgKiLHE -HidivzoM.dO anhing jbLQiSGDTCsuhREebUaKM dv J
VjWH'BdyWjnfGU-OjTNaEMdFICyLWfQMing wEMfdOKijg AwkeKbO 'DxqNO
`;

const close = (actual: number, expected: number, places: number) =>
  expect(Math.abs(actual - expected)).toBeLessThan(0.5 * 10 ** -places);

describe('tokenizer (rouge/tokenize_test.py)', () => {
  test('lower-cases and splits on non-alphanumerics', () => {
    expect(rougeTokenize('one Two three')).toEqual(['one', 'two', 'three']);
    expect(rougeTokenize('one\n Two \nthree')).toEqual(['one', 'two', 'three']);
    expect(rougeTokenize("The quick-brown fox's 2x!")).toEqual(['the', 'quick', 'brown', 'fox', 's', '2x']);
  });

  test('non-ASCII letters are dropped, as rouge_score does', () => {
    expect(rougeTokenize('naïve café 日本 Ünïcödé')).toEqual(['na', 've', 'caf', 'n', 'c', 'd']);
    expect(rougeTokenize('')).toEqual([]);
    expect(rougeTokenize('/ ... --')).toEqual([]);
  });

  test('stems only words longer than 3 characters', () => {
    const st = new PorterStemmer();
    expect(rougeTokenize('the cats were running and flies', st)).toEqual([
      'the',
      'cat',
      'were',
      'run',
      'and',
      'fli',
    ]);
    expect(rougeTokenize('ties dies', st)).toEqual(['tie', 'die']);
  });
});

describe('RougeScorer (rouge/rouge_scorer_test.py)', () => {
  test.each(['rougen', 'rouge0', 'rouge10', 'rougeX'])('invalid type %s', (t) => {
    expect(() => new RougeScorer({ rougeTypes: [t] })).toThrow(/invalid ROUGE type/);
  });

  test.each(['rouge1', 'rouge9', 'rougeL', 'rougeLsum'])('valid type %s', (t) => {
    expect(Object.keys(new RougeScorer({ rougeTypes: [t] }).score('testing one two', 'testing'))).toEqual([
      t,
    ]);
  });

  test('rouge1', () => {
    const r = new RougeScorer({ rougeTypes: ['rouge1'] }).score('testing one two', 'testing').rouge1!;
    close(r.precision, 1, 7);
    close(r.recall, 1 / 3, 7);
    close(r.fmeasure, 1 / 2, 7);
  });

  test.each(['rouge1', 'rouge2', 'rougeL', 'rougeLsum'])('empty prediction scores 0 (%s)', (t) => {
    expect(new RougeScorer({ rougeTypes: [t] }).score('testing one two', '')[t]).toEqual({
      precision: 0,
      recall: 0,
      fmeasure: 0,
    });
  });

  test('rouge2', () => {
    const r = new RougeScorer({ rougeTypes: ['rouge2'] }).score('testing one two', 'testing one').rouge2!;
    close(r.precision, 1, 7);
    close(r.recall, 1 / 2, 7);
    close(r.fmeasure, 2 / 3, 7);
  });

  test.each([
    ['testing one', 'consecutive'],
    ['testing two', 'non-consecutive'],
  ])('rougeL %s (%s)', (prediction) => {
    const r = new RougeScorer({ rougeTypes: ['rougeL'] }).score('testing one two', prediction).rougeL!;
    close(r.precision, 1, 7);
    close(r.recall, 2 / 3, 7);
    close(r.fmeasure, 4 / 5, 7);
  });

  test('several types at once', () => {
    const r = new RougeScorer({ rougeTypes: ['rouge1', 'rougeL'] }).score('testing one two', 'testing one');
    expect(Object.keys(r)).toEqual(['rouge1', 'rougeL']);
    close(r.rouge1!.recall, 2 / 3, 7);
    close(r.rougeL!.fmeasure, 4 / 5, 7);
  });

  // [type, stemmer, example, recall, precision, fmeasure] against ROUGE-1.5.5.
  test.each([
    ['rouge1', false, 0, 0.40741, 0.6875, 0.51163],
    ['rouge1', false, 1, 0.40476, 0.65385, 0.5],
    ['rouge1', true, 0, 0.40741, 0.6875, 0.51163],
    ['rouge1', true, 1, 0.42857, 0.69231, 0.52941],
    ['rouge2', false, 0, 0.30769, 0.53333, 0.39024],
    ['rouge2', false, 1, 0.29268, 0.48, 0.36364],
    ['rouge2', true, 0, 0.30769, 0.53333, 0.39024],
    ['rouge2', true, 1, 0.29268, 0.48, 0.36364],
    ['rougeL', false, 0, 0.40741, 0.6875, 0.51163],
    ['rougeL', false, 1, 0.40476, 0.65385, 0.5],
  ] as const)(
    '%s stemmer=%s example %i agrees with ROUGE-1.5.5',
    (type, useStemmer, i, recall, precision, f) => {
      const r = new RougeScorer({ rougeTypes: [type], useStemmer }).score(TARGETS[i]!, PREDICTIONS[i]!)[
        type
      ]!;
      close(r.recall, recall, 5);
      close(r.precision, precision, 5);
      close(r.fmeasure, f, 5);
    },
  );

  test('rougeLsum with stemming agrees with ROUGE-1.5.5 on multi-line text', () => {
    const r = new RougeScorer({ rougeTypes: ['rougeLsum'], useStemmer: true }).score(
      TARGET_MULTI_0,
      PREDICTION_MULTI_0,
    ).rougeLsum!;
    close(r.recall, 0.36538, 5);
    close(r.precision, 0.66667, 5);
    close(r.fmeasure, 0.47205, 5);
  });

  test('rougeLsum union LCS over sentences', () => {
    const s = new RougeScorer({ rougeTypes: ['rougeLsum'] });
    const r = s.score('w1 w2 w3 w4 w5', 'w1 w2 w6 w7 w8\nw1 w3 w8 w9 w5').rougeLsum!;
    close(r.recall, 0.8, 7);
    close(r.precision, 0.4, 7);
    close(r.fmeasure, 0.5333, 3);
    for (const [t, p] of [
      ['w1 w2 w3 w4 w5', ''],
      ['', 'w1'],
      ['w1 w2 w3 w4 w5', '/'],
    ]) {
      expect(s.score(t!, p!).rougeLsum!.fmeasure).toBe(0);
    }
  });

  test('LCS table and backtrack (indices into the reference)', () => {
    expect(lcsLength([1, 2, 3, 4, 5], [2, 5, 3, 4])).toBe(3);
    expect(lcsIndices([1, 2, 3, 4, 5], [2, 5, 3, 4])).toEqual([1, 2, 3]);
    expect(lcsLength([1, 2, 3, 4, 5], [8, 9])).toBe(0);
    expect(lcsIndices([1, 2, 3, 4, 5], [8, 9])).toEqual([]);
    // Union example of section 3.2 of the ROUGE paper.
    expect(lcsIndices([1, 2, 3, 4, 5], [1, 2, 6, 7, 8])).toEqual([0, 1]);
    expect(lcsIndices([1, 2, 3, 4, 5], [1, 3, 8, 9, 5])).toEqual([0, 2, 4]);
  });

  test('scoreMulti keeps the best reference per type', () => {
    const s = new RougeScorer({ rougeTypes: ['rouge1', 'rouge2'] });
    const m = s.scoreMulti(['a b c d', 'x y z'], 'a b x y z');
    expect(m.rouge1!.fmeasure).toBeCloseTo(s.score('x y z', 'a b x y z').rouge1!.fmeasure, 12);
    expect(m.rouge2!.fmeasure).toBeCloseTo(s.score('x y z', 'a b x y z').rouge2!.fmeasure, 12);
  });

  test('very long texts (LCS is linear in memory)', () => {
    const words = Array.from({ length: 5000 }, (_, i) => `w${(i * 7919) % 1000}`);
    const r = new RougeScorer({ rougeTypes: ['rougeL'] }).score(
      words.join(' '),
      words.slice(0, 2500).join(' '),
    ).rougeL!;
    expect(r.precision).toBe(1);
    close(r.recall, 0.5, 9);
  });
});

describe("T5's ROUGE", () => {
  test("' . ' becomes ' .\\n' so that rougeLsum sees sentences", () => {
    expect(prepareSummaryRouge('a b . c d . e')).toBe('a b .\nc d .\ne');
    expect(prepareSummaryRouge('3.5 . x')).toBe('3.5 .\nx');
  });

  test('the sentence split changes rougeLsum but not rougeL', () => {
    const ref = 'the cat sat . the dog ran';
    const pred = 'the dog ran . the cat sat';
    const split = corpusRouge([pred], [ref], { rougeTypes: ['rougeL', 'rougeLsum'] }).mean;
    const flat = corpusRouge([pred], [ref], { rougeTypes: ['rougeL', 'rougeLsum'], t5Split: false }).mean;
    expect(split.rougeLsum!.fmeasure).toBe(1);
    expect(flat.rougeLsum!.fmeasure).toBeCloseTo(flat.rougeL!.fmeasure, 12);
    expect(split.rougeL!.fmeasure).toBeCloseTo(flat.rougeL!.fmeasure, 12);
  });

  test('T5 metrics_test: same strings 100, empty predictions 0', () => {
    const ref = 'this is a string';
    expect(computeMetrics('rouge', [ref, ref], [ref, ref])).toEqual({
      rouge1: 100,
      rouge2: 100,
      rougeLsum: 100,
    });
    expect(computeMetrics('rouge', ['', ''], [ref, ref])).toEqual({ rouge1: 0, rouge2: 0, rougeLsum: 0 });
    const b = computeMetrics('rouge_bootstrap', [ref, ref], [ref, ref]);
    expect(b.rouge1).toBe(100);
  });
});

describe('Porter stemmer (NLTK 3.8)', () => {
  const WORDS =
    'caresses ponies ties cats feed agreed plastered bled motoring sing conflated troubled sized hopping tanned falling hissing fizzed failing filing happy sky relational conditional rational valenci digitizer conformabli radicalli differentli vileli analogousli vietnamization predication operator feudalism decisiveness hopefulness callousness formaliti sensitiviti sensibiliti triplicate formative formalize electriciti electrical hopeful goodness revival allowance inference airliner gyroscopic adjustable defensible irritant replacement adjustment dependent adoption homologou communism activate angulariti homologous effective bowdlerize probate rate cease controll roll skies dying lying news innings generously enjoy spied cried died fully analogical geology is as'.split(
      ' ',
    );
  test.each([
    [
      'NLTK_EXTENSIONS',
      'caress poni tie cat feed agre plaster bled motor sing conflat troubl size hop tan fall hiss fizz fail file happi sky relat condit ration valenc digit conform radic differ vile analog vietnam predic oper feudal decis hope callous formal sensit sensibl triplic form formal electr electr hope good reviv allow infer airlin gyroscop adjust defens irrit replac adjust depend adopt homolog commun activ angular homolog effect bowdler probat rate ceas control roll sky die lie news inning gener enjoy spi cri die fulli analog geolog is as',
    ],
    [
      'MARTIN_EXTENSIONS',
      'caress poni ti cat feed agre plaster bled motor sing conflat troubl size hop tan fall hiss fizz fail file happi sky relat condit ration valenc digit conform radic differ vile analog vietnam predic oper feudal decis hope callous formal sensit sensibl triplic form formal electr electr hope good reviv allow infer airlin gyroscop adjust defens irrit replac adjust depend adopt homolog commun activ angular homolog effect bowdler probat rate ceas control roll ski dy ly new in gener enjoi spi cri di fulli analog geologi is as',
    ],
    [
      'ORIGINAL_ALGORITHM',
      'caress poni ti cat feed agre plaster bled motor sing conflat troubl size hop tan fall hiss fizz fail file happi sky relat condit ration valenc digit conform radic differ vile analog vietnam predic oper feudal decis hope callous formal sensit sensibl triplic form formal electr electr hope good reviv allow infer airlin gyroscop adjust defens irrit replac adjust depend adopt homolog commun activ angular homolog effect bowdler probat rate ceas control roll ski dy ly new in gener enjoi spi cri di fulli analog geologi i a',
    ],
  ] as const)('%s', (mode, expected) => {
    const s = new PorterStemmer(mode);
    expect(WORDS.map((w) => s.stem(w)).join(' ')).toBe(expected);
  });
});

describe('BootstrapAggregator (rouge/scoring.py)', () => {
  const three = () => {
    const agg = new BootstrapAggregator({ confidenceInterval: 0.9 });
    agg.addScores({ rouge1: { precision: 1, recall: 1 / 3, fmeasure: 1 / 2 } });
    agg.addScores({ rouge1: { precision: 0, recall: 0, fmeasure: 0 } });
    agg.addScores({ rouge1: { precision: 1, recall: 1, fmeasure: 1 } });
    return agg;
  };

  test('consistent percentiles (scoring_test.py)', () => {
    const r = three().aggregate().rouge1!;
    const exp = [
      [1 / 3, 2 / 3, 1],
      [1 / 9, 4 / 9, 7 / 9],
      [1 / 6, 3 / 6, 5 / 6],
    ];
    const got = [
      [r.low.precision, r.mid.precision, r.high.precision],
      [r.low.recall, r.mid.recall, r.high.recall],
      [r.low.fmeasure, r.mid.fmeasure, r.high.fmeasure],
    ];
    for (let i = 0; i < 3; i++)
      for (let j = 0; j < 3; j++) expect(Math.abs(got[i]![j]! - exp[i]![j]!)).toBeLessThan(1e-8);
  });

  test('zero-width interval gives the median three times', () => {
    const agg = new BootstrapAggregator({ confidenceInterval: 0 });
    agg.addScores({ rouge1: { precision: 1, recall: 1 / 3, fmeasure: 1 / 2 } });
    agg.addScores({ rouge1: { precision: 0, recall: 0, fmeasure: 0 } });
    agg.addScores({ rouge1: { precision: 1, recall: 1, fmeasure: 1 } });
    const r = agg.aggregate().rouge1!;
    for (const b of [r.low, r.mid, r.high]) {
      expect(Math.abs(b.precision - 2 / 3)).toBeLessThan(1e-8);
      expect(Math.abs(b.recall - 4 / 9)).toBeLessThan(1e-8);
      expect(Math.abs(b.fmeasure - 1 / 2)).toBeLessThan(1e-8);
    }
  });

  test('MT19937 and bounded draws equal numpy after np.random.seed(123)', () => {
    const mt = new MersenneTwister(123);
    expect(Array.from({ length: 5 }, () => mt.nextUint32())).toEqual([
      2991312382, 3062119789, 1228959102, 1840268610, 974319580,
    ]);
    const mt2 = new MersenneTwister(123);
    expect(Array.from({ length: 10 }, () => mt2.nextBelow(7))).toEqual([6, 5, 6, 2, 4, 2, 6, 1, 3, 2]);
  });

  test('intervals equal rouge_score run with np.random.seed(123)', () => {
    const rows = [
      [1, 1 / 3, 0.5],
      [0, 0, 0],
      [1, 1, 1],
      [0.2, 0.7, 0.3],
      [0.9, 0.1, 0.4],
    ];
    const agg = new BootstrapAggregator({ seed: 123 });
    for (const [p, r, f] of rows) {
      agg.addScores({
        rouge1: { precision: p!, recall: r!, fmeasure: f! },
        rouge2: { precision: r!, recall: f!, fmeasure: p! },
      });
    }
    const res = agg.aggregate();
    const expected = {
      rouge1: [
        [0.22000000000000003, 0.12666666666666665, 0.18],
        [0.62, 0.42666666666666664, 0.44000000000000006],
        [0.9800000000000001, 0.76, 0.76],
      ],
      rouge2: [
        [0.10666666666666666, 0.17950000000000044, 0.24],
        [0.42666666666666664, 0.43999999999999995, 0.6200000000000001],
        [0.76, 0.76, 0.9604999999999995],
      ],
    };
    for (const [type, bounds] of Object.entries(expected)) {
      const r = res[type]!;
      [r.low, r.mid, r.high].forEach((b, i) => {
        expect(b.precision).toBeCloseTo(bounds[i]![0]!, 12);
        expect(b.recall).toBeCloseTo(bounds[i]![1]!, 12);
        expect(b.fmeasure).toBeCloseTo(bounds[i]![2]!, 12);
      });
    }
  });

  test('bad settings are rejected', () => {
    expect(() => new BootstrapAggregator({ confidenceInterval: 1.5 })).toThrow(/range/);
    expect(() => new BootstrapAggregator({ nSamples: 0 })).toThrow(/positive/);
    expect(() => new MersenneTwister(-1)).toThrow(/seed/);
  });
});
