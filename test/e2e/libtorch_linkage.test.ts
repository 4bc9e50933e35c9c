// Two libtorch installations must never meet in one addon or one process: scripts/build-native.js
// checks the linked .node (readelf -d, ldd) and lib/native/loader.ts checks the process
// (/proc/self/maps) before dlopen. Both run here on small ELF files compiled by g++: a "chosen"
// libtorch directory holding libc10.so, a "system" one holding libc10.so.1.13, and addons linked
// against one or both, the shape of a pip-torch build on a machine with Debian's libtorch-dev.
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { libtorchClash, mappedTorchLibraries } from '../../lib/native/loader';

const { torchLinkageProblems } = require('../../scripts/libtorch.js') as {
  torchLinkageProblems(
    file: string,
    libdir: string,
  ): { problems: string[]; needed: string[]; resolved: { name: string; path: string | null }[] };
};
const { checkTorchLinkage } = require('../../scripts/build-native.js') as {
  checkTorchLinkage(outDir: string): { checked: boolean };
};

jest.setTimeout(120_000);

const work = fs.mkdtempSync(path.join(os.tmpdir(), 'ext5-linkage-'));
const chosen = path.join(work, 'pip', 'torch', 'lib');
const system = path.join(work, 'system');
afterAll(() => fs.rmSync(work, { recursive: true, force: true }));

function gxx(args: string[]): void {
  const r = spawnSync('g++', args, { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`g++ ${args.join(' ')} failed:\n${r.stderr}`);
}

/** A shared object from one line of C++, NEEDing `libs` (kept even if unused) with `rpath`. */
function link(out: string, libs: string[], rpath: string[], soname?: string): string {
  const src = path.join(work, `${path.basename(out)}.cc`);
  fs.writeFileSync(src, `extern "C" int ${path.basename(out).replace(/\W/g, '_')}() { return 1; }\n`);
  gxx([
    '-shared',
    '-fPIC',
    '-o',
    out,
    src,
    ...(soname ? [`-Wl,-soname,${soname}`] : []),
    '-Wl,--no-as-needed',
    ...libs,
    ...rpath.map((r) => `-Wl,-rpath,${r}`),
  ]);
  return out;
}

let clean: string;
let mixed: string;
let norpath: string;
beforeAll(() => {
  fs.mkdirSync(chosen, { recursive: true });
  fs.mkdirSync(system, { recursive: true });
  link(path.join(chosen, 'libc10.so'), [], [], 'libc10.so');
  link(path.join(system, 'libc10.so.1.13'), [], [], 'libc10.so.1.13');
  clean = link(path.join(work, 'clean.node'), [path.join(chosen, 'libc10.so')], [chosen]);
  // What the unpinned CMake produced: the system libc10 and the chosen one, both NEEDed.
  mixed = link(
    path.join(work, 'mixed.node'),
    [path.join(system, 'libc10.so.1.13'), path.join(chosen, 'libc10.so')],
    [chosen, system],
  );
  norpath = link(path.join(work, 'norpath.node'), [path.join(chosen, 'libc10.so')], []);
});

test('an addon whose torch libraries all resolve in the chosen libtorch passes', () => {
  const r = torchLinkageProblems(clean, chosen);
  expect(r.problems).toEqual([]);
  expect(r.needed).toEqual(['libc10.so']);
  expect(r.resolved).toEqual([{ name: 'libc10.so', path: path.join(chosen, 'libc10.so') }]);
});

test('a mixed addon is caught: two copies of c10, one from outside the chosen libtorch', () => {
  const r = torchLinkageProblems(mixed, chosen);
  expect(r.problems).toEqual(
    expect.arrayContaining([
      expect.stringMatching(/NEEDs libc10\.so\.1\.13 and libc10\.so: two copies/),
      expect.stringContaining(`libc10.so.1.13 resolves to ${path.join(system, 'libc10.so.1.13')}, outside`),
    ]),
  );
  // Checked against the other directory, the clean addon is outside too.
  expect(torchLinkageProblems(clean, system).problems).toEqual([expect.stringContaining('outside')]);
  // Without an rpath the name goes to the system search path: Debian's libc10.so where
  // libtorch-dev is installed (outside the chosen libtorch), or nothing.
  expect(torchLinkageProblems(norpath, chosen).problems).toEqual([
    expect.stringMatching(/^libc10\.so (is not found|resolves to \S+, outside)/),
  ]);
});

test('build-native refuses a mixed build and removes the .node', () => {
  const out = path.join(work, 'build-mixed');
  fs.mkdirSync(path.join(out, 'Release'), { recursive: true });
  fs.copyFileSync(mixed, path.join(out, 'Release', 'ext5_torch.node'));
  fs.writeFileSync(path.join(out, 'ext5-torch-libdir.txt'), `${chosen}\n`);
  expect(() => checkTorchLinkage(out)).toThrow(
    expect.objectContaining({
      code: 'EXT5_BUILD_LIBTORCH_MIX',
      message: expect.stringMatching(/mixes libtorch/),
    }),
  );
  expect(fs.existsSync(path.join(out, 'Release', 'ext5_torch.node'))).toBe(false);

  const good = path.join(work, 'build-clean');
  fs.mkdirSync(path.join(good, 'Release'), { recursive: true });
  fs.copyFileSync(clean, path.join(good, 'Release', 'ext5_torch.node'));
  fs.writeFileSync(path.join(good, 'ext5-torch-libdir.txt'), `${chosen}\n`);
  expect(checkTorchLinkage(good)).toMatchObject({ checked: true });
});

test('the loader sees the torch libraries mapped into a process and refuses a foreign one', () => {
  const maps = (files: string[]) =>
    [
      '7f0000000000-7f0000001000 r--p 00000000 fd:01 1234    /usr/lib/x86_64-linux-gnu/libc.so.6',
      ...files.map((f, i) => `7f00000${i}2000-7f00000${i}3000 r-xp 00001000 fd:01 ${99 + i}    ${f}`),
      '7ffd00000000-7ffd00021000 rw-p 00000000 00:00 0                          [stack]',
    ].join('\n');
  const foreign = path.join(system, 'libc10.so.1.13');
  const own = path.join(chosen, 'libc10.so');
  expect(mappedTorchLibraries(maps([foreign, own, `${own} (deleted)`]))).toEqual([foreign, own]);
  expect(mappedTorchLibraries(maps([]))).toEqual([]);
  // Nothing mapped, or only the addon's own libtorch: no clash.
  expect(libtorchClash(clean, maps([]))).toBeUndefined();
  expect(libtorchClash(clean, maps([own]))).toBeUndefined();
  // A libc10 from elsewhere already in the process: refused, naming it.
  expect(libtorchClash(clean, maps([foreign]))).toMatch(
    new RegExp(
      `already holds ${foreign.replace(/\./g, '\\.')}, but the addon uses the libtorch in ${chosen}`,
    ),
  );
});
