// lib/io/durable.ts: the one durable writer and the one full-disk error of the project.
import { execFileSync, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import {
  asWriteError,
  commitFile,
  isDiskFull,
  writeDirectoryAtomic,
  writeFileAtomic,
  writeFileDurable,
} from '../../../lib/io/durable';
import { MetricsWriter } from '../../../lib/run/metrics_log';
import { Ext5Error } from '../../../lib/util/errors';

let root: string;
beforeAll(() => {
  root = fs.mkdtempSync(path.join(os.tmpdir(), 'ext5-durable-'));
});
afterAll(() => fs.rmSync(root, { recursive: true, force: true }));

const errno = (code: string) => Object.assign(new Error(`${code}: fake`), { code });

test('ENOSPC and EDQUOT map to one coded error naming the file, with a hint', () => {
  for (const code of ['ENOSPC', 'EDQUOT']) {
    expect(isDiskFull(errno(code))).toBe(true);
    const e = asWriteError(errno(code), '/x/model.safetensors') as Ext5Error;
    expect(e).toBeInstanceOf(Ext5Error);
    expect(e.code).toBe('EXT5_DISK_FULL');
    expect(e.message).toContain('/x/model.safetensors');
    expect(e.hint).toMatch(/free/);
  }
  expect(isDiskFull(errno('EACCES'))).toBe(false);
  expect((asWriteError(errno('EACCES'), '/y') as Ext5Error).code).toBe('EXT5_IO');
  const own = new Ext5Error('EXT5_SAFETENSORS', 'bad');
  expect(asWriteError(own, '/z')).toBe(own);
});

test('writeFileDurable replaces whole files and leaves no temporary file', () => {
  const f = path.join(root, 'a.json');
  writeFileDurable(f, 'one');
  writeFileDurable(f, new Uint8Array([116, 119, 111]));
  expect(fs.readFileSync(f, 'utf8')).toBe('two');
  expect(fs.readdirSync(root).filter((n) => n.startsWith('.'))).toEqual([]);
});

test('writeFileDurable creates a missing folder only when asked (mkdir)', () => {
  const f = path.join(root, 'new', 'deeper', 'c.json');
  expect(() => writeFileDurable(f, 'x')).toThrow(expect.objectContaining({ code: 'EXT5_IO' }));
  expect(fs.existsSync(path.join(root, 'new'))).toBe(false);
  writeFileDurable(f, 'x', { mkdir: true });
  expect(fs.readFileSync(f, 'utf8')).toBe('x');
});

test('a failing writer keeps the old file and removes its temporary file', () => {
  const f = path.join(root, 'b.json');
  writeFileDurable(f, 'old');
  expect(() =>
    writeFileAtomic(f, () => {
      throw errno('ENOSPC');
    }),
  ).toThrow(/no space left on the device while writing .*b\.json/);
  expect(fs.readFileSync(f, 'utf8')).toBe('old');
  expect(fs.readdirSync(root).filter((n) => n.startsWith('.'))).toEqual([]);
});

test('commitFile renames a finished partial file into place', () => {
  const part = path.join(root, 'c.bin.partial');
  fs.writeFileSync(part, 'data');
  commitFile(part, path.join(root, 'c.bin'));
  expect(fs.existsSync(part)).toBe(false);
  expect(fs.readFileSync(path.join(root, 'c.bin'), 'utf8')).toBe('data');
  expect(() => commitFile(part, path.join(root, 'd.bin'))).toThrow(Ext5Error);
});

test('a real full disk (a 64 KiB tmpfs, when this process may mount one) is EXT5_DISK_FULL everywhere', async () => {
  const mnt = path.join(root, 'tmpfs');
  fs.mkdirSync(mnt);
  const mounted =
    spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=64k', 'tmpfs', mnt], { stdio: 'ignore' }).status === 0;
  if (!mounted) {
    console.warn('durable: cannot mount a tmpfs here (not root?); the fake-errno test covers the mapping');
    return;
  }
  try {
    const big = new Uint8Array(1 << 20);
    const file = path.join(mnt, 'big.bin');
    writeFileDurable(path.join(mnt, 'keep.txt'), 'kept');
    let err: unknown;
    try {
      writeFileDurable(file, big);
    } catch (e) {
      err = e;
    }
    expect((err as Ext5Error).code).toBe('EXT5_DISK_FULL');
    expect((err as Ext5Error).message).toContain(file);
    await expect(
      writeDirectoryAtomic(path.join(mnt, 'dir'), (tmp) => writeFileDurable(path.join(tmp, 'w'), big)),
    ).rejects.toMatchObject({ code: 'EXT5_DISK_FULL' });
    // An appending writer (metrics.jsonl) reports the same error.
    const log = MetricsWriter.open(path.join(mnt, 'metrics.jsonl'));
    let logErr: unknown;
    try {
      for (let i = 0; i < 10_000; i++) log.write(i, 'train', { loss: 1 + i / 3 });
    } catch (e) {
      logErr = e;
    }
    log.close();
    expect((logErr as Ext5Error).code).toBe('EXT5_DISK_FULL');
    expect(fs.readFileSync(path.join(mnt, 'keep.txt'), 'utf8')).toBe('kept');
    expect(fs.readdirSync(mnt).filter((n) => n.startsWith('.'))).toEqual([]);
  } finally {
    execFileSync('umount', [mnt]);
  }
});
