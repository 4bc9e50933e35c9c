/**
 * A minimal Parquet writer for test fixtures, hand-coded from the format specification
 * (apache/parquet-format: README.md and src/main/thrift/parquet.thrift) with the Thrift compact
 * protocol: flat schema, PLAIN encoding, data page v1, one or more row groups, codec
 * UNCOMPRESSED, GZIP or SNAPPY (literal-only snappy blocks, which are valid snappy).
 * Independent of hyparquet, so reading its output is a real test of the reader.
 */
import * as zlib from 'node:zlib';

export type ColumnType = 'string' | 'int32' | 'int64' | 'double' | 'boolean';
export interface ColumnSpec {
  name: string;
  type: ColumnType;
  optional?: boolean;
}
export type Codec = 'UNCOMPRESSED' | 'SNAPPY' | 'GZIP';

const CODEC_ID: Record<Codec, number> = { UNCOMPRESSED: 0, SNAPPY: 1, GZIP: 2 };
const PHYSICAL: Record<ColumnType, number> = { boolean: 0, int32: 1, int64: 2, double: 5, string: 6 };

// Thrift compact protocol type ids.
const T_TRUE = 1;
const T_I32 = 5;
const T_I64 = 6;
const T_BINARY = 8;
const T_LIST = 9;
const T_STRUCT = 12;

class Bytes {
  private parts: number[] = [];
  byte(b: number): void {
    this.parts.push(b & 0xff);
  }
  bytes(b: Uint8Array): void {
    for (const x of b) this.parts.push(x);
  }
  varint(v: bigint): void {
    let x = v;
    while (x >= 0x80n) {
      this.byte(Number(x & 0x7fn) | 0x80);
      x >>= 7n;
    }
    this.byte(Number(x));
  }
  zigzag(v: number | bigint): void {
    const x = BigInt(v);
    this.varint(x >= 0n ? x << 1n : (-x << 1n) - 1n);
  }
  u32le(v: number): void {
    for (let i = 0; i < 4; i++) this.byte((v >>> (8 * i)) & 0xff);
  }
  toBuffer(): Buffer {
    return Buffer.from(this.parts);
  }
  get length(): number {
    return this.parts.length;
  }
}

type Field =
  | [id: number, kind: 'i32' | 'i64', value: number | bigint]
  | [id: number, kind: 'string', value: string]
  | [id: number, kind: 'struct', value: Field[]]
  | [id: number, kind: 'list-struct', value: Field[][]]
  | [id: number, kind: 'list-i32', value: number[]]
  | [id: number, kind: 'list-string', value: string[]]
  | [id: number, kind: 'bool', value: boolean];

function writeStruct(out: Bytes, fields: Field[]): void {
  let last = 0;
  const header = (id: number, type: number) => {
    const delta = id - last;
    if (delta > 0 && delta <= 15) out.byte((delta << 4) | type);
    else {
      out.byte(type);
      out.zigzag(id);
    }
    last = id;
  };
  const listHeader = (size: number, type: number) => {
    if (size < 15) out.byte((size << 4) | type);
    else {
      out.byte(0xf0 | type);
      out.varint(BigInt(size));
    }
  };
  for (const f of fields) {
    const [id, kind] = f;
    switch (kind) {
      case 'i32':
        header(id, T_I32);
        out.zigzag(f[2] as number);
        break;
      case 'i64':
        header(id, T_I64);
        out.zigzag(f[2] as number | bigint);
        break;
      case 'bool':
        header(id, f[2] ? T_TRUE : 2);
        break;
      case 'string': {
        header(id, T_BINARY);
        const b = Buffer.from(f[2] as string, 'utf8');
        out.varint(BigInt(b.length));
        out.bytes(b);
        break;
      }
      case 'struct':
        header(id, T_STRUCT);
        writeStruct(out, f[2] as Field[]);
        break;
      case 'list-struct': {
        header(id, T_LIST);
        const items = f[2] as Field[][];
        listHeader(items.length, T_STRUCT);
        for (const item of items) writeStruct(out, item);
        break;
      }
      case 'list-i32': {
        header(id, T_LIST);
        const items = f[2] as number[];
        listHeader(items.length, T_I32);
        for (const v of items) out.zigzag(v);
        break;
      }
      case 'list-string': {
        header(id, T_LIST);
        const items = f[2] as string[];
        listHeader(items.length, T_BINARY);
        for (const v of items) {
          const b = Buffer.from(v, 'utf8');
          out.varint(BigInt(b.length));
          out.bytes(b);
        }
        break;
      }
    }
  }
  out.byte(0); // stop
}

function plainValues(type: ColumnType, values: unknown[]): Buffer {
  const out = new Bytes();
  if (type === 'boolean') {
    for (let i = 0; i < values.length; i += 8) {
      let b = 0;
      for (let k = 0; k < 8 && i + k < values.length; k++) if (values[i + k]) b |= 1 << k;
      out.byte(b);
    }
    return out.toBuffer();
  }
  const chunks: Buffer[] = [];
  for (const v of values) {
    if (type === 'string') {
      const s = Buffer.from(v as string, 'utf8');
      const len = Buffer.alloc(4);
      len.writeUInt32LE(s.length);
      chunks.push(len, s);
    } else if (type === 'int32') {
      const b = Buffer.alloc(4);
      b.writeInt32LE(v as number);
      chunks.push(b);
    } else if (type === 'int64') {
      const b = Buffer.alloc(8);
      b.writeBigInt64LE(BigInt(v as number | bigint));
      chunks.push(b);
    } else {
      const b = Buffer.alloc(8);
      b.writeDoubleLE(v as number);
      chunks.push(b);
    }
  }
  return Buffer.concat(chunks);
}

