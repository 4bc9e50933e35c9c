/**
 * One writer per run directory: `RUN_DIR/run.lock`, taken before a run looks at its checkpoints
 * (so `checkpoint.resume=auto` never resumes a run that is still going) and held until it ends.
 *
 * The lock file names its holder as JSON: pid, host name, start time, and two facts that make a
 * dead holder recognisable after a crash, a SIGKILL or a power cut: the kernel's boot id and the
 * process's start time (field 22 of /proc/PID/stat, in clock ticks since boot). On the same host a
 * lock is stale, and is removed with a note on stderr, when the machine has restarted since (other
 * boot id), when no process has that pid, or when the pid now belongs to a process that started at
 * another time (a reused pid). A lock taken on another host is never broken: ext5 cannot see that
 * host's processes, so the error says which host holds it and how to remove it by hand.
 *
 * The file appears whole or not at all: it is written under a temporary name and hard-linked into
 * place, which fails when a lock exists (link(2) does not replace, like open's O_EXCL). A stale lock
 * is removed by renaming it aside and checking that what was renamed is the file judged stale (the
 * same inode), so that two starts breaking it at once cannot remove a lock that a third just took.
 * Released by {@link RunLock.release} (the trainer calls it when the run ends or is stopped by
 * SIGINT/SIGTERM) or when the process exits; a start that is refused or fails before the run begins
 * also removes the directories that taking the lock created.
 *
 * Reading a run directory (reports, another run's checkpoints) needs no lock.
 *
 * @example
 * const lock = acquireRunLock('runs/demo'); // throws EXT5_RUN_LOCKED naming a live holder
 * try { ... } finally { lock.release(); }
 */
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fsyncDir, fsyncQuietly, pidAlive } from '../io/durable';
import { Ext5Error } from '../util/errors';
import { RUN_FILES } from './run_dir';

/** Who holds a run directory's lock (the content of run.lock). */
export interface RunLockHolder {
  pid: number;
  host: string;
  /** ISO 8601, UTC. */
  startedAt: string;
  /** /proc/sys/kernel/random/boot_id of the holder's machine (null where there is none). */
  bootId: string | null;
  /** The holder's start time in clock ticks since boot, /proc/PID/stat field 22 (null where there is none). */
  procStart: string | null;
  /** The holder's command line (shortened). */
  command: string;
}

/** What is known about a lock found in place. */
export type RunLockVerdict =
  | { state: 'live'; holder: RunLockHolder }
  | { state: 'stale'; holder: RunLockHolder; why: string }
  | { state: 'foreign'; holder: RunLockHolder }
  | { state: 'unreadable'; why: string; young: boolean };

/** An unreadable lock younger than this may still be being written (the no-hard-link fallback). */
const YOUNG_MS = 10_000;
/** Starts that keep meeting and breaking locks give up after this many tries. */
const ATTEMPTS = 8;
/** At most this much of the holder's command line is kept. */
const COMMAND_CHARS = 300;

function readText(file: string): string | null {
  try {
    return fs.readFileSync(file, 'utf8');
  } catch {
    return null;
  }
}

/** This machine's boot id, or null where the kernel has none (not Linux). */
export function bootId(): string | null {
  return readText('/proc/sys/kernel/random/boot_id')?.trim() || null;
}

/** A process's start time in clock ticks since boot (/proc/PID/stat field 22), or null when unknown. */
export function processStartTime(pid: number): string | null {
  const stat = readText(`/proc/${pid}/stat`);
  if (stat === null) return null;
  // Field 2 (the command) is in parentheses and may hold spaces or ')': count from the last ')'.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const start = fields[19]; // fields[0] is field 3 (state)
  return start && /^\d+$/.test(start) ? start : null;
}

/** The holder record of this process. */
export function ownHolder(argv: readonly string[] = process.argv): RunLockHolder {
  return {
    pid: process.pid,
    host: os.hostname(),
    startedAt: new Date().toISOString(),
    bootId: bootId(),
    procStart: processStartTime(process.pid),
    command: argv.slice(1).join(' ').slice(0, COMMAND_CHARS),
  };
}

function parseHolder(text: string): RunLockHolder | null {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch {
    return null;
  }
  const h = v as Partial<RunLockHolder> | null;
  if (!h || typeof h !== 'object') return null;
  if (!Number.isInteger(h.pid) || (h.pid as number) <= 0 || typeof h.host !== 'string') return null;
  const str = (x: unknown) => (typeof x === 'string' ? x : null);
  return {
    pid: h.pid as number,
    host: h.host,
    startedAt: str(h.startedAt) ?? 'unknown',
    bootId: str(h.bootId),
    procStart: str(h.procStart),
    command: (str(h.command) ?? '').slice(0, COMMAND_CHARS),
  };
}

