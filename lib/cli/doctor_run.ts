/**
 * What `ext5 doctor` checks and prints. The command loads this file lazily: it brings in the native
 * loader, which commands that never touch libtorch do not load.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { addonOrigin, buildCommand, isDevCheckout, loadAddon } from '../native/loader';
import { torch } from '../native/torch';

export interface DoctorReport {
  node: { version: string; napi: string; platform: string; arch: string };
  cpu: { model: string; cores: number; availableParallelism: number; flags: string[] };
  torch?: {
    addon: { path: string; how: string };
    version: string;
    libtorchPath: string;
    buildPrefix: string;
    /** BLAS/LAPACK files mapped into the process after a matmul, symlinks resolved. */
    blas: string[];
    /** Which BLAS those are (see {@link identifyBlas}). */
    blasLibrary: BlasLibrary;
    openmp: boolean;
    mkl: boolean;
    mkldnn: boolean;
    intraOpThreads: number;
    /** Where the intra-op thread count came from (see {@link threadsSource}). */
    intraOpThreadsFrom: string;
    interOpThreads: number;
    matmulGflops: number;
    cuda: {
      compiled: boolean;
      available: boolean;
      devices: { index: number; name: string; totalMemory: number }[];
    };
  };
  spm?: { addon: { path: string; how: string } };
  problems: { problem: string; fix: string }[];
}

/**
 * Where libtorch's intra-op thread count came from, as lib/native/torch.ts chooses it: the
 * EXT5_NUM_THREADS variable when set, else every available core.
 */
export function threadsSource(env: NodeJS.ProcessEnv = process.env): string {
  const v = env.EXT5_NUM_THREADS;
  return v !== undefined && v !== '' ? `EXT5_NUM_THREADS=${v}` : 'all cores; EXT5_NUM_THREADS unset';
}

function cpuFlags(): string[] {
  try {
    const info = fs.readFileSync('/proc/cpuinfo', 'utf8');
    const line = info.split('\n').find((l) => l.startsWith('flags'));
    const wanted = ['avx2', 'avx512f', 'avx512_bf16', 'amx_bf16', 'fma'];
    return line
      ? line
          .split(':')[1]!
          .trim()
          .split(/\s+/)
          .filter((f) => wanted.includes(f))
      : [];
  } catch {
    return [];
  }
}

/**
 * BLAS/LAPACK shared libraries mapped into this process (read after a matmul, so a lazily loaded BLAS
 * is there), with symlinks resolved: libblas.so.3 is a Debian alternatives link whose target says
 * which implementation it is. OpenMP runtimes (libgomp, libomp) are not BLAS and are left out.
 */
function mappedBlas(): string[] {
  try {
    const maps = fs.readFileSync('/proc/self/maps', 'utf8');
    const libs = new Set<string>();
    for (const line of maps.split('\n')) {
      if (!line.includes('/')) continue;
      const p = line.slice(line.indexOf('/')).trim();
      if (!/lib(open)?blas|libmkl|liblapack|libblis|libcblas/.test(path.basename(p))) continue;
      let real = p;
      try {
        real = fs.realpathSync(p);
      } catch {
        // a deleted or replaced file: keep the mapped name
      }
      libs.add(real);
    }
    return [...libs].sort();
  } catch {
    return [];
  }
}

export interface BlasLibrary {
  /** OpenBLAS, MKL, BLIS, ATLAS, the reference BLAS (netlib), or unknown. */
  name: string;
  /** The file that identified it; null when no BLAS is mapped. */
  path: string | null;
}

