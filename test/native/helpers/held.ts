// Leak checks that do not depend on when garbage collection runs. memory()'s live counts fall
// whenever a Tensor forgotten by an earlier test is collected (a finalizer between awaits, or the
// native sweep inside a synchronous loop), so comparing them before and after a block races with
// the collector. Live plus collected counts only what code created and has not disposed: a
// collected forgotten tensor moves from one term to the other.
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { memory } from '../../../lib/tensor/tensor';

/** Tensors and bytes created on `device` and not disposed (live, or released only by the collector). */
export function held(device = 'cpu'): { tensors: number; bytes: number } {
  const m = memory()[device];
  return {
    tensors: (m?.tensors ?? 0) + (m?.collectedTensors ?? 0),
    bytes: (m?.bytes ?? 0) + (m?.collectedBytes ?? 0),
  };
}

/** global.gc without starting node with --expose-gc (a full, synchronous collection). */
export function exposeGc(): () => void {
  setFlagsFromString('--expose-gc');
  return runInNewContext('gc') as () => void;
}
