/** tokenizeStream: batched, one-batch-ahead tokenization keeps order and item/text pairing. */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { tokenizeStream } from '../../lib/text/tokenize_stream';
import { SentencePieceVocabulary, trainVocabulary } from '../../lib/text/vocabulary';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ext5-spm-stream-'));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

const syl = 'ka ri to mu sen dal qui vor ex pli gra tion ment ing ber lo na zu fe wy'.split(' ');
const text = (i: number) =>
  Array.from(
    { length: 3 + (i % 9) },
    (_, w) => syl[(i * 7 + w * 3) % syl.length]! + syl[(i + w) % syl.length]!,
  ).join(' ');

let vocab: SentencePieceVocabulary;
beforeAll(async () => {
  const corpus = path.join(dir, 'c.txt');
  fs.writeFileSync(corpus, `${Array.from({ length: 3000 }, (_, i) => text(i)).join('\n')}\n`);
  const { modelPath } = await trainVocabulary({
    input: corpus,
    modelPrefix: path.join(dir, 'm'),
    vocabSize: 80,
    characterCoverage: 1,
  });
  vocab = SentencePieceVocabulary.load(modelPath);
}, 60_000);

test('every item comes back in order with the ids of each of its texts', async () => {
  async function* items() {
    for (let i = 0; i < 1000; i++) yield { i, a: text(i), b: text(i + 1) };
  }
  let n = 0;
  for await (const { item, ids } of tokenizeStream(items(), (x) => [x.a, x.b], vocab, {
    batchSize: 37,
    threads: 2,
  })) {
    expect(item.i).toBe(n++);
    expect(ids.map((a) => Array.from(a))).toEqual([
      Array.from(vocab.encode(item.a)),
      Array.from(vocab.encode(item.b)),
    ]);
  }
  expect(n).toBe(1000);
});

test('a sync iterable, items with no text, early exit, and bad options', async () => {
  const out: number[] = [];
  for await (const { item, ids } of tokenizeStream([1, 2, 3, 4, 5], (x) => (x % 2 ? [text(x)] : []), vocab, {
    batchSize: 2,
  })) {
    out.push(item);
    expect(ids.length).toBe(item % 2);
    if (item === 4) break;
  }
  expect(out).toEqual([1, 2, 3, 4]);
  await expect(tokenizeStream([1], () => ['a'], vocab, { batchSize: 0 }).next()).rejects.toThrow(/batchSize/);
  await expect(tokenizeStream([1], () => [5 as unknown as string], vocab).next()).rejects.toThrow(
    /texts\[0\] is number/,
  );
});
