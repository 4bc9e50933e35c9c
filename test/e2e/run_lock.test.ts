// One run directory, one writer, with real processes: two `ext5 pretrain` started together on one
// directory (one trains, the other is refused naming the holder), a live run is never resumed by
// another start, SIGINT releases the lock and SIGKILL leaves one that the next start recognises as
// stale, a data-parallel launch against a locked directory stops on every rank, and fine-tuning
// from a live run that keeps one checkpoint reads its newest one without its lock.
import { type ChildProcess, spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { root, runCli } from './helpers/cli';
import { holdRunLock, startCli, trainSteps, waitFor } from './helpers/runs';

jest.setTimeout(300_000);

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'ext5-lock-e2e-'));
const children: ChildProcess[] = [];
afterAll(() => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  fs.rmSync(tmp, { recursive: true, force: true });
});

const set = (...kv: string[]) => kv.flatMap((x) => ['--set', x]);
const DEMO = ['--preset', 'tiny-demo', '--no-progress', ...set('training.threads=1')];

function start(args: string[]) {
  const run = startCli(args);
  children.push(run.p);
  return run;
}

const checkpoints = (dir: string) =>
  fs.existsSync(path.join(dir, 'checkpoints')) ? fs.readdirSync(path.join(dir, 'checkpoints')).sort() : [];

const lockFile = (dir: string) => path.join(dir, 'run.lock');

test('two writers started together: one trains, the other is refused naming the holder', async () => {
  const dir = path.join(tmp, 'together');
  const args = ['pretrain', ...DEMO, '--steps', '40', '--run-dir', dir];
  const [a, b] = [start(args), start(args)];
  const ends = await Promise.all([a.done, b.done]);
  const codes = ends.map((e) => e.code).sort();
  expect(codes).toEqual([0, 1]);
  const winner = ends[0]!.code === 0 ? a : b;
  const loser = ends.find((e) => e.code === 1)!;
  expect(loser.stderr).toMatch(/error \[EXT5_RUN_LOCKED\]/);
  expect(loser.stderr).toContain(
    `is in use by another run: pid ${winner.p.pid} on ${os.hostname()}, started `,
  );
  expect(loser.stderr).toMatch(/started \d{4}-\d\d-\d\dT[\d:.]+Z/);
  expect(loser.stderr).toMatch(/hint: wait for that run to end, or stop it/);
  // One writer: the steps only go forwards, no checkpoint was set aside, the lock is gone.
  const steps = trainSteps(dir);
  expect(steps).toEqual([...steps].sort((x, y) => x - y));
  expect(new Set(steps).size).toBe(steps.length);
  expect(steps.at(-1)).toBe(40);
  expect(checkpoints(dir).filter((n) => n.includes('superseded'))).toEqual([]);
  expect(fs.existsSync(lockFile(dir))).toBe(false);
});

test('a live run is never resumed by another start; SIGKILL leaves a stale lock the next start removes', async () => {
  const dir = path.join(tmp, 'live');
  const live = start([
    'pretrain',
    ...DEMO,
    '--steps',
    '100000',
    '--run-dir',
    dir,
    ...set('checkpoint.every=5', 'eval.every=0'),
  ]);
  await waitFor(() => checkpoints(dir).some((n) => /^step-\d{8}$/.test(n)), 'a checkpoint');
  // checkpoint.resume=auto would find that checkpoint: the lock comes first.
  const second = runCli(['pretrain', ...DEMO, '--steps', '5', '--run-dir', dir]);
  expect(second.status).toBe(1);
  expect(second.stderr).toMatch(/EXT5_RUN_LOCKED.*in use by another run: pid \d+/);
  expect(second.stderr).toContain(`pid ${live.p.pid} on ${os.hostname()}`);
  expect(second.stderr).not.toMatch(/resumed from/);

  live.p.kill('SIGKILL');
  expect((await live.done).signal).toBe('SIGKILL');
  expect(JSON.parse(fs.readFileSync(lockFile(dir), 'utf8')).pid).toBe(live.p.pid); // left behind
  const newest = Number(
    /(\d+)$/.exec(
      checkpoints(dir)
        .filter((n) => /^step-\d{8}$/.test(n))
        .at(-1)!,
    )![1],
  );
  const third = runCli([
    'pretrain',
    ...DEMO,
    '--steps',
    String(newest + 2),
    '--run-dir',
    dir,
    ...set('checkpoint.every=5', 'eval.every=0'),
  ]);
  expect(third.status).toBe(0);
  expect(third.stderr).toMatch(
    new RegExp(
      `removed the stale lock of .*pid ${live.p.pid} .*: process ${live.p.pid} is no longer running`,
    ),
  );
  expect(third.stderr).toMatch(new RegExp(`resumed from step ${newest} `));
  expect(fs.existsSync(lockFile(dir))).toBe(false);
});

