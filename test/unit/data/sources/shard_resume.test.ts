import * as fs from 'node:fs';
import * as path from 'node:path';
import * as zlib from 'node:zlib';
import { type DataRecord, readRecords, type SourcePosition, shardFor } from '../../../../lib/data/sources';
import { collect, tempDir } from './helpers';

const dir = tempDir('shard');
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

/** `n` files of `per` records each, ids `f:r`; a blank line and a bad line sprinkled in file 0. */
function makeFiles(name: string, n: number, per: number): string {
  const sub = path.join(dir, name);
  fs.mkdirSync(sub);
  for (let f = 0; f < n; f++) {
    const lines: string[] = [];
    for (let r = 0; r < per; r++) lines.push(JSON.stringify({ id: `${f}:${r}` }));
    fs.writeFileSync(
      path.join(sub, `part-${String(f).padStart(3, '0')}.jsonl.gz`),
      zlib.gzipSync(`${lines.join('\n')}\n`),
    );
  }
  return sub;
}

const ids = (recs: DataRecord[]) => recs.map((r) => r.id as string);

// Sharding is done once, by shardFor (lib/data/sources/shard.ts) above the reader, as Task.records
// does: record i of the stream goes to rank i mod worldSize, whatever the number of files.
describe('sharding', () => {
  test('with many files, ranks read disjoint round-robin shares covering everything', async () => {
    const src = makeFiles('many', 7, 5);
    const all = ids(await collect(readRecords(src)));
    const parts: string[][] = [];
    for (let rank = 0; rank < 3; rank++) {
      parts.push(ids(await collect(shardFor(rank, 3).takeAsync(readRecords(src)))));
    }
    expect(parts[1]).toEqual(all.filter((_, i) => i % 3 === 1));
    expect(parts.flat().sort()).toEqual([...all].sort());
  });

  test('with fewer files than ranks, records are dealt round-robin', async () => {
    const src = makeFiles('few', 2, 5);
    const all = ids(await collect(readRecords(src)));
    const parts: string[][] = [];
    for (let rank = 0; rank < 4; rank++) {
      parts.push(ids(await collect(shardFor(rank, 4).takeAsync(readRecords(src)))));
    }
    expect(parts[0]).toEqual(['0:0', '0:4', '1:3']);
    expect(parts.flat().sort()).toEqual([...all].sort());
    expect(new Set(parts.flat()).size).toBe(all.length);
  });

  test('invalid shard specs are rejected', () => {
    expect(() => shardFor(2, 2)).toThrow(/rank must be an integer in 0\.\.1, got 2/);
    expect(() => shardFor(0, 0)).toThrow(/worldSize must be a positive integer/);
  });
});

describe('resuming', () => {
  test.each([
    ['many files', 6],
    ['two files', 2],
    ['single', 3],
  ])('a resumed source continues exactly (%s)', async (name, files) => {
    const src = makeFiles(`resume-${name.replace(' ', '-')}`, files, 7);
    const full = ids(await collect(readRecords(src)));
    for (const cut of [1, 6, 7, 8, Math.floor(full.length / 2), full.length - 1]) {
      const a = readRecords(src);
      const head = ids(await collect(a, cut));
      const saved: SourcePosition = JSON.parse(JSON.stringify(a.position()));
      const tail = ids(await collect(readRecords(src, { resumeFrom: saved })));
      expect([...head, ...tail]).toEqual(full);
    }
  });

  test('a position from a different file set is refused', async () => {
    const src = makeFiles('changed', 3, 2);
    const a = readRecords(src);
    await collect(a, 3);
    const pos = a.position();
    fs.rmSync(path.join(src, 'part-002.jsonl.gz'));
    expect(() => readRecords(src, { resumeFrom: pos })).toThrow(/data source changed/);
    expect(() => readRecords(src, { resumeFrom: { ...pos, recordIndex: -1 } as SourcePosition })).toThrow(
      /invalid saved data position/,
    );
  });

  test('a source iterates once', async () => {
    const src = readRecords(makeFiles('once', 1, 2));
    await collect(src);
    await expect(collect(src)).rejects.toThrow(/iterated only once/);
  });
});
