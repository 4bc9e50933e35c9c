// Killing `ext5 experiment` (SIGKILL, so it cannot stop its workers itself) stops the worker
// training its cell: the worker saves and exits, and a rerun at once continues the cell from that
// checkpoint with one writer. While a cell's run directory is held by a live process, a rerun
// refuses the cell instead of starting it a second time.
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { cliPath, root } from './helpers/cli';
import { holdRunLock, procStat, statFields, trainSteps, waitFor } from './helpers/runs';

jest.setTimeout(600_000);

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'ext5-exp-kill-'));
const spawned: ChildProcess[] = [];
afterAll(() => {
  for (const c of spawned) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  fs.rmSync(tmp, { recursive: true, force: true });
});

const ARGS = [
  'experiment',
  'scaling',
  '--preset',
  'mini',
  '--points',
  '0',
  '--seeds',
  '1',
  '--pretrain-steps',
  '80',
  '--finetune-steps',
  '4',
  '--eval-examples',
  '4',
  '--held-out',
  'mini_word_problems',
  '--jobs',
  '1',
  '--threads',
  '1',
  '--json',
];

/** True while `pid` runs (an exited process waiting to be reaped does not count). */
function running(pid: number): boolean {
  const s = procStat(pid);
  return s !== null && statFields(s)[0] !== 'Z';
}

/** The pids whose parent is `ppid`. */
function childrenOf(ppid: number): number[] {
  return fs
    .readdirSync('/proc')
    .filter((name) => /^\d+$/.test(name))
    .map(Number)
    .filter((pid) => {
      const s = procStat(pid);
      return s !== null && Number(statFields(s)[1]) === ppid;
    });
}

function experiment(out: string) {
  return spawnSync(process.execPath, [cliPath, ...ARGS, '--out', out], {
    cwd: root,
    encoding: 'utf8',
    timeout: 540_000,
  });
}

const linux = process.platform === 'linux' ? test : test.skip;

linux(
  'a SIGKILLed sweep takes its worker with it; the rerun continues the cell with one writer',
  async () => {
    const out = path.join(tmp, 'killed');
    const cell = path.join(out, 'cells', 'pre-k0-s0');
    const sweep = spawn(process.execPath, [cliPath, ...ARGS, '--out', out], {
      cwd: root,
      stdio: 'ignore',
    });
    spawned.push(sweep);
    // Mid-cell: the pre-training run has started and logged.
    await waitFor(() => fs.existsSync(path.join(cell, 'metrics.jsonl')), 'the cell to train', 180_000);
    const workers = childrenOf(sweep.pid!);
    expect(workers).toHaveLength(1);
    const worker = workers[0]!;
    sweep.kill('SIGKILL');
    await waitFor(() => !running(worker), 'the worker to stop', 90_000);
    // It stopped mid-cell, with nothing recorded, rather than training the cell to its end.
    expect(fs.existsSync(path.join(out, 'results', 'pre-k0-s0.json'))).toBe(false);
    expect(Math.max(...trainSteps(cell))).toBeLessThan(80);
    const log = fs.readFileSync(path.join(cell, 'worker.log'), 'utf8');
    expect(log).toMatch(/its sweep \(pid \d+\) is gone; saving and stopping/);
    expect(fs.existsSync(path.join(cell, 'run.lock'))).toBe(false);
    const saved = fs.readdirSync(path.join(cell, 'checkpoints')).filter((n) => /^step-\d{8}$/.test(n));
    expect(saved.length).toBeGreaterThan(0);

    const again = experiment(out);
    expect(again.stderr).not.toMatch(/EXT5_RUN_LOCKED/);
    expect(again.status).toBe(0);
    const j = JSON.parse(again.stdout);
    expect(j.complete.done).toBe(j.complete.total);
    expect(fs.readFileSync(path.join(cell, 'worker.log'), 'utf8')).toMatch(
      new RegExp(`resumed from step ${Number(saved.at(-1)!.slice(5))} `),
    );
    // One writer: the cell's steps only go forwards, and no checkpoint was set aside.
    const steps = trainSteps(cell);
    expect(steps).toEqual([...steps].sort((a, b) => a - b));
    expect(new Set(steps).size).toBe(steps.length);
    expect(fs.readdirSync(path.join(cell, 'checkpoints')).filter((n) => n.includes('superseded'))).toEqual(
      [],
    );
  },
);

linux('a cell whose run directory a live process holds is refused, not started twice', async () => {
  const out = path.join(tmp, 'held');
  const cell = path.join(out, 'cells', 'pre-k0-s0');
  // A lingering writer of the cell: a live process of this machine holding its lock.
  const holder = await holdRunLock(cell, 'worker.js (lingering)');
  spawned.push(holder);
  const r = experiment(out);
  expect(r.status).not.toBe(0);
  const log = fs.readFileSync(path.join(cell, 'worker.log'), 'utf8');
  expect(log).toMatch(new RegExp(`EXT5_RUN_LOCKED.*pid ${holder.pid} on `));
  expect(fs.readdirSync(cell).sort()).toEqual(['run.lock', 'worker.log']);
  holder.kill('SIGKILL');
});
