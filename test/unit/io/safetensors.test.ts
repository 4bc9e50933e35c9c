// The safetensors reader and writer (lib/io/safetensors.ts), on files assembled byte by byte
// here, independently of the writer.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import {
  MAX_HEADER_BYTES,
  planSafetensors,
  type SafetensorsEntry,
  SafetensorsReader,
  writeSafetensors,
} from '../../../lib/io/safetensors';

let dir: string;
beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ext5-st-'));
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

let counter = 0;
/** Writes [u64 LE length][header][data] to a fresh file; `length` overrides the prefix. */
function rawFile(header: unknown, data: Uint8Array = new Uint8Array(0), length?: bigint): string {
  const text =
    header instanceof Uint8Array
      ? Buffer.from(header)
      : Buffer.from(typeof header === 'string' ? header : JSON.stringify(header), 'utf8');
  const prefix = Buffer.alloc(8);
  prefix.writeBigUInt64LE(length ?? BigInt(text.length));
  const file = path.join(dir, `f${counter++}.safetensors`);
  fs.writeFileSync(file, Buffer.concat([prefix, text, data]));
  return file;
}

function f32(...values: number[]): Uint8Array {
  return new Uint8Array(new Float32Array(values).buffer);
}

function errorOf(fn: () => unknown): { code: string; message: string } {
  try {
    fn();
  } catch (e) {
    return e as { code: string; message: string };
  }
  throw new Error('expected an error');
}

