// The run-directory lock: one holder at a time, a live holder is named in the error, a dead one
// (no such pid, a reused pid, a restarted machine) is recognised and removed, a lock from another
// host or an unreadable one is never removed silently. The holders here are real processes.
import { type ChildProcess, spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import {
  acquireRunLock,
  bootId,
  ownHolder,
  processStartTime,
  type RunLockHolder,
  readRunLock,
} from '../../../lib/run/run_lock';
import { Ext5Error } from '../../../lib/util/errors';

let tmp: string;
const sleepers: ChildProcess[] = [];
beforeEach(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'ext5-lock-'));
});
afterEach(() => {
  for (const p of sleepers.splice(0)) p.kill('SIGKILL');
  fs.rmSync(tmp, { recursive: true, force: true });
});

/** A live process that is not this one. */
async function liveProcess(): Promise<number> {
  const p = spawn('sleep', ['60'], { stdio: 'ignore' });
  sleepers.push(p);
  await new Promise((r) => p.once('spawn', r));
  return p.pid!;
}

/** The pid of a process that has exited (and been reaped). */
async function deadPid(): Promise<number> {
  const p = spawn(process.execPath, ['-e', '0'], { stdio: 'ignore' });
  await new Promise((r) => p.once('exit', r));
  return p.pid!;
}

function writeLock(dir: string, h: Partial<RunLockHolder>): string {
  fs.mkdirSync(dir, { recursive: true });
  const file = path.join(dir, 'run.lock');
  fs.writeFileSync(file, JSON.stringify({ ...ownHolder(), ...h }));
  return file;
}

function refusal(fn: () => unknown): Ext5Error {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(Ext5Error);
    return e as Ext5Error;
  }
  throw new Error('expected EXT5_RUN_LOCKED');
}

/** Runs `fn` with stderr captured. */
function quietly<T>(fn: () => T): { value: T; stderr: string } {
  const write = process.stderr.write;
  let stderr = '';
  process.stderr.write = ((s: string) => {
    stderr += s;
    return true;
  }) as typeof process.stderr.write;
  try {
    return { value: fn(), stderr };
  } finally {
    process.stderr.write = write;
  }
}

test('one holder: a second taker is refused with the holder named; release frees it', () => {
  const dir = path.join(tmp, 'run');
  const lock = acquireRunLock(dir);
  const rec = JSON.parse(fs.readFileSync(path.join(dir, 'run.lock'), 'utf8')) as RunLockHolder;
  expect(rec.pid).toBe(process.pid);
  expect(rec.host).toBe(os.hostname());
  expect(Date.parse(rec.startedAt)).toBeGreaterThan(Date.now() - 60_000);
  if (process.platform === 'linux') {
    expect(rec.bootId).toBe(bootId());
    expect(rec.procStart).toMatch(/^\d+$/);
  }
  const e = refusal(() => acquireRunLock(dir));
  expect(e.code).toBe('EXT5_RUN_LOCKED');
  expect(e.message).toContain(`pid ${process.pid} on ${os.hostname()}, started ${rec.startedAt}`);
  expect(e.hint).toMatch(/kill -INT \d+/);
  expect(readRunLock(dir)?.state).toBe('live');
  lock.release();
  lock.release(); // idempotent
  expect(fs.existsSync(path.join(dir, 'run.lock'))).toBe(false);
  acquireRunLock(dir).release();
});

test('a start that never began removes the directories taking the lock created; a started run keeps its own', () => {
  const deep = path.join(tmp, 'a', 'b', 'run');
  acquireRunLock(deep).release();
  expect(fs.existsSync(path.join(tmp, 'a'))).toBe(false);
  const started = path.join(tmp, 'started');
  const lock = acquireRunLock(started);
  fs.writeFileSync(path.join(started, 'config.json'), '{}');
  lock.release();
  expect(fs.readdirSync(started)).toEqual(['config.json']);
});

test('a lock whose process is gone is removed, saying so', async () => {
  const dir = path.join(tmp, 'dead');
  const pid = await deadPid();
  writeLock(dir, { pid, procStart: '1' });
  expect(readRunLock(dir)).toMatchObject({ state: 'stale', why: `process ${pid} is no longer running` });
  const { value: lock, stderr } = quietly(() => acquireRunLock(dir));
  expect(stderr).toMatch(new RegExp(`removed the stale lock of .*pid ${pid} .*no longer running`));
  expect(JSON.parse(fs.readFileSync(lock.path, 'utf8')).pid).toBe(process.pid);
  lock.release();
});

const linux = process.platform === 'linux' ? test : test.skip;

linux(
  'a reused pid (another start time) and a restarted machine (another boot id) make a lock stale',
  async () => {
    const pid = await liveProcess();
    const start = processStartTime(pid);
    expect(start).toMatch(/^\d+$/);
    const live = path.join(tmp, 'live');
    writeLock(live, { pid, procStart: start });
    expect(readRunLock(live)?.state).toBe('live');
    expect(refusal(() => acquireRunLock(live)).message).toContain(`pid ${pid} on ${os.hostname()}`);

    const reused = path.join(tmp, 'reused');
    writeLock(reused, { pid, procStart: String(Number(start) + 12345) });
    expect(readRunLock(reused)).toMatchObject({
      state: 'stale',
      why: `pid ${pid} now belongs to another process`,
    });
    quietly(() => acquireRunLock(reused)).value.release();

    const rebooted = path.join(tmp, 'rebooted');
    writeLock(rebooted, { pid, procStart: start, bootId: '00000000-0000-0000-0000-000000000000' });
    expect(readRunLock(rebooted)).toMatchObject({ state: 'stale', why: expect.stringMatching(/restarted/) });
    quietly(() => acquireRunLock(rebooted)).value.release();
  },
);

test('a lock from another host is never broken: the error says which host and how to remove it', async () => {
  const dir = path.join(tmp, 'foreign');
  const file = writeLock(dir, { host: `not-${os.hostname()}`, pid: await deadPid() });
  const e = refusal(() => acquireRunLock(dir));
  expect(e.code).toBe('EXT5_RUN_LOCKED');
  expect(e.message).toContain(`on not-${os.hostname()}`);
  expect(e.hint).toContain(`delete ${file}`);
  expect(fs.existsSync(file)).toBe(true);
});

test('an unreadable lock is not broken either', () => {
  const dir = path.join(tmp, 'garbage');
  fs.mkdirSync(dir);
  const file = path.join(dir, 'run.lock');
  fs.writeFileSync(file, 'not json');
  const e = refusal(() => acquireRunLock(dir));
  expect(e.code).toBe('EXT5_RUN_LOCKED');
  expect(e.message).toMatch(/cannot be read \(it is not a lock record\); another start may be writing it/);
  expect(e.hint).toContain(`delete ${file}`);
  const old = new Date(Date.now() - 60_000);
  fs.utimesSync(file, old, old);
  expect(refusal(() => acquireRunLock(dir)).message).not.toMatch(/may be writing/);
  expect(fs.readFileSync(file, 'utf8')).toBe('not json');
});

test('a run directory that is a file is a clear error', () => {
  const file = path.join(tmp, 'file');
  fs.writeFileSync(file, '');
  expect(refusal(() => acquireRunLock(file)).code).toBe('EXT5_RUN_DIR');
});
