#!/usr/bin/env node

// Stands in for node-gyp when prebuildify calls `<node-gyp> rebuild --target=… --release`:
// builds the addon named by EXT5_PREBUILD_ADDON with cmake-js into ./build (prebuildify's cwd,
// a temporary staging folder), where prebuildify picks up build/Release/*.node. With
// EXT5_PREBUILD_FROM (scripts/prebuildify.js --from-build) it copies that existing build there
// instead of compiling; prebuildify's own strip / name / copy steps run either way.
const path = require('node:path');
const fs = require('node:fs');

const addon = process.env.EXT5_PREBUILD_ADDON;
if (!addon) {
  console.error('prebuildify-shim: EXT5_PREBUILD_ADDON is not set; run `node scripts/prebuildify.js`');
  process.exit(2);
}
const out = path.join(process.cwd(), 'build');
fs.rmSync(out, { recursive: true, force: true });
const from = process.env.EXT5_PREBUILD_FROM;
if (from) {
  fs.mkdirSync(path.join(out, 'Release'), { recursive: true });
  fs.copyFileSync(from, path.join(out, 'Release', `ext5_${addon}.node`));
  process.exit(0);
}
process.env.EXT5_BUILD_DIR = out;
const { build } = require('./build-native');
try {
  build(addon);
} catch (e) {
  console.error(`prebuildify-shim: ${e.message}`);
  process.exit(1);
}
