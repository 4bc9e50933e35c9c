// Finds the libtorch that the native addon builds against, in the documented order:
//   1. LIBTORCH: an official libtorch archive or a pip torch package directory;
//   2. Torch_DIR / CMAKE_PREFIX_PATH from the environment;
//   3. a python3 that imports torch (torch.utils.cmake_prefix_path);
//   4. the system (Debian's libtorch-dev: find_package(Torch) works with no hints).
const fs = require('node:fs');
const path = require('node:path');
const { execFileSync, spawnSync } = require('node:child_process');
const { devCheckout } = require('./build-env');

function hasTorchConfig(prefix) {
  return fs.existsSync(path.join(prefix, 'Torch', 'TorchConfig.cmake'));
}

function findLibtorch(env = process.env) {
  const tried = [];
  if (env.LIBTORCH) {
    const prefix = path.join(env.LIBTORCH, 'share', 'cmake');
    if (hasTorchConfig(prefix)) return { how: 'LIBTORCH', cmakePrefix: prefix, tried };
    throw new Error(
      `LIBTORCH=${env.LIBTORCH} has no share/cmake/Torch/TorchConfig.cmake. Point LIBTORCH at an ` +
        'unpacked libtorch archive or a pip torch package directory (…/site-packages/torch).',
    );
  }
  tried.push('LIBTORCH (unset)');
  if (env.Torch_DIR) return { how: 'Torch_DIR', torchDir: env.Torch_DIR, tried };
  if (env.CMAKE_PREFIX_PATH) return { how: 'CMAKE_PREFIX_PATH', cmakePrefix: env.CMAKE_PREFIX_PATH, tried };
  tried.push('Torch_DIR / CMAKE_PREFIX_PATH (unset)');
  if (env.EXT5_NO_PYTHON_TORCH !== '1') {
    for (const py of ['python3', 'python']) {
      try {
        const out = execFileSync(py, ['-c', 'import torch.utils; print(torch.utils.cmake_prefix_path)'], {
          stdio: ['ignore', 'pipe', 'ignore'],
          timeout: 60000,
        })
          .toString()
          .trim();
        if (out && hasTorchConfig(out))
          return { how: `${py} (torch.utils.cmake_prefix_path)`, cmakePrefix: out, tried };
        tried.push(`${py}: torch found but no TorchConfig.cmake under ${out}`);
      } catch {
        tried.push(`${py}: no importable torch`);
      }
    }
  }
  const system = [
    '/usr/lib/x86_64-linux-gnu/cmake',
    '/usr/lib/aarch64-linux-gnu/cmake',
    '/usr/local/share/cmake',
    '/usr/share/cmake',
  ];
  for (const prefix of system) {
    if (hasTorchConfig(prefix)) return { how: 'system', cmakePrefix: prefix, tried };
  }
  tried.push('system (no TorchConfig.cmake under /usr)');
  const debian = devCheckout()
    ? 'on Debian/Ubuntu run `bash scripts/setup.sh` (installs libtorch-dev)'
    : 'on Debian/Ubuntu run `apt-get install libtorch-dev`';
  const err = new Error(
    `libtorch was not found. Tried: ${tried.join('; ')}.\n` +
      `Fix: ${debian}, or set LIBTORCH to an ` +
      'unpacked libtorch archive, or `pip install torch` so that python3 can import it.',
  );
  err.code = 'EXT5_NO_LIBTORCH';
  throw err;
}

// ---- which libtorch a linked .node uses -----------------------------------------------------
// Two libtorch installations in one process (say Debian's libc10.so.1.13 and a pip torch's
// libc10.so) abort inside c10 at load, so the build checks the linked addon and the loader checks
// the running process. Both read the dynamic linker's own resolution (ldd), not a re-implementation.

/** libc10*, libtorch*, libcaffe2*, libshm*: the libraries of one libtorch installation. */
const TORCH_LIBRARY = /^lib(c10|torch|caffe2|shm)([_.-][^/]*)?\.so(\.[0-9][0-9.]*)?$/;

function isTorchLibrary(file) {
  return TORCH_LIBRARY.test(path.basename(file));
}

