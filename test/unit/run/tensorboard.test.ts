import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import {
  crc32c,
  decodeEvent,
  encodeEvent,
  frameRecord,
  maskedCrc32c,
  readEvents,
  TensorBoardWriter,
} from '../../../lib/run/tensorboard';

const PY = '/usr/bin/python3';
const READER = path.resolve(__dirname, '../../reference/read_tfevents.py');

let dir: string;
beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ext5-tb-'));
});
afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

describe('CRC32C', () => {
  test('test vectors (RFC 3720 B.4 and the common check value)', () => {
    expect(crc32c(Buffer.from('123456789'))).toBe(0xe3069283);
    expect(crc32c(Buffer.alloc(0))).toBe(0);
    expect(crc32c(Buffer.alloc(32, 0))).toBe(0x8a9136aa);
    expect(crc32c(Buffer.alloc(32, 0xff))).toBe(0x62a8ab43);
    expect(crc32c(Uint8Array.from({ length: 32 }, (_, i) => i))).toBe(0x46dd794e);
    expect(crc32c(Uint8Array.from({ length: 32 }, (_, i) => 31 - i))).toBe(0x113fdb5c);
  });

  test('masked CRC: rotate right 15, add 0xa282ead8, modulo 2^32', () => {
    const crc = 0xe3069283;
    const expected = (((crc >>> 15) | (crc << 17)) + 0xa282ead8) % 2 ** 32;
    expect(maskedCrc32c(Buffer.from('123456789'))).toBe(expected >>> 0);
  });
});

describe('protobuf and framing', () => {
  test('Event bytes match a hand-assembled encoding', () => {
    const bytes = encodeEvent({ wallTime: 1.5, step: 300, scalars: [{ tag: 'a', value: 0.5 }] });
    const expected = Buffer.concat([
      Buffer.from([0x09]), // field 1, fixed64
      Buffer.from(new Float64Array([1.5]).buffer),
      Buffer.from([0x10, 0xac, 0x02]), // field 2 varint 300
      Buffer.from([0x2a, 0x0a]), // field 5, 10 bytes: Summary
      Buffer.from([0x0a, 0x08]), // Summary.value, 8 bytes: Value
      Buffer.from([0x0a, 0x01, 0x61]), // tag "a"
      Buffer.from([0x15]), // simple_value, fixed32
      Buffer.from(new Float32Array([0.5]).buffer),
    ]);
    expect(bytes.equals(expected)).toBe(true);
    expect(decodeEvent(bytes)).toEqual({ wallTime: 1.5, step: 300, scalars: [{ tag: 'a', value: 0.5 }] });
  });

  test('file_version event and large / negative steps', () => {
    const v = encodeEvent({ wallTime: 2, step: 0, fileVersion: 'brain.Event:2', scalars: [] });
    expect(decodeEvent(v)).toEqual({ wallTime: 2, step: 0, fileVersion: 'brain.Event:2', scalars: [] });
    for (const step of [1, 127, 128, 2 ** 40 + 3, -5]) {
      expect(decodeEvent(encodeEvent({ wallTime: 0, step, scalars: [] })).step).toBe(step);
    }
  });

  test('record framing: 8-byte length, masked CRCs', () => {
    const data = Buffer.from('hello');
    const rec = frameRecord(data);
    expect(rec.length).toBe(8 + 4 + 5 + 4);
    expect(rec.readBigUInt64LE(0)).toBe(5n);
    expect(rec.readUInt32LE(8)).toBe(maskedCrc32c(rec.subarray(0, 8)));
    expect(rec.subarray(12, 17).toString()).toBe('hello');
    expect(rec.readUInt32LE(17)).toBe(maskedCrc32c(data));
  });
});

