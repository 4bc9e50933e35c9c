/**
 * Compact JSON for token buffers in saved states: an Int32Array as base64 of its little-endian
 * bytes (a 568-token segment is ~3 KB instead of ~4 KB of decimal text, and parses faster).
 */
import { Ext5Error } from '../util/errors';

const littleEndian = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;

/** Base64 of the array's bytes (little-endian int32). */
export function int32ToBase64(a: Int32Array): string {
  if (!littleEndian) throw new Ext5Error('E_PLATFORM', 'saving token buffers needs a little-endian machine');
  return Buffer.from(a.buffer, a.byteOffset, a.byteLength).toString('base64');
}

/** Inverse of {@link int32ToBase64}; `what` names the field in the error for a damaged state. */
export function base64ToInt32(s: unknown, what: string): Int32Array {
  if (typeof s !== 'string') throw new Ext5Error('E_BAD_STATE', `${what}: expected a base64 string`);
  const bytes = Buffer.from(s, 'base64');
  if (bytes.length % 4 !== 0)
    throw new Ext5Error('E_BAD_STATE', `${what}: ${bytes.length} bytes is not a whole number of int32`);
  const out = new Int32Array(bytes.length / 4);
  new Uint8Array(out.buffer).set(bytes);
  return out;
}