describe('SafetensorsReader', () => {
  test('reads a hand-assembled file lazily: header, metadata, each tensor on demand', () => {
    const data = new Uint8Array([...f32(1, 2, 3, 4, 5, 6), 7, 8]);
    const file = rawFile(
      {
        __metadata__: { format: 'pt' },
        'w.weight': { dtype: 'F32', shape: [2, 3], data_offsets: [0, 24] },
        b: { dtype: 'U8', shape: [2], data_offsets: [24, 26] },
      },
      data,
    );
    using r = SafetensorsReader.open(file);
    expect(r.metadata).toEqual({ format: 'pt' });
    expect(r.names()).toEqual(['w.weight', 'b']);
    expect(r.info('w.weight')).toMatchObject({
      dtype: 'F32',
      shape: [2, 3],
      dataOffsets: [0, 24],
      byteLength: 24,
    });
    const w = r.read('w.weight');
    expect(w.byteOffset % 8).toBe(0);
    expect(Array.from(new Float32Array(w.buffer, w.byteOffset, 6))).toEqual([1, 2, 3, 4, 5, 6]);
    expect(Array.from(r.read('b'))).toEqual([7, 8]);
    expect(errorOf(() => r.info('w.weights'))).toMatchObject({
      code: 'EXT5_SAFETENSORS_KEY',
      message: expect.stringMatching(/no tensor 'w.weights' \(did you mean 'w.weight'\?\)/),
    });
    r.close();
    expect(() => r.read('b')).toThrow(/closed/);
  });

  test('header padding with spaces, zero-size tensors and scalars', () => {
    const header = JSON.stringify({
      s: { dtype: 'I64', shape: [], data_offsets: [0, 8] },
      e: { dtype: 'F32', shape: [0, 4], data_offsets: [8, 8] },
    });
    const padded = header + ' '.repeat((8 - (header.length % 8)) % 8);
    const file = rawFile(padded, new Uint8Array(new BigInt64Array([-5n]).buffer));
    using r = SafetensorsReader.open(file);
    expect(new BigInt64Array(r.read('s').buffer)[0]).toBe(-5n);
    expect(r.read('e').length).toBe(0);
  });

  const bad: Array<[string, () => string, RegExp]> = [
    ['fewer than 8 bytes', () => tinyFile(), /fewer than the 8-byte header length/],
    [
      'a huge header length',
      () => rawFile('{}', undefined, BigInt(MAX_HEADER_BYTES + 1)),
      /larger than 100000000 bytes/,
    ],
    [
      'a header length past the end of the file',
      () => rawFile('{}', undefined, 1000n),
      /past the end of the file.*truncated/,
    ],
    ['invalid UTF-8', () => rawFile(new Uint8Array([0x7b, 0xff, 0x7d])), /the header is not valid UTF-8/],
    ['invalid JSON', () => rawFile('{"a": '), /not valid JSON/],
    ['not an object', () => rawFile('[1, 2]'), /does not start with '\{'/],
    [
      'an unknown dtype',
      () => rawFile({ x: { dtype: 'F33', shape: [1], data_offsets: [0, 4] } }, f32(1)),
      /tensor 'x': unknown dtype "F33" \(did you mean 'F32'\?\)/,
    ],
    [
      'a negative dim',
      () => rawFile({ x: { dtype: 'F32', shape: [-1], data_offsets: [0, 4] } }, f32(1)),
      /tensor 'x': shape must be an array of non-negative integers/,
    ],
    [
      'a fractional dim',
      () => rawFile({ x: { dtype: 'F32', shape: [1.5], data_offsets: [0, 4] } }, f32(1)),
      /tensor 'x': shape must be/,
    ],
    [
      'begin after end',
      () => rawFile({ x: { dtype: 'F32', shape: [0], data_offsets: [4, 0] } }, f32(1)),
      /tensor 'x': data_offsets begin 4 is after end 0/,
    ],
    [
      'a size that does not match dtype x shape',
      () => rawFile({ x: { dtype: 'F32', shape: [2], data_offsets: [0, 4] } }, f32(1)),
      /tensor 'x': F32 \[2\] needs 8 bytes but data_offsets \[0, 4\] span 4/,
    ],
    [
      'offsets past the end of the data (truncated file)',
      () => rawFile({ x: { dtype: 'F32', shape: [2], data_offsets: [0, 8] } }, f32(1)),
      /tensor 'x': data_offsets end 8 is past the end of the data \(4 bytes\); the file is truncated/,
    ],
    [
      'a gap between tensors',
      () =>
        rawFile(
          {
            a: { dtype: 'F32', shape: [1], data_offsets: [0, 4] },
            b: { dtype: 'F32', shape: [1], data_offsets: [8, 12] },
          },
          f32(1, 2, 3),
        ),
      /tensor 'b' begins at 8 but the previous data ends at 4: the buffer has a gap/,
    ],
    [
      'overlapping tensors',
      () =>
        rawFile(
          {
            a: { dtype: 'F32', shape: [2], data_offsets: [0, 8] },
            b: { dtype: 'F32', shape: [1], data_offsets: [4, 8] },
          },
          f32(1, 2),
        ),
      /tensor 'b' overlaps tensor 'a'/,
    ],
    [
      'bytes after the last tensor',
      () => rawFile({ a: { dtype: 'F32', shape: [1], data_offsets: [0, 4] } }, f32(1, 2)),
      /4 bytes after the last tensor are not described/,
    ],
    [
      'non-string metadata',
      () => rawFile({ __metadata__: { step: 3 } }),
      /__metadata__.step must be a string/,
    ],
    ['an entry that is not an object', () => rawFile({ x: 5 }), /tensor 'x': entry is not an object/],
    [
      'data_offsets of the wrong form',
      () => rawFile({ x: { dtype: 'F32', shape: [1], data_offsets: [0] } }, f32(1)),
      /tensor 'x': data_offsets must be \[begin, end\]/,
    ],
  ];
  function tinyFile(): string {
    const file = path.join(dir, `tiny${counter++}.safetensors`);
    fs.writeFileSync(file, Buffer.from([1, 2, 3]));
    return file;
  }
  test.each(bad)('rejects %s with an error naming the file', (_name, make, message) => {
    const file = make();
    const err = errorOf(() => SafetensorsReader.open(file));
    expect(err.code).toBe('EXT5_SAFETENSORS');
    expect(err.message).toMatch(message);
    expect(err.message.startsWith(file)).toBe(true);
  });

  test('readAsync reads the same bytes on the thread pool; close waits for reads in flight', async () => {
    const data = new Uint8Array([...f32(1, 2, 3, 4, 5, 6), 7, 8]);
    const file = rawFile(
      {
        'w.weight': { dtype: 'F32', shape: [2, 3], data_offsets: [0, 24] },
        b: { dtype: 'U8', shape: [2], data_offsets: [24, 26] },
      },
      data,
    );
    const r = SafetensorsReader.open(file);
    const w = await r.readAsync('w.weight');
    expect(w.byteOffset % 8).toBe(0);
    expect(Array.from(w)).toEqual(Array.from(r.read('w.weight')));
    // close() while a read is in flight: the read completes on the still-open descriptor,
    // later reads are refused.
    const inFlight = r.readAsync('b');
    r.close();
    expect(Array.from(await inFlight)).toEqual([7, 8]);
    await expect(r.readAsync('b')).rejects.toMatchObject({ code: 'EXT5_CLOSED' });
    expect(() => r.read('b')).toThrow(/closed/);
    using again = SafetensorsReader.open(file);
    await expect(again.readAsync('nope')).rejects.toMatchObject({ code: 'EXT5_SAFETENSORS_KEY' });
  });

  test('a file truncated after its header was read: readAsync rejects naming the byte', async () => {
    const file = rawFile({ x: { dtype: 'F32', shape: [4], data_offsets: [0, 16] } }, f32(1, 2, 3, 4));
    using r = SafetensorsReader.open(file);
    fs.truncateSync(file, fs.statSync(file).size - 8);
    const err = await r.readAsync('x').catch((e) => e);
    expect(err).toMatchObject({
      code: 'EXT5_SAFETENSORS',
      message: expect.stringMatching(/unexpected end of file at byte \d+/),
    });
    expect(() => r.read('x')).toThrow(/unexpected end of file/);
  });

  test('a missing file is EXT5_NOT_FOUND', () => {
    expect(errorOf(() => SafetensorsReader.open(path.join(dir, 'nope.safetensors'))).code).toBe(
      'EXT5_NOT_FOUND',
    );
  });
});

