// `ext5 launch` end to end: real worker processes running the `dist-selftest` command
// over Gloo on 127.0.0.1 (free ports picked at run time), and what the job does when a worker
// crashes, hangs, or the launcher is signalled. Every process started here has a deadline and is
// killed in afterAll.
import { type ChildProcess, spawn } from 'node:child_process';
import { cliPath, root, runCli } from './helpers/cli';

jest.setTimeout(90_000);

const started = new Set<ChildProcess>();
const workerPids = new Set<number>();
afterAll(() => {
  for (const c of started) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  for (const pid of workerPids) if (alive(pid)) process.kill(pid, 'SIGKILL');
});

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Worker pids announced by the self-test ("rank i of n joined (pid p)"). */
function pidsIn(text: string): number[] {
  const pids = [...text.matchAll(/joined \(pid (\d+)\)/g)].map((m) => Number(m[1]));
  for (const p of pids) workerPids.add(p);
  return pids;
}

interface Job {
  child: ChildProcess;
  out: () => string;
  err: () => string;
  done: Promise<{ code: number | null; signal: NodeJS.Signals | null; ms: number }>;
}

function startLauncher(args: string[], deadlineMs = 60_000): Job {
  const t0 = Date.now();
  const child = spawn(process.execPath, [cliPath, ...args], {
    cwd: root,
    env: { ...process.env, FORCE_COLOR: '0' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  started.add(child);
  let out = '';
  let err = '';
  child.stdout!.on('data', (d) => {
    out += d;
  });
  child.stderr!.on('data', (d) => {
    err += d;
  });
  const timer = setTimeout(() => child.kill('SIGKILL'), deadlineMs);
  const done = new Promise<{ code: number | null; signal: NodeJS.Signals | null; ms: number }>((resolve) => {
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, ms: Date.now() - t0 });
    });
  });
  return { child, out: () => out, err: () => err, done };
}

async function waitFor(cond: () => boolean, ms: number): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error('condition not reached in time');
    await new Promise((r) => setTimeout(r, 50));
  }
}

test('2 workers: collectives and bucketed gradient averaging check out on every rank; the launcher loads no libtorch', () => {
  const r = runCli(['launch', '--nproc', '2', '--timeout', '30', '--', 'dist-selftest', '--json']);
  expect(r.stderr).not.toContain('error');
  expect(r.status).toBe(0);
  expect(r.loadedLibtorch).toBe(false);
  const reports = r.stdout
    .trim()
    .split('\n')
    .map((line) => {
      const m = /^\[rank (\d+)\] (\{.*\})$/.exec(line);
      expect(m).not.toBeNull();
      return { prefix: Number(m![1]), report: JSON.parse(m![2]!) };
    });
  expect(reports.map((x) => x.prefix).sort()).toEqual([0, 1]);
  for (const { prefix, report } of reports) {
    expect(report.rank).toBe(prefix);
    expect(report.worldSize).toBe(2);
    expect(report.checks.every((c: { ok: boolean }) => c.ok)).toBe(true);
    expect(report.checks.map((c: { name: string }) => c.name)).toEqual([
      'allReduce sum',
      'allReduce avg',
      'allReduce max',
      'broadcast from rank 0',
      'broadcastParameters',
      'allReduceGradients',
    ]);
    expect(report.gradient.bitExact).toBe(true);
    expect(report.gradient.buckets).toBeGreaterThan(1);
  }
});

test('two "machines" on loopback: --nnodes 2 with one launcher per node rank form one 2-rank job', async () => {
  const { freePort } = await import('../../lib/ddp/launcher');
  const port = String(await freePort());
  const common = [
    'launch',
    '--nnodes',
    '2',
    '--nproc',
    '1',
    '--master-addr',
    '127.0.0.1',
    '--master-port',
    port,
  ];
  const jobs = [0, 1].map((n) =>
    // Node 1 writes the program name too, torchrun style (`-- ext5 dist-selftest`): the same command.
    startLauncher([
      ...common,
      '--node-rank',
      String(n),
      '--timeout',
      '30',
      '--',
      ...(n === 1 ? ['ext5'] : []),
      'dist-selftest',
    ]),
  );
  const results = await Promise.all(jobs.map((j) => j.done));
  for (const [n, r] of results.entries()) {
    expect(r.code).toBe(0);
    // Node rank n runs global rank n (nproc 1), and its self-test sees a world of 2.
    expect(jobs[n]!.out()).toContain(`[rank ${n}] rank ${n} of 2 joined`);
    expect(jobs[n]!.out()).toContain(`[rank ${n}] rank ${n}: all 6 checks passed`);
  }
});

