/**
 * safetensors files, read lazily and written in streaming fashion (pure TypeScript, no libtorch).
 *
 * Format (huggingface/safetensors, README "Format" and safetensors/src/tensor.rs): 8 bytes of
 * little-endian u64 N, then N bytes of UTF-8 JSON header
 * `{"<name>": {"dtype": "F32", "shape": [2, 3], "data_offsets": [begin, end]}, ...,
 *   "__metadata__": {"<key>": "<string>"}}`, then the byte buffer. Offsets are relative to the
 * buffer; the tensors must cover it entirely, without holes or overlaps. The header is padded
 * with spaces to a multiple of 8 bytes so that the buffer starts aligned.
 *
 * The reader reads the header once, then each tensor's bytes on demand through a file handle,
 * so multi-GB checkpoints are never held in memory whole. Every violation of the format is an
 * Ext5Error (code EXT5_SAFETENSORS) that names the file and, where it applies, the tensor.
 *
 * @example
 * const r = SafetensorsReader.open('model.safetensors');
 * r.names();                  // ['shared.weight', ...]
 * r.info('shared.weight');    // { dtype: 'F32', shape: [32128, 512], ... }
 * const bytes = r.read('shared.weight'); // Uint8Array, 8-byte aligned
 * const same = await r.readAsync('shared.weight'); // read on libuv's thread pool
 * r.close();
 */
import * as fs from 'node:fs';
import { didYouMean, Ext5Error } from '../util/errors';
import { writeFileAtomic } from './durable';

/** The dtypes ext5 reads and writes (the safetensors spelling). */
export type SafetensorsDtype = 'F64' | 'F32' | 'F16' | 'BF16' | 'I64' | 'I32' | 'I16' | 'I8' | 'U8' | 'BOOL';

/** Bytes per element of each dtype. */
export const DTYPE_SIZE: Readonly<Record<SafetensorsDtype, number>> = {
  F64: 8,
  F32: 4,
  F16: 2,
  BF16: 2,
  I64: 8,
  I32: 4,
  I16: 2,
  I8: 1,
  U8: 1,
  BOOL: 1,
};

/** The largest header ext5 accepts (the reference implementation's limit is 100 MB too). */
export const MAX_HEADER_BYTES = 100_000_000;

/** One tensor's entry in the header. Offsets are absolute positions in the file. */
export interface SafetensorsTensorInfo {
  name: string;
  dtype: SafetensorsDtype;
  shape: number[];
  /** [begin, end) relative to the start of the byte buffer, as written in the header. */
  dataOffsets: [number, number];
  /** Absolute file position of the first byte. */
  fileOffset: number;
  byteLength: number;
}

/** The parsed, validated header. */
export interface SafetensorsHeader {
  tensors: Map<string, SafetensorsTensorInfo>;
  metadata: Record<string, string>;
  /** File position where the byte buffer starts (8 + N). */
  dataStart: number;
  /** Length of the byte buffer. */
  dataLength: number;
}

function fail(file: string, message: string, hint?: string): never {
  throw new Ext5Error(
    'EXT5_SAFETENSORS',
    `${file}: ${message}`,
    hint ?? 'the file is not a valid safetensors file (truncated or corrupt?); re-download or re-save it',
  );
}

function isDtype(s: unknown): s is SafetensorsDtype {
  return typeof s === 'string' && Object.hasOwn(DTYPE_SIZE, s);
}

/**
 * Validates a header's JSON and offsets (everything but the bytes themselves).
 * @param json the header bytes (without the 8-byte length prefix)
 * @param fileSize the total size of the file
 */
