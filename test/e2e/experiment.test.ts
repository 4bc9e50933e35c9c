// `ext5 experiment <study>` end to end on the mini preset, each study in a short variant (a few
// steps per cell, one held-out task): cells run as child processes two at a time, results.json and
// report.html are written, and a rerun redoes only the cell whose result was lost.

import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { cliPath, root, runCli } from './helpers/cli';

jest.setTimeout(600_000);

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'ext5-exp-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

const SHORT = [
  '--preset',
  'mini',
  '--pretrain-steps',
  '4',
  '--finetune-steps',
  '2',
  '--eval-examples',
  '4',
  '--held-out',
  'mini_word_problems',
  '--jobs',
  '2',
  '--threads',
  '1',
  '--json',
];

function experiment(study: string, extra: string[]) {
  const out = path.join(tmp, study);
  // A sweep runs several trainings: more than runCli's 120 s on a loaded machine.
  const r = spawnSync(process.execPath, [cliPath, 'experiment', study, ...SHORT, '--out', out, ...extra], {
    cwd: root,
    encoding: 'utf8',
    timeout: 540_000,
  });
  if (r.status !== 0) throw new Error(`experiment ${study} failed (${r.status}): ${r.stderr}`);
  const j = JSON.parse(r.stdout);
  expect(j.complete.done).toBe(j.complete.total);
  expect(fs.existsSync(path.join(out, 'results.json'))).toBe(true);
  const html = fs.readFileSync(path.join(out, 'report.html'), 'utf8');
  expect(html).toMatch(/<svg/);
  expect(html).not.toMatch(/<script/);
  return { out, j, html };
}

test('transfer: a heatmap, and a rerun redoes only the lost cell', () => {
  const { out, j, html } = experiment('transfer', ['--seeds', '1', '--families', 'nli', 'closed_book_qa']);
  expect(j.complete.total).toBe(4);
  expect(html).toContain('data-chart="transfer"');
  fs.rmSync(path.join(out, 'results', 'co-nli-s0.json'));
  const again = experiment('transfer', ['--seeds', '1', '--families', 'nli', 'closed_book_qa']);
  expect(again.j.sweep.ran).toEqual(['co-nli-s0']);
  expect(again.j.sweep.reused).toHaveLength(3);
});

test('scaling: two points, two seeds, a curve with intervals', () => {
  const { j, html } = experiment('scaling', ['--seeds', '2', '--points', '0', '3']);
  expect(j.complete.total).toBe(8);
  expect(j.analysis.verdicts[0]).toMatch(/3 vs 0 pre-training tasks/);
  expect(j.analysis.numbers.points[1].score.n).toBe(2);
  expect(html).toContain('data-chart="scaling"');
});

test('mix: score and C4 loss per R', () => {
  const { out, j } = experiment('mix', ['--seeds', '1', '--values', '1', '4']);
  expect(j.complete.total).toBe(6);
  const results = JSON.parse(fs.readFileSync(path.join(out, 'results.json'), 'utf8'));
  for (const v of results.numbers.values) expect(v.c4Loss.mean).toBeGreaterThan(0);
});

test('efficiency: ExT5 and T5 fine-tuned from checkpoints along pre-training', () => {
  const { j } = experiment('efficiency', ['--seeds', '1', '--checkpoints', '2']);
  expect(j.complete.total).toBe(6);
  expect(j.analysis.numbers.ext5.map((x: { step: number }) => x.step)).toEqual([2, 4]);
});

test('prefinetune: three arms at equal steps', () => {
  const { j } = experiment('prefinetune', ['--seeds', '1']);
  expect(j.complete.total).toBe(6);
  expect(Object.keys(j.analysis.numbers).sort()).toEqual(['ext5', 'perTask', 'pft', 'scoreRange', 't5']);
});

test('bad input is a clear error', () => {
  const r = runCli([
    'experiment',
    'transfer',
    '--preset',
    'huge',
    '--out',
    path.join(tmp, 'bad'),
    '--dry-run',
  ]);
  expect(r.status).toBe(1);
  expect(r.stderr).toMatch(/unknown experiment preset 'huge'/);
});

test('an --out directory is one study: another --sweep is refused; a finished study rerun says it is complete', () => {
  const dir = path.join(tmp, 'mix-reuse');
  const args = (extra: string[]) => [
    cliPath,
    'experiment',
    'mix',
    ...SHORT.filter((a) => a !== '--json'),
    '--no-progress',
    '--seeds',
    '1',
    '--out',
    dir,
    ...extra,
  ];
  const run = (extra: string[], progress = false) =>
    spawnSync(
      process.execPath,
      args(extra).filter((a) => progress === false || a !== '--no-progress'),
      { cwd: root, encoding: 'utf8', timeout: 540_000 },
    );
  const first = run(['--sweep', 'R', '--values', '1', '8']);
  expect(first.status).toBe(0);
  // What the user reads: a per-task table (each R per held-out task) in the output and the report,
  // only the knobs mix uses, the swept R as its sweep (no single R beside it), ticks at R = 1 and 8.
  expect(first.stdout).toMatch(/Per held-out task .*\n\s+arm\s+mini_word_problems\n\s+R=1 .*\n\s+R=8 /);
  expect(first.stdout).not.toMatch(/Best downstream score/); // one seed: no interval, no best
  const html = fs.readFileSync(path.join(dir, 'report.html'), 'utf8');
  expect(html).toContain('<h2 id="per-task">Per held-out task');
  expect(html).toContain('<tr><td>sweep</td><td>R = 1, 8</td></tr>');
  expect(html).not.toMatch(/<tr><td>(R|families|points|checkpoints|values)<\/td>/);
  const mixScore = html.slice(html.indexOf('data-chart="mix-score"'));
  expect([...mixScore.matchAll(/data-tick="x">([^<]+)</g)].slice(0, 2).map((m) => m[1])).toEqual(['1', '8']);
  const perTask = JSON.parse(fs.readFileSync(path.join(dir, 'results.json'), 'utf8')).numbers.perTask;
  expect(Object.keys(perTask.mini_word_problems)).toEqual(['R=1', 'R=8']);
  const results = fs.readFileSync(path.join(dir, 'results.json'), 'utf8');
  const k = run(['--sweep', 'K', '--values', '1000', '2000']);
  expect(k.status).toBe(1);
  expect(k.stderr).toMatch(
    /E_EXPERIMENT_OUT_REUSED.*holds a mix study whose finished cells .*sweep "R" → "K"/,
  );
  expect(k.stderr).toMatch(/hint: use another --out directory/);
  // Nothing was replaced.
  expect(fs.readFileSync(path.join(dir, 'results.json'), 'utf8')).toBe(results);
  const again = run(['--sweep', 'R', '--values', '1', '8'], true);
  expect(again.status).toBe(0);
  expect(again.stderr).toMatch(/already complete: all \d+ cells finished before; nothing to run/);
  expect(again.stderr).not.toMatch(/0 \/ 0|cells\/s/);
});
