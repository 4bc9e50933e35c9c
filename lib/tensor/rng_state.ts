/**
 * libtorch's default generator state as text, so a checkpoint's trainer_state.json can carry it
 * and a resumed run draws the same dropout masks as the uninterrupted one.
 */
import { torch } from '../native/torch';
import { fromTypedArray } from './tensor';

/** The default generator's state, base64-encoded. */
export function rngStateToBase64(): string {
  const t = torch();
  const h = t.getRngState();
  try {
    const bytes = t.toTypedArray(h) as Uint8Array;
    return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64');
  } finally {
    t.dispose(h);
  }
}

/** Restores the default generator from {@link rngStateToBase64}'s text. */
export function rngStateFromBase64(b64: string): void {
  const bytes = new Uint8Array(Buffer.from(b64, 'base64'));
  const state = fromTypedArray(bytes, [bytes.length], { dtype: 'uint8' });
  try {
    torch().setRngState(state.handle);
  } finally {
    state.dispose();
  }
}