export function parseSafetensorsHeader(json: Uint8Array, fileSize: number, file: string): SafetensorsHeader {
  const dataStart = 8 + json.length;
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(json);
  } catch {
    fail(file, 'the header is not valid UTF-8');
  }
  if (!text.startsWith('{'))
    fail(file, `the header does not start with '{' (got ${JSON.stringify(text.slice(0, 16))})`);
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (e) {
    fail(file, `the header is not valid JSON (${(e as Error).message})`);
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed))
    fail(file, 'the header is not a JSON object');
  const metadata: Record<string, string> = {};
  const tensors = new Map<string, SafetensorsTensorInfo>();
  const dataLength = fileSize - dataStart;
  for (const [name, raw] of Object.entries(parsed as Record<string, unknown>)) {
    if (name === '__metadata__') {
      if (raw === null || typeof raw !== 'object' || Array.isArray(raw))
        fail(file, '__metadata__ must be an object');
      for (const [k, v] of Object.entries(raw as Record<string, unknown>)) {
        if (typeof v !== 'string') fail(file, `__metadata__.${k} must be a string, got ${JSON.stringify(v)}`);
        metadata[k] = v;
      }
      continue;
    }
    const where = `tensor '${name}'`;
    if (raw === null || typeof raw !== 'object' || Array.isArray(raw))
      fail(file, `${where}: entry is not an object`);
    const entry = raw as Record<string, unknown>;
    if (!isDtype(entry.dtype)) {
      fail(
        file,
        `${where}: unknown dtype ${JSON.stringify(entry.dtype)}${typeof entry.dtype === 'string' ? didYouMean(entry.dtype, Object.keys(DTYPE_SIZE)) : ''}`,
        `ext5 reads ${Object.keys(DTYPE_SIZE).join(', ')}`,
      );
    }
    const shape = entry.shape;
    if (!Array.isArray(shape) || !shape.every((d) => Number.isSafeInteger(d) && d >= 0)) {
      fail(file, `${where}: shape must be an array of non-negative integers, got ${JSON.stringify(shape)}`);
    }
    const offsets = entry.data_offsets;
    if (
      !Array.isArray(offsets) ||
      offsets.length !== 2 ||
      !offsets.every((o) => Number.isSafeInteger(o) && o >= 0)
    ) {
      fail(
        file,
        `${where}: data_offsets must be [begin, end] with non-negative integers, got ${JSON.stringify(offsets)}`,
      );
    }
    const [begin, end] = offsets as [number, number];
    if (begin > end) fail(file, `${where}: data_offsets begin ${begin} is after end ${end}`);
    let numel = 1;
    for (const d of shape as number[]) numel *= d;
    const expected = numel * DTYPE_SIZE[entry.dtype];
    if (!Number.isSafeInteger(expected)) fail(file, `${where}: shape ${JSON.stringify(shape)} is too large`);
    if (end - begin !== expected) {
      fail(
        file,
        `${where}: ${entry.dtype} ${JSON.stringify(shape)} needs ${expected} bytes but data_offsets [${begin}, ${end}] span ${end - begin}`,
      );
    }
    if (end > dataLength) {
      fail(
        file,
        `${where}: data_offsets end ${end} is past the end of the data (${Math.max(0, dataLength)} bytes); the file is truncated`,
      );
    }
    tensors.set(name, {
      name,
      dtype: entry.dtype,
      shape: shape as number[],
      dataOffsets: [begin, end],
      fileOffset: dataStart + begin,
      byteLength: expected,
    });
  }
  // The buffer must be covered exactly: sorted by offset, each tensor starts where the last ended.
  const sorted = [...tensors.values()].sort(
    (a, b) => a.dataOffsets[0] - b.dataOffsets[0] || a.dataOffsets[1] - b.dataOffsets[1],
  );
  let cursor = 0;
  let previous: string | undefined;
  for (const t of sorted) {
    const [begin, end] = t.dataOffsets;
    if (begin < cursor)
      fail(file, `tensor '${t.name}' overlaps tensor '${previous}' (begins at ${begin}, before ${cursor})`);
    if (begin > cursor) {
      fail(
        file,
        `tensor '${t.name}' begins at ${begin} but the previous data ends at ${cursor}: the buffer has a gap (safetensors requires contiguous data)`,
      );
    }
    cursor = end;
    previous = t.name;
  }
  if (cursor !== dataLength) {
    fail(
      file,
      cursor < dataLength
        ? `${dataLength - cursor} bytes after the last tensor are not described by the header`
        : `the data is ${dataLength} bytes but the header describes ${cursor}; the file is truncated`,
    );
  }
  return { tensors, metadata, dataStart, dataLength };
}

/**
 * Opens `file` for reading only if it is a regular file. The open itself does not block
 * (O_NONBLOCK): a FIFO named like a checkpoint file made the plain open wait forever for a
 * writer. Throws EXT5_NOT_FOUND, EXT5_IO, or EXT5_SAFETENSORS-style `notRegular` errors.
 */
