import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import {
  type CellResult,
  type CellSpec,
  expPaths,
  readCellResult,
  topoOrder,
} from '../../../lib/experiments/cell';
import { type CellOutcome, runSweep } from '../../../lib/experiments/runner';
import { writeFileDurable } from '../../../lib/io/durable';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'ext5-sweep-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

const cell = (id: string, deps: string[] = []): CellSpec => ({
  id,
  deps,
  preset: 'tiny-test',
  sets: [],
  label: id,
});
const header = { study: 'unit', preset: 'none', params: {} };

/** A runner that records its calls and writes results like the worker does. */
function fakeRunner(dir: string, fail: string[] = [], log: string[] = []) {
  let running = 0;
  let peak = 0;
  const run = async (c: CellSpec): Promise<CellOutcome> => {
    running++;
    peak = Math.max(peak, running);
    log.push(c.id);
    await new Promise((r) => setTimeout(r, 5));
    running--;
    if (fail.includes(c.id)) return 'failed';
    const r: CellResult = {
      id: c.id,
      seconds: 0,
      step: 1,
      lastLoss: 1,
      evals: {},
      validationLoss: null,
      checkpoints: [],
    };
    writeFileDurable(expPaths.result(dir, c.id), JSON.stringify(r), { mkdir: true });
    return 'done';
  };
  return { run, peak: () => peak };
}

test('runs dependencies first, at most `jobs` at once, and resumes without redoing finished cells', async () => {
  const dir = path.join(tmp, 'a');
  const cells = [cell('b', ['a']), cell('a'), cell('c'), cell('d', ['b', 'c'])];
  const log: string[] = [];
  const f = fakeRunner(dir, [], log);
  const s = await runSweep({ dir, header, cells, jobs: 2, threads: 1, runner: f.run });
  expect(s.ran.sort()).toEqual(['a', 'b', 'c', 'd']);
  expect(log.indexOf('a')).toBeLessThan(log.indexOf('b'));
  expect(log.indexOf('d')).toBe(3);
  expect(f.peak()).toBe(2);
  // Killed after the fact: one result lost. Only that cell runs again.
  fs.rmSync(expPaths.result(dir, 'c'));
  const log2: string[] = [];
  const s2 = await runSweep({
    dir,
    header,
    cells,
    jobs: 2,
    threads: 1,
    runner: fakeRunner(dir, [], log2).run,
  });
  expect(log2).toEqual(['c']);
  expect(s2.reused.sort()).toEqual(['a', 'b', 'd']);
});

test('a failed cell skips its dependants but not the others', async () => {
  const dir = path.join(tmp, 'b');
  const cells = [cell('a'), cell('b', ['a']), cell('c')];
  const s = await runSweep({ dir, header, cells, jobs: 1, threads: 1, runner: fakeRunner(dir, ['a']).run });
  expect(s.failed).toEqual(['a']);
  expect(s.skipped).toEqual(['b']);
  expect(s.ran).toEqual(['c']);
});

test('a cell whose spec changed runs again; another study in the directory is refused', async () => {
  const dir = path.join(tmp, 'c');
  await runSweep({ dir, header, cells: [cell('a')], jobs: 1, threads: 1, runner: fakeRunner(dir).run });
  const changed = { ...cell('a'), sets: ['training.steps=9'] };
  const log: string[] = [];
  await runSweep({
    dir,
    header,
    cells: [changed],
    jobs: 1,
    threads: 1,
    runner: fakeRunner(dir, [], log).run,
  });
  expect(log).toEqual(['a']);
  await expect(
    runSweep({
      dir,
      header: { ...header, study: 'other' },
      cells: [cell('a')],
      jobs: 1,
      threads: 1,
      runner: fakeRunner(dir).run,
    }),
  ).rejects.toMatchObject({ code: 'E_EXPERIMENT' });
});

test('bad plans are coded errors', async () => {
  expect(() => topoOrder([cell('a', ['b']), cell('b', ['a'])])).toThrow(/depend on each other/);
  expect(() => topoOrder([cell('a', ['zz'])])).toThrow(/unknown cell/);
  expect(() => topoOrder([cell('a/b')])).toThrow(/safe directory name/);
  await expect(
    runSweep({ dir: path.join(tmp, 'd'), header, cells: [cell('a')], jobs: 0, threads: 1 }),
  ).rejects.toMatchObject({ code: 'E_EXPERIMENT' });
});

test('a torn or foreign result file counts as not finished', () => {
  const dir = path.join(tmp, 'e');
  fs.mkdirSync(path.join(dir, 'results'), { recursive: true });
  fs.writeFileSync(expPaths.result(dir, 'x'), '{"id": "x", "seco');
  expect(readCellResult(dir, 'x')).toBeUndefined();
  fs.writeFileSync(expPaths.result(dir, 'y'), '{"id": "z"}');
  expect(readCellResult(dir, 'y')).toBeUndefined();
});
