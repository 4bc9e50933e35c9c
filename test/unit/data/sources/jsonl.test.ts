import * as fs from 'node:fs';
import * as path from 'node:path';
import * as zlib from 'node:zlib';
import { type DataRecord, type MalformedInfo, readRecords } from '../../../../lib/data/sources';
import { Ext5Error } from '../../../../lib/util/errors';
import { collect, tempDir } from './helpers';

const dir = tempDir('jsonl');
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

function write(name: string, text: string, gzip = false): string {
  const file = path.join(dir, name);
  fs.writeFileSync(file, gzip ? zlib.gzipSync(text) : text);
  return file;
}

describe('JSONL reader', () => {
  test('reads objects line by line, ignores blank lines, handles CRLF and a missing final newline', async () => {
    const file = write('a.jsonl', '{"a":1}\r\n\n{"a":2,"s":"x\\ny"}\n   \n{"a":3}');
    expect(await collect(readRecords(file))).toEqual([{ a: 1 }, { a: 2, s: 'x\ny' }, { a: 3 }]);
  });

  test('reads gzip JSONL with multi-byte UTF-8 split across chunks', async () => {
    const lines: string[] = [];
    for (let i = 0; i < 5000; i++)
      lines.push(JSON.stringify({ i, text: `héllo wörld ✓ ${'ü'.repeat(i % 37)} 日本語` }));
    const file = write('big.jsonl.gz', `${lines.join('\n')}\n`, true);
    const recs = await collect(readRecords(file));
    expect(recs.length).toBe(5000);
    expect(recs[4321]).toEqual(JSON.parse(lines[4321]!));
  });

  test('a malformed line throws an error naming the file and the line', async () => {
    const file = write('bad.jsonl', '{"a":1}\n{"a":\n{"a":3}\n');
    await expect(collect(readRecords(file))).rejects.toThrow(/bad\.jsonl, line 2: invalid JSON/);
    const err = await collect(readRecords(file)).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(Ext5Error);
    expect((err as Ext5Error).code).toBe('E_MALFORMED_RECORD');
    expect((err as Ext5Error).hint).toMatch(/skipMalformed/);
  });

  test('non-object JSON is malformed', async () => {
    const file = write('arr.jsonl', '{"a":1}\n[1,2]\n');
    await expect(collect(readRecords(file))).rejects.toThrow(
      /line 2: expected a JSON object, found an array/,
    );
  });

  test('skipMalformed skips, counts and reports bad records', async () => {
    const file = write('mixed.jsonl', '{"a":1}\nnot json\n"str"\n{"a":4}\n');
    const seen: MalformedInfo[] = [];
    const src = readRecords(file, { skipMalformed: true, onMalformed: (m) => seen.push(m) });
    expect(await collect(src)).toEqual([{ a: 1 }, { a: 4 }]);
    expect(src.stats()).toEqual({ records: 2, malformed: 2, filesOpened: 1 });
    expect(seen.map((m) => m.where)).toEqual(['line 2', 'line 3']);
  });

  test('a corrupt gzip file gives a clear error naming the file', async () => {
    const good = zlib.gzipSync('{"a":1}\n'.repeat(1000));
    const bad = Buffer.concat([good.subarray(0, 20), Buffer.alloc(50, 7), good.subarray(70)]);
    const file = path.join(dir, 'corrupt.jsonl.gz');
    fs.writeFileSync(file, bad);
    await expect(collect(readRecords(file))).rejects.toThrow(/corrupt\.jsonl\.gz: not a valid gzip stream/);
    const truncated = path.join(dir, 'trunc.jsonl.gz');
    fs.writeFileSync(truncated, good.subarray(0, good.length - 30));
    await expect(collect(readRecords(truncated))).rejects.toThrow(Ext5Error);
  });

  test('a missing path and an empty directory give helpful errors', async () => {
    expect(() => readRecords(path.join(dir, 'nope.jsonl'))).toThrow(/data source not found/);
    const empty = path.join(dir, 'empty');
    fs.mkdirSync(empty);
    expect(() => readRecords(empty)).toThrow(/no data files/);
    const odd = write('data.bin', 'x');
    expect(() => readRecords(odd)).toThrow(/cannot tell the format/);
  });

  test('a .json file holding a JSON array is read as a list of records', async () => {
    const file = write('arr.json', ' [{"a":1},{"a":2},3]');
    await expect(collect(readRecords(file))).rejects.toThrow(
      /arr\.json, element 2: expected a JSON object, found a number/,
    );
    const src = readRecords(file, { skipMalformed: true });
    expect(await collect(src)).toEqual([{ a: 1 }, { a: 2 }]);
    const broken = write('broken.json', '[{"a":1},');
    await expect(collect(readRecords(broken))).rejects.toThrow(/broken\.json: not valid JSON/);
    const a = readRecords(file);
    await collect(a, 1);
    expect(await collect(readRecords(file, { resumeFrom: a.position(), skipMalformed: true }))).toEqual([
      { a: 2 },
    ]);
  });

  test('a directory and a pattern read their files in sorted order', async () => {
    const sub = path.join(dir, 'multi');
    fs.mkdirSync(sub);
    for (let f = 2; f >= 0; f--) {
      fs.writeFileSync(
        path.join(sub, `part-${f}.jsonl.gz`),
        zlib.gzipSync(`{"f":${f},"r":0}\n{"f":${f},"r":1}\n`),
      );
    }
    fs.writeFileSync(path.join(sub, 'README.txt'), 'not data');
    const all = (await collect(readRecords(sub))) as DataRecord[];
    expect(all.map((r) => `${r.f}${r.r}`)).toEqual(['00', '01', '10', '11', '20', '21']);
    const some = await collect(readRecords(path.join(sub, 'part-?.jsonl.gz')));
    expect(some.length).toBe(6);
    expect((await collect(readRecords(path.join(sub, 'part-1*')))).length).toBe(2);
  });
});