/** Definition levels (0 = null, 1 = present) as RLE runs of the RLE/bit-packed hybrid, length-prefixed. */
function definitionLevels(present: boolean[]): Buffer {
  const runs = new Bytes();
  let i = 0;
  while (i < present.length) {
    let j = i;
    while (j < present.length && present[j] === present[i]) j++;
    runs.varint(BigInt((j - i) << 1));
    runs.byte(present[i] ? 1 : 0);
    i = j;
  }
  const body = runs.toBuffer();
  const len = Buffer.alloc(4);
  len.writeUInt32LE(body.length);
  return Buffer.concat([len, body]);
}

/** Snappy raw format with literal elements only: valid input for any snappy decoder. */
export function snappyLiteral(data: Buffer): Buffer {
  const out = new Bytes();
  out.varint(BigInt(data.length));
  for (let pos = 0; pos < data.length; pos += 60) {
    const n = Math.min(60, data.length - pos);
    out.byte((n - 1) << 2); // literal tag, length - 1 in the upper six bits
    out.bytes(data.subarray(pos, pos + n));
  }
  return out.toBuffer();
}

function compress(codec: Codec, data: Buffer): Buffer {
  if (codec === 'GZIP') return zlib.gzipSync(data);
  if (codec === 'SNAPPY') return snappyLiteral(data);
  return data;
}

/**
 * Encodes rows as a Parquet file. `rowGroupSize` rows per row group.
 * Null (or undefined) values need `optional: true` on the column.
 */
export function writeParquet(
  columns: ColumnSpec[],
  rows: Record<string, unknown>[],
  opts: { rowGroupSize?: number; codec?: Codec } = {},
): Buffer {
  const codec = opts.codec ?? 'UNCOMPRESSED';
  const groupSize = opts.rowGroupSize ?? Math.max(1, rows.length);
  const parts: Buffer[] = [Buffer.from('PAR1')];
  let offset = 4;
  const rowGroups: Field[][] = [];
  for (let start = 0; start < rows.length; start += groupSize) {
    const group = rows.slice(start, start + groupSize);
    const chunks: Field[][] = [];
    let groupBytes = 0;
    for (const col of columns) {
      const raw = group.map((r) => r[col.name]);
      const present = raw.map((v) => v !== null && v !== undefined);
      if (!col.optional && present.some((p) => !p)) throw new Error(`column ${col.name} is required`);
      const values = raw.filter((_, i) => present[i]);
      const page = Buffer.concat([
        col.optional ? definitionLevels(present) : Buffer.alloc(0),
        plainValues(col.type, values),
      ]);
      const body = compress(codec, page);
      const header = new Bytes();
      writeStruct(header, [
        [1, 'i32', 0], // DATA_PAGE
        [2, 'i32', page.length],
        [3, 'i32', body.length],
        [
          5,
          'struct',
          [
            [1, 'i32', group.length],
            [2, 'i32', 0], // PLAIN
            [3, 'i32', 3], // RLE
            [4, 'i32', 3], // RLE
          ],
        ],
      ]);
      const headerBuf = header.toBuffer();
      const chunkOffset = offset;
      parts.push(headerBuf, body);
      offset += headerBuf.length + body.length;
      const size = headerBuf.length + body.length;
      const uncompressed = headerBuf.length + page.length;
      groupBytes += uncompressed;
      chunks.push([
        [2, 'i64', chunkOffset],
        [
          3,
          'struct',
          [
            [1, 'i32', PHYSICAL[col.type]],
            [2, 'list-i32', [0, 3]],
            [3, 'list-string', [col.name]],
            [4, 'i32', CODEC_ID[codec]],
            [5, 'i64', group.length],
            [6, 'i64', uncompressed],
            [7, 'i64', size],
            [9, 'i64', chunkOffset],
          ],
        ],
      ]);
    }
    rowGroups.push([
      [1, 'list-struct', chunks],
      [2, 'i64', groupBytes],
      [3, 'i64', group.length],
    ]);
  }
  const schema: Field[][] = [
    [
      [4, 'string', 'schema'],
      [5, 'i32', columns.length],
    ],
    ...columns.map((c): Field[] => {
      const fields: Field[] = [
        [1, 'i32', PHYSICAL[c.type]],
        [3, 'i32', c.optional ? 1 : 0],
        [4, 'string', c.name],
      ];
      if (c.type === 'string') fields.push([6, 'i32', 0]); // UTF8
      return fields;
    }),
  ];
  const meta = new Bytes();
  writeStruct(meta, [
    [1, 'i32', 1],
    [2, 'list-struct', schema],
    [3, 'i64', rows.length],
    [4, 'list-struct', rowGroups],
    [6, 'string', 'ext5 test writer'],
  ]);
  const metaBuf = meta.toBuffer();
  const len = Buffer.alloc(4);
  len.writeUInt32LE(metaBuf.length);
  parts.push(metaBuf, len, Buffer.from('PAR1'));
  return Buffer.concat(parts);
}
