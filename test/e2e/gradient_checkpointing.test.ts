// `--gradient-checkpointing` as a user runs it: the flag sets model.gradientCheckpointing (and
// --print-config names it as the source), and a pre-training run with dropout gives the same
// training losses step for step as the same run without it.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { runCli } from './helpers/cli';

jest.setTimeout(300_000);

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'ext5-ckpt-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

const set = (...kv: string[]) => kv.flatMap((x) => ['--set', x]);
const BASE = [
  '--preset',
  'tiny-test',
  '--no-progress',
  '--steps',
  '5',
  ...set(
    'eval.every=0',
    'training.threads=1',
    'training.dropout=0.1',
    'logging.every=1',
    'checkpoint.every=0',
  ),
];

function trainLosses(runDir: string): number[] {
  const out: number[] = [];
  for (const line of fs.readFileSync(path.join(runDir, 'metrics.jsonl'), 'utf8').split('\n')) {
    if (!line.trim()) continue;
    const r = JSON.parse(line);
    const loss = r.values?.loss ?? r.loss;
    if (r.split === 'train' && typeof loss === 'number') out.push(loss);
  }
  return out;
}

test('--print-config shows the flag as the source of model.gradientCheckpointing', () => {
  const r = runCli(['pretrain', ...BASE, '--gradient-checkpointing', '--print-config']);
  expect(r.status).toBe(0);
  expect(r.stdout).toMatch(/gradientCheckpointing: true/);
  expect(r.stdout).toContain('#   model.gradientCheckpointing: --gradient-checkpointing');
});

test('a 5-step run with --gradient-checkpointing has the losses of the run without it', () => {
  const plain = path.join(tmp, 'plain');
  const ckpt = path.join(tmp, 'ckpt');
  expect(runCli(['pretrain', ...BASE, '--run-dir', plain]).status).toBe(0);
  const r = runCli(['pretrain', ...BASE, '--run-dir', ckpt, '--gradient-checkpointing']);
  expect(r.stderr).not.toMatch(/error/i);
  expect(r.status).toBe(0);
  const saved = JSON.parse(fs.readFileSync(path.join(ckpt, 'config.json'), 'utf8'));
  expect(saved.model.gradientCheckpointing).toBe(true);
  const a = trainLosses(plain);
  const b = trainLosses(ckpt);
  expect(a).toHaveLength(5);
  expect(new Set(a).size).toBe(5);
  for (let i = 0; i < 5; i++) expect(Math.abs(b[i]! - a[i]!)).toBeLessThanOrEqual(1e-6 * a[i]!);
});

test('ext5 plan estimates per-rank memory from a run config without loading libtorch', () => {
  const r = runCli(['plan', '--preset', 'tiny-demo', '--world-size', '2', '--json']);
  expect(r.status).toBe(0);
  expect(r.loadedLibtorch).toBe(false);
  const p = JSON.parse(r.stdout);
  expect(p.rowsPerRank).toBe(8); // tiny-demo: 16 rows per step over 2 processes
  expect(p.dropout).toBe(0); // the tiny T5.1.1 config's own dropout_rate
  const on = JSON.parse(
    runCli(['plan', '--preset', 'tiny-demo', '--world-size', '2', '--gradient-checkpointing', '--json'])
      .stdout,
  );
  expect(on.gradientCheckpointing).toBe(true);
  expect(on.perRank.activations).toBeLessThan(p.perRank.activations);
  expect(on.perRank.parameters).toBe(p.perRank.parameters);
  const bad = runCli(['plan', '--world-size', '3', '--preset', 'tiny-demo']);
  expect(bad.status).not.toBe(0);
  expect(bad.stderr).toContain('do not split over 3 processes');
});
