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

/** The part of scripts/libtorch.js the clash check uses (plain JS, shipped with the package). */
interface LibtorchScript {
  isTorchLibrary(file: string): boolean;
  resolvedTorchLibraries(file: string, env?: NodeJS.ProcessEnv): { name: string; path: string | null }[];
}

// A require by path: the script lives in scripts/ (outside the compiled tree), found from the package
// root at run time; it is needed only when an addon is about to be loaded.
function libtorchScript(): LibtorchScript {
  return require(path.join(packageRoot(), 'scripts', 'libtorch.js')) as LibtorchScript;
}

function realDir(file: string): string {
  try {
    return path.dirname(fs.realpathSync(file));
  } catch {
    return path.dirname(file);
  }
}

/**
 * The torch and c10 libraries (libtorch*, libc10*, …) mapped into this process, from the text of
 * /proc/self/maps (read when not given; empty where there is none).
 */
export function mappedTorchLibraries(maps?: string): string[] {
  let text = maps;
  if (text === undefined) {
    try {
      text = fs.readFileSync('/proc/self/maps', 'utf8');
    } catch {
      return [];
    }
  }
  const { isTorchLibrary } = libtorchScript();
  const out = new Set<string>();
  for (const line of text.split('\n')) {
    // address perms offset dev inode path
    const m = /^\S+\s+\S+\s+\S+\s+\S+\s+\d+\s+(\/.*?)(?: \(deleted\))?$/.exec(line);
    if (m?.[1] && isTorchLibrary(m[1])) out.add(m[1]);
  }
  return [...out];
}

/**
 * Why loading the torch addon `file` would bring a second libtorch into this process, or undefined
 * when it would not: every torch library already mapped (`maps`, default /proc/self/maps) must lie
 * in a directory that the addon's own torch libraries resolve to (ldd, under this process's
 * LD_LIBRARY_PATH). Two libtorch installations in one process abort inside c10, and a library
 * already loaded under the same name would be used in place of the one the addon was built for.
 */
export function libtorchClash(file: string, maps?: string): string | undefined {
  const mapped = mappedTorchLibraries(maps);
  if (mapped.length === 0) return undefined;
  let resolved: { name: string; path: string | null }[];
  try {
    resolved = libtorchScript().resolvedTorchLibraries(file);
  } catch (e) {
    return `this process already holds ${mapped.join(', ')}, and which libtorch ${file} uses cannot be told (${firstLine(e)})`;
  }
  const dirs = new Set(resolved.flatMap((l) => (l.path ? [realDir(l.path)] : [])));
  const foreign = mapped.filter((p) => !dirs.has(realDir(p)));
  if (foreign.length === 0) return undefined;
  return (
    `this process already holds ${foreign.join(', ')}, but the addon uses the libtorch in ` +
    `${[...dirs].join(', ') || '(none that resolves)'}`
  );
}

function firstLine(e: unknown): string {
  const msg = e instanceof Error ? e.message : String(e);
  return msg.split('\n')[0] ?? msg;
}

/**
 * True in a git clone of ext5 with its set-up script, false in an installed package
 * (node_modules/ext5): the fixes differ, since `bash scripts/setup.sh` and `npm run build:native`
 * exist only in a clone. The same rule as devCheckout() in scripts/build-env.js (plain JS, run
 * before dist/ exists, so it cannot import this file).
 */
export function isDevCheckout(root: string = packageRoot()): boolean {
  return fs.existsSync(path.join(root, '.git')) && fs.existsSync(path.join(root, 'scripts', 'setup.sh'));
}

/** The command that builds one addon from source here, or undefined when this copy cannot. */
export function buildCommand(name: AddonName, root: string = packageRoot()): string | undefined {
  if (isDevCheckout(root)) return `node scripts/build-native.js ${name}`;
  const script = path.join(root, 'scripts', 'build-native.js');
  return fs.existsSync(script) ? `node "${script}" ${name}` : undefined;
}

function fixesFor(name: AddonName, failures: string[]): string[] {
  const root = packageRoot();
  const dev = isDevCheckout(root);
  const build = buildCommand(name, root);
  const fixes: string[] = [];
  const text = failures.join('\n');
  if (/libtorch|libc10|libgomp|libopenblas|libsentencepiece/.test(text)) {
    if (name === 'torch') {
      fixes.push(
        dev
          ? 'install libtorch: `bash scripts/setup.sh` (Debian/Ubuntu: libtorch-dev), or point LD_LIBRARY_PATH at your libtorch/lib'
          : "install libtorch's shared libraries: `apt-get install libtorch1.13` (Debian 12; the prebuild links libtorch 1.13), or point LD_LIBRARY_PATH at your libtorch/lib",
      );
    } else {
      fixes.push(
        dev
          ? 'install SentencePiece: `apt-get install libsentencepiece-dev` (or run `bash scripts/setup.sh`)'
          : 'install SentencePiece: `apt-get install libsentencepiece0`',
      );
    }
  }
  if (build && /NODE_MODULE_VERSION|napi|invalid ELF|wrong ELF class/.test(text)) {
    fixes.push(`rebuild for this Node/platform: \`${build}\``);
  }
  if (dev) {
    fixes.push(`build from source: \`npm run build:native\` (or \`${build}\`)`);
    fixes.push('on a fresh clone, `bash scripts/setup.sh` installs everything and builds');
  } else {
    if (build) {
      fixes.push(
        `build from source: \`${build}\` (it needs cmake, ninja, g++, pkg-config and the -dev packages; it names any that are missing: Debian/Ubuntu \`apt-get install libtorch-dev libsentencepiece-dev cmake ninja-build g++ pkg-config\`)`,
      );
    }
    fixes.push(
      "if npm skipped ext5's install script (npm 11 asks first), run `npm install-scripts approve ext5` then `npm rebuild ext5`",
    );
  }
  return fixes;
}

/**
 * Loads (once) and returns the named addon's exports, typed by the caller.
 * @throws Ext5Error with code EXT5_ADDON_NOT_FOUND listing every attempt and the fixes, or
 *   EXT5_LIBTORCH_CLASH when this process already holds a libtorch other than the addon's.
 */
export function loadAddon<T>(name: AddonName): T {
  const cached = loaded.get(name);
  if (cached) return cached.exports as T;
  const root = packageRoot();
  const dir = path.join(root, 'native', name);
  const attempts: string[] = [];
  const clashes: string[] = [];
  const tryLoad = (file: string, how: AddonOrigin['how']): T | undefined => {
    // Checked before dlopen: a second libtorch aborts the process, which no catch can stop.
    const clash = name === 'torch' && process.platform === 'linux' ? libtorchClash(file) : undefined;
    if (clash) {
      clashes.push(`${how} ${file}: ${clash}`);
      attempts.push(`${how} ${file}: refused, ${clash}`);
      return undefined;
    }
    try {
      // A .node file is loaded by require at the path chosen above (dlopen happens here).
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
  if (clashes.length > 0) {
    throw new Ext5Error(
      'EXT5_LIBTORCH_CLASH',
      `could not load ext5's ${name} addon: another libtorch is already loaded in this process.\n` +
        attempts.map((a) => `  - ${a}`).join('\n'),
      'One process can hold one libtorch. Load ext5 in a process that has not loaded another ' +
        'libtorch, or build the addon against the libtorch already loaded ' +
        '(`LIBTORCH=<that libtorch> node scripts/build-native.js torch`) and point EXT5_TORCH_ADDON at it.',
    );
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
