// Examples-proportional mixing takes the rows present when a member's download record says fewer than
// declared (a partial Hub Parquet export): n = min(declared, present). The records are the ones
// `ext5 data download` writes (lib/data/manifest.ts), placed in a temporary data directory.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { MANIFEST, type Manifest, writeManifest } from '../../../lib/data/manifest';
import '../../../lib/tasks';
import {
  exampleCount,
  examplesProportional,
  Mixture,
  partialMembers,
  partialNotice,
} from '../../../lib/tasks/mixture';
import { MixtureRegistry, TaskRegistry } from '../../../lib/tasks/registry';
import { MixtureSampler } from '../../../lib/tasks/sampler';
import type { SplitSpec, Task } from '../../../lib/tasks/task';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'ext5-rows-'));
const added: string[] = [];
afterAll(() => {
  for (const n of added) {
    TaskRegistry.remove(n);
    MixtureRegistry.remove(n);
  }
  fs.rmSync(tmp, { recursive: true, force: true });
});

function addTask(
  name: string,
  declared: number,
  splits: Record<string, SplitSpec> = { train: { hfSplit: 'train' } },
): Task {
  const t = TaskRegistry.add({
    name,
    source: { hfId: `org/${name}`, config: 'default', splits, columns: ['a'] },
    preprocessor: (r) => ({ inputs: String(r.a), targets: '' }),
    numExamples: { train: declared },
  });
  added.push(name);
  return t;
}

/** The download record of `task`'s Hub split `hfSplit` in `dataDir`. */
function record(task: Task, dataDir: string, fields: Partial<Manifest>, hfSplit = 'train'): string {
  const dir = path.join(dataDir, ...task.source.hfId.split('/'), task.source.config, hfSplit);
  writeManifest(dir, {
    repo: task.source.hfId,
    config: task.source.config,
    split: hfSplit,
    layout: 'parquet',
    partial: false,
    files: [],
    ...fields,
  });
  return path.join(dir, MANIFEST);
}

let big: Task;
let small: Task;
let mixture: Mixture;
const dataDir = path.join(tmp, 'data');

beforeAll(() => {
  big = addTask('rp_big', 1_207_222);
  small = addTask('rp_small', 1000);
  mixture = new Mixture({
    name: 'rp_mix',
    members: ['rp_big', 'rp_small'],
    defaultRate: examplesProportional({ maximum: 300_000 }),
  });
  MixtureRegistry.add(mixture);
  added.push('rp_mix');
  // big_patent-like: a partial export holding 40,000 of 1,207,222 rows.
  record(big, dataDir, { partial: true, rows: 40_000 });
  record(small, dataDir, { rows: 1000 });
});

describe('examples-proportional mixing by the rows present', () => {
  it('takes the rows present of a partial member, not its declared count', () => {
    const rates = Object.fromEntries(mixture.resolve({ dataDir }).map((r) => [r.task.name, r.rate]));
    expect(rates).toEqual({ rp_big: 40_000, rp_small: 1000 });
    // Without a data directory (and in one without records), the declared counts (capped at K).
    expect(mixture.resolve().map((r) => r.rate)).toEqual([300_000, 1000]);
    expect(mixture.resolve({ dataDir: path.join(tmp, 'empty') }).map((r) => r.rate)).toEqual([300_000, 1000]);
  });

  it('the sampler weighs the tasks by the rows present in the data directory it reads', () => {
    const s = new MixtureSampler(mixture, { seed: 0, read: { dataDir } });
    expect(s.rates().rp_big).toBeCloseTo(40_000 / 41_000, 12);
    const counts = { rp_big: 0, rp_small: 0 } as Record<string, number>;
    for (let i = 0; i < 41_000; i++) counts[s.chooseTask()]! += 1;
    // 1000 expected draws of rp_small; 5 standard deviations either side.
    expect(Math.abs(counts.rp_small! - 1000)).toBeLessThan(5 * Math.sqrt(1000));
  });

  it('n is the smaller of declared and present; a sub-mixture passes the data directory down', () => {
    const more = addTask('rp_more', 500);
    record(more, dataDir, { rows: 800 });
    expect(exampleCount(more, 'train', dataDir)).toMatchObject({ n: 500, declared: 500, present: 800 });
    const outer = new Mixture({
      name: 'rp_outer',
      members: [
        ['rp_mix', 1],
        ['rp_more', 1],
      ],
    });
    const inner = outer.resolve({ dataDir }).filter((r) => r.task.name !== 'rp_more');
    expect(inner.map((r) => r.rate)).toEqual([40_000 / 41_000, 1000 / 41_000]);
  });

  it('a slice of a Hub split counts only the rows present inside it', () => {
    const sliced = addTask('rp_sliced', 900, {
      train: { hfSplit: 'train', end: 900 },
      validation: { hfSplit: 'train', start: 900 },
    });
    record(sliced, dataDir, { partial: true, rows: 600 });
    expect(sliced.rowsPresent('train', dataDir)?.rows).toBe(600);
    expect(sliced.rowsPresent('validation', dataDir)?.rows).toBe(0);
    record(sliced, dataDir, { rows: 1000 });
    expect(sliced.rowsPresent('train', dataDir)?.rows).toBe(900);
    expect(sliced.rowsPresent('validation', dataDir)?.rows).toBe(100);
  });

  it('flags the partial members and says so in one line', () => {
    expect(partialMembers(mixture.resolve({ dataDir }), dataDir)).toEqual([
      expect.objectContaining({
        task: 'rp_big',
        n: 40_000,
        declared: 1_207_222,
        present: 40_000,
        partial: true,
      }),
    ]);
    expect(partialNotice(mixture, dataDir)).toBe(
      'partial data for 1 task of the mixture (examples-proportional rates take the rows present when fewer than declared; docs/data.md): rp_big: 40000 rows present of 1207222 declared (partial Hub export)',
    );
    expect(partialNotice(mixture, path.join(tmp, 'empty'))).toBeUndefined();
  });

  it('a malformed record is a coded error naming the file and key, never the declared count', () => {
    const bad = path.join(tmp, 'bad');
    for (const [rows, problem] of [
      [-1, 'is not a count'],
      [2.5, 'is not a count'],
      ['40000', 'is not a count'],
      [2 ** 60, 'is not a count'],
    ] as const) {
      const file = record(big, bad, { rows: rows as number });
      expect(() => mixture.resolve({ dataDir: bad })).toThrow(
        expect.objectContaining({
          code: 'E_DATA_MANIFEST',
          message: expect.stringContaining(`${file}: rows ${problem}`),
        }),
      );
    }
    const file = record(big, bad, { rows: 3 });
    fs.writeFileSync(file, '{"repo": "org/rp_big", ');
    expect(() => mixture.resolve({ dataDir: bad })).toThrow(
      expect.objectContaining({
        code: 'E_DATA_MANIFEST',
        message: expect.stringContaining(`${file}: the record is not JSON`),
      }),
    );
    fs.writeFileSync(
      file,
      JSON.stringify({
        repo: 'org/rp_big',
        config: 'default',
        split: 'train',
        layout: 'parquet',
        files: [],
        rows: 3,
      }),
    );
    expect(() => mixture.resolve({ dataDir: bad })).toThrow(`${file}: partial is not true or false`);
    // A record of another dataset in this folder is refused too.
    record(big, bad, { repo: 'org/other', rows: 3 });
    expect(() => mixture.resolve({ dataDir: bad })).toThrow(
      `${file}: repo is "org/other", but the folder holds org/rp_big default/train`,
    );
  });
});
