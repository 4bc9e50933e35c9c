// `npm run prebuildify` makes prebuilds, and an installed copy of the package with a matching
// prebuild neither compiles (no cmake on PATH) nor fails to load: the loader reports 'prebuild'.
import { execFileSync, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { root } from './helpers/cli';

jest.setTimeout(900_000);

// Every temporary directory a test makes, removed after the file's tests whether they pass or fail.
const made: string[] = [];
afterAll(() => {
  for (const d of made) fs.rmSync(d, { recursive: true, force: true });
});
function tempDir(prefix: string): string {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  made.push(d);
  return d;
}

function copy(rel: string, dest: string) {
  fs.cpSync(path.join(root, rel), path.join(dest, rel), { recursive: true });
}

test('a fresh install with matching prebuilds does not compile', () => {
  execFileSync(process.execPath, [path.join(root, 'scripts', 'prebuildify.js'), 'torch'], {
    cwd: root,
    stdio: 'pipe',
  });
  const prebuilds = path.join(root, 'native', 'torch', 'prebuilds', `${process.platform}-${process.arch}`);
  expect(fs.readdirSync(prebuilds).some((f) => /^ext5_torch\..*node$/.test(f))).toBe(true);

  // An installed package: what `npm pack` ships, without .git and without a local build.
  const pkg = tempDir('ext5-installed-');
  for (const rel of ['package.json', 'dist', 'scripts', 'CMakeLists.txt', 'native/torch/prebuilds'])
    copy(rel, pkg);
  for (const f of fs.readdirSync(path.join(root, 'native', 'torch'))) {
    if (/\.(cc|h|txt)$/.test(f)) copy(path.join('native', 'torch', f), pkg);
  }
  fs.symlinkSync(path.join(root, 'node_modules'), path.join(pkg, 'node_modules'));

  // PATH without cmake or a compiler: any attempt to build would fail loudly.
  const bare = tempDir('ext5-bare-path-');
  fs.symlinkSync(process.execPath, path.join(bare, 'node'));
  const env = { ...process.env, PATH: bare };
  const install = spawnSync(process.execPath, ['scripts/install.js'], { cwd: pkg, env, encoding: 'utf8' });
  expect(install.stderr).toMatch(/using the prebuilt torch addon/);
  expect(install.status).toBe(0);
  expect(fs.existsSync(path.join(pkg, 'native', 'torch', 'build'))).toBe(false);

  const probe = spawnSync(
    process.execPath,
    [
      '-e',
      "const l = require('./dist/lib/native/loader'); const t = l.loadAddon('torch');" +
        "console.log(JSON.stringify({ how: l.addonOrigin('torch').how, v: t.info().torchVersion }))",
    ],
    { cwd: pkg, env, encoding: 'utf8' },
  );
  expect(probe.status).toBe(0);
  const out = JSON.parse(probe.stdout);
  expect(out.how).toBe('prebuild');
  expect(out.v).toMatch(/^\d+\.\d+/);
});

function loaderError(pkg: string) {
  const probe = spawnSync(
    process.execPath,
    [
      '-e',
      "try { require('./dist/lib/native/loader').loadAddon('torch') } catch (e) { console.log(JSON.stringify({ code: e.code, message: e.message, hint: e.hint })) }",
    ],
    { cwd: pkg, encoding: 'utf8' },
  );
  return JSON.parse(probe.stdout);
}

test('with no build and no prebuild, the loader lists what it tried and how to fix it', () => {
  // An installed package without a prebuild for this platform: only commands that exist there.
  const pkg = tempDir('ext5-nobuild-');
  for (const rel of ['package.json', 'dist', 'scripts']) copy(rel, pkg);
  fs.symlinkSync(path.join(root, 'node_modules'), path.join(pkg, 'node_modules'));
  const err = loaderError(pkg);
  expect(err.code).toBe('EXT5_ADDON_NOT_FOUND');
  expect(err.message).toMatch(/local build .*not built/);
  expect(err.message).toMatch(/prebuild .*none for/);
  expect(err.hint).toMatch(/build-native\.js" torch/);
  expect(err.hint).toContain(`node "${path.join(pkg, 'scripts', 'build-native.js')}" torch`);
  expect(err.hint).toMatch(/npm install-scripts approve ext5/);
  expect(err.hint).not.toMatch(/setup\.sh|npm run build:native/);

  // The same copy as a git clone: the developer commands.
  fs.mkdirSync(path.join(pkg, '.git'));
  const dev = loaderError(pkg);
  expect(dev.hint).toMatch(/npm run build:native/);
  expect(dev.hint).toMatch(/node scripts\/build-native\.js torch/);
  expect(dev.hint).toMatch(/bash scripts\/setup\.sh/);
});

test('without a prebuild and without the build tools, install stops and names what to install', () => {
  const pkg = tempDir('ext5-notools-');
  for (const rel of [
    'package.json',
    'scripts',
    'CMakeLists.txt',
    'native/spm/CMakeLists.txt',
    'native/spm/spm.cc',
  ])
    copy(rel, pkg);
  fs.symlinkSync(path.join(root, 'node_modules'), path.join(pkg, 'node_modules'));
  // PATH with node only: no cmake, ninja, compiler or pkg-config.
  const bare = tempDir('ext5-bare-path-');
  fs.symlinkSync(process.execPath, path.join(bare, 'node'));
  const env = { ...process.env, PATH: bare };
  const r = spawnSync(process.execPath, ['scripts/build-native.js', 'spm'], {
    cwd: pkg,
    env,
    encoding: 'utf8',
  });
  expect(r.status).toBe(1);
  expect(r.stderr).toMatch(
    /cannot build native\/spm: missing cmake, ninja, a C\+\+17 compiler \(c\+\+\/g\+\+\), pkg-config/,
  );
  expect(r.stderr).toMatch(
    /apt-get install libtorch-dev libsentencepiece-dev .*cmake ninja-build g\+\+ pkg-config/,
  );
  expect(r.stderr).not.toMatch(/setup\.sh/);
  expect(fs.existsSync(path.join(pkg, 'native', 'spm', 'build'))).toBe(false);
});
