// `ext5 report runs/`: a folder of runs is reported as the runs under it.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { expandRunDirs } from '../../../lib/cli/report';
import { writeSyntheticRun } from '../report/synthetic';
import { runMain } from './run_main';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'ext5-report-parent-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));
const runs = path.join(tmp, 'runs');
beforeAll(() => {
  writeSyntheticRun(path.join(runs, 'b-t5'), {
    name: 't5-tiny',
    preset: 'tiny-demo-t5',
    finalLoss: 2,
    seed: 2,
  });
  writeSyntheticRun(path.join(runs, 'a-ext5'), { name: 'ext5-tiny', finalLoss: 1.6, seed: 1 });
  fs.mkdirSync(path.join(runs, 'not-a-run'));
});

test('expandRunDirs takes the logged runs under a folder, by name, and leaves runs and others alone', () => {
  expect(expandRunDirs([runs])).toEqual([path.join(runs, 'a-ext5'), path.join(runs, 'b-t5')]);
  expect(expandRunDirs([path.join(runs, 'b-t5')])).toEqual([path.join(runs, 'b-t5')]);
  const empty = path.join(tmp, 'empty');
  fs.mkdirSync(empty);
  expect(expandRunDirs([empty, path.join(tmp, 'missing')])).toEqual([empty, path.join(tmp, 'missing')]);
});

test('ext5 report runs/ overlays every run under it and writes runs/report.html', async () => {
  const r = await runMain(['report', runs, '--json']);
  expect(r.stderr).toBe('');
  expect(r.code).toBe(0);
  const j = JSON.parse(r.stdout);
  expect(j.runs.map((x: { label: string }) => x.label)).toEqual(['ext5-tiny', 't5-tiny']);
  expect(j.out).toBe(path.join(runs, 'report.html'));
  expect(fs.existsSync(path.join(runs, 'report.html'))).toBe(true);
});
