// `ext5 doctor` names where the thread count came from, and does not claim EXT5_NUM_THREADS
// when the variable is unset.
import {
  blasProblems,
  type DoctorReport,
  formatDoctor,
  identifyBlas,
  threadsSource,
} from '../../../lib/cli/doctor_run';

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
      blasLibrary: { name: 'none mapped', path: null },
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

// What /proc/self/maps shows on Debian 12 after a matmul (realpaths): the OpenMP runtime is not the BLAS.
const OPENBLAS = [
  '/usr/lib/x86_64-linux-gnu/openblas-openmp/libblas.so.3',
  '/usr/lib/x86_64-linux-gnu/openblas-openmp/liblapack.so.3',
  '/usr/lib/x86_64-linux-gnu/openblas-openmp/libopenblasp-r0.3.21.so',
];

test('identifyBlas names the implementation behind libblas.so.3, not the first file mapped', () => {
  expect(identifyBlas(OPENBLAS)).toEqual({ name: 'OpenBLAS', path: OPENBLAS[0] });
  expect(identifyBlas(['/usr/lib/x86_64-linux-gnu/blas/libblas.so.3.11.0'])).toEqual({
    name: 'the reference BLAS (netlib)',
    path: '/usr/lib/x86_64-linux-gnu/blas/libblas.so.3.11.0',
  });
  expect(identifyBlas(['/opt/intel/mkl/lib/intel64/libmkl_rt.so.2']).name).toBe('MKL');
  expect(identifyBlas([])).toEqual({ name: 'none mapped', path: null });
});

test('a slow matmul probe is a problem with a fix, whatever the BLAS is called', () => {
  // 8.4 GFLOP/s: the reference BLAS figure docs/install.md warns about, on an idle machine.
  const slow = blasProblems(identifyBlas(OPENBLAS), 8.4, false, 0.1, 2);
  expect(slow).toHaveLength(1);
  expect(slow[0]!.problem).toMatch(/matmul probe is slow: 8\.4 GFLOP\/s .* with OpenBLAS/);
  expect(blasProblems(identifyBlas(OPENBLAS), 8.4, false, 9, 2)[0]!.fix).toMatch(
    /busy \(load average 9\.0 on 2 cores\)/,
  );
  const reference = blasProblems(
    identifyBlas(['/usr/lib/x86_64-linux-gnu/blas/libblas.so.3.11.0']),
    8.4,
    false,
    0,
    2,
  );
  expect(reference).toEqual([
    {
      problem: expect.stringMatching(/reference BLAS .*8\.4 GFLOP\/s/),
      fix: expect.stringMatching(/^apt-get install libopenblas0-openmp/),
    },
  ]);
  expect(blasProblems(identifyBlas(OPENBLAS), 150, false, 0, 2)).toEqual([]);
});
