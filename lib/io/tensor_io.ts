/**
 * Bytes <-> libtorch tensors for safetensors files: the dtype names of both sides and the
 * copies between a tensor and its little-endian bytes. (x86-64 and arm64 are little-endian,
 * like the safetensors format, so the bytes are copied as they are.)
 */
import type { DType, NativeTypedArray } from '../native/torch';
import { torch } from '../native/torch';
import { Tensor } from '../tensor/tensor';
import { Ext5Error } from '../util/errors';
import type { SafetensorsDtype } from './safetensors';

const TO_TORCH: Readonly<Record<SafetensorsDtype, DType>> = {
  F64: 'float64',
  F32: 'float32',
  F16: 'float16',
  BF16: 'bfloat16',
  I64: 'int64',
  I32: 'int32',
  I16: 'int16',
  I8: 'int8',
  U8: 'uint8',
  BOOL: 'bool',
};

/** safetensors dtype -> libtorch dtype name. */
export function torchDtype(d: SafetensorsDtype): DType {
  return TO_TORCH[d];
}

/** libtorch dtype name -> safetensors dtype. */
export function safetensorsDtype(d: string): SafetensorsDtype {
  for (const [k, v] of Object.entries(TO_TORCH)) if (v === d) return k as SafetensorsDtype;
  throw new Ext5Error('EXT5_DTYPE', `dtype '${d}' cannot be stored in a safetensors file`);
}

/**
 * A new CPU tensor holding `bytes` (which must start at an offset aligned to the element size;
 * SafetensorsReader.read returns such buffers).
 */
export function tensorFromBytes(
  bytes: Uint8Array,
  dtype: SafetensorsDtype,
  shape: number[],
  device?: string,
): Tensor {
  const t = torch();
  const buf = bytes.buffer;
  const off = bytes.byteOffset;
  const n = bytes.byteLength;
  let ta: NativeTypedArray;
  switch (dtype) {
    case 'F64':
      ta = new Float64Array(buf, off, n / 8);
      break;
    case 'F32':
      ta = new Float32Array(buf, off, n / 4);
      break;
    case 'F16':
    case 'BF16':
      return Tensor.fromHandle(
        t.fromHalfBits(
          new Uint16Array(buf, off, n / 2),
          shape,
          TO_TORCH[dtype] as 'float16' | 'bfloat16',
          device,
        ),
      );
    case 'I64':
      ta = new BigInt64Array(buf, off, n / 8);
      break;
    case 'I32':
      ta = new Int32Array(buf, off, n / 4);
      break;
    case 'I16':
      ta = new Int16Array(buf, off, n / 2);
      break;
    case 'I8':
      ta = new Int8Array(buf, off, n);
      break;
    case 'U8':
      ta = new Uint8Array(buf, off, n);
      break;
    case 'BOOL':
      return Tensor.fromHandle(t.fromTypedArray(new Uint8Array(buf, off, n), shape, 'bool', device));
  }
  return Tensor.fromHandle(t.fromTypedArray(ta, shape, TO_TORCH[dtype], device));
}

/** A tensor's bytes as stored in safetensors (copied to the CPU; half types as raw bits). */
export function tensorToBytes(t: Tensor): Uint8Array {
  const ta = t.rawData();
  return new Uint8Array(ta.buffer, ta.byteOffset, ta.byteLength);
}
