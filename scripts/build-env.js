// What building the native addons needs, and whether this copy of ext5 is a development clone or
// an installed package (node_modules/ext5). The advice printed by the install and build scripts
// depends on it: `bash scripts/setup.sh` and `npm run build:native` exist only in a clone.
const fs = require('node:fs');
const path = require('node:path');
const { spawnSync } = require('node:child_process');

const root = path.resolve(__dirname, '..');

/** True in a git clone with its set-up script; false in an installed package (no .git, no setup.sh). */
function devCheckout(dir = root) {
  return fs.existsSync(path.join(dir, '.git')) && fs.existsSync(path.join(dir, 'scripts', 'setup.sh'));
}

// Debian/Ubuntu packages, by role. A prebuild needs only RUNTIME (the shared libraries the .node
// files link: libtorch.so.1.13, libc10.so.1.13, libsentencepiece.so.0); a build from source needs
// BUILD. libopenblas0-openmp is not linked but replaces the reference BLAS at run time.
const RUNTIME_PACKAGES = ['libtorch1.13', 'libsentencepiece0', 'libopenblas0-openmp'];
const BUILD_PACKAGES = [
  'libtorch-dev',
  'libsentencepiece-dev',
  'libopenblas0-openmp',
  'libgloo-dev',
  'cmake',
  'ninja-build',
  'g++',
  'pkg-config',
];

/** The first executable called `cmd` on PATH, or undefined. */
function which(cmd, env = process.env) {
  for (const dir of (env.PATH || '').split(path.delimiter)) {
    if (!dir) continue;
    const file = path.join(dir, cmd);
    try {
      fs.accessSync(file, fs.constants.X_OK);
      if (fs.statSync(file).isFile()) return file;
    } catch {
      // not here
    }
  }
  return undefined;
}

/** The tools a source build of `addon` needs that are missing, as { tool, apt } pairs. */
function missingBuildTools(addon, env = process.env) {
  const missing = [];
  if (!which('cmake', env)) missing.push({ tool: 'cmake', apt: 'cmake' });
  if (!which('ninja', env)) missing.push({ tool: 'ninja', apt: 'ninja-build' });
  const cxx = env.CXX ? [env.CXX] : ['c++', 'g++', 'clang++'];
  if (!cxx.some((c) => (path.isAbsolute(c) ? fs.existsSync(c) : which(c, env))))
    missing.push({ tool: 'a C++17 compiler (c++/g++)', apt: 'g++' });
  if (addon === 'spm') {
    if (!which('pkg-config', env)) missing.push({ tool: 'pkg-config', apt: 'pkg-config' });
    else if (spawnSync('pkg-config', ['--exists', 'sentencepiece'], { env }).status !== 0)
      missing.push({ tool: 'the SentencePiece headers (sentencepiece.pc)', apt: 'libsentencepiece-dev' });
  }
  return missing;
}

module.exports = { root, devCheckout, which, missingBuildTools, RUNTIME_PACKAGES, BUILD_PACKAGES };
