/**
 * Durable writes, in one place for every writer of the project (checkpoints, optimizer state,
 * run directories, metrics, downloads, reports):
 *
 * - `writeFileAtomic` / `writeFileDurable`: a file appears whole or not at all (temporary
 *   sibling, fsync, rename, fsync of the directory), so a crash or SIGKILL never leaves a
 *   half-written config, index or safetensors file.
 * - `writeDirectoryAtomic`: a directory (a checkpoint) is filled in a hidden sibling and swapped
 *   in; `recoverInterruptedSave` repairs the one window between its two renames.
 * - `commitFile`: makes a file that was written in place (a download's `.partial`) durable under
 *   its final name.
 * - `fsyncQuietly` / `fsyncDir`: fsync where the file system allows it.
 * - `asWriteError`: a full disk (ENOSPC) or an exhausted quota (EDQUOT) becomes ONE coded error,
 *   Ext5Error EXT5_DISK_FULL naming the file, whoever wrote; other failures become EXT5_IO.
 *
 * The rename-over pattern is POSIX rename(2)'s atomicity; the directory fsync makes the rename
 * itself survive a power cut (as in SQLite's and LevelDB's writers).
 *
 * @example
 * writeFileDurable('run/config.json', JSON.stringify(cfg));
 * await writeDirectoryAtomic('ckpt/step-100', (tmp) => writeFileDurable(path.join(tmp, 'a.bin'), bytes));
 */
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Ext5Error } from '../util/errors';

/** True for the errno codes of a full disk or an exhausted disk quota. */
export function isDiskFull(e: unknown): boolean {
  const code = (e as NodeJS.ErrnoException | null)?.code;
  return code === 'ENOSPC' || code === 'EDQUOT';
}

/**
 * Turns a failed write of `file` into an Ext5Error that names it: ENOSPC/EDQUOT become
 * EXT5_DISK_FULL (with a hint), anything else EXT5_IO. An Ext5Error passes through unchanged.
 */
export function asWriteError(e: unknown, file: string): Error {
  if (e instanceof Ext5Error) return e;
  if (isDiskFull(e)) {
    const quota = (e as NodeJS.ErrnoException).code === 'EDQUOT';
    return new Ext5Error(
      'EXT5_DISK_FULL',
      `${quota ? 'disk quota exceeded' : 'no space left on the device'} while writing ${file}`,
      quota
        ? 'free space within your quota or write to another file system'
        : 'free disk space or save to another directory',
    );
  }
  return new Ext5Error('EXT5_IO', `cannot write ${file}: ${(e as Error)?.message ?? String(e)}`);
}

/** fsync, where the file system supports it (some FUSE and network mounts refuse; the data was written). */
export function fsyncQuietly(fd: number): void {
  try {
    fs.fsyncSync(fd);
  } catch {
    // not supported everywhere; the write itself succeeded
  }
}

/**
 * fsync for data that must be on disk before a rename publishes it: only "not supported"
 * (EINVAL, ENOTSUP) is tolerated; a delayed ENOSPC or EIO that the file system reports at fsync
 * (NFS, delayed allocation) is thrown, so a truncated file is never renamed into place.
 */
export function fsyncForCommit(fd: number): void {
  try {
    fs.fsyncSync(fd);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code !== 'EINVAL' && code !== 'ENOTSUP') throw e;
  }
}

/** fsyncs a directory so that renames and new entries in it survive a power cut. */
export function fsyncDir(dir: string): void {
  let fd: number | undefined;
  try {
    fd = fs.openSync(dir, 'r');
    fs.fsyncSync(fd);
  } catch {
    // some file systems refuse fsync on directories; the rename is still atomic
  } finally {
    if (fd !== undefined) fs.closeSync(fd);
  }
}

/**
 * Writes `data` at `position` (or the current end with `position` omitted) and maps a failure
 * to the coded error of {@link asWriteError}. For files kept open and appended to (logs).
 */
export function writeSyncMapped(fd: number, data: string | Uint8Array, file: string): void {
  try {
    if (typeof data === 'string') fs.writeSync(fd, data);
    else fs.writeSync(fd, data, 0, data.length);
  } catch (e) {
    throw asWriteError(e, file);
  }
}

function tempSibling(file: string, kind: 'tmp' | 'old'): string {
  const tag = `${process.pid}-${crypto.randomBytes(4).toString('hex')}`;
  return path.join(path.dirname(file), `.${path.basename(file)}.${kind}-${tag}`);
}

/**
 * Writes a whole file durably: `fill(fd)` writes into a hidden temporary sibling, which is
 * fsynced, then renamed over `file`, and the directory fsynced. Readers see the old content or
 * the new one, never a part. On failure the temporary file is removed and `file` is unchanged.
 *
 * @throws Ext5Error EXT5_DISK_FULL / EXT5_IO naming `file` (an Ext5Error from `fill` passes through).
 */
export function writeFileAtomic(file: string, fill: (fd: number) => void): void {
  const tmp = tempSibling(file, 'tmp');
  let fd: number | undefined;
  try {
    fd = fs.openSync(tmp, 'w');
    fill(fd);
    fsyncForCommit(fd);
    fs.closeSync(fd);
    fd = undefined;
    fs.renameSync(tmp, file);
  } catch (e) {
    if (fd !== undefined) fs.closeSync(fd);
    fs.rmSync(tmp, { force: true });
    throw asWriteError(e, file);
  }
  fsyncDir(path.dirname(path.resolve(file)));
}

