import * as fs from 'node:fs';
import * as path from 'node:path';
import * as zlib from 'node:zlib';
import { parseDelimited, readRecords } from '../../../../lib/data/sources';
import { collect, tempDir } from './helpers';

const dir = tempDir('csv');
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

function write(name: string, text: string | Buffer): string {
  const file = path.join(dir, name);
  fs.writeFileSync(file, text);
  return file;
}

async function* chunksOf(text: string, size: number): AsyncGenerator<string> {
  for (let i = 0; i < text.length; i += size) yield text.slice(i, i + size);
}

describe('RFC 4180 parser', () => {
  const text = 'a,b,c\r\n1,"two, with comma","say ""hi"""\r\n"multi\nline",,"x"\n\nlast,row,here';
  const expected = [
    { fields: ['a', 'b', 'c'], line: 1 },
    { fields: ['1', 'two, with comma', 'say "hi"'], line: 2 },
    { fields: ['multi\nline', '', 'x'], line: 3 },
    { fields: ['last', 'row', 'here'], line: 6 },
  ];
  test.each([1, 2, 3, 5, 7, 1000])('gives the same rows for chunk size %i', async (size) => {
    expect(await collect(parseDelimited(chunksOf(text, size), ',', true))).toEqual(expected);
  });

  test('flags text after a closing quote, stray quotes and an unterminated quote', async () => {
    const rows = await collect(parseDelimited(chunksOf('"a"x,b\nc"d,e\nok,1\n"open,f\ng,h\n', 4), ',', true));
    expect(rows[0]!.error).toMatch(/after a closing quote/);
    expect(rows[1]!.error).toMatch(/double quote inside an unquoted field/);
    expect(rows[2]).toEqual({ fields: ['ok', '1'], line: 3 });
    expect(rows[3]!.error).toMatch(/unterminated quoted field/);
    expect(rows.length).toBe(4);
  });

  test('with quoting off, quotes are plain text', async () => {
    const rows = await collect(parseDelimited(chunksOf('a\t"b\nc"\td\n', 3), '\t', false));
    expect(rows.map((r) => r.fields)).toEqual([
      ['a', '"b'],
      ['c"', 'd'],
    ]);
  });
});

describe('CSV and TSV files', () => {
  test('CSV with a header row becomes records keyed by the header (BOM stripped)', async () => {
    const file = write('a.csv', '\ufeffid,text\n1,"hello, world"\n2,"line1\nline2"\n');
    expect(await collect(readRecords(file))).toEqual([
      { id: '1', text: 'hello, world' },
      { id: '2', text: 'line1\nline2' },
    ]);
  });

  test('gzip TSV', async () => {
    const file = write(
      'a.tsv.gz',
      zlib.gzipSync('premise\thypothesis\tlabel\nA man.\tA person.\tentailment\n'),
    );
    expect(await collect(readRecords(file))).toEqual([
      { premise: 'A man.', hypothesis: 'A person.', label: 'entailment' },
    ]);
  });

  test('TSV with literal quotes when quoting is off', async () => {
    const file = write('q.tsv', 'sentence\tlabel\nhe said "no\t0\n');
    await expect(collect(readRecords(file))).rejects.toThrow(
      /q\.tsv, line 2: a double quote inside an unquoted field/,
    );
    expect(await collect(readRecords(file, { quoting: false }))).toEqual([
      { sentence: 'he said "no', label: '0' },
    ]);
  });

  test('a row with the wrong number of fields names its line; skipMalformed skips it', async () => {
    const file = write('short.csv', 'a,b\n1,2\n3\n"x\ny",4,5\n6,7\n');
    await expect(collect(readRecords(file))).rejects.toThrow(
      /short\.csv, line 3: has 1 field, the header has 2/,
    );
    const src = readRecords(file, { skipMalformed: true });
    expect(await collect(src)).toEqual([
      { a: '1', b: '2' },
      { a: '6', b: '7' },
    ]);
    expect(src.stats().malformed).toBe(2);
  });

  test('a broken header is a file error; explicit field names replace a header', async () => {
    const dup = write('dup.csv', 'a,a\n1,2\n');
    await expect(collect(readRecords(dup, { skipMalformed: true }))).rejects.toThrow(
      /dup\.csv: header row \(line 1\) names column 'a' twice/,
    );
    const noHeader = write('nohead.csv', '1,2\n3,4\n');
    expect(await collect(readRecords(noHeader, { header: ['x', 'y'] }))).toEqual([
      { x: '1', y: '2' },
      { x: '3', y: '4' },
    ]);
  });
});
