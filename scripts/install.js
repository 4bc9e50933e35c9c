#!/usr/bin/env node

// Install step: use a matching prebuild when there is one, otherwise build from source.
// Rebuilds only when the native sources changed since the last build (a stamp of their hash),
// so that scripts/setup.sh can call it on every run. Note: npm 11 blocks dependency install
// scripts unless approved; when ext5 is a dependency and its script was blocked, the loader
// falls back to prebuilds and, failing that, says to run `npx ext5-build` (this file).
const fs = require('node:fs');
const path = require('node:path');
const crypto = require('node:crypto');
const { build, ADDONS } = require('./build-native');

const root = path.resolve(__dirname, '..');

function sourceHash(addon) {
  const dir = path.join(root, 'native', addon);
  const h = crypto.createHash('sha256');
  const files = [path.join(root, 'CMakeLists.txt')];
  for (const f of fs.readdirSync(dir).sort()) {
    if (/\.(cc|h|hpp|cpp|txt)$/.test(f)) files.push(path.join(dir, f));
  }
  for (const f of files) h.update(f).update(fs.readFileSync(f));
  h.update(process.env.LIBTORCH || '')
    .update(process.env.Torch_DIR || '')
    .update(process.env.CMAKE_PREFIX_PATH || '');
  return h.digest('hex').slice(0, 16);
}

function hasPrebuild(addon) {
  const dir = path.join(root, 'native', addon, 'prebuilds', `${process.platform}-${process.arch}`);
  return fs.existsSync(dir) && fs.readdirSync(dir).some((f) => f.endsWith('.node'));
}

for (const addon of ADDONS) {
  if (!fs.existsSync(path.join(root, 'native', addon, 'CMakeLists.txt'))) continue;
  const built = path.join(root, 'native', addon, 'build', 'Release', `ext5_${addon}.node`);
  const stamp = path.join(root, 'native', addon, 'build', 'ext5-source.hash');
  const hash = sourceHash(addon);
  const gitCheckout = fs.existsSync(path.join(root, '.git'));
  if (
    !gitCheckout &&
    !fs.existsSync(built) &&
    hasPrebuild(addon) &&
    process.env.EXT5_BUILD_FROM_SOURCE !== '1'
  ) {
    console.error(`[ext5 install] using the prebuilt ${addon} addon`);
    continue;
  }
  if (fs.existsSync(built) && fs.existsSync(stamp) && fs.readFileSync(stamp, 'utf8') === hash) continue;
  try {
    build(addon);
    fs.writeFileSync(stamp, hash);
  } catch (e) {
    console.error(`[ext5 install] ${e.message}`);
    process.exit(1);
  }
}
