/**
 * The SentencePiece addon through SentencePieceVocabulary: training, round trips, ids identical
 * to Debian's `spm_encode`, T5 sentinels, batched and async encoding, and clean errors.
 */
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { SentencePieceVocabulary, trainVocabulary } from '../../lib/text/vocabulary';
import { Ext5Error } from '../../lib/util/errors';
import { Rng } from '../../lib/util/rng';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ext5-spm-'));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

const WORDS = (
  'the of and to in is was for that with as on by at from his her an which this be are were ' +
  'model training language text data transfer learning task tasks mixture span corruption token ' +
  'encoder decoder attention layer weights gradient batch sequence sentence summary question answer ' +
  'München café naïve résumé 東京 numbers 2019 3.14 e-mail state-of-the-art'
).split(' ');

const SYLLABLES = 'ka ri to mu sen dal qui vor ex pli gra tion ment ing ber lo na zu fe wy'.split(' ');

/** A deterministic pseudo-English corpus. */
function sentences(seed: number, n: number): string[] {
  const rng = new Rng(seed);
  const out: string[] = [];
  for (let i = 0; i < n; i++) {
    const len = 4 + rng.nextInt(14);
    const words = Array.from({ length: len }, () => {
      if (rng.nextInt(3) > 0) return WORDS[rng.nextInt(WORDS.length)]!;
      // made-up words from syllables, so the corpus has enough distinct pieces for 300
      let w = '';
      for (let k = 1 + rng.nextInt(3); k > 0; k--) w += SYLLABLES[rng.nextInt(SYLLABLES.length)];
      return w;
    });
    out.push(`${words.join(' ')}${['.', '!', '?', ','][rng.nextInt(4)]}`);
  }
  return out;
}

let vocab: SentencePieceVocabulary;
let modelPath: string;

beforeAll(async () => {
  const corpus = path.join(dir, 'corpus.txt');
  fs.writeFileSync(corpus, `${sentences(1, 3000).join('\n')}\n`);
  ({ modelPath } = await trainVocabulary({
    input: corpus,
    modelPrefix: path.join(dir, 'spiece'),
    vocabSize: 300,
    characterCoverage: 1,
  }));
  vocab = SentencePieceVocabulary.load(modelPath);
}, 60_000);

describe('trained vocabulary', () => {
  test('T5 special ids and 100 reversed sentinels', () => {
    expect(vocab.vocabSize).toBe(400);
    expect(vocab.baseVocabSize).toBe(300);
    expect([vocab.padId, vocab.eosId, vocab.unkId]).toEqual([0, 1, 2]);
    expect(vocab.sentinelId(0)).toBe(399);
    expect(vocab.sentinelId(99)).toBe(300);
    expect(vocab.idToPiece(399)).toBe('▁<extra_id_0>');
    expect(vocab.idToPiece(300)).toBe('▁<extra_id_99>');
    expect(vocab.idToPiece(1)).toBe('</s>');
  });

  test('encode/decode round-trips text', () => {
    for (const s of sentences(2, 200)) {
      const ids = vocab.encode(s);
      // the addon's arrays come from Node's realm, not jest's sandbox: check the tag
      expect(Object.prototype.toString.call(ids)).toBe('[object Int32Array]');
      expect(vocab.decode(ids)).toBe(s);
    }
  });

  test('ids match Debian spm_encode on a sample text', () => {
    const sample = [...sentences(3, 50), 'Unseen words: zygote quixotic, Ünïcödé and 12345 tokens.'];
    const input = path.join(dir, 'sample.txt');
    fs.writeFileSync(input, `${sample.join('\n')}\n`);
    const out = execFileSync(
      'spm_encode',
      [`--model=${modelPath}`, '--output_format=id', `--input=${input}`],
      {
        encoding: 'utf8',
      },
    );
    const expected = out
      .trimEnd()
      .split('\n')
      .map((l) => l.split(' ').map(Number));
    expect(sample.map((s) => Array.from(vocab.encode(s)))).toEqual(expected);
  });

  test('sentinels in text encode to their ids and decode back', () => {
    const text = 'the <extra_id_0> of the <extra_id_1> model <extra_id_99>';
    const ids = Array.from(vocab.encode(text));
    expect(ids).toContain(399);
    expect(ids).toContain(398);
    expect(ids).toContain(300);
    expect(vocab.decode(ids)).toBe(text);
    expect(vocab.decode([vocab.sentinelId(0), ...vocab.encode(' the model'), vocab.sentinelId(1)])).toBe(
      '<extra_id_0> the model <extra_id_1>',
    );
  });

  test('decode stops after the first EOS and maps ids past the vocabulary to UNK (SeqIO)', () => {
    const a = Array.from(vocab.encode('the model'));
    const b = Array.from(vocab.encode('and data'));
    expect(vocab.decode([...a, 1, ...b])).toBe('the model');
    expect(vocab.decode([...a, 5000])).toBe(vocab.decode([...a, 2]));
  });

  test('batched encoding (sync, async, several threads) equals one-by-one encoding', async () => {
    const texts = [...sentences(4, 500), '', 'x'];
    const one = texts.map((t) => Array.from(vocab.encode(t)));
    expect(vocab.encodeBatch(texts).map((a) => Array.from(a))).toEqual(one);
    for (const threads of [1, 2, 3, 8]) {
      const got = await vocab.encodeBatchAsync(texts, { threads });
      expect(got.map((a) => Array.from(a))).toEqual(one);
    }
    const flat = await vocab.encodeBatchFlatAsync(texts, { threads: 2 });
    expect(flat.offsets.length).toBe(texts.length + 1);
    expect(flat.ids.length).toBe(one.flat().length);
  });

  test('pieces', () => {
    expect(vocab.encodePieces('the model').join('')).toBe('▁the▁model');
  });
});

