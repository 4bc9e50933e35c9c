// Sharded checkpoints end to end: `ext5 launch --nproc 2 -- ext5 pretrain` with
// training.sharding=optimizer saves one shard per rank into each checkpoint; a kill of the whole
// job in the middle of its saves leaves only complete checkpoints (and temporaries the next start
// removes); the run resumes with 1 process and with 4 (re-sharded, each rank's data stream
// afresh), and `ext5 convert` turns a sharded checkpoint into one Hugging Face folder.
import { type ChildProcess, spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { cliPath, root as repoRoot, runCli } from './helpers/cli';

jest.setTimeout(600_000);

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'ext5-sharded-e2e-'));
const spawned: ChildProcess[] = [];
afterAll(() => {
  for (const c of spawned) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  fs.rmSync(tmp, { recursive: true, force: true });
});

const run = path.join(tmp, 'run');
const ckpts = path.join(run, 'checkpoints');

function args(steps: number): string[] {
  return [
    'pretrain',
    '--preset',
    'tiny-test',
    '--no-progress',
    '--steps',
    String(steps),
    '--batch-size',
    '8',
    '--set',
    'training.sharding=optimizer',
    '--set',
    'eval.every=0',
    '--set',
    'checkpoint.every=1',
    '--set',
    'checkpoint.keepLast=0',
    '--set',
    'training.threads=1',
    '--run-dir',
    run,
  ];
}

function launch(nproc: number, steps: number): string[] {
  return ['launch', '--nproc', String(nproc), '--timeout', '120', '--', ...args(steps)];
}

function steps(): number[] {
  return fs
    .readdirSync(ckpts)
    .filter((n) => /^step-\d{8}$/.test(n))
    .map((n) => Number(n.slice(5)))
    .sort((a, b) => a - b);
}

/** Pids of the processes whose command line mentions `text` (Linux /proc). */
function processesMentioning(text: string): number[] {
  const out: number[] = [];
  for (const pid of fs.readdirSync('/proc').filter((n) => /^\d+$/.test(n))) {
    try {
      if (fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes(text)) out.push(Number(pid));
    } catch {
      // exited meanwhile
    }
  }
  return out;
}

/** Every file a sharded checkpoint's indexes name is there. */
function expectComplete(dir: string): void {
  const idx = JSON.parse(fs.readFileSync(path.join(dir, 'model.safetensors.index.json'), 'utf8'));
  const opt = JSON.parse(fs.readFileSync(path.join(dir, 'optimizer.safetensors.index.json'), 'utf8'));
  const files = new Set([...Object.values(idx.weight_map), ...Object.values(opt.param_map)] as string[]);
  for (const f of files)
    expect({ dir, f, there: fs.existsSync(path.join(dir, f)) }).toEqual({ dir, f, there: true });
  for (const f of ['config.json', 'trainer_state.json']) expect(fs.existsSync(path.join(dir, f))).toBe(true);
}

test('2 processes save one shard per rank into each checkpoint', () => {
  const r = runCli(launch(2, 2));
  expect({ status: r.status, err: r.status === 0 ? '' : r.stderr }).toEqual({ status: 0, err: '' });
  expect(steps()).toEqual([1, 2]);
  const dir = path.join(ckpts, 'step-00000002');
  expectComplete(dir);
  expect(
    fs
      .readdirSync(dir)
      .filter((f) => f.endsWith('.safetensors'))
      .sort(),
  ).toEqual([
    'model-00001-of-00002.safetensors',
    'model-00002-of-00002.safetensors',
    'optimizer-00001-of-00002.safetensors',
    'optimizer-00002-of-00002.safetensors',
  ]);
  const st = JSON.parse(fs.readFileSync(path.join(dir, 'trainer_state.json'), 'utf8'));
  expect({ step: st.step, worldSize: st.worldSize, sharding: st.sharding }).toEqual({
    step: 2,
    worldSize: 2,
    sharding: 'optimizer',
  });
});

