#!/usr/bin/env node

// Install step (package.json "install", and step 4 of scripts/setup.sh): use a matching prebuild
// when there is one and it loads, otherwise build from source. Rebuilds only when the native
// sources changed since the last build (a stamp of their hash), so that scripts/setup.sh can call
// it on every run. In a git clone it always builds (developers change the C++).
// npm 11 skips dependencies' install scripts unless the project approved them
// (`npm install-scripts approve ext5`); a matching prebuild loads without this script, and
// without one the loader's error names this script (or `npm rebuild ext5`) as the fix.
//   EXT5_BUILD_FROM_SOURCE=1   ignore prebuilds
const fs = require('node:fs');
const path = require('node:path');
const crypto = require('node:crypto');
const { build, ADDONS } = require('./build-native');
const { root, devCheckout, RUNTIME_PACKAGES } = require('./build-env');

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

/**
 * The prebuild node-gyp-build would pick for this runtime (platform, arch, libc, N-API), the same
 * choice lib/native/loader.ts makes at run time; undefined when none matches.
 */
function matchingPrebuild(addon) {
  const dir = path.join(root, 'native', addon);
  if (!fs.existsSync(path.join(dir, 'prebuilds'))) return undefined;
  // PREBUILDS_ONLY is read when node-gyp-build is first required: never pick a local build here.
  process.env.PREBUILDS_ONLY = '1';
  try {
    return require('node-gyp-build').resolve(dir);
  } catch {
    return undefined;
  }
}

/** undefined when the prebuild loads here, else the first line of the loader's error. */
function loadError(file) {
  try {
    require(file);
    return undefined;
  } catch (e) {
    return String(e.message).split('\n')[0];
  }
}

const dev = devCheckout();
for (const addon of ADDONS) {
  if (!fs.existsSync(path.join(root, 'native', addon, 'CMakeLists.txt'))) continue;
  const built = path.join(root, 'native', addon, 'build', 'Release', `ext5_${addon}.node`);
  const stamp = path.join(root, 'native', addon, 'build', 'ext5-source.hash');
  if (!dev && !fs.existsSync(built) && process.env.EXT5_BUILD_FROM_SOURCE !== '1') {
    const prebuild = matchingPrebuild(addon);
    if (prebuild) {
      const why = loadError(prebuild);
      if (!why) {
        console.error(`[ext5 install] using the prebuilt ${addon} addon (${path.relative(root, prebuild)})`);
        continue;
      }
      console.error(
        `[ext5 install] the prebuilt ${addon} addon does not load here: ${why}\n` +
          `[ext5 install] prebuilds need these shared libraries at run time (Debian 12: apt-get install ${RUNTIME_PACKAGES.join(' ')}); building from source instead`,
      );
    }
  }
  const hash = sourceHash(addon);
  if (fs.existsSync(built) && fs.existsSync(stamp) && fs.readFileSync(stamp, 'utf8') === hash) continue;
  try {
    build(addon);
    fs.writeFileSync(stamp, hash);
  } catch (e) {
    console.error(`[ext5 install] ${e.message}`);
    process.exit(1);
  }
}
