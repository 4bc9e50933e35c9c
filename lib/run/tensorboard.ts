/**
 * TensorBoard event files written natively (no TensorFlow): `events.out.tfevents.<seconds>.<host>`.
 *
 * Format (sources read for the layout, code written here):
 *  - TFRecord framing, tensorflow/tensorflow `tensorflow/core/lib/io/record_writer.cc`: per record
 *    uint64 LE length, uint32 LE masked CRC32C of those 8 bytes, the data, uint32 LE masked CRC32C of
 *    the data; mask = ((crc >>> 15) | (crc << 17)) + 0xa282ead8 (`tensorflow/core/lib/hash/crc32c.h`).
 *  - `Event` protobuf, `tensorflow/core/util/event.proto`: wall_time double = 1, step int64 = 2,
 *    file_version string = 3 ("brain.Event:2" in the first record), summary Summary = 5.
 *  - `Summary`, `tensorflow/core/framework/summary.proto`: value repeated Value = 1;
 *    `Value`: tag string = 1, simple_value float = 2.
 *  - CRC32C is the Castagnoli polynomial (reflected 0x82F63B78), RFC 3720 appendix B.4.
 * The protobuf wire format (varints, fixed64/fixed32, length-delimited) is encoded by hand below.
 *
 * @example
 * const tb = new TensorBoardWriter('runs/x');
 * tb.addScalar('train/loss', 2.31, 100);
 * tb.addScalars(100, 'validation', { loss: 2.45 }); // tags validation/loss
 * tb.close();
 * // then: tensorboard --logdir runs/
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { asWriteError, fsyncQuietly, isDiskFull, writeSyncMapped } from '../io/durable';
import { Ext5Error } from '../util/errors';

// ---------------------------------------------------------------------------------------------- CRC32C

const CRC_TABLE = (() => {
  const t = new Uint32Array(256);
  for (let i = 0; i < 256; i++) {
    let c = i;
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ 0x82f63b78 : c >>> 1;
    t[i] = c >>> 0;
  }
  return t;
})();

/**
 * CRC32C (Castagnoli) of `data`.
 * @example
 * crc32c(Buffer.from('123456789')); // 0xe3069283
 */
export function crc32c(data: Uint8Array): number {
  let crc = 0xffffffff;
  for (let i = 0; i < data.length; i++) crc = CRC_TABLE[(crc ^ data[i]!) & 0xff]! ^ (crc >>> 8);
  return (crc ^ 0xffffffff) >>> 0;
}

/** TFRecord's masked CRC: rotate right by 15 and add a constant, so CRCs of CRCs do not collide. */
export function maskedCrc32c(data: Uint8Array): number {
  const crc = crc32c(data);
  return ((((crc >>> 15) | (crc << 17)) >>> 0) + 0xa282ead8) >>> 0;
}

// ------------------------------------------------------------------------------------ protobuf encoding

/** Appends protobuf wire-format pieces to a growing list of byte chunks. */
class ProtoWriter {
  private readonly chunks: Uint8Array[] = [];

  private varint(v: bigint): void {
    const out: number[] = [];
    let x = BigInt.asUintN(64, v); // negative int64 values are 10-byte two's complement varints
    do {
      let b = Number(x & 0x7fn);
      x >>= 7n;
      if (x !== 0n) b |= 0x80;
      out.push(b);
    } while (x !== 0n);
    this.chunks.push(Uint8Array.from(out));
  }

  private tag(field: number, wireType: number): void {
    this.varint(BigInt((field << 3) | wireType));
  }

  double(field: number, v: number): this {
    this.tag(field, 1);
    const b = Buffer.alloc(8);
    b.writeDoubleLE(v);
    this.chunks.push(b);
    return this;
  }

  float(field: number, v: number): this {
    this.tag(field, 5);
    const b = Buffer.alloc(4);
    b.writeFloatLE(v);
    this.chunks.push(b);
    return this;
  }

  int64(field: number, v: number | bigint): this {
    this.tag(field, 0);
    this.varint(BigInt(v));
    return this;
  }

  bytes(field: number, data: Uint8Array): this {
    this.tag(field, 2);
    this.varint(BigInt(data.length));
    this.chunks.push(data);
    return this;
  }

  string(field: number, s: string): this {
    return this.bytes(field, Buffer.from(s, 'utf8'));
  }

  finish(): Buffer {
    return Buffer.concat(this.chunks);
  }
}

/** One scalar of an event. */
export interface ScalarValue {
  tag: string;
  value: number;
}

/** An event as TensorBoard stores it (the parts ext5 writes). */
export interface TfEvent {
  wallTime: number;
  step: number;
  fileVersion?: string;
  scalars: ScalarValue[];
}

