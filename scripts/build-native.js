#!/usr/bin/env node

// Builds the native addons with cmake-js, offline (package.json has binary.napi_versions, so
// cmake-js uses node-api-headers instead of downloading Node headers). cmake-js and
// node-addon-api are regular dependencies, so this also works in an installed package
// (node_modules/ext5), given the system tools and libraries that missingBuildTools() checks.
//   node scripts/build-native.js            both addons (torch, spm)
//   node scripts/build-native.js torch      one addon
// Output: native/<addon>/build/Release/ext5_<addon>.node
const path = require('node:path');
const fs = require('node:fs');
const { spawnSync } = require('node:child_process');
const { findLibtorch, torchLinkageProblems } = require('./libtorch');
const { root, devCheckout, missingBuildTools, BUILD_PACKAGES } = require('./build-env');

const ADDONS = ['torch', 'spm'];

/** Stops before cmake when a tool is missing, naming exactly what to install. */
function checkTools(addon) {
  const missing = missingBuildTools(addon);
  let cmakeJs;
  try {
    cmakeJs = require.resolve('cmake-js/bin/cmake-js');
  } catch {
    missing.push({ tool: 'the cmake-js npm package', npm: 'cmake-js' });
  }
  if (missing.length === 0) return cmakeJs;
  const apt = missing.filter((m) => m.apt).map((m) => m.apt);
  const fixes = [];
  if (apt.length) {
    fixes.push(
      devCheckout()
        ? `bash scripts/setup.sh (or: apt-get install ${apt.join(' ')})`
        : `apt-get install ${BUILD_PACKAGES.join(' ')}  (Debian/Ubuntu: everything a source build needs)`,
    );
  }
  if (missing.some((m) => m.npm))
    fixes.push('npm install cmake-js (it is a dependency of ext5; reinstall ext5)');
  const err = new Error(
    `cannot build native/${addon}: missing ${missing.map((m) => m.tool).join(', ')}.\nInstall: ${fixes.join('; ')}`,
  );
  err.code = 'EXT5_BUILD_TOOLS';
  throw err;
}

function build(addon) {
  if (!ADDONS.includes(addon))
    throw new Error(`unknown addon '${addon}' (expected one of ${ADDONS.join(', ')})`);
  if (!fs.existsSync(path.join(root, 'native', addon, 'CMakeLists.txt'))) {
    console.error(`[ext5 build] native/${addon} has no CMakeLists.txt yet; skipping`);
    return;
  }
  // EXT5_BUILD_DIR lets several people build side by side (the loader then needs
  // EXT5_<ADDON>_ADDON=<dir>/Release/ext5_<addon>.node).
  const out = process.env.EXT5_BUILD_DIR || path.join('native', addon, 'build');
  const args = ['build', '-d', '.', '-O', out, '-G', 'Ninja', `--CDEXT5_ADDON=${addon}`];
  const cmakeJs = checkTools(addon);
  let info = { how: 'not needed' };
  if (addon === 'torch') {
    info = findLibtorch();
    // Torch_DIR names the chosen TorchConfig.cmake outright, so that a Torch_DIR cached in the
    // build folder by an earlier configure (another libtorch) cannot win over it.
    const torchDir =
      info.torchDir ||
      (info.cmakePrefix && fs.existsSync(path.join(info.cmakePrefix, 'Torch', 'TorchConfig.cmake'))
        ? path.join(info.cmakePrefix, 'Torch')
        : undefined);
    if (torchDir) args.push(`--CDTorch_DIR=${torchDir}`);
    if (info.cmakePrefix) args.push(`--CDCMAKE_PREFIX_PATH=${info.cmakePrefix}`);
  }
  if (process.env.EXT5_BUILD_JOBS) args.push('-p', process.env.EXT5_BUILD_JOBS);
  console.error(`[ext5 build] building native/${addon} (libtorch: ${info.how})`);
  const r = spawnSync(process.execPath, [cmakeJs, ...args, '-l', 'warn'], { cwd: root, stdio: 'inherit' });
  if (r.status !== 0) {
    throw new Error(`building native/${addon} failed (exit ${r.status}); see the compiler output above`);
  }
  const record = { addon, libtorch: info, builtAt: new Date().toISOString(), node: process.version };
  if (addon === 'torch') record.linkage = checkTorchLinkage(path.resolve(root, out));
  fs.writeFileSync(path.resolve(root, out, 'ext5-build.json'), `${JSON.stringify(record, null, 2)}\n`);
}

/**
 * After linking: every torch and c10 library the addon loads must resolve inside the libtorch
 * directory that CMake configured (native/torch/CMakeLists.txt writes it to
 * ext5-torch-libdir.txt). Two libtorch installations in one process abort at load.
 * @throws Error with code EXT5_BUILD_LIBTORCH_MIX naming each library that is wrong.
 */
function checkTorchLinkage(outDir) {
  if (process.platform !== 'linux') return { checked: false, why: `no ldd check on ${process.platform}` };
  const node = path.join(outDir, 'Release', 'ext5_torch.node');
  const libdir = fs.readFileSync(path.join(outDir, 'ext5-torch-libdir.txt'), 'utf8').trim();
  const r = torchLinkageProblems(node, libdir);
  if (r.problems.length) {
    // A .node that would abort the process must not stay where the loader finds it.
    fs.rmSync(node, { force: true });
    const err = new Error(
      `the built addon mixes libtorch installations (libtorch chosen: ${libdir}):\n` +
        `${r.problems.map((p) => `  - ${p}`).join('\n')}\n` +
        'The .node was removed. Point LIBTORCH (or Torch_DIR) at one complete libtorch and build into ' +
        'a clean folder (EXT5_BUILD_DIR), or delete the build folder and rebuild.',
    );
    err.code = 'EXT5_BUILD_LIBTORCH_MIX';
    throw err;
  }
  console.error(
    `[ext5 build] torch libraries all from ${libdir}: ${r.resolved.map((l) => l.name).join(', ')}`,
  );
  return { checked: true, libdir, needed: r.needed, runpath: r.runpath, resolved: r.resolved };
}

if (require.main === module) {
  const which = process.argv.slice(2);
  try {
    for (const addon of which.length ? which : ADDONS) build(addon);
  } catch (e) {
    console.error(`[ext5 build] ${e.message}`);
    process.exit(1);
  }
}

module.exports = { build, checkTorchLinkage, ADDONS };