/** Which BLAS implementation the mapped (real) library files are. */
export function identifyBlas(files: readonly string[]): BlasLibrary {
  const kinds: [RegExp, string][] = [
    [/libmkl/, 'MKL'],
    [/libopenblas|\/openblas[^/]*\//, 'OpenBLAS'],
    [/libblis|\/blis[^/]*\//, 'BLIS'],
    [/\/atlas\//, 'ATLAS'],
    [/\/blas\/libblas\.so|\/libblas\.so\.3(\.\d+)*$/, 'the reference BLAS (netlib)'],
  ];
  for (const [re, name] of kinds) {
    const hit = files.find((f) => re.test(f));
    if (hit) return { name, path: hit };
  }
  return files.length ? { name: 'unknown', path: files[0]! } : { name: 'none mapped', path: null };
}

/**
 * Below this the quick matmul probe is a problem: the reference BLAS measures about 8 GFLOP/s on the
 * project's 2-core machine, OpenBLAS on the same machine well over 100 (docs/install.md).
 */
export const SLOW_MATMUL_GFLOPS = 20;

/** The BLAS problems: the reference BLAS, or a probe slower than {@link SLOW_MATMUL_GFLOPS}. */
export function blasProblems(
  lib: BlasLibrary,
  gflops: number,
  hasMKL: boolean,
  load1 = os.loadavg()[0] ?? 0,
  cores = os.availableParallelism(),
): { problem: string; fix: string }[] {
  const install =
    'apt-get install libopenblas0-openmp (no rebuild needed; libtorch picks it up through libblas.so.3)';
  if (lib.name.startsWith('the reference BLAS') && !hasMKL) {
    return [
      {
        problem: `libtorch is using the reference BLAS (${lib.path}): very slow matmuls (${gflops} GFLOP/s)`,
        fix: install,
      },
    ];
  }
  if (gflops >= SLOW_MATMUL_GFLOPS) return [];
  const busy =
    load1 > cores
      ? ` The machine is busy (load average ${load1.toFixed(1)} on ${cores} cores): rerun \`ext5 doctor\` when it is idle.`
      : '';
  return [
    {
      problem: `the matmul probe is slow: ${gflops} GFLOP/s (under ${SLOW_MATMUL_GFLOPS}; the reference BLAS gives about 8, OpenBLAS over 100) with ${lib.name}`,
      fix: `${lib.name === 'OpenBLAS' || lib.name === 'MKL' ? 'check EXT5_NUM_THREADS and OPENBLAS_NUM_THREADS / OMP_NUM_THREADS.' : `${install}.`}${busy}`,
    },
  ];
}

/**
 * The fix for an error that carries no hint of its own: `bash scripts/setup.sh` exists only in a
 * clone, so an installed package (node_modules/ext5) gets its own build command instead.
 */
function fallbackFix(name: 'torch' | 'spm'): string {
  if (isDevCheckout()) return 'run `bash scripts/setup.sh`';
  const build = buildCommand(name);
  return build
    ? `rebuild the ${name} addon: \`${build}\` (docs/install.md in the ext5 package explains the options)`
    : 'reinstall ext5 (docs/install.md in the ext5 package explains the options)';
}

/** Collects the report. Loads libtorch (that is the point of the command). */
export function doctorReport(): DoctorReport {
  const problems: DoctorReport['problems'] = [];
  const report: DoctorReport = {
    node: {
      version: process.version,
      napi: process.versions.napi ?? '?',
      platform: process.platform,
      arch: process.arch,
    },
    cpu: {
      model: os.cpus()[0]?.model ?? 'unknown',
      cores: os.cpus().length,
      availableParallelism: os.availableParallelism(),
      flags: cpuFlags(),
    },
    problems,
  };
  try {
    const t = torch();
    const info = t.info();
    const origin = addonOrigin('torch')!;
    // A quick matmul probe: the reference BLAS is ~30x slower than OpenBLAS on these machines.
    const n = 384;
    const a = t.randn([n, n]);
    t.dispose(t.matmul(a, a));
    const start = process.hrtime.bigint();
    const reps = 5;
    for (let i = 0; i < reps; i++) t.dispose(t.matmul(a, a));
    const secs = Number(process.hrtime.bigint() - start) / 1e9;
    t.dispose(a);
    const gflops = (2 * n * n * n * reps) / secs / 1e9;
    const blas = mappedBlas();
    const blasLibrary = identifyBlas(blas);
    report.torch = {
      addon: { path: origin.path, how: origin.how },
      version: info.torchVersion,
      libtorchPath: info.libtorchPath,
      buildPrefix: info.buildPrefix,
      blas,
      blasLibrary,
      openmp: info.hasOpenMP,
      mkl: info.hasMKL,
      mkldnn: info.hasMKLDNN,
      intraOpThreads: info.numThreads,
      intraOpThreadsFrom: threadsSource(),
      interOpThreads: info.numInteropThreads,
      matmulGflops: Math.round(gflops * 10) / 10,
      cuda: { compiled: info.cudaCompiled, available: info.cudaAvailable, devices: info.cudaDevices },
    };
    problems.push(...blasProblems(blasLibrary, report.torch.matmulGflops, info.hasMKL));
    if (process.env.OPENBLAS_CORETYPE) {
      problems.push({
        problem: `OPENBLAS_CORETYPE=${process.env.OPENBLAS_CORETYPE} is set, which can disable AVX-512 kernels`,
        fix: 'unset OPENBLAS_CORETYPE unless you need it',
      });
    }
  } catch (e) {
    const err = e as Error & { hint?: string };
    problems.push({ problem: err.message, fix: err.hint ?? fallbackFix('torch') });
  }
  try {
    loadAddon('spm');
    const origin = addonOrigin('spm')!;
    report.spm = { addon: { path: origin.path, how: origin.how } };
  } catch (e) {
    const err = e as Error & { hint?: string };
    problems.push({ problem: err.message, fix: err.hint ?? fallbackFix('spm') });
  }
  return report;
}

function gib(bytes: number): string {
  return `${(bytes / 2 ** 30).toFixed(1)} GiB`;
}

export function formatDoctor(r: DoctorReport): string {
  const lines: string[] = [];
  const row = (k: string, v: string) => lines.push(`  ${k.padEnd(18)} ${v}`);
  lines.push('ext5 doctor');
  row('node', `${r.node.version} (N-API ${r.node.napi}, ${r.node.platform}-${r.node.arch})`);
  row('cpu', `${r.cpu.model}, ${r.cpu.availableParallelism} core(s) [${r.cpu.flags.join(' ')}]`);
  if (r.torch) {
    const t = r.torch;
    row('torch addon', `${t.addon.path} (${t.addon.how})`);
    row('libtorch', `${t.version} at ${t.libtorchPath}`);
    const lib = t.blasLibrary;
    const others = t.blas.filter((f) => f !== lib.path).map((f) => path.basename(f));
    row(
      'BLAS',
      lib.path === null
        ? '(none mapped)'
        : `${lib.name} (${lib.path})${others.length ? `; also mapped: ${others.join(', ')}` : ''}`,
    );
    row(
      'parallel',
      `OpenMP ${t.openmp ? 'yes' : 'no'}, MKL ${t.mkl ? 'yes' : 'no'}, oneDNN ${t.mkldnn ? 'yes' : 'no'}`,
    );
    row('threads', `${t.intraOpThreads} intra-op (${t.intraOpThreadsFrom}), ${t.interOpThreads} inter-op`);
    row('matmul f32', `${t.matmulGflops} GFLOP/s (384x384, quick probe)`);
    const cuda = t.cuda;
    row(
      'CUDA',
      cuda.available
        ? `${cuda.devices.length} device(s)`
        : cuda.compiled
          ? 'compiled in, no device visible'
          : 'not in this libtorch build',
    );
    for (const d of cuda.devices) row(`  cuda:${d.index}`, `${d.name}, ${gib(d.totalMemory)}`);
  }
  if (r.spm) row('spm addon', `${r.spm.addon.path} (${r.spm.addon.how})`);
  if (r.problems.length === 0) {
    lines.push('', 'No problems found.');
  } else {
    lines.push('', 'Problems:');
    for (const p of r.problems)
      lines.push(`  - ${p.problem.replace(/\n/g, '\n  ')}`, `    ${p.fix.replace(/\n/g, '\n    ')}`);
  }
  return lines.join('\n');
}