test('SIGINT and SIGTERM release the lock, in the loop and right after it was taken', async () => {
  for (const sig of ['SIGINT', 'SIGTERM'] as const) {
    const dir = path.join(tmp, `signal-${sig}`);
    const run = start(['pretrain', ...DEMO, '--steps', '100000', '--run-dir', dir, ...set('eval.every=0')]);
    await waitFor(() => fs.existsSync(path.join(dir, 'metrics.jsonl')), 'the first logged step');
    run.p.kill(sig);
    const r = await run.done;
    expect(r.code).toBe(130);
    expect(fs.existsSync(lockFile(dir))).toBe(false);

    // Right after the lock is taken (the run still setting up) the signal stops it too: at once
    // when setup waits on I/O, else after the first step; either way the lock goes with it.
    const early = path.join(tmp, `early-${sig}`);
    const loading = start(['pretrain', ...DEMO, '--steps', '100000', '--run-dir', early]);
    await waitFor(() => fs.existsSync(lockFile(early)), 'the lock');
    loading.p.kill('SIGSTOP');
    loading.p.kill(sig);
    loading.p.kill('SIGCONT');
    const e = await loading.done;
    expect(e.code === 130 || e.signal === sig).toBe(true);
    expect(fs.existsSync(lockFile(early))).toBe(false);
  }
});

test('starts racing to replace one stale lock: exactly one of them takes it', async () => {
  const dir = path.join(tmp, 'race');
  fs.mkdirSync(dir);
  // A stale lock: its pid has exited.
  const gone = spawn(process.execPath, ['-e', '0'], { stdio: 'ignore' });
  await new Promise((r) => gone.once('exit', r));
  fs.writeFileSync(lockFile(dir), JSON.stringify({ pid: gone.pid, host: os.hostname(), startedAt: 'then' }));
  // The takers start at one moment (after all have loaded) and each holds what it got for 1.5 s,
  // so that all of them overlap.
  const at = Date.now() + 1500;
  const taker = `
    const { acquireRunLock } = require(${JSON.stringify(path.join(root, 'dist', 'lib', 'run', 'run_lock.js'))});
    setTimeout(() => {
      try {
        const lock = acquireRunLock(process.argv[1]);
        process.stdout.write('took');
        setTimeout(() => lock.release(), 1500);
      } catch (e) {
        process.stdout.write(e.code);
      }
    }, ${at} - Date.now());`;
  const outs = await Promise.all(
    Array.from(
      { length: 6 },
      () =>
        new Promise<string>((resolve) => {
          const p = spawn(process.execPath, ['-e', taker, dir], { stdio: ['ignore', 'pipe', 'ignore'] });
          children.push(p);
          let out = '';
          p.stdout!.on('data', (d) => {
            out += d;
          });
          p.on('close', () => resolve(out));
        }),
    ),
  );
  expect(outs.filter((o) => o === 'took')).toHaveLength(1);
  expect(outs.filter((o) => o === 'EXT5_RUN_LOCKED')).toHaveLength(5);
  expect(fs.readdirSync(dir)).toEqual([]);
});

test('a data-parallel launch against a locked run directory stops on every rank with the lock error', async () => {
  const dir = path.join(tmp, 'ddp');
  const holder = await holdRunLock(dir, 'ext5 pretrain (the holder)');
  children.push(holder);
  const t0 = Date.now();
  const r = runCli([
    'launch',
    '--nproc',
    '2',
    '--timeout',
    '60',
    '--',
    'pretrain',
    ...DEMO,
    '--steps',
    '3',
    '--run-dir',
    dir,
  ]);
  expect(r.status).toBe(1);
  expect(r.stderr).toMatch(
    /\[rank 0\] ext5: error \[EXT5_RUN_LOCKED\].*pid \d+ on .*ext5 pretrain \(the holder\)/,
  );
  // Rank 1 hears it from rank 0 (or is stopped by the launcher first), it does not wait out the timeout.
  expect(Date.now() - t0).toBeLessThan(50_000);
  expect(fs.readdirSync(dir)).toEqual(['run.lock']);
  holder.kill('SIGKILL');
});

test('fine-tuning from a live run that keeps one checkpoint reads its newest one, without its lock', async () => {
  const pre = path.join(tmp, 'pre-live');
  const live = start([
    'pretrain',
    ...DEMO,
    '--steps',
    '100000',
    '--run-dir',
    pre,
    ...set('checkpoint.every=1', 'checkpoint.keepLast=1', 'eval.every=0', 'logging.every=1000'),
  ]);
  await waitFor(() => checkpoints(pre).some((n) => /^step-\d{8}$/.test(n)), 'a checkpoint');
  const ft = path.join(tmp, 'ft-live');
  const r = runCli([
    'finetune',
    '--preset',
    'tiny-demo-finetune',
    '--no-progress',
    '--checkpoint',
    pre,
    '--steps',
    '2',
    '--run-dir',
    ft,
    ...set('training.threads=1', 'eval.every=0'),
  ]);
  expect(live.p.exitCode).toBeNull(); // it trained and pruned all along
  expect(r.stderr).not.toMatch(/error/);
  expect(r.status).toBe(0);
  // config.json names the checkpoint it started from, one of the live run's.
  const cfg = JSON.parse(fs.readFileSync(path.join(ft, 'config.json'), 'utf8'));
  expect(cfg.model.checkpoint).toMatch(
    new RegExp(`^${pre.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}/checkpoints/step-\\d{8}$`),
  );
  live.p.kill('SIGINT');
  expect((await live.done).code).toBe(130);
});
