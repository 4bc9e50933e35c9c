// The device the native model tests run on: EXT5_TEST_DEVICE=cuda (or cuda:N) moves the T5,
// Adafactor and checkpoint tests that compare numbers onto a GPU (bench/gpu/run.sh sets it);
// unset, everything runs on the CPU as before. Tests that pass it also pass
// computeDtype 'float32', so their float32 tolerances keep their meaning on CUDA.
import { Ext5Error } from '../../lib/util/errors';

export function testDevice(): string {
  const d = process.env.EXT5_TEST_DEVICE;
  if (d === undefined || d === '' || d === 'cpu') return 'cpu';
  if (!/^cuda(:\d+)?$/.test(d))
    throw new Ext5Error('EXT5_INVALID_ARG', `EXT5_TEST_DEVICE=${d}`, "expected 'cpu', 'cuda' or 'cuda:N'");
  return d;
}