test('a worker that crashes stops the job: non-zero exit naming the rank and signal, no worker left', async () => {
  const job = startLauncher([
    'launch',
    '--nproc',
    '2',
    '--timeout',
    '20',
    '--grace',
    '2',
    '--',
    'dist-selftest',
    '--die-at-rank',
    '1',
  ]);
  const { code, ms } = await job.done;
  const err = job.err();
  expect(code).toBe(1);
  expect(err).toMatch(
    /ext5 launch: rank 1 \(pid \d+\) was killed by SIGKILL; stopping the other 1 worker\(s\)/,
  );
  expect(err).toContain('[EXT5_LAUNCH_WORKER_FAILED]: rank 1');
  expect(ms).toBeLessThan(20_000); // well before the collective deadline
  const pids = pidsIn(job.out() + err);
  expect(pids).toHaveLength(2);
  for (const pid of pids) expect(alive(pid)).toBe(false);
});

test('a worker that hangs: the others time out, the launcher stops it and names the first failed rank', async () => {
  const job = startLauncher([
    'launch',
    '--nproc',
    '2',
    '--timeout',
    '3',
    '--grace',
    '1',
    '--',
    'dist-selftest',
    '--hang-at-rank',
    '1',
  ]);
  const { code, ms } = await job.done;
  const err = job.err();
  expect(code).toBe(1);
  expect(err).toContain(
    '[rank 0] ext5: error [EXT5_DIST_TIMEOUT]: allReduce timed out after 3000 ms waiting for 1 peer',
  );
  expect(err).toMatch(/rank 0 \(pid \d+\) exited with code 1; stopping the other 1 worker\(s\)/);
  expect(ms).toBeLessThan(25_000);
  const pids = pidsIn(job.out() + err);
  expect(pids).toHaveLength(2);
  for (const pid of pids) expect(alive(pid)).toBe(false);
});

/** A 2-worker job whose rank 0 hangs, once both workers have reported their pids. */
async function startHangingJob() {
  const job = startLauncher([
    'launch',
    '--nproc',
    '2',
    '--timeout',
    '60',
    '--',
    'dist-selftest',
    '--hang-at-rank',
    '0',
  ]);
  await waitFor(() => /hanging now/.test(job.out()) && pidsIn(job.out()).length === 2, 40_000);
  return job;
}

test('SIGTERM to the launcher is forwarded: workers stop, exit status 143', async () => {
  const job = await startHangingJob();
  job.child.kill('SIGTERM');
  const { code, ms } = await job.done;
  expect(code).toBe(143);
  expect(job.err()).toContain('ext5 launch: received SIGTERM; forwarding it to 2 worker(s)');
  expect(job.err()).toContain('stopped by SIGTERM');
  expect(ms).toBeLessThan(60_000);
  for (const pid of pidsIn(job.out())) expect(alive(pid)).toBe(false);
});

test('workers do not outlive a launcher killed with SIGKILL', async () => {
  const job = await startHangingJob();
  const pids = pidsIn(job.out());
  job.child.kill('SIGKILL');
  await job.done;
  // Each worker polls its parent once a second (EXT5_LAUNCH_PID) and exits when it is gone.
  await waitFor(() => pids.every((p) => !alive(p)), 10_000);
});

describe('bad input', () => {
  test('no worker command', () => {
    const r = runCli(['launch', '--nproc', '2']);
    expect(r.status).toBe(1);
    expect(r.stderr).toContain('no worker command: give the ext5 command to run after `--`');
  });

  test('several machines need the master address', () => {
    const r = runCli(['launch', '--nproc', '1', '--nnodes', '2', '--node-rank', '1', '--', 'dist-selftest']);
    expect(r.status).toBe(1);
    expect(r.stderr).toContain('--nnodes 2 needs --master-addr');
  });

  test('node rank out of range', () => {
    const r = runCli([
      'launch',
      '--nproc',
      '1',
      '--nnodes',
      '2',
      '--node-rank',
      '2',
      '--master-addr',
      'h',
      '--',
      'x',
    ]);
    expect(r.status).toBe(1);
    expect(r.stderr).toContain('node-rank must be an integer in 0..1, got 2');
  });

  test('the self-test outside a job, and with an incomplete environment', () => {
    const alone = runCli(['dist-selftest'], { env: { WORLD_SIZE: '' } });
    expect(alone.status).toBe(1);
    expect(alone.stderr).toContain('[EXT5_DIST_ENV]');
    expect(alone.stderr).toContain('ext5 launch --nproc 2 -- dist-selftest');
    const partial = runCli(['dist-selftest'], {
      env: { WORLD_SIZE: '2', RANK: '0', MASTER_ADDR: '', MASTER_PORT: '1' },
    });
    expect(partial.status).toBe(1);
    expect(partial.stderr).toContain('MASTER_ADDR is not set');
  });

  // `ext5 launch --help` tells users to run dist-selftest, so it is listed too.
  test('launch and the self-test its help names are listed in --help', () => {
    const r = runCli(['--help']);
    expect(r.stdout).toContain('ext5 launch');
    expect(r.stdout).toMatch(/ext5 dist-selftest +Check the process group of a data-parallel job/);
    expect(runCli(['launch', '--help']).stdout).toContain('-- dist-selftest');
  });
});