describe('TensorBoardWriter', () => {
  function writeSample(): string {
    const tb = new TensorBoardWriter(dir, { now: () => 1764120000.25, hostname: 'box' });
    tb.addScalar('train/loss', 2.5, 10);
    tb.addScalars(20, 'validation', { loss: 2.25, 'super_glue_cb/accuracy': 0.75 }, 1764120010);
    tb.close();
    return tb.file;
  }

  test('file name and round trip through the TS reader', () => {
    const file = writeSample();
    expect(path.basename(file)).toBe('events.out.tfevents.1764120000.box');
    expect(readEvents(file)).toEqual([
      { wallTime: 1764120000.25, step: 0, fileVersion: 'brain.Event:2', scalars: [] },
      { wallTime: 1764120000.25, step: 10, scalars: [{ tag: 'train/loss', value: 2.5 }] },
      {
        wallTime: 1764120010,
        step: 20,
        scalars: [
          { tag: 'validation/loss', value: 2.25 },
          { tag: 'validation/super_glue_cb/accuracy', value: 0.75 },
        ],
      },
    ]);
  });

  test('a second writer in the same second gets its own file', () => {
    const a = writeSample();
    const b = writeSample();
    expect(b).toBe(`${a}.1`);
  });

  test('corruption is detected and named', () => {
    const file = writeSample();
    const buf = fs.readFileSync(file);
    buf[buf.length - 6] = buf[buf.length - 6]! ^ 0xff; // inside the last record's data
    fs.writeFileSync(file, buf);
    expect(() => readEvents(file)).toThrow(/record 2 \(byte \d+\): data CRC mismatch/);
    fs.writeFileSync(file, buf.subarray(0, buf.length - 3));
    expect(() => readEvents(file)).toThrow(/record 2 .*truncated data/);
  });

  test('bad input', () => {
    const tb = new TensorBoardWriter(dir, { now: () => 1, hostname: 'h' });
    expect(() => tb.addScalar('x', 1, -1)).toThrow(/step must be an integer >= 0/);
    expect(() => tb.addScalar('x', 'a' as unknown as number, 1)).toThrow(/must be a number/);
    tb.close();
    expect(() => tb.addScalar('x', 1, 1)).toThrow(/closed/);
    const blocker = path.join(dir, 'file');
    fs.writeFileSync(blocker, '');
    expect(() => new TensorBoardWriter(path.join(blocker, 'sub'))).toThrow(
      /cannot create a TensorBoard event file/,
    );
  });

  const havePython = fs.existsSync(PY);
  (havePython ? test : test.skip)('an independent Python reader (stdlib only) reads the scalars back', () => {
    const tb = new TensorBoardWriter(dir, { now: () => 1764120000, hostname: 'box' });
    const expected: { step: number; loss: number }[] = [];
    for (let step = 1; step <= 50; step++) {
      const loss = 7 * Math.exp(-step / 20) + 0.001 * step;
      expected.push({ step, loss });
      tb.addScalars(step, 'train', { loss, lr: 1 / Math.sqrt(Math.max(step, 1e4)) }, 1764120000 + step / 4);
    }
    tb.addScalar('big/step', -3.25, 2 ** 40);
    tb.close();
    const r = spawnSync(PY, [READER, tb.file], { encoding: 'utf8' });
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    const events = r.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(events).toHaveLength(52);
    expect(events[0]).toEqual({ wall_time: 1764120000, step: 0, file_version: 'brain.Event:2', scalars: {} });
    for (let i = 0; i < 50; i++) {
      const e = events[i + 1];
      expect(e.step).toBe(expected[i]!.step);
      expect(e.wall_time).toBe(1764120000 + (i + 1) / 4);
      expect(e.scalars['train/loss']).toBe(Math.fround(expected[i]!.loss));
      expect(e.scalars['train/lr']).toBe(Math.fround(0.01));
    }
    expect(events[51]).toEqual({
      wall_time: 1764120000,
      step: 2 ** 40,
      file_version: null,
      scalars: { 'big/step': -3.25 },
    });
    // The Python CRC agrees on the check value too.
    expect(spawnSync(PY, [READER, '--crc32c', '123456789'], { encoding: 'utf8' }).stdout.trim()).toBe(
      'e3069283',
    );
    // And it rejects a damaged file.
    const buf = fs.readFileSync(tb.file);
    buf[20] = buf[20]! ^ 1;
    fs.writeFileSync(tb.file, buf);
    const bad = spawnSync(PY, [READER, tb.file], { encoding: 'utf8' });
    expect(bad.status).toBe(1);
    expect(bad.stderr).toMatch(/CRC mismatch/);
  });
});
