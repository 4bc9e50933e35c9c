// A run directory is never damaged by a start that does not happen or that does not fit it: another
// model is refused, a refused or failed start changes nothing in it (config.json, env.json,
// checkpoints) and creates nothing, a damaged newest checkpoint makes resume fall back to an older
// one (saying so), and checkpoints of an earlier start are never deleted. The summary reports the
// loss the progress bar showed last, how to resume a stopped run, and where a resumed run resumed.
import { spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { cliPath, root, runCli } from './helpers/cli';

jest.setTimeout(300_000);

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'ext5-safety-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

const set = (...kv: string[]) => kv.flatMap((x) => ['--set', x]);
const BASE = ['--preset', 'tiny-test', '--no-progress', ...set('eval.every=0', 'training.threads=1')];

const ckpts = (dir: string) => fs.readdirSync(path.join(dir, 'checkpoints')).sort();

/** Every file under `dir` with its bytes, to compare a directory before and after. */
function snapshot(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (d: string) => {
    for (const e of fs.readdirSync(d, { withFileTypes: true })) {
      const p = path.join(d, e.name);
      if (e.isDirectory()) walk(p);
      else out[path.relative(dir, p)] = fs.readFileSync(p).toString('base64');
    }
  };
  walk(dir);
  return out;
}

function trainLosses(runDir: string): Map<number, number> {
  const out = new Map<number, number>();
  for (const line of fs.readFileSync(path.join(runDir, 'metrics.jsonl'), 'utf8').split('\n')) {
    if (!line.trim()) continue;
    const r = JSON.parse(line);
    if (r.split === 'train' && typeof r.loss === 'number') out.set(r.step, r.loss);
  }
  return out;
}

/** A finished 4-step run (gated-GELU, untied: the tiny-test model) with checkpoints at steps 2 and 4. */
function makeRun(name: string): string {
  const dir = path.join(tmp, name);
  const r = runCli([
    'pretrain',
    ...BASE,
    '--run-dir',
    dir,
    '--steps',
    '4',
    ...set('checkpoint.every=2', 'checkpoint.keepLast=5'),
  ]);
  expect(r.stderr).not.toMatch(/error/);
  expect(r.status).toBe(0);
  expect(ckpts(dir)).toEqual(['step-00000002', 'step-00000004']);
  return dir;
}

test('a run directory is not reused for another model, and a refused start changes nothing in it', () => {
  const dir = makeRun('arch');
  const before = snapshot(dir);
  // The relu / tied-embedding T5 v1.0 model instead of the run's gated / untied one, same sizes.
  const r = runCli(['pretrain', ...BASE, '--run-dir', dir, '--steps', '8', ...set('model.config=t5-tiny')]);
  expect(r.status).toBe(1);
  expect(r.stderr).toMatch(/EXT5_CHECKPOINT_MISMATCH/);
  expect(r.stderr).toMatch(/feed_forward_proj: checkpoint "gated-gelu", config "relu"/);
  expect(r.stderr).toMatch(/tie_word_embeddings/);
  expect(snapshot(dir)).toEqual(before);

  // Starting afresh (--resume none) in it is refused too: its checkpoints would be overwritten or pruned.
  const fresh = runCli([
    'pretrain',
    ...BASE,
    '--run-dir',
    dir,
    '--steps',
    '8',
    '--resume',
    'none',
    ...set('model.config=t5-tiny'),
  ]);
  expect(fresh.status).toBe(1);
  expect(fresh.stderr).toMatch(/EXT5_RUN_DIR.*holds a run of another model/);
  const sameModel = runCli(['pretrain', ...BASE, '--run-dir', dir, '--steps', '8', '--resume', 'none']);
  expect(sameModel.status).toBe(1);
  expect(sameModel.stderr).toMatch(/EXT5_RUN_DIR.*checkpoints of an earlier run up to step-00000004/);

  // Another vocabulary size and another mixture are refused the same way, with nothing rewritten.
  const vocab = runCli([
    'pretrain',
    ...BASE,
    '--run-dir',
    dir,
    '--steps',
    '8',
    ...set('model.vocabSize=4096'),
  ]);
  expect(vocab.status).toBe(1);
  expect(vocab.stderr).toMatch(/vocab_size: checkpoint \d+, config 4096/);
  const task = runCli([
    'pretrain',
    ...BASE,
    '--run-dir',
    dir,
    '--steps',
    '8',
    '--mixture',
    'mini_c4_span_corruption',
  ]);
  expect(task.status).toBe(1);
  // The error names the key and flag that differ, both values, and both ways forward.
  expect(task.stderr).toMatch(/BAD_SAMPLER_STATE.*cannot resume .*step-00000004/);
  expect(task.stderr).toContain(
    'The run started with data.mixtureOrTask=mini_ext5_pretrain; this start gives data.mixtureOrTask=mini_c4_span_corruption (--mixture',
  );
  expect(task.stderr).toContain('--set data.mixtureOrTask=mini_ext5_pretrain');
  expect(task.stderr).toContain('--run-dir NEW_DIR');
  expect(snapshot(dir)).toEqual(before);
});

test('a --resume path that does not exist creates no run directory', () => {
  const dir = path.join(tmp, 'never');
  const r = runCli(['pretrain', ...BASE, '--run-dir', dir, '--resume', path.join(tmp, 'no-such-checkpoint')]);
  expect(r.status).toBe(1);
  expect(r.stderr).toMatch(/EXT5_CHECKPOINT.*no such checkpoint or run directory/);
  expect(fs.existsSync(dir)).toBe(false);
});

test('a run that fails before its first step leaves no config.json or env.json behind', () => {
  const dir = path.join(tmp, 'failed-start');
  // A model too small for the vocabulary fails while the model is built, before the run starts.
  const r = runCli(['pretrain', ...BASE, '--run-dir', dir, ...set('model.vocabSize=128')]);
  expect(r.status).toBe(1);
  expect(r.stderr).toMatch(/EXT5_VOCAB_SIZE/);
  expect(fs.existsSync(dir)).toBe(false);
});

test('a damaged newest checkpoint: resume falls back to the newest that loads, says so, deletes none', () => {
  const dir = makeRun('fallback');
  const newest = path.join(dir, 'checkpoints', 'step-00000004', 'model.safetensors');
  const whole = fs.readFileSync(newest);
  fs.writeFileSync(newest, whole.subarray(0, 1000)); // truncated, as by a failing disk
  const r = runCli([
    'pretrain',
    ...BASE,
    '--run-dir',
    dir,
    '--steps',
    '6',
    ...set('checkpoint.every=2', 'checkpoint.keepLast=1'),
  ]);
  expect(r.stderr).not.toMatch(/error/);
  expect(r.status).toBe(0);
  expect(r.stderr).toMatch(/passed over the damaged checkpoint .*step-00000004: .*truncated/);
  expect(r.stderr).toMatch(/resumed from step 2 /);
  expect(r.stdout).toMatch(/resumed from +step 2 /);
  const names = ckpts(dir);
  // step-2 was written by the earlier start (kept though keepLast=1); the damaged step-4 is set aside.
  expect(names).toContain('step-00000002');
  expect(names).toContain('step-00000006');
  expect(names.some((n) => /^step-00000004\.superseded-/.test(n))).toBe(true);
  const aside = names.find((n) => n.startsWith('step-00000004.'))!;
  expect(fs.readFileSync(path.join(dir, 'checkpoints', aside, 'model.safetensors')).length).toBe(1000);

  // When no checkpoint loads, the run stops with each one's reason (and starts nothing afresh).
  const only = makeRun('all-damaged');
  for (const s of ['step-00000002', 'step-00000004'])
    fs.writeFileSync(path.join(only, 'checkpoints', s, 'optimizer.safetensors'), 'garbage');
  const before = snapshot(only);
  const none = runCli(['pretrain', ...BASE, '--run-dir', only, '--steps', '6']);
  expect(none.status).toBe(1);
  expect(none.stderr).toMatch(/no checkpoint in .* can be loaded/);
  expect(none.stderr).toMatch(/step-00000002: /);
  expect(snapshot(only)).toEqual(before);
});

test('an explicitly named damaged checkpoint is not replaced by another one', () => {
  const dir = makeRun('exact');
  const ck = path.join(dir, 'checkpoints', 'step-00000004');
  fs.writeFileSync(path.join(ck, 'model.safetensors'), 'garbage');
  const r = runCli(['pretrain', ...BASE, '--run-dir', path.join(tmp, 'exact2'), '--resume', ck]);
  expect(r.status).toBe(1);
  expect(r.stderr).toMatch(/step-00000004.*model\.safetensors/);
  expect(fs.existsSync(path.join(tmp, 'exact2'))).toBe(false);
});

test("the summary's last loss is metrics.jsonl's for the last step (the logged interval's mean)", () => {
  const dir = path.join(tmp, 'loss-3');
  const r = runCli([
    'pretrain',
    ...BASE,
    '--run-dir',
    dir,
    '--steps',
    '6',
    '--json',
    ...set('logging.every=4'),
  ]);
  expect(r.status).toBe(0);
  const logged = trainLosses(dir);
  expect([...logged.keys()]).toEqual([4, 6]);
  const j = JSON.parse(r.stdout);
  expect(j.lastLoss).toBe(logged.get(6)); // bit-identical: the same number, not the last step's alone
  expect(j.lastLossStep).toBe(6);
});

test('SIGTERM: the summary shows the last loss and how to resume; the resumed run says where it resumed', async () => {
  const dir = path.join(tmp, 'sigterm');
  const args = [
    'pretrain',
    ...BASE,
    '--steps',
    '100000',
    '--run-dir',
    dir,
    ...set('checkpoint.every=0', 'logging.every=100000'),
  ];
  const p = spawn(process.execPath, [cliPath, ...args], { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  p.stdout.on('data', (d) => {
    stdout += d;
  });
  p.stderr.resume();
  const done = new Promise<number | null>((resolve) => p.on('exit', (code) => resolve(code)));
  // Metrics are logged only every 100000 steps: wait for TensorBoard's file to show the run stepping.
  const t0 = Date.now();
  while (!fs.existsSync(path.join(dir, 'config.json')) && Date.now() - t0 < 120_000)
    await new Promise((res) => setTimeout(res, 20));
  await new Promise((res) => setTimeout(res, 1500));
  p.kill('SIGTERM');
  expect(await done).toBe(130);
  expect(stdout).toMatch(/^stopped at step (\d+)/);
  const step = Number(/^stopped at step (\d+)/.exec(stdout)![1]);
  expect(step).toBeGreaterThan(0);
  // A stop logs the interval it cut short, so the summary's loss is metrics.jsonl's at that step.
  expect(stdout).toMatch(new RegExp(`last loss +\\d+\\.\\d{4} \\(logged at step ${step}:`));
  expect(trainLosses(dir).has(step)).toBe(true);
  const resume = /\n {2}resume +(.*)\n/.exec(stdout)?.[1];
  expect(resume).toBeDefined();
  expect(resume).toMatch(
    new RegExp(`^ext5 pretrain .*--run-dir ${dir.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}$`),
  );
  // Run what it says (with fewer steps so that it ends).
  const words = resume!.split(' ').slice(1);
  const i = words.indexOf('--steps');
  words[i + 1] = String(step + 1);
  const r = runCli(words);
  expect(r.status).toBe(0);
  expect(r.stderr).toMatch(new RegExp(`resumed from step ${step} `));
  expect(r.stdout).toMatch(new RegExp(`resumed from +step ${step} `));
});

test('a full disk while appending metrics (no save in progress) is the one coded disk-full error naming the file', () => {
  const mnt = path.join(tmp, 'full-metrics');
  fs.mkdirSync(mnt);
  const mounted = spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=64k', 'tmpfs', mnt]).status === 0;
  if (!mounted) {
    // Only root can mount; test/unit/io/durable.test.ts maps injected ENOSPC errors for every writer.
    process.stderr.write('full-disk metrics e2e: cannot mount a tmpfs here (not root)\n');
    return;
  }
  try {
    for (const [tb, file] of [
      ['false', /metrics\.jsonl/],
      ['true', /metrics\.jsonl|events\.out\.tfevents/],
    ] as const) {
      const dir = path.join(mnt, `run-${tb}`);
      const r = runCli([
        'pretrain',
        ...BASE,
        '--steps',
        '1000000',
        '--run-dir',
        dir,
        ...set('checkpoint.every=0', 'logging.every=1', `logging.tensorboard=${tb}`),
      ]);
      expect(r.status).toBe(1);
      expect(r.stderr).toMatch(/error \[EXT5_DISK_FULL\]: no space left on the device while writing /);
      expect(r.stderr).toMatch(file);
      expect(r.stderr).toMatch(/hint: free disk space/);
      expect(r.stderr).not.toMatch(/ENOSPC/);
      fs.rmSync(dir, { recursive: true, force: true });
    }
  } finally {
    spawnSync('umount', [mnt]);
  }
});
