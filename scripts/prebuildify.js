#!/usr/bin/env node

// Makes prebuilt binaries: native/<addon>/prebuilds/<platform>-<arch>/ext5_<addon>.<libc>.node,
// the layout node-gyp-build loads. prebuildify 6 has no cmake-js backend, so it is given a shim
// (scripts/prebuildify-shim.js) as its "node-gyp". Builds happen in a staging folder so the
// local build (native/<addon>/build) that tests and users load is never clobbered.
//   node scripts/prebuildify.js [torch|spm ...]
// Prebuilds need the libtorch / SentencePiece shared libraries at run time (not self-contained).
const path = require('node:path');
const fs = require('node:fs');
const { spawnSync } = require('node:child_process');
const { ADDONS } = require('./build-native');

const root = path.resolve(__dirname, '..');

function prebuildify(addon) {
  const stage = path.join(root, '.cache', 'prebuild-stage', addon);
  fs.rmSync(stage, { recursive: true, force: true });
  fs.mkdirSync(stage, { recursive: true });
  fs.writeFileSync(
    path.join(stage, 'package.json'),
    JSON.stringify({ name: `ext5_${addon}`, private: true }),
  );
  const bin = require.resolve('prebuildify/bin.js');
  const args = [
    bin,
    '--napi',
    '--strip',
    '--tag-libc',
    '--name',
    `ext5_${addon}`,
    '--node-gyp',
    path.join(__dirname, 'prebuildify-shim.js'),
    '--out',
    path.join(root, 'native', addon),
    stage,
  ];
  const env = { ...process.env, EXT5_PREBUILD_ADDON: addon };
  const r = spawnSync(process.execPath, args, { cwd: root, stdio: 'inherit', env });
  if (r.status !== 0) throw new Error(`prebuildify for ${addon} failed (exit ${r.status})`);
  const dir = path.join(root, 'native', addon, 'prebuilds', `${process.platform}-${process.arch}`);
  console.error(
    `[ext5 prebuildify] ${addon}: ${fs.readdirSync(dir).join(', ')} in ${path.relative(root, dir)}`,
  );
}

const which = process.argv.slice(2);
try {
  for (const addon of which.length ? which : ADDONS) {
    if (fs.existsSync(path.join(root, 'native', addon, 'CMakeLists.txt'))) prebuildify(addon);
  }
} catch (e) {
  console.error(`[ext5 prebuildify] ${e.message}`);
  process.exit(1);
}
