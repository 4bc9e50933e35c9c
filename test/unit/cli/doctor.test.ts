// `ext5 doctor` names where the thread count came from, and does not claim EXT5_NUM_THREADS
// when the variable is unset.
import { type DoctorReport, formatDoctor, threadsSource } from '../../../lib/cli/doctor';

test('threadsSource names EXT5_NUM_THREADS only when it is set', () => {
  expect(threadsSource({})).toBe('all cores; EXT5_NUM_THREADS unset');
  expect(threadsSource({ EXT5_NUM_THREADS: '' })).toBe('all cores; EXT5_NUM_THREADS unset');
  expect(threadsSource({ EXT5_NUM_THREADS: '3' })).toBe('EXT5_NUM_THREADS=3');
});

test('the threads row says where the count came from', () => {
  const report: DoctorReport = {
    node: { version: 'v22', napi: '9', platform: 'linux', arch: 'x64' },
    cpu: { model: 'cpu', cores: 2, availableParallelism: 2, flags: [] },
    torch: {
      addon: { path: '/x/torch.node', how: 'built' },
      version: '2.0',
      libtorchPath: '/usr/lib',
      buildPrefix: '/usr',
      blas: [],
      openmp: true,
      mkl: false,
      mkldnn: false,
      intraOpThreads: 2,
      intraOpThreadsFrom: threadsSource({}),
      interOpThreads: 2,
      matmulGflops: 1,
      cuda: { compiled: false, available: false, devices: [] },
    },
    problems: [],
  };
  expect(formatDoctor(report)).toMatch(
    /threads +2 intra-op \(all cores; EXT5_NUM_THREADS unset\), 2 inter-op/,
  );
});