export function openRegularFile(file: string, what = 'a regular file'): number {
  let fd: number;
  try {
    fd = fs.openSync(file, fs.constants.O_RDONLY | (fs.constants.O_NONBLOCK ?? 0));
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new Ext5Error('EXT5_NOT_FOUND', `${file}: no such file`, 'check the path');
    throw new Ext5Error('EXT5_IO', `${file}: cannot open (${(e as Error).message})`);
  }
  let regular = false;
  try {
    regular = fs.fstatSync(fd).isFile();
  } finally {
    if (!regular) fs.closeSync(fd);
  }
  if (!regular) {
    throw new Ext5Error(
      'EXT5_IO',
      `${file}: not a regular file (a FIFO, device or directory)`,
      `point at ${what}`,
    );
  }
  return fd;
}

/** The contents of a regular file as UTF-8 (see openRegularFile: a FIFO never blocks it). */
export function readRegularFileText(file: string, what?: string): string {
  const fd = openRegularFile(file, what);
  try {
    return fs.readFileSync(fd, 'utf8');
  } finally {
    fs.closeSync(fd);
  }
}

/** The largest single read; a tensor past it is read in several. */
const MAX_READ = 1 << 30;

/** One read's byte count, checked: 0 before the end means the file is shorter than its header says. */
function readCount(n: number, position: number, file: string): number {
  if (n === 0) fail(file, `unexpected end of file at byte ${position} (truncated?)`);
  return n;
}

/** An error the file system gave while reading tensor bytes, as EXT5_IO naming the file. */
function readError(e: unknown, file: string): Ext5Error {
  if (e instanceof Ext5Error) return e;
  return new Ext5Error('EXT5_IO', `${file}: cannot read (${(e as Error).message})`);
}

/** Reads `target.length` bytes at `position` into `target`, looping over short reads. */
function readFully(fd: number, target: Uint8Array, position: number, file: string): void {
  let done = 0;
  while (done < target.length) {
    const chunk = Math.min(target.length - done, MAX_READ);
    let n: number;
    try {
      n = fs.readSync(fd, target, done, chunk, position + done);
    } catch (e) {
      throw readError(e, file);
    }
    done += readCount(n, position + done, file);
  }
}

/** readFully on libuv's thread pool (fs.read): the event loop runs while the bytes arrive. */
async function readFullyAsync(fd: number, target: Uint8Array, position: number, file: string): Promise<void> {
  let done = 0;
  while (done < target.length) {
    const chunk = Math.min(target.length - done, MAX_READ);
    const at = done;
    const n = await new Promise<number>((resolve, reject) =>
      fs.read(fd, target, at, chunk, position + at, (e, bytes) =>
        e ? reject(readError(e, file)) : resolve(bytes),
      ),
    );
    done += readCount(n, position + done, file);
  }
}

/**
 * A safetensors file opened for lazy reading. Open with `SafetensorsReader.open(path)`; close
 * with `close()` (or `using`).
 */
export class SafetensorsReader implements Disposable {
  readonly file: string;
  readonly header: SafetensorsHeader;
  private fd: number | undefined;
  /** readAsync calls in flight: close() waits for them, so their descriptor is never reused under them. */
  private pending = 0;
  private closing = false;

  private constructor(file: string, fd: number, header: SafetensorsHeader) {
    this.file = file;
    this.fd = fd;
    this.header = header;
  }

  /**
   * Opens `file` and validates its header (not the tensor bytes).
   * @throws Ext5Error EXT5_SAFETENSORS on any format violation, EXT5_NOT_FOUND if missing.
   */
  static open(file: string): SafetensorsReader {
    const fd = openRegularFile(file, 'a .safetensors file');
    try {
      const stat = fs.fstatSync(fd);
      const size = stat.size;
      if (size < 8) fail(file, `the file has ${size} bytes, fewer than the 8-byte header length`);
      const prefix = new Uint8Array(8);
      readFully(fd, prefix, 0, file);
      const n = new DataView(prefix.buffer).getBigUint64(0, true);
      if (n > BigInt(MAX_HEADER_BYTES)) {
        fail(
          file,
          `the header length ${n} is larger than ${MAX_HEADER_BYTES} bytes (not a safetensors file?)`,
        );
      }
      if (Number(n) + 8 > size) {
        fail(
          file,
          `the header length ${n} is past the end of the file (${size} bytes); the file is truncated`,
        );
      }
      const json = new Uint8Array(Number(n));
      readFully(fd, json, 8, file);
      const header = parseSafetensorsHeader(json, size, file);
      return new SafetensorsReader(file, fd, header);
    } catch (e) {
      fs.closeSync(fd);
      throw e;
    }
  }

