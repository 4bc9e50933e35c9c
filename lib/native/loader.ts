/**
 * Loads ext5's native addons lazily, the first time a caller needs one.
 *
 * Order (first that loads wins): an explicit path in `EXT5_<NAME>_ADDON`, the local build
 * (`native/<name>/build/Release/ext5_<name>.node`), then a prebuild for this platform
 * (`native/<name>/prebuilds/<platform>-<arch>/`, via node-gyp-build). When none loads, the error
 * lists every attempt with its own failure and the commands that fix it (sharp's loader is the
 * model). Each addon lives in its own folder: one .node per directory, and SentencePiece's bundled
 * protobuf must never share a .node with libtorch.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Ext5Error } from '../util/errors';
import { packageRoot } from '../util/package_root';

export { packageRoot };

export type AddonName = 'torch' | 'spm';

/** How an addon was found, for `ext5 doctor`. */
export interface AddonOrigin {
  name: AddonName;
  path: string;
  how: 'env' | 'local build' | 'prebuild';
}

const loaded = new Map<AddonName, { exports: unknown; origin: AddonOrigin }>();

function firstLine(e: unknown): string {
  const msg = e instanceof Error ? e.message : String(e);
  return msg.split('\n')[0] ?? msg;
}

function fixesFor(name: AddonName, failures: string[]): string[] {
  const fixes: string[] = [];
  const text = failures.join('\n');
  if (/libtorch|libc10|libgomp|libopenblas|libsentencepiece/.test(text)) {
    fixes.push(
      name === 'torch'
        ? 'install libtorch: `bash scripts/setup.sh` (Debian/Ubuntu: libtorch-dev), or point LD_LIBRARY_PATH at your libtorch/lib'
        : 'install SentencePiece: `apt-get install libsentencepiece-dev` (or run `bash scripts/setup.sh`)',
    );
  }
  if (/NODE_MODULE_VERSION|napi|invalid ELF|wrong ELF class/.test(text)) {
    fixes.push(`rebuild for this Node/platform: \`node scripts/build-native.js ${name}\``);
  }
  fixes.push(`build from source: \`npm run build:native\` (or \`node scripts/build-native.js ${name}\`)`);
  fixes.push('on a fresh clone, `bash scripts/setup.sh` installs everything and builds');
  fixes.push(
    'if ext5 is a dependency and npm 11 blocked its install script, run `npm install-scripts approve ext5` and reinstall',
  );
  return fixes;
}

/**
 * Loads (once) and returns the named addon's exports, typed by the caller.
 * @throws Ext5Error with code EXT5_ADDON_NOT_FOUND listing every attempt and the fixes.
 */
export function loadAddon<T>(name: AddonName): T {
  const cached = loaded.get(name);
  if (cached) return cached.exports as T;
  const root = packageRoot();
  const dir = path.join(root, 'native', name);
  const attempts: string[] = [];
  const tryLoad = (file: string, how: AddonOrigin['how']): T | undefined => {
    try {
      const exports = require(file) as T;
      loaded.set(name, { exports, origin: { name, path: file, how } });
      return exports;
    } catch (e) {
      attempts.push(`${how} ${file}: ${firstLine(e)}`);
      return undefined;
    }
  };

  const envPath = process.env[`EXT5_${name.toUpperCase()}_ADDON`];
  if (envPath) {
    const r = tryLoad(path.resolve(envPath), 'env');
    if (r) return r;
  }
  const local = path.join(dir, 'build', 'Release', `ext5_${name}.node`);
  if (fs.existsSync(local)) {
    const r = tryLoad(local, 'local build');
    if (r) return r;
  } else {
    attempts.push(`local build ${local}: not built`);
  }
  const prebuildDir = path.join(dir, 'prebuilds', `${process.platform}-${process.arch}`);
  if (fs.existsSync(prebuildDir)) {
    let prebuild: string | undefined;
    try {
      // node-gyp-build picks the prebuild whose tags (napi, libc, …) match this runtime. It reads
      // PREBUILDS_ONLY when first required; set it so a broken local build is not picked again.
      const saved = process.env.PREBUILDS_ONLY;
      process.env.PREBUILDS_ONLY = '1';
      try {
        const ngb = require('node-gyp-build') as { resolve(dir: string): string };
        prebuild = ngb.resolve(dir);
      } finally {
        if (saved === undefined) delete process.env.PREBUILDS_ONLY;
        else process.env.PREBUILDS_ONLY = saved;
      }
    } catch (e) {
      attempts.push(`prebuild in ${prebuildDir}: ${firstLine(e)}`);
    }
    if (prebuild) {
      const r = tryLoad(prebuild, 'prebuild');
      if (r) return r;
    }
  } else {
    attempts.push(`prebuild ${prebuildDir}: none for ${process.platform}-${process.arch}`);
  }
  const fixes = fixesFor(name, attempts);
  throw new Ext5Error(
    'EXT5_ADDON_NOT_FOUND',
    `could not load ext5's ${name} addon. Tried:\n${attempts.map((a) => `  - ${a}`).join('\n')}`,
    `Possible fixes:\n${fixes.map((f) => `    - ${f}`).join('\n')}`,
  );
}

/** How a loaded addon was found, or undefined if it has not been loaded in this process. */
export function addonOrigin(name: AddonName): AddonOrigin | undefined {
  return loaded.get(name)?.origin;
}

/** True once the named addon has been loaded in this process (libtorch costs ~0.3 s to load). */
export function isAddonLoaded(name: AddonName): boolean {
  return loaded.has(name);
}