/** Encodes an `Event` protobuf (wall_time, step, file_version or summary of simple values). */
export function encodeEvent(e: TfEvent): Buffer {
  const w = new ProtoWriter().double(1, e.wallTime);
  if (e.step !== 0) w.int64(2, e.step); // proto3: zero is the default and is not written
  if (e.fileVersion !== undefined) w.string(3, e.fileVersion);
  if (e.scalars.length > 0) {
    const summary = new ProtoWriter();
    for (const s of e.scalars) {
      summary.bytes(1, new ProtoWriter().string(1, s.tag).float(2, s.value).finish());
    }
    w.bytes(5, summary.finish());
  }
  return w.finish();
}

/** Frames one record: length, masked CRC of the length, data, masked CRC of the data. */
export function frameRecord(data: Uint8Array): Buffer {
  const header = Buffer.alloc(12);
  header.writeBigUInt64LE(BigInt(data.length), 0);
  header.writeUInt32LE(maskedCrc32c(header.subarray(0, 8)), 8);
  const footer = Buffer.alloc(4);
  footer.writeUInt32LE(maskedCrc32c(data), 0);
  return Buffer.concat([header, data, footer]);
}

// ----------------------------------------------------------------------------------------------- writer

/** Options of {@link TensorBoardWriter}. */
export interface TensorBoardWriterOptions {
  /** Seconds clock (default Date.now() / 1000), for tests. */
  now?: () => number;
  /** Host name in the file name (default os.hostname()). */
  hostname?: string;
}

/**
 * Writes scalars to a new `events.out.tfevents.<seconds>.<host>` file in `dir` (created if needed).
 * Each event is written with one `write(2)`; `flush()` fsyncs; `close()` fsyncs and closes.
 */
export class TensorBoardWriter {
  readonly file: string;
  private fd: number | undefined;
  private readonly now: () => number;

  constructor(dir: string, opts: TensorBoardWriterOptions = {}) {
    this.now = opts.now ?? (() => Date.now() / 1000);
    const host = (opts.hostname ?? os.hostname()).replace(/[^A-Za-z0-9._-]/g, '_');
    try {
      fs.mkdirSync(dir, { recursive: true });
      const base = `events.out.tfevents.${Math.floor(this.now())}.${host}`;
      let file = path.join(dir, base);
      // A resumed run started within the same second must not append to the previous file.
      for (let i = 1; fs.existsSync(file); i++) file = path.join(dir, `${base}.${i}`);
      this.file = file;
      this.fd = fs.openSync(file, 'wx');
    } catch (err) {
      if (isDiskFull(err)) throw asWriteError(err, dir);
      throw new Ext5Error(
        'EXT5_RUN_DIR',
        `cannot create a TensorBoard event file in '${dir}': ${(err as Error).message}`,
        'check that the run directory is writable, or set logging.tensorboard=false.',
      );
    }
    this.writeEvent({ wallTime: this.now(), step: 0, fileVersion: 'brain.Event:2', scalars: [] });
  }

  private writeEvent(e: TfEvent): void {
    if (this.fd === undefined)
      throw new Ext5Error('EXT5_CLOSED', `TensorBoard file '${this.file}' is closed`);
    writeSyncMapped(this.fd, frameRecord(encodeEvent(e)), this.file);
  }

  /** Writes one scalar (stored as float32, as TensorBoard does). */
  addScalar(tag: string, value: number, step: number, wallTime?: number): void {
    this.addEvent(step, [{ tag, value }], wallTime);
  }

  /**
   * Writes several scalars of one step, tagged `<split>/<name>` (e.g. train/loss, validation/loss) so that
   * TensorBoard groups them by split.
   */
  addScalars(step: number, split: string, values: Readonly<Record<string, number>>, wallTime?: number): void {
    this.addEvent(
      step,
      Object.entries(values).map(([name, value]) => ({ tag: `${split}/${name}`, value })),
      wallTime,
    );
  }

  private addEvent(step: number, scalars: ScalarValue[], wallTime?: number): void {
    if (!Number.isInteger(step) || step < 0) {
      throw new Ext5Error('EXT5_INVALID_ARG', `TensorBoard step must be an integer >= 0, got ${step}`);
    }
    for (const s of scalars) {
      if (typeof s.value !== 'number') {
        throw new Ext5Error(
          'EXT5_INVALID_ARG',
          `scalar '${s.tag}' must be a number, got ${JSON.stringify(s.value)}`,
        );
      }
    }
    this.writeEvent({ wallTime: wallTime ?? this.now(), step, scalars });
  }

  /** Forces what was written to disk. */
  flush(): void {
    if (this.fd !== undefined) fsyncQuietly(this.fd);
  }