  /** `__metadata__` (string to string). */
  get metadata(): Record<string, string> {
    return this.header.metadata;
  }

  /** Tensor names in file order. */
  names(): string[] {
    return [...this.header.tensors.values()].sort((a, b) => a.fileOffset - b.fileOffset).map((t) => t.name);
  }

  has(name: string): boolean {
    return this.header.tensors.has(name);
  }

  /** A tensor's header entry; throws EXT5_SAFETENSORS_KEY (with a suggestion) when absent. */
  info(name: string): SafetensorsTensorInfo {
    const t = this.header.tensors.get(name);
    if (!t) {
      throw new Ext5Error(
        'EXT5_SAFETENSORS_KEY',
        `${this.file}: no tensor '${name}'${didYouMean(name, this.header.tensors.keys())}`,
      );
    }
    return t;
  }

  /** The tensor's bytes in a fresh, 8-byte-aligned buffer (little-endian, as stored). */
  read(name: string): Uint8Array {
    const t = this.info(name);
    const out = new Uint8Array(new ArrayBuffer(t.byteLength));
    readFully(this.openFd(), out, t.fileOffset, this.file);
    return out;
  }

  /**
   * read() with asynchronous file I/O: the bytes are read on libuv's thread pool at the offsets of
   * the validated header, so the event loop keeps running meanwhile. close() during the read
   * takes effect when it ends.
   */
  async readAsync(name: string): Promise<Uint8Array> {
    const t = this.info(name);
    const fd = this.openFd();
    const out = new Uint8Array(new ArrayBuffer(t.byteLength));
    this.pending++;
    try {
      await readFullyAsync(fd, out, t.fileOffset, this.file);
    } finally {
      this.pending--;
      if (this.closing && this.pending === 0) this.close();
    }
    return out;
  }

  private openFd(): number {
    if (this.fd === undefined || this.closing)
      throw new Ext5Error('EXT5_CLOSED', `${this.file}: the reader has been closed`);
    return this.fd;
  }

  close(): void {
    this.closing = true;
    if (this.fd !== undefined && this.pending === 0) {
      fs.closeSync(this.fd);
      this.fd = undefined;
    }
  }
  [Symbol.dispose](): void {
    this.close();
  }
}

// ---- writing -----------------------------------------------------------------------------------

/** One tensor to write; `data` may be a function so only one tensor is in memory at a time. */
export interface SafetensorsEntry {
  name: string;
  dtype: SafetensorsDtype;
  shape: number[];
  data: Uint8Array | (() => Uint8Array);
}

/** Hooks for tests and unusual file systems: a replacement for fs.writeSync. */
export interface WriteOptions {
  /** Writes `data` at `position`; returns the bytes written. Defaults to fs.writeSync. */
  write?: (fd: number, data: Uint8Array, position: number) => number;
  /** Called after each tensor is written, with bytes written so far and the total. */
  onProgress?: (written: number, total: number) => void;
}

/** Bytes a tensor of this dtype and shape occupies. */
export function tensorByteLength(dtype: SafetensorsDtype, shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1) * DTYPE_SIZE[dtype];
}

// The reference writer orders tensors by its Dtype enum, descending (which groups them by
// element size, largest first, so each tensor starts aligned), then by name.
const DTYPE_RANK: Readonly<Record<SafetensorsDtype, number>> = {
  BOOL: 0,
  U8: 1,
  I8: 2,
  I16: 3,
  F16: 4,
  BF16: 5,
  I32: 6,
  F32: 7,
  F64: 8,
  I64: 9,
};

/**
 * Lays out a file as the reference writer (huggingface/safetensors safetensors/src/tensor.rs,
 * `prepare`) does: tensors sorted by dtype rank (descending) then name, `__metadata__` first,
 * compact JSON padded with spaces to a multiple of 8. Returns the header bytes (with the length
 * prefix) and each entry's offset.
 */