describe('errors never crash the process', () => {
  test('missing model path', () => {
    expect(() => SentencePieceVocabulary.load(path.join(dir, 'nope.model'))).toThrow(
      /SentencePiece model not found/,
    );
    const empty = path.join(dir, 'empty');
    fs.mkdirSync(empty);
    expect(() => SentencePieceVocabulary.load(empty)).toThrow(/no SentencePiece model in/);
    expect(SentencePieceVocabulary.load(dir).vocabSize).toBe(400); // a directory with spiece.model
  });

  test('corrupt and truncated model files', () => {
    const bad = path.join(dir, 'bad.model');
    fs.writeFileSync(bad, 'this is not a protobuf at all');
    const err = (() => {
      try {
        SentencePieceVocabulary.load(bad);
      } catch (e) {
        return e;
      }
    })();
    expect(err).toBeInstanceOf(Ext5Error);
    expect((err as Ext5Error).code).toBe('E_VOCAB_CORRUPT');
    const truncated = path.join(dir, 'trunc.model');
    fs.writeFileSync(truncated, fs.readFileSync(modelPath).subarray(0, 500));
    expect(() => SentencePieceVocabulary.load(truncated)).toThrow(/not a valid SentencePiece model/);
  });

  test('wrong argument types', async () => {
    expect(() => vocab.encode(42 as unknown as string)).toThrow(/text must be a string/);
    expect(() => vocab.decode([1.5] as number[])).toThrow(/not an integer token id/);
    expect(() => vocab.decode([-1])).toThrow(/negative/);
    expect(() => vocab.decode([Number.NaN, Number.POSITIVE_INFINITY])).toThrow(/not an integer token id/);
    expect(() => vocab.idToPiece(Number.NaN)).toThrow(/not an integer/);
    expect(() => vocab.idToPiece(100000)).toThrow(/not an integer in \[0, 400\)/);
    expect(() => vocab.encodeBatch(['a', 3 as unknown as string])).toThrow(/texts\[1\] is number/);
    await expect(vocab.encodeBatchAsync(['a'], { threads: 0 })).rejects.toThrow(/threads must be/);
    expect(() => vocab.sentinelId(100)).toThrow(/outside/);
  });

  test('a disposed vocabulary says so', () => {
    const v = SentencePieceVocabulary.load(modelPath);
    v.dispose();
    expect(() => v.encode('a')).toThrow(/disposed/);
  });

  test('training failures reject with a clear error', async () => {
    await expect(
      trainVocabulary({
        input: path.join(dir, 'missing.txt'),
        modelPrefix: path.join(dir, 'x'),
        vocabSize: 100,
      }),
    ).rejects.toThrow(/training input not found/);
    const tiny = path.join(dir, 'tiny.txt');
    fs.writeFileSync(tiny, 'a b c\n');
    await expect(
      trainVocabulary({ input: tiny, modelPrefix: path.join(dir, 'tiny'), vocabSize: 5000 }),
    ).rejects.toThrow(/Vocabulary size too high/);
  });
});