/** Whether the holder of a lock is alive (see the file comment for the rules). */
export function judgeHolder(holder: RunLockHolder): RunLockVerdict {
  if (holder.host !== os.hostname()) return { state: 'foreign', holder };
  const boot = bootId();
  if (boot && holder.bootId && boot !== holder.bootId) {
    return { state: 'stale', holder, why: 'the machine has restarted since it was taken' };
  }
  if (!pidAlive(holder.pid)) {
    return { state: 'stale', holder, why: `process ${holder.pid} is no longer running` };
  }
  const now = processStartTime(holder.pid);
  if (holder.procStart && now && now !== holder.procStart) {
    return { state: 'stale', holder, why: `pid ${holder.pid} now belongs to another process` };
  }
  return { state: 'live', holder };
}

interface SeenLock {
  ino: number;
  verdict: RunLockVerdict;
}

/** The lock in place and what it says, or null when there is none. */
function inspect(lockPath: string): SeenLock | null {
  let fd: number;
  try {
    fd = fs.openSync(lockPath, 'r');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw lockIoError(e, lockPath);
  }
  try {
    const st = fs.fstatSync(fd);
    const text = fs.readFileSync(fd, 'utf8');
    const holder = parseHolder(text);
    const verdict: RunLockVerdict = holder
      ? judgeHolder(holder)
      : {
          state: 'unreadable',
          why: text.trim() === '' ? 'it is empty' : 'it is not a lock record',
          young: Date.now() - st.mtimeMs < YOUNG_MS,
        };
    return { ino: st.ino, verdict };
  } finally {
    fs.closeSync(fd);
  }
}

/** The holder of a run directory's lock and whether it is alive, or null when it is not locked. */
export function readRunLock(dir: string): RunLockVerdict | null {
  return inspect(path.join(path.resolve(dir), RUN_FILES.lock))?.verdict ?? null;
}

function lockIoError(e: unknown, lockPath: string): Ext5Error {
  return new Ext5Error(
    'EXT5_RUN_DIR',
    `cannot take the lock ${lockPath}: ${(e as Error).message}`,
    'check that the run directory is writable',
  );
}

function describe(h: RunLockHolder): string {
  return `pid ${h.pid} on ${h.host}, started ${h.startedAt}${h.command ? ` (${h.command})` : ''}`;
}

/** The error of a start that meets a lock it may not break. */
function lockedError(root: string, lockPath: string, v: RunLockVerdict): Ext5Error {
  switch (v.state) {
    case 'foreign':
      return new Ext5Error(
        'EXT5_RUN_LOCKED',
        `${root} is locked by a run on another host: ${describe(v.holder)}; ext5 cannot see that host's processes, so it never removes this lock itself`,
        `if no run on ${v.holder.host} uses this directory any more, delete ${lockPath} and start again; otherwise choose another run directory (--run-dir DIR)`,
      );
    case 'unreadable':
      return new Ext5Error(
        'EXT5_RUN_LOCKED',
        `${root} is locked, but its lock ${lockPath} cannot be read (${v.why})${v.young ? '; another start may be writing it right now' : ''}`,
        `if no run uses this directory, delete ${lockPath} and start again; otherwise choose another run directory (--run-dir DIR)`,
      );
    default:
      return new Ext5Error(
        'EXT5_RUN_LOCKED',
        `${root} is in use by another run: ${describe(v.holder)}; a run directory has one writer at a time`,
        `wait for that run to end, or stop it (kill -INT ${v.holder.pid} saves a checkpoint and stops; then --resume auto continues it); to train alongside it, choose another run directory (--run-dir DIR)`,
      );
  }
}

/**
 * Writes `text` to a fresh file and links it to `lockPath`: the inode when this process now holds
 * the lock, null when a lock is already there. Where the file system has no hard links, the file is
 * created with O_EXCL and written in place.
 */
function tryCreate(lockPath: string, text: string): number | null {
  const tmp = path.join(
    path.dirname(lockPath),
    `.${path.basename(lockPath)}.${process.pid}-${crypto.randomBytes(4).toString('hex')}.tmp`,
  );
  let ino: number;
  try {
    ino = writeRecord(fs.openSync(tmp, 'wx'), text);
  } catch (e) {
    fs.rmSync(tmp, { force: true });
    throw lockIoError(e, lockPath);
  }
  try {
    fs.linkSync(tmp, lockPath);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'EEXIST') return null;
    if (code !== 'EPERM' && code !== 'ENOTSUP' && code !== 'EOPNOTSUPP' && code !== 'ENOSYS')
      throw lockIoError(e, lockPath);
    return createExclusive(lockPath, text);
  } finally {
    fs.rmSync(tmp, { force: true });
  }
  fsyncDir(path.dirname(lockPath));
  return ino;
}

function createExclusive(lockPath: string, text: string): number | null {
  let fd: number;
  try {
    fd = fs.openSync(lockPath, 'wx');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'EEXIST') return null;
    throw lockIoError(e, lockPath);
  }
  return writeRecord(fd, text);
}

/** Writes the holder record to a new file, durably, and closes it: its inode. */
function writeRecord(fd: number, text: string): number {
  try {
    fs.writeSync(fd, text);
    fsyncQuietly(fd);
    return fs.fstatSync(fd).ino;
  } finally {
    fs.closeSync(fd);
  }
}

