import * as fs from 'node:fs';
import * as path from 'node:path';
import * as zlib from 'node:zlib';
import { type DataRecord, readRecords, type SourcePosition } from '../../../../lib/data/sources';
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

describe('sharding', () => {
  test('with enough files, ranks read disjoint whole files covering everything', async () => {
    const src = makeFiles('many', 7, 5);
    const all = ids(await collect(readRecords(src)));
    const parts: string[][] = [];
    for (let rank = 0; rank < 3; rank++) {
      const s = readRecords(src, { shard: { rank, worldSize: 3 } });
      expect(s.shardMode).toBe('files');
      parts.push(ids(await collect(s)));
    }
    expect(parts[1]).toEqual([1, 4].flatMap((f) => [0, 1, 2, 3, 4].map((r) => `${f}:${r}`)));
    expect(parts.flat().sort()).toEqual([...all].sort());
  });

  test('with fewer files than ranks, records are dealt round-robin', async () => {
    const src = makeFiles('few', 2, 5);
    const all = ids(await collect(readRecords(src)));
    const parts: string[][] = [];
    for (let rank = 0; rank < 4; rank++) {
      const s = readRecords(src, { shard: { rank, worldSize: 4 } });
      expect(s.shardMode).toBe('records');
      parts.push(ids(await collect(s)));
    }
    expect(parts[0]).toEqual(['0:0', '0:4', '1:3']);
    expect(parts.flat().sort()).toEqual([...all].sort());
    expect(new Set(parts.flat()).size).toBe(all.length);
  });

  test('invalid shard specs are rejected', () => {
    const src = makeFiles('bad', 1, 1);
    expect(() => readRecords(src, { shard: { rank: 2, worldSize: 2 } })).toThrow(
      /invalid shard rank 2 of world size 2/,
    );
    expect(() => readRecords(src, { shard: { rank: 0, worldSize: 0 } })).toThrow(/invalid shard/);
  });
});

describe('resuming', () => {
  test.each([
    ['files', 6, 3],
    ['records', 2, 3],
    ['single', 3, 1],
  ])('a resumed source continues exactly (%s mode)', async (name, files, world) => {
    const src = makeFiles(`resume-${name}`, files, 7);
    for (let rank = 0; rank < world; rank++) {
      const shard = { rank, worldSize: world };
      const full = ids(await collect(readRecords(src, { shard })));
      for (const cut of [1, 6, 7, 8, Math.floor(full.length / 2), full.length - 1]) {
        const a = readRecords(src, { shard });
        const head = ids(await collect(a, cut));
        const saved: SourcePosition = JSON.parse(JSON.stringify(a.position()));
        const tail = ids(await collect(readRecords(src, { shard, resumeFrom: saved })));
        expect([...head, ...tail]).toEqual(full);
      }
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
    const sharded = makeFiles('shard-pos', 1, 6);
    const r0 = readRecords(sharded, { shard: { rank: 0, worldSize: 2 } });
    await collect(r0, 1);
    expect(() =>
      readRecords(sharded, { shard: { rank: 1, worldSize: 2 }, resumeFrom: r0.position() }),
    ).toThrow(/saved by shard 0\/2, not 1\/2/);
  });

  test('a source iterates once', async () => {
    const src = readRecords(makeFiles('once', 1, 2));
    await collect(src);
    await expect(collect(src)).rejects.toThrow(/iterated only once/);
  });
});
