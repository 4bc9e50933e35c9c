#!/usr/bin/env node

// Stands in for node-gyp when prebuildify calls `<node-gyp> rebuild --target=… --release`:
// builds the addon named by EXT5_PREBUILD_ADDON with cmake-js into ./build (prebuildify's cwd,
// a staging folder), where prebuildify picks up build/Release/*.node.
const path = require('node:path');
const fs = require('node:fs');

const addon = process.env.EXT5_PREBUILD_ADDON;
if (!addon) {
  console.error('prebuildify-shim: EXT5_PREBUILD_ADDON is not set; run `node scripts/prebuildify.js`');
  process.exit(2);
}
const out = path.join(process.cwd(), 'build');
fs.rmSync(out, { recursive: true, force: true });
process.env.EXT5_BUILD_DIR = out;
const { build } = require('./build-native');
try {
  build(addon);
} catch (e) {
  console.error(`prebuildify-shim: ${e.message}`);
  process.exit(1);
}