export function planSafetensors(
  entries: readonly SafetensorsEntry[],
  metadata: Record<string, string> = {},
): { header: Uint8Array; order: SafetensorsEntry[]; offsets: number[]; dataLength: number } {
  const seen = new Set<string>();
  for (const e of entries) {
    if (e.name === '__metadata__')
      throw new Ext5Error('EXT5_SAFETENSORS', "a tensor cannot be named '__metadata__'");
    if (seen.has(e.name)) throw new Ext5Error('EXT5_SAFETENSORS', `tensor '${e.name}' is listed twice`);
    seen.add(e.name);
    if (!isDtype(e.dtype))
      throw new Ext5Error('EXT5_SAFETENSORS', `tensor '${e.name}': unknown dtype '${e.dtype}'`);
    if (!e.shape.every((d) => Number.isSafeInteger(d) && d >= 0)) {
      throw new Ext5Error('EXT5_SAFETENSORS', `tensor '${e.name}': bad shape ${JSON.stringify(e.shape)}`);
    }
  }
  for (const [k, v] of Object.entries(metadata)) {
    if (typeof v !== 'string') throw new Ext5Error('EXT5_SAFETENSORS', `metadata '${k}' must be a string`);
  }
  const order = [...entries].sort(
    (a, b) => DTYPE_RANK[b.dtype] - DTYPE_RANK[a.dtype] || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0),
  );
  const json: Record<string, unknown> = {};
  if (Object.keys(metadata).length > 0) json.__metadata__ = metadata;
  const offsets: number[] = [];
  let cursor = 0;
  for (const e of order) {
    const len = tensorByteLength(e.dtype, e.shape);
    json[e.name] = { dtype: e.dtype, shape: e.shape, data_offsets: [cursor, cursor + len] };
    offsets.push(cursor);
    cursor += len;
  }
  const text = Buffer.from(JSON.stringify(json), 'utf8');
  const padded = Math.ceil(text.length / 8) * 8;
  const header = new Uint8Array(8 + padded).fill(0x20);
  new DataView(header.buffer).setBigUint64(0, BigInt(padded), true);
  header.set(text, 8);
  return { header, order, offsets, dataLength: cursor };
}

/**
 * Writes a safetensors file durably (lib/io/durable.ts `writeFileAtomic`: a temporary sibling,
 * fsynced and renamed into place, so a crash never leaves a truncated file under `file`). Tensor
 * data given as functions is produced one tensor at a time. A full disk becomes Ext5Error
 * EXT5_DISK_FULL naming the file.
 *
 * @example
 * writeSafetensors('x.safetensors', [{ name: 'w', dtype: 'F32', shape: [2], data: new Uint8Array(8) }],
 *   { format: 'pt' });
 */
export function writeSafetensors(
  file: string,
  entries: readonly SafetensorsEntry[],
  metadata: Record<string, string> = {},
  opts: WriteOptions = {},
): { bytes: number } {
  const plan = planSafetensors(entries, metadata);
  const write =
    opts.write ??
    ((fd: number, data: Uint8Array, position: number) => fs.writeSync(fd, data, 0, data.length, position));
  const total = plan.header.length + plan.dataLength;
  writeFileAtomic(file, (fd) => {
    const writeAll = (data: Uint8Array, position: number) => {
      let done = 0;
      while (done < data.length) {
        const n = write(fd, data.subarray(done, Math.min(data.length, done + (1 << 30))), position + done);
        if (n <= 0) throw Object.assign(new Error('write returned 0 bytes'), { code: 'EIO' });
        done += n;
      }
    };
    writeAll(plan.header, 0);
    let position = plan.header.length;
    for (const e of plan.order) {
      const data = typeof e.data === 'function' ? e.data() : e.data;
      const expected = tensorByteLength(e.dtype, e.shape);
      if (data.length !== expected) {
        throw new Ext5Error(
          'EXT5_SAFETENSORS',
          `tensor '${e.name}': ${e.dtype} ${JSON.stringify(e.shape)} needs ${expected} bytes but got ${data.length}`,
        );
      }
      writeAll(data, position);
      position += data.length;
      opts.onProgress?.(position, total);
    }
  });
  return { bytes: total };
}
