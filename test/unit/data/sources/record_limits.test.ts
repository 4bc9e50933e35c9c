// One record bounded in cost: a line or a row over the record limit is refused with a coded error
// naming the file and the line, before the reader holds it whole (a 30 MB line costs no more
// memory than the limit), in JSONL, gzip JSONL, CSV (also a runaway quoted field) and JSON arrays.
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as zlib from 'node:zlib';
import { readRecords } from '../../../../lib/data/sources';
import { maxRecordChars } from '../../../../lib/data/sources/lines';
import { Ext5Error } from '../../../../lib/util/errors';
import { cpuClock } from '../../../helpers/cpu_clock';
import { collect, tempDir } from './helpers';

const dir = tempDir('limits');
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));
afterEach(() => {
  delete process.env.EXT5_MAX_RECORD_CHARS;
});

async function errorOf(p: Promise<unknown>): Promise<Ext5Error> {
  try {
    await p;
  } catch (e) {
    expect(e).toBeInstanceOf(Ext5Error);
    return e as Ext5Error;
  }
  throw new Error('expected an error');
}

test('the default limit is 1 Mi characters; EXT5_MAX_RECORD_CHARS changes it and is checked', () => {
  expect(maxRecordChars()).toBe(1 << 20);
  process.env.EXT5_MAX_RECORD_CHARS = '100';
  expect(maxRecordChars()).toBe(100);
  process.env.EXT5_MAX_RECORD_CHARS = 'lots';
  expect(() => maxRecordChars()).toThrow(/EXT5_MAX_RECORD_CHARS must be a positive integer/);
});

test('a 30 MB JSONL line is refused quickly, naming the file and line, without holding it', async () => {
  const f = path.join(dir, 'big.jsonl');
  const big = `{"premise": "${'word '.repeat(6_000_000)}", "label": 0}`;
  fs.writeFileSync(f, `{"premise": "small", "label": 1}\n${big}\n{"premise": "after", "label": 2}\n`);
  const rss0 = process.memoryUsage().rss;
  const cpu = cpuClock();
  const e = await errorOf(collect(readRecords(f)));
  expect(cpu()).toBeLessThan(5000);
  expect(e.code).toBe('E_RECORD_TOO_LARGE');
  expect(e.message).toBe(`${f}, line 2: one record holds more than ${1 << 20} characters`);
  expect(e.hint).toMatch(/EXT5_MAX_RECORD_CHARS/);
  // Reading stopped near the limit: far less than the 30 MB line (as UTF-16, 60 MB) was held.
  expect(process.memoryUsage().rss - rss0).toBeLessThan(40 * 1024 * 1024);

  // The same in a gzip file, and with a lower limit for a 4 kB record.
  const gz = path.join(dir, 'big.jsonl.gz');
  fs.writeFileSync(gz, zlib.gzipSync(`${big}\n`));
  expect((await errorOf(collect(readRecords(gz)))).message).toMatch(/big\.jsonl\.gz, line 1: one record/);
  process.env.EXT5_MAX_RECORD_CHARS = '4000';
  const small = path.join(dir, 'four-k.jsonl');
  fs.writeFileSync(small, `{"a": 1}\n\n{"a": "${'x'.repeat(4000)}"}\n`);
  expect((await errorOf(collect(readRecords(small)))).message).toBe(
    `${small}, line 3: one record holds more than 4000 characters`,
  );
  // Records under the limit read as before.
  fs.writeFileSync(small, `{"a": 1}\n{"a": "${'x'.repeat(3000)}"}\n`);
  expect((await collect(readRecords(small))).length).toBe(2);
});

test('a CSV row (also one whose quote never closes) over the limit names the file and its first line', async () => {
  process.env.EXT5_MAX_RECORD_CHARS = '1000';
  const f = path.join(dir, 'rows.csv');
  fs.writeFileSync(f, `premise,label\nshort,0\n"${'y'.repeat(2000)}",1\n`);
  expect((await errorOf(collect(readRecords(f)))).message).toBe(
    `${f}, line 3: one record holds more than 1000 characters`,
  );
  const open = path.join(dir, 'open.csv');
  fs.writeFileSync(open, `premise,label\nok,0\n"never closed,1\n${'z,2\n'.repeat(1000)}`);
  const e = await errorOf(collect(readRecords(open)));
  expect(e.code).toBe('E_RECORD_TOO_LARGE');
  expect(e.message).toMatch(/open\.csv, line 3: /);
  // Many fields add up.
  const wide = path.join(dir, 'wide.tsv');
  fs.writeFileSync(
    wide,
    `${Array.from({ length: 600 }, (_, i) => `c${i}`).join('\t')}\n${'ab\t'.repeat(599)}ab\n`,
  );
  expect((await errorOf(collect(readRecords(wide)))).message).toMatch(/wide\.tsv, line 1: /);
});

test('an element of a JSON array file over the limit is named by its index', async () => {
  process.env.EXT5_MAX_RECORD_CHARS = '500';
  const f = path.join(dir, 'array.json');
  fs.writeFileSync(f, JSON.stringify([{ a: 1 }, { a: 'q'.repeat(600) }]));
  expect((await errorOf(collect(readRecords(f)))).message).toBe(
    `${f}, element 1: one record holds more than 500 characters`,
  );
});