/**
 * Removes the stale lock with inode `ino`: true when it was removed, false when the lock in place
 * is no longer that one (another start removed it or took a new one; the caller looks again).
 */
function breakStale(lockPath: string, ino: number): boolean {
  const aside = path.join(
    path.dirname(lockPath),
    `.${path.basename(lockPath)}.stale-${process.pid}-${crypto.randomBytes(4).toString('hex')}`,
  );
  try {
    fs.renameSync(lockPath, aside);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw lockIoError(e, lockPath);
  }
  let same = false;
  try {
    same = fs.statSync(aside).ino === ino;
    if (!same) {
      // A fresh lock of another start was renamed: put it back (unless yet another start took the place).
      try {
        fs.linkSync(aside, lockPath);
      } catch {
        // the place was taken again; that start holds the directory
      }
    }
  } finally {
    fs.rmSync(aside, { force: true });
  }
  return same;
}

/** A held run-directory lock. */
export class RunLock {
  private released = false;
  private readonly onExit = () => this.release();

  /** @internal use {@link acquireRunLock} */
  constructor(
    /** The run directory (absolute). */
    readonly root: string,
    /** Its lock file. */
    readonly path: string,
    private readonly ino: number,
    /** The outermost directory that taking the lock created, if any. */
    private readonly created: string | undefined,
  ) {
    process.on('exit', this.onExit);
  }

  /** True until {@link release}. */
  get held(): boolean {
    return !this.released;
  }

  /**
   * Removes the lock (only while it is still this one), and the directories taking it created
   * when the run never started (it has no config.json). Idempotent.
   */
  release(): void {
    if (this.released) return;
    this.released = true;
    process.off('exit', this.onExit);
    try {
      if (fs.statSync(this.path).ino === this.ino) fs.unlinkSync(this.path);
    } catch {
      // already gone
    }
    removeUnstarted(this.root, this.created);
  }
}

/**
 * A start that never began leaves no trace: when `root` holds no config.json, removes it and its
 * parents up to `created` (the outermost one taking the lock created) while they are empty.
 */
function removeUnstarted(root: string, created: string | undefined): void {
  if (created === undefined || fs.existsSync(path.join(root, RUN_FILES.config))) return;
  for (let d = root; ; d = path.dirname(d)) {
    try {
      fs.rmdirSync(d);
    } catch {
      return; // not empty: something else lives there now
    }
    if (d === created || path.dirname(d) === d) return;
  }
}

/**
 * Takes the lock of run directory `dir` (creating the directory when needed), removing a stale lock
 * first (with a note on stderr).
 * @throws Ext5Error EXT5_RUN_LOCKED when a live run holds it, a run on another host holds it, or the
 *   lock cannot be read; EXT5_RUN_DIR when the directory cannot be created or written.
 */
export function acquireRunLock(dir: string, argv: readonly string[] = process.argv): RunLock {
  const root = path.resolve(dir);
  const lockPath = path.join(root, RUN_FILES.lock);
  let created: string | undefined;
  try {
    if (fs.existsSync(root) && !fs.statSync(root).isDirectory()) {
      throw new Ext5Error(
        'EXT5_RUN_DIR',
        `'${root}' is a file, not a run directory`,
        'choose another run directory (--run-dir DIR)',
      );
    }
    created = fs.mkdirSync(root, { recursive: true });
  } catch (e) {
    if (e instanceof Ext5Error) throw e;
    throw new Ext5Error(
      'EXT5_RUN_DIR',
      `cannot create the run directory '${root}': ${(e as Error).message}`,
      'check that the parent directory exists and is writable',
    );
  }
  const giveUp = (err: Ext5Error): never => {
    removeUnstarted(root, created);
    throw err;
  };
  const text = `${JSON.stringify(ownHolder(argv))}\n`;
  for (let attempt = 0; attempt < ATTEMPTS; attempt++) {
    let ino: number | null;
    try {
      ino = tryCreate(lockPath, text);
    } catch (e) {
      return giveUp(e as Ext5Error);
    }
    if (ino !== null) return new RunLock(root, lockPath, ino, created);
    let seen: SeenLock | null;
    try {
      seen = inspect(lockPath);
    } catch (e) {
      return giveUp(e as Ext5Error);
    }
    if (!seen) continue; // released meanwhile
    const v = seen.verdict;
    if (v.state !== 'stale') return giveUp(lockedError(root, lockPath, v));
    if (breakStale(lockPath, seen.ino)) {
      process.stderr.write(`ext5: removed the stale lock of ${root} (${describe(v.holder)}): ${v.why}\n`);
    }
  }
  return giveUp(
    new Ext5Error(
      'EXT5_RUN_LOCKED',
      `cannot take the lock of ${root}: other starts kept taking it (${ATTEMPTS} tries)`,
      'start one run per run directory',
    ),
  );
}