  /** fsync and close; idempotent. */
  close(): void {
    if (this.fd === undefined) return;
    this.flush();
    fs.closeSync(this.fd);
    this.fd = undefined;
  }

  [Symbol.dispose](): void {
    this.close();
  }
}

// ----------------------------------------------------------------------------------------------- reader

class ProtoReader {
  pos = 0;
  constructor(
    readonly buf: Buffer,
    readonly where: string,
  ) {}

  done(): boolean {
    return this.pos >= this.buf.length;
  }

  varint(): bigint {
    let result = 0n;
    let shift = 0n;
    for (;;) {
      if (this.pos >= this.buf.length) throw this.error('truncated varint');
      const b = this.buf[this.pos++]!;
      result |= BigInt(b & 0x7f) << shift;
      if ((b & 0x80) === 0) return result;
      shift += 7n;
      if (shift > 63n) throw this.error('varint longer than 10 bytes');
    }
  }

  take(n: number): Buffer {
    if (this.pos + n > this.buf.length) throw this.error('field runs past the end of the message');
    const b = this.buf.subarray(this.pos, this.pos + n);
    this.pos += n;
    return b;
  }

  /** Skips a field of the given wire type. */
  skip(wireType: number): void {
    if (wireType === 0) this.varint();
    else if (wireType === 1) this.take(8);
    else if (wireType === 2) this.take(Number(this.varint()));
    else if (wireType === 5) this.take(4);
    else throw this.error(`unsupported wire type ${wireType}`);
  }

  error(msg: string): Ext5Error {
    return new Ext5Error('EXT5_TFEVENTS', `${this.where}: ${msg} at byte ${this.pos}`);
  }
}

/** Decodes an `Event` protobuf (unknown fields skipped; non-simple summary values ignored). */
export function decodeEvent(buf: Buffer, where = 'event'): TfEvent {
  const r = new ProtoReader(buf, where);
  const e: TfEvent = { wallTime: 0, step: 0, scalars: [] };
  while (!r.done()) {
    const key = Number(r.varint());
    const field = key >>> 3;
    const wt = key & 7;
    if (field === 1 && wt === 1) e.wallTime = r.take(8).readDoubleLE(0);
    else if (field === 2 && wt === 0) e.step = Number(BigInt.asIntN(64, r.varint()));
    else if (field === 3 && wt === 2) e.fileVersion = r.take(Number(r.varint())).toString('utf8');
    else if (field === 5 && wt === 2) {
      const s = new ProtoReader(r.take(Number(r.varint())), `${where} summary`);
      while (!s.done()) {
        const sk = Number(s.varint());
        if (sk >>> 3 !== 1 || (sk & 7) !== 2) {
          s.skip(sk & 7);
          continue;
        }
        const v = new ProtoReader(s.take(Number(s.varint())), `${where} value`);
        let tag = '';
        let value: number | undefined;
        while (!v.done()) {
          const vk = Number(v.varint());
          if (vk >>> 3 === 1 && (vk & 7) === 2) tag = v.take(Number(v.varint())).toString('utf8');
          else if (vk >>> 3 === 2 && (vk & 7) === 5) value = v.take(4).readFloatLE(0);
          else v.skip(vk & 7);
        }
        if (value !== undefined) e.scalars.push({ tag, value });
      }
    } else r.skip(wt);
  }
  return e;
}

/**
 * Reads every event of a TensorBoard file, checking both CRCs of every record.
 * @throws Ext5Error EXT5_TFEVENTS naming the record and byte offset of a bad CRC or a truncated record.
 */
export function readEvents(file: string): TfEvent[] {
  const buf = fs.readFileSync(file);
  const events: TfEvent[] = [];
  let pos = 0;
  let n = 0;
  while (pos < buf.length) {
    const where = `${file}: record ${n} (byte ${pos})`;
    if (pos + 12 > buf.length) throw new Ext5Error('EXT5_TFEVENTS', `${where}: truncated header`);
    const lenBytes = buf.subarray(pos, pos + 8);
    if (buf.readUInt32LE(pos + 8) !== maskedCrc32c(lenBytes)) {
      throw new Ext5Error('EXT5_TFEVENTS', `${where}: length CRC mismatch`);
    }
    const len = Number(buf.readBigUInt64LE(pos));
    if (pos + 12 + len + 4 > buf.length) throw new Ext5Error('EXT5_TFEVENTS', `${where}: truncated data`);
    const data = buf.subarray(pos + 12, pos + 12 + len);
    if (buf.readUInt32LE(pos + 12 + len) !== maskedCrc32c(data)) {
      throw new Ext5Error('EXT5_TFEVENTS', `${where}: data CRC mismatch`);
    }
    events.push(decodeEvent(data, where));
    pos += 12 + len + 4;
    n++;
  }
  return events;
}