/**
 * {@link writeFileAtomic} of a string or bytes (configs, indexes, JSON state). With `mkdir`, the
 * file's folder (and its parents) is created first when missing.
 */
export function writeFileDurable(
  file: string,
  data: string | Uint8Array,
  opts: { mkdir?: boolean } = {},
): void {
  if (opts.mkdir) fs.mkdirSync(path.dirname(file), { recursive: true });
  writeFileAtomic(file, (fd) => fs.writeFileSync(fd, data));
}

/**
 * Makes `from` (a file written in place, e.g. a download's `.partial`) durable as `to`: fsync,
 * rename, fsync of the directory.
 */
export function commitFile(from: string, to: string): void {
  try {
    const fd = fs.openSync(from, 'r+');
    try {
      fsyncForCommit(fd);
    } finally {
      fs.closeSync(fd);
    }
    fs.renameSync(from, to);
  } catch (e) {
    throw asWriteError(e, to);
  }
  fsyncDir(path.dirname(path.resolve(to)));
}

// ---- atomic directories ------------------------------------------------------------------------

/** True when a process with this pid runs (on this machine; EPERM means it runs under another user; a zombie has exited). */
export function pidAlive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  if (pid === process.pid) return true;
  try {
    process.kill(pid, 0);
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
  return !isZombie(pid);
}

/**
 * True when `pid` has exited and only waits to be reaped (Linux `/proc/<pid>/stat` state Z): an
 * orphan whose parent was killed stays a zombie until init reaps it, and signal 0 still reaches it.
 */
function isZombie(pid: number): boolean {
  let stat: string;
  try {
    stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return false;
  }
  const end = stat.lastIndexOf(')');
  return end >= 0 && stat.slice(end + 2, end + 3) === 'Z';
}

function siblings(target: string, kind: 'tmp' | 'old'): Array<{ full: string; pid: number; mtime: number }> {
  const parent = path.dirname(target);
  const prefix = `.${path.basename(target)}.${kind}-`;
  let names: string[];
  try {
    names = fs.readdirSync(parent);
  } catch {
    return [];
  }
  return names
    .filter((n) => n.startsWith(prefix))
    .map((n) => {
      const full = path.join(parent, n);
      const pid = Number(n.slice(prefix.length).split('-')[0]);
      let mtime = 0;
      try {
        mtime = fs.statSync(full).mtimeMs;
      } catch {
        // vanished meanwhile
      }
      return { full, pid, mtime };
    });
}

/**
 * Repairs what an interrupted {@link writeDirectoryAtomic} can leave behind: if the target is
 * missing but a previous version was renamed aside (a crash between the two renames), that
 * version is renamed back; temporary and set-aside siblings of dead processes are removed.
 * Returns true if it restored the target.
 */
export function recoverInterruptedSave(target: string): boolean {
  const abs = path.resolve(target);
  let restored = false;
  const olds = siblings(abs, 'old').filter((o) => !pidAlive(o.pid) || o.pid === process.pid);
  if (!fs.existsSync(abs) && olds.length > 0) {
    const newest = olds.sort((a, b) => b.mtime - a.mtime)[0]!;
    fs.renameSync(newest.full, abs);
    fsyncDir(path.dirname(abs));
    restored = true;
  }
  for (const o of [...siblings(abs, 'old'), ...siblings(abs, 'tmp')]) {
    if (!pidAlive(o.pid)) fs.rmSync(o.full, { recursive: true, force: true });
  }
  return restored;
}

/**
 * Runs `fill(tmpDir)` to write a directory's content into a fresh hidden sibling of `target`,
 * then swaps it in atomically: an existing target is renamed aside first and removed only after
 * the new one is in place. On any error the temporary directory is removed and the previous
 * content of `target` (if any) stays as it was.
 *
 * @throws Ext5Error EXT5_DISK_FULL / EXT5_IO naming `target`; EXT5_IO when `target` is a file.
 */
export async function writeDirectoryAtomic(
  target: string,
  fill: (tmpDir: string) => void | Promise<void>,
): Promise<void> {
  const abs = path.resolve(target);
  const parent = path.dirname(abs);
  if (fs.existsSync(abs) && !fs.statSync(abs).isDirectory()) {
    throw new Ext5Error('EXT5_IO', `${abs} exists and is not a directory`, 'choose another output path');
  }
  fs.mkdirSync(parent, { recursive: true });
  recoverInterruptedSave(abs);
  const tmp = tempSibling(abs, 'tmp');
  try {
    fs.mkdirSync(tmp);
    await fill(tmp);
    fsyncDir(tmp);
  } catch (e) {
    fs.rmSync(tmp, { recursive: true, force: true });
    throw asWriteError(e, abs);
  }
  let aside: string | undefined;
  if (fs.existsSync(abs)) {
    aside = tempSibling(abs, 'old');
    fs.renameSync(abs, aside);
  }
  try {
    fs.renameSync(tmp, abs);
  } catch (e) {
    if (aside) fs.renameSync(aside, abs);
    fs.rmSync(tmp, { recursive: true, force: true });
    throw asWriteError(e, abs);
  }
  fsyncDir(parent);
  if (aside) fs.rmSync(aside, { recursive: true, force: true });
}
