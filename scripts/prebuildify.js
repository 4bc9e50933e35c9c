#!/usr/bin/env node

// Makes prebuilt binaries: native/<addon>/prebuilds/<platform>-<arch>/ext5_<addon>.<libc>.node,
// the layout node-gyp-build loads and package.json's "files" ships. prebuildify 6 has no cmake-js
// backend, so it is given a shim (scripts/prebuildify-shim.js) as its "node-gyp". The build runs
// in a fresh temporary folder, so the local build (native/<addon>/build) that tests and users load
// is never written to, and two runs never share a folder.
//   node scripts/prebuildify.js [--from-build] [--out <package dir>] [torch|spm ...]
//   --from-build   package the existing local build (EXT5_<ADDON>_ADDON, else
//                  native/<addon>/build/Release/ext5_<addon>.node) instead of compiling it again;
//                  prebuildify still strips, names and places it (release CI that has just run
//                  `npm run build:native`, and test/e2e/pack.test.ts, use this)
//   --out <dir>    the package root to write native/<addon>/prebuilds into (default: this one)
// Prebuilds need the libtorch / SentencePiece shared libraries at run time (not self-contained).
const path = require('node:path');
const fs = require('node:fs');
const os = require('node:os');
const { spawnSync } = require('node:child_process');
const { ADDONS } = require('./build-native');
const { root } = require('./build-env');

/** The local build --from-build packages: the loader's first two choices, in its order. */
function localBuild(addon) {
  const env = process.env[`EXT5_${addon.toUpperCase()}_ADDON`];
  const file = env
    ? path.resolve(env)
    : path.join(root, 'native', addon, 'build', 'Release', `ext5_${addon}.node`);
  if (!fs.existsSync(file)) {
    throw new Error(
      `--from-build: no local build of ${addon} at ${file}; run \`npm run build:native\` first`,
    );
  }
  return file;
}

function prebuildify(addon, { fromBuild, out }) {
  const stage = fs.mkdtempSync(path.join(os.tmpdir(), `ext5-prebuild-${addon}-`));
  try {
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
      path.join(out, 'native', addon),
      stage,
    ];
    // prebuildify keeps a header cache in $TMPDIR/prebuildify and never removes it: give it a
    // temporary directory inside the stage, which goes when the stage does.
    const tmp = path.join(stage, 'tmp');
    fs.mkdirSync(tmp);
    const env = { ...process.env, TMPDIR: tmp, EXT5_PREBUILD_ADDON: addon };
    if (fromBuild) env.EXT5_PREBUILD_FROM = localBuild(addon);
    else delete env.EXT5_PREBUILD_FROM;
    const r = spawnSync(process.execPath, args, { cwd: root, stdio: 'inherit', env });
    if (r.status !== 0) throw new Error(`prebuildify for ${addon} failed (exit ${r.status})`);
  } finally {
    fs.rmSync(stage, { recursive: true, force: true });
  }
  const dir = path.join(out, 'native', addon, 'prebuilds', `${process.platform}-${process.arch}`);
  console.error(`[ext5 prebuildify] ${addon}: ${fs.readdirSync(dir).join(', ')} in ${dir}`);
}

function parseArgs(argv) {
  const opts = { fromBuild: false, out: root, addons: [] };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--from-build') opts.fromBuild = true;
    else if (a === '--out') {
      const dir = argv[++i];
      if (!dir) throw new Error('--out needs a directory');
      opts.out = path.resolve(dir);
    } else if (ADDONS.includes(a)) opts.addons.push(a);
    else
      throw new Error(`unknown argument '${a}' (expected --from-build, --out <dir>, ${ADDONS.join(', ')})`);
  }
  if (opts.addons.length === 0) opts.addons = ADDONS;
  return opts;
}

try {
  const opts = parseArgs(process.argv.slice(2));
  for (const addon of opts.addons) {
    if (fs.existsSync(path.join(root, 'native', addon, 'CMakeLists.txt'))) prebuildify(addon, opts);
  }
} catch (e) {
  console.error(`[ext5 prebuildify] ${e.message}`);
  process.exit(1);
}
