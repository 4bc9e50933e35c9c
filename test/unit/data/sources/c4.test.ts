import * as fs from 'node:fs';
import * as path from 'node:path';
import * as zlib from 'node:zlib';
import { c4Files, readC4 } from '../../../../lib/data/sources';
import { collect, tempDir } from './helpers';

const dir = tempDir('c4');
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

const en = path.join(dir, 'c4', 'en');
fs.mkdirSync(en, { recursive: true });
function shard(split: string, i: number, of: number, docs: object[]): void {
  const name = `c4-${split}.${String(i).padStart(5, '0')}-of-${String(of).padStart(5, '0')}.json.gz`;
  fs.writeFileSync(path.join(en, name), zlib.gzipSync(docs.map((d) => JSON.stringify(d)).join('\n')));
}
const doc = (t: string) => ({ text: t, timestamp: '2019-04-25T12:57:54Z', url: `https://example.com/${t}` });
shard('train', 0, 4, [doc('a'), doc('b')]);
shard('train', 2, 4, [doc('c')]);
shard('validation', 0, 1, [doc('v')]);

describe('C4 reader', () => {
  test('lists one split in order and reports missing shards of a partial download', () => {
    const info = c4Files(en, 'train');
    expect(info.files.map((f) => path.basename(f))).toEqual([
      'c4-train.00000-of-00004.json.gz',
      'c4-train.00002-of-00004.json.gz',
    ]);
    expect(info.expected).toBe(4);
    expect(info.missing).toEqual([1, 3]);
  });

  test('reads documents with text, timestamp and url', async () => {
    const docs = await collect(readC4(en));
    expect(docs.map((d) => d.text)).toEqual(['a', 'b', 'c']);
    expect(docs[0]).toEqual(doc('a'));
    expect((await collect(readC4(en, { split: 'validation' }))).map((d) => d.text)).toEqual(['v']);
  });

  test('errors: no such split, not a directory, a record without text', async () => {
    expect(() => readC4(en, { split: 'test' })).toThrow(/no C4 files for split 'test'/);
    expect(() => readC4(path.join(dir, 'nope'))).toThrow(/C4 directory not found/);
    shard('bad', 0, 1, [doc('x'), { title: 'no text' }]);
    await expect(collect(readC4(en, { split: 'bad' }))).rejects.toThrow(/needs a string 'text' field/);
  });
});
