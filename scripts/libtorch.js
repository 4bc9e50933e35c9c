// Finds the libtorch that the native addon builds against, in the documented order:
//   1. LIBTORCH: an official libtorch archive or a pip torch package directory;
//   2. Torch_DIR / CMAKE_PREFIX_PATH from the environment;
//   3. a python3 that imports torch (torch.utils.cmake_prefix_path);
//   4. the system (Debian's libtorch-dev: find_package(Torch) works with no hints).
const fs = require('node:fs');
const path = require('node:path');
const { execFileSync } = require('node:child_process');
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

module.exports = { findLibtorch };
