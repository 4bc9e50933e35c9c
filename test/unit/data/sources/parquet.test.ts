import * as fs from 'node:fs';
import * as path from 'node:path';
import { FileHandleBuffer, parquetFileMetadata, readRecords } from '../../../../lib/data/sources';
import { collect, tempDir } from './helpers';
import { type ColumnSpec, writeParquet } from './parquet_writer';

const dir = tempDir('parquet');
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

const columns: ColumnSpec[] = [
  { name: 'id', type: 'int64' },
  { name: 'text', type: 'string' },
  { name: 'score', type: 'double' },
  { name: 'flag', type: 'boolean' },
  { name: 'label', type: 'int32', optional: true },
];
const rows = Array.from({ length: 25 }, (_, i) => ({
  id: i,
  text: `row ${i} — ünïcode ${'x'.repeat(i)}`,
  score: i / 4,
  flag: i % 3 === 0,
  label: i % 5 === 0 ? null : i % 2,
}));

function write(name: string, buf: Buffer): string {
  const file = path.join(dir, name);
  fs.writeFileSync(file, buf);
  return file;
}

describe('Parquet reader', () => {
  test.each(['UNCOMPRESSED', 'GZIP', 'SNAPPY'] as const)(
    'reads a %s file with several row groups',
    async (codec) => {
      const file = write(`t-${codec}.parquet`, writeParquet(columns, rows, { rowGroupSize: 7, codec }));
      const meta = await parquetFileMetadata(file);
      expect(meta.row_groups.length).toBe(4);
      const got = await collect(readRecords(file));
      expect(got).toEqual(rows);
      expect(typeof got[3]!.id).toBe('number');
    },
  );

  test('reads only the requested columns', async () => {
    const file = write('cols.parquet', writeParquet(columns, rows, { rowGroupSize: 10 }));
    const got = await collect(readRecords(file, { columns: ['text'] }));
    expect(got[2]).toEqual({ text: rows[2]!.text });
  });

  test('resuming in the middle skips row groups and continues exactly', async () => {
    const file = write('resume.parquet', writeParquet(columns, rows, { rowGroupSize: 6 }));
    const first = readRecords(file);
    const head = await collect(first, 14);
    const pos = first.position();
    expect(pos).toMatchObject({ fileIndex: 0, recordIndex: 14 });
    const rest = await collect(readRecords(file, { resumeFrom: JSON.parse(JSON.stringify(pos)) }));
    expect([...head, ...rest]).toEqual(rows);
  });

  test('row groups are read lazily: rows before a damaged row group arrive, then a named error', async () => {
    const buf = writeParquet(columns, rows, { rowGroupSize: 5 });
    const file = write('lazy.parquet', buf);
    const meta = await parquetFileMetadata(file);
    // Overwrite the first page header of row group 3 (rows 15..19) with garbage.
    const off = Number(meta.row_groups[3]!.columns[0]!.meta_data!.data_page_offset);
    const damaged = Buffer.from(buf);
    damaged.fill(0xff, off, off + 12);
    const bad = write('lazy-bad.parquet', damaged);
    const got: unknown[] = [];
    const err = await (async () => {
      try {
        for await (const r of readRecords(bad)) got.push(r);
      } catch (e) {
        return e as Error;
      }
    })();
    expect(got).toEqual(rows.slice(0, 15));
    expect(err?.message).toMatch(/lazy-bad\.parquet: cannot decode rows 15\.\.19/);
  });

  test('reads byte ranges through a file handle', async () => {
    const file = write('bytes.parquet', writeParquet(columns, rows));
    const buf = await FileHandleBuffer.open(file);
    try {
      expect(buf.byteLength).toBe(fs.statSync(file).size);
      expect(Buffer.from(await buf.slice(0, 4)).toString()).toBe('PAR1');
      expect(Buffer.from(await buf.slice(buf.byteLength - 4)).toString()).toBe('PAR1');
    } finally {
      await buf.close();
    }
  });

  test('a corrupt or truncated file gives an error naming the file', async () => {
    const good = writeParquet(columns, rows);
    const truncated = write('trunc.parquet', good.subarray(0, good.length - 10));
    await expect(collect(readRecords(truncated))).rejects.toThrow(
      /trunc\.parquet: not a readable Parquet file/,
    );
    const garbage = write('garbage.parquet', Buffer.from('this is not parquet at all'));
    await expect(collect(readRecords(garbage))).rejects.toThrow(/garbage\.parquet/);
  });
});