describe('writeSafetensors', () => {
  test('lays out the file as the reference writer does', () => {
    // Sorted by dtype (I64 > F32 > U8 in the reference's enum order) then name; __metadata__
    // first; compact JSON padded with spaces to a multiple of 8.
    const entries: SafetensorsEntry[] = [
      { name: 'u', dtype: 'U8', shape: [3], data: new Uint8Array([1, 2, 3]) },
      { name: 'b', dtype: 'F32', shape: [1], data: f32(0.5) },
      { name: 'a', dtype: 'F32', shape: [1], data: f32(-1) },
      { name: 'i', dtype: 'I64', shape: [], data: new Uint8Array(new BigInt64Array([7n]).buffer) },
    ];
    const file = path.join(dir, 'w.safetensors');
    const { bytes } = writeSafetensors(file, entries, { format: 'pt' });
    const raw = fs.readFileSync(file);
    expect(raw.length).toBe(bytes);
    const n = Number(raw.readBigUInt64LE(0));
    expect(n % 8).toBe(0);
    const json =
      '{"__metadata__":{"format":"pt"},"i":{"dtype":"I64","shape":[],"data_offsets":[0,8]},' +
      '"a":{"dtype":"F32","shape":[1],"data_offsets":[8,12]},"b":{"dtype":"F32","shape":[1],"data_offsets":[12,16]},' +
      '"u":{"dtype":"U8","shape":[3],"data_offsets":[16,19]}}';
    expect(raw.subarray(8, 8 + n).toString('utf8')).toBe(json + ' '.repeat(n - json.length));
    expect(raw.length).toBe(8 + n + 19);
    expect(raw.readBigInt64LE(8 + n)).toBe(7n);
    expect(raw.readFloatLE(8 + n + 8)).toBe(-1);
    expect(raw.readFloatLE(8 + n + 12)).toBe(0.5);
    expect(Array.from(raw.subarray(8 + n + 16))).toEqual([1, 2, 3]);
  });

  test('round-trips every dtype, produced lazily one tensor at a time', () => {
    const dtypes = ['F64', 'F32', 'F16', 'BF16', 'I64', 'I32', 'I16', 'I8', 'U8', 'BOOL'] as const;
    const sizes = { F64: 8, F32: 4, F16: 2, BF16: 2, I64: 8, I32: 4, I16: 2, I8: 1, U8: 1, BOOL: 1 };
    const produced: string[] = [];
    const entries: SafetensorsEntry[] = dtypes.map((dtype, k) => ({
      name: `t.${dtype}`,
      dtype,
      shape: [2, 3],
      data: () => {
        produced.push(dtype);
        return new Uint8Array(6 * sizes[dtype]).map((_, i) => (i * 7 + k) & (dtype === 'BOOL' ? 1 : 0xff));
      },
    }));
    const file = path.join(dir, 'all.safetensors');
    writeSafetensors(file, entries);
    expect(produced.length).toBe(dtypes.length);
    using r = SafetensorsReader.open(file);
    for (const [k, dtype] of dtypes.entries()) {
      expect(r.info(`t.${dtype}`)).toMatchObject({ dtype, shape: [2, 3] });
      expect(Array.from(r.read(`t.${dtype}`))).toEqual(
        Array.from(
          new Uint8Array(6 * sizes[dtype]).map((_, i) => (i * 7 + k) & (dtype === 'BOOL' ? 1 : 0xff)),
        ),
      );
      // Every tensor starts at a multiple of its element size.
      expect(r.info(`t.${dtype}`).fileOffset % sizes[dtype]).toBe(0);
    }
    expect(r.metadata).toEqual({});
  });

  test('a full disk becomes EXT5_DISK_FULL naming the file', () => {
    const file = path.join(dir, 'full.safetensors');
    let budget = 100;
    const write = (fd: number, data: Uint8Array, position: number) => {
      if (budget <= 0)
        throw Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC' });
      const n = Math.min(budget, data.length);
      budget -= n;
      return fs.writeSync(fd, data, 0, n, position);
    };
    const err = errorOf(() =>
      writeSafetensors(
        file,
        [{ name: 'w', dtype: 'F32', shape: [64], data: new Uint8Array(256) }],
        {},
        { write },
      ),
    );
    expect(err.code).toBe('EXT5_DISK_FULL');
    expect(err.message).toContain(file);
  });

  test('rejects duplicate names, wrong byte counts and bad metadata', () => {
    const e = (name: string): SafetensorsEntry => ({ name, dtype: 'F32', shape: [1], data: f32(1) });
    expect(() => planSafetensors([e('a'), e('a')])).toThrow(/'a' is listed twice/);
    expect(() => planSafetensors([e('__metadata__')])).toThrow(/cannot be named '__metadata__'/);
    expect(() => planSafetensors([e('a')], { n: 1 as never })).toThrow(/metadata 'n' must be a string/);
    expect(() =>
      writeSafetensors(path.join(dir, 'short.safetensors'), [
        { name: 'a', dtype: 'F32', shape: [2], data: f32(1) },
      ]),
    ).toThrow(/needs 8 bytes but got 4/);
  });
});