test('a job killed while it saves leaves only complete checkpoints; the next start resumes the newest', async () => {
  const job = spawn(process.execPath, [cliPath, ...launch(2, 200)], {
    cwd: repoRoot,
    env: { ...process.env, FORCE_COLOR: '0' },
    stdio: 'ignore',
    detached: true,
  });
  spawned.push(job);
  // Kill the launcher and its workers (one process group) as soon as a step after 4 is being
  // saved: a temporary of the next checkpoint is there.
  const deadline = Date.now() + 300_000;
  while (Date.now() < deadline) {
    const names = fs.existsSync(ckpts) ? fs.readdirSync(ckpts) : [];
    if (steps().at(-1)! >= 4 && names.some((n) => n.includes('.tmp-'))) break;
    await new Promise((r) => setTimeout(r, 20));
  }
  process.kill(-job.pid!, 'SIGKILL');
  await new Promise((r) => job.on('close', r));
  // Workers that outlived the launcher for a moment exit when they notice it is gone (within a
  // second): the next start runs after them, as a user's would.
  while (Date.now() < deadline && processesMentioning(run).length > 0) {
    await new Promise((r) => setTimeout(r, 100));
  }
  expect(processesMentioning(run)).toEqual([]);
  for (const s of steps()) expectComplete(path.join(ckpts, `step-${String(s).padStart(8, '0')}`));
  const newest = steps().at(-1)!;
  // Resume with 1 process (sharding none): re-sharded, data streams afresh, said on stderr.
  const one = runCli([
    'pretrain',
    '--preset',
    'tiny-test',
    '--no-progress',
    '--steps',
    String(newest + 1),
    '--batch-size',
    '8',
    '--set',
    'eval.every=0',
    '--set',
    'checkpoint.every=1',
    '--set',
    'training.threads=1',
    '--run-dir',
    run,
    '--resume',
    'auto',
  ]);
  expect({ status: one.status, err: one.status === 0 ? '' : one.stderr }).toEqual({ status: 0, err: '' });
  expect(one.stderr).toMatch(new RegExp(`resumed from step ${newest}`));
  expect(one.stderr).toMatch(/saved by 2 process\(es\) and this run has 1: .*data stream starts afresh/);
  expect(fs.readdirSync(ckpts).filter((n) => n.startsWith('.'))).toEqual([]);
  const whole = path.join(ckpts, `step-${String(newest + 1).padStart(8, '0')}`);
  expect(fs.existsSync(path.join(whole, 'optimizer.safetensors'))).toBe(true);
  // And with 4 processes, sharded again, from the whole checkpoint.
  const four = runCli([...launch(4, newest + 2), '--resume', 'auto']);
  expect({ status: four.status, err: four.status === 0 ? '' : four.stderr }).toEqual({ status: 0, err: '' });
  const dir4 = path.join(ckpts, `step-${String(newest + 2).padStart(8, '0')}`);
  expectComplete(dir4);
  expect(fs.readdirSync(dir4).filter((f) => f.startsWith('optimizer-'))).toHaveLength(4);
});

test('ext5 convert of the sharded run writes one Hugging Face folder; eval loads the checkpoint', () => {
  const out = path.join(tmp, 'hf');
  const r = runCli(['convert', run, out]);
  expect({ status: r.status, err: r.status === 0 ? '' : r.stderr }).toEqual({ status: 0, err: '' });
  expect(fs.readdirSync(out).filter((f) => f.includes('.safetensors'))).toEqual(['model.safetensors']);
  const p = runCli(['predict', '--checkpoint', run, '-', '--json', '--max-new-tokens', '2'], {
    input: 'hello world\n',
  });
  expect({ status: p.status, err: p.status === 0 ? '' : p.stderr }).toEqual({ status: 0, err: '' });
  expect(JSON.parse(p.stdout.trim()).inputs).toBe('hello world');
});