/** The library's name up to `.so`: libc10.so.1.13 and libc10.so are both `libc10`. */
function libraryFamily(name) {
  return path.basename(name).replace(/\.so(\..*)?$/, '');
}

function realDir(file) {
  try {
    return path.dirname(fs.realpathSync(file));
  } catch {
    return path.dirname(path.resolve(file));
  }
}

/**
 * Every torch-family library that `file` loads, directly or through another library, as the
 * dynamic linker resolves it under `env` (LD_LIBRARY_PATH included): [{ name, path }], path null
 * when not found.
 * @throws Error with code EXT5_LDD when ldd cannot run on the file.
 */
function resolvedTorchLibraries(file, env = process.env) {
  const r = spawnSync('ldd', [file], { encoding: 'utf8', timeout: 20000, env });
  if (r.error || r.status !== 0) {
    const err = new Error(`ldd ${file} failed: ${r.error ? r.error.message : (r.stderr || r.stdout).trim()}`);
    err.code = 'EXT5_LDD';
    throw err;
  }
  const out = [];
  for (const line of r.stdout.split('\n')) {
    const m = /^\s*(\S+)\s+=>\s+(not found|\S+)/.exec(line);
    if (m && isTorchLibrary(m[1])) out.push({ name: m[1], path: m[2] === 'not found' ? null : m[2] });
  }
  return out;
}

/** The NEEDED entries and RUNPATH/RPATH of an ELF file (readelf -d). */
function dynamicSection(file) {
  const r = spawnSync('readelf', ['-d', '-W', file], { encoding: 'utf8', timeout: 20000 });
  if (r.error || r.status !== 0) {
    const err = new Error(`readelf -d ${file} failed: ${r.error ? r.error.message : r.stderr.trim()}`);
    err.code = 'EXT5_READELF';
    throw err;
  }
  const needed = [];
  const runpath = [];
  for (const line of r.stdout.split('\n')) {
    const n = /\(NEEDED\)\s+Shared library: \[([^\]]+)\]/.exec(line);
    if (n) needed.push(n[1]);
    const p = /\((?:RUNPATH|RPATH)\)\s+Library (?:runpath|rpath): \[([^\]]*)\]/.exec(line);
    if (p) runpath.push(...p[1].split(':').filter(Boolean));
  }
  return { needed, runpath };
}

/**
 * What is wrong with the torch linkage of a built addon, given the libtorch library directory it
 * was configured against: a torch library NEEDed twice under two names (libc10.so and
 * libc10.so.1.13), one the linker cannot find, or one that resolves outside `libdir`. The check
 * runs without LD_LIBRARY_PATH, so it sees the addon as built. Returns the problems (none: []) and
 * the resolved libraries.
 */
function torchLinkageProblems(file, libdir, env = process.env) {
  const clean = { ...env };
  delete clean.LD_LIBRARY_PATH;
  const { needed, runpath } = dynamicSection(file);
  const resolved = resolvedTorchLibraries(file, clean);
  const problems = [];
  const byFamily = new Map();
  for (const n of needed.filter(isTorchLibrary)) {
    const f = libraryFamily(n);
    byFamily.set(f, [...(byFamily.get(f) || []), n]);
  }
  for (const names of byFamily.values()) {
    if (names.length > 1) problems.push(`it NEEDs ${names.join(' and ')}: two copies of one torch library`);
  }
  let want = path.resolve(libdir);
  try {
    want = fs.realpathSync(libdir);
  } catch {
    // compared as given
  }
  for (const lib of resolved) {
    if (!lib.path) problems.push(`${lib.name} is not found (RUNPATH: ${runpath.join(':') || 'none'})`);
    else if (realDir(lib.path) !== want)
      problems.push(`${lib.name} resolves to ${lib.path}, outside ${libdir}`);
  }
  if (!resolved.some((l) => l.path))
    problems.push(`it loads no torch library at all (NEEDED: ${needed.join(', ')})`);
  return { problems, resolved, needed: needed.filter(isTorchLibrary), runpath };
}

module.exports = {
  findLibtorch,
  isTorchLibrary,
  resolvedTorchLibraries,
  dynamicSection,
  torchLinkageProblems,
};
