// Every registered task reads a one-record fixture in its source's real column layout (written from the
// task's sampleRecord into the documented <data-dir>/<hf id>/<config>/<split>/ layout) and yields
// well-formed examples; bad data gets clear errors.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { taskMetricNames } from '../../../lib/eval/evaluator';
import { listMetrics } from '../../../lib/eval/metrics';
import {
  EXMIX_MEMBERS,
  EXMIX_TASK_OPTIONS,
  MINI_HELD_OUT,
  MixtureRegistry,
  TaskRegistry,
} from '../../../lib/tasks';
import { familyCounts } from '../../../lib/tasks/exmix';
import { FAMILIES, Task } from '../../../lib/tasks/task';

const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'ext5-tasks-'));
afterAll(() => fs.rmSync(dataDir, { recursive: true, force: true }));

function writeFixture(
  t: Task,
  split: string,
  rows: unknown[],
  file = 'part-0.jsonl',
  root = dataDir,
): string {
  const dir = t.splitDir(split, root);
  fs.mkdirSync(dir, { recursive: true });
  const f = path.join(dir, file);
  fs.writeFileSync(f, rows.map((r) => JSON.stringify(r)).join('\n') + '\n');
  return f;
}

async function collect(t: Task, split: string, root = dataDir) {
  const out = [];
  for await (const ex of t.examples(split, { dataDir: root })) out.push(ex);
  return out;
}

const hubTasks = TaskRegistry.values().filter((t) => !t.source.builtin);

describe('ExMix registry', () => {
  it('has at least 107 ExMix tasks over the eight families, each with a train size and documented source', () => {
    expect(EXMIX_TASK_OPTIONS.length).toBeGreaterThanOrEqual(107);
    const counts = familyCounts();
    for (const f of FAMILIES) expect(counts[f]).toBeGreaterThanOrEqual(7);
    for (const t of EXMIX_TASK_OPTIONS) {
      expect(t.numExamples?.train).toBeGreaterThan(0);
      expect(t.source.hfId).toMatch(/^[\w.-]+\/[\w.-]+$/);
      expect(t.reference).toBeTruthy();
      expect([true, 'likely', false]).toContain(t.inPaper);
    }
    const known = EXMIX_TASK_OPTIONS.filter((t) => t.inPaper === true).map((t) => t.name);
    expect(known).toEqual(
      expect.arrayContaining([
        'super_glue_boolq',
        'rainbow_winogrande',
        'natural_questions_open',
        'cogs',
        'gem_dart',
      ]),
    );
  });

  it('registers exmix, one mixture per family, c4 and ext5_pretrain', () => {
    const later = EXMIX_TASK_OPTIONS.filter((t) => t.afterPaper).map((t) => t.name);
    expect(MixtureRegistry.get('exmix').taskNames()).toHaveLength(EXMIX_TASK_OPTIONS.length - later.length);
    expect(MixtureRegistry.get('exmix').taskNames()).toEqual(EXMIX_MEMBERS.map((t) => t.name));
    expect(MixtureRegistry.get('exmix_plus').taskNames()).toHaveLength(EXMIX_TASK_OPTIONS.length);
    expect(EXMIX_MEMBERS.length).toBeGreaterThanOrEqual(107);
    for (const f of FAMILIES)
      expect(
        MixtureRegistry.get(`exmix_${f}`)
          .tasks()
          .every((t) => t.family === f),
      ).toBe(true);
    expect(TaskRegistry.get('c4_span_corruption').spanCorruption).toBe(true);
  });

  it('tasks published after the paper (WANLI, SODA, ProsocialDialog) are in exmix_plus, not exmix', () => {
    const later = ['wanli', 'soda', 'prosocial_dialog'];
    for (const name of later) {
      expect(TaskRegistry.get(name).afterPaper).toBe(true);
      expect(MixtureRegistry.get('exmix').taskNames()).not.toContain(name);
      expect(MixtureRegistry.get(`exmix_${TaskRegistry.get(name).family}`).taskNames()).not.toContain(name);
      expect(MixtureRegistry.get('exmix_plus').taskNames()).toContain(name);
    }
    // ext5_pretrain mixes C4 with exmix, so none of them reaches pre-training by default.
    const shares = MixtureRegistry.get('ext5_pretrain').resolve();
    for (const name of later) expect(shares.some((r) => r.task.name === name)).toBe(false);
    // A task cannot be both after the paper and in it.
    const opts = TaskRegistry.get('wanli');
    expect(
      () =>
        new Task({
          name: 'x',
          source: opts.source,
          preprocessor: opts.preprocessor,
          inPaper: true,
          afterPaper: true,
        }),
    ).toThrow(expect.objectContaining({ code: 'BAD_TASK' }));
  });

  it('registers the members of the public ExMix list that have a public source, inPaper with that source', () => {
    // FreedomIntelligence/InstructionZoo README.md, "ExMix": COGS, Shakespearizing Modern English,
    // StylePTB, GPT-2 output dataset, parsing to FunQL (Unimer), UKP, NewsQuizQA, DialoGLUE.
    const listed: Record<string, string> = {
      cogs: 'najoungkim/COGS',
      shakespearizing_modern_english: 'harsh19/Shakespearizing-Modern-English',
      gpt2_output_detection: 'openai/gpt-2-output-dataset',
      geo_funql: 'JasperGuo/Unimer',
      banking77: 'PolyAI/banking77',
      clinc150: 'clinc/clinc_oos',
    };
    for (const [name, source] of Object.entries(listed)) {
      const t = TaskRegistry.get(name);
      expect([name, t.source.hfId, t.inPaper]).toEqual([name, source, true]);
      expect(MixtureRegistry.get('exmix').taskNames()).toContain(name);
      if (name !== 'cogs') expect(t.inPaperSource).toMatch(/^FreedomIntelligence\/InstructionZoo README\.md/);
    }
    // A source of membership needs inPaper: true.
    const opts = TaskRegistry.get('banking77');
    expect(
      () =>
        new Task({
          name: 'x',
          source: opts.source,
          preprocessor: opts.preprocessor,
          inPaper: 'likely',
          inPaperSource: 'a list',
        }),
    ).toThrow(expect.objectContaining({ code: 'BAD_TASK' }));
  });

  it('mini_exmix holds out the downstream tasks', () => {
    const names = MixtureRegistry.get('mini_exmix').taskNames();
    expect(names).toHaveLength(14);
    for (const h of MINI_HELD_OUT) expect(names).not.toContain(h);
  });
});

describe('task metrics', () => {
  it('every task names only metrics listMetrics() knows, and benchmark tasks the ones they are scored with', () => {
    const known = new Set(listMetrics());
    for (const t of TaskRegistry.values()) {
      for (const m of t.metrics)
        expect(`${t.name}: ${m}`).toBe(`${t.name}: ${known.has(m) ? m : '(unknown)'}`);
      if (t.metrics.length > 0) expect([t.name, t.metrics]).toEqual([t.name, taskMetricNames(t)]);
    }
    // google-research/text-to-text-transfer-transformer t5/data/glue_utils.py SUPERGLUE_METRICS
    expect(TaskRegistry.get('super_glue_cb').metrics).toEqual(['mean_3class_f1', 'accuracy']);
    expect(TaskRegistry.get('super_glue_record').metrics).toEqual(['record']);
  });

  it('a task naming an unknown metric is refused when it is built, with the closest name', () => {
    const opts = TaskRegistry.get('super_glue_rte');
    expect(
      () =>
        new Task({
          name: 'my_rte',
          source: opts.source,
          preprocessor: opts.preprocessor,
          metrics: ['acuracy'],
        }),
    ).toThrow(
      expect.objectContaining({
        code: 'UNKNOWN_METRIC',
        message: expect.stringMatching(/did you mean 'accuracy'/),
      }),
    );
  });
});

describe.each(hubTasks.map((t) => [t.name, t] as const))('%s', (_name, t) => {
  it('reads its real column layout and yields well-formed examples', async () => {
    expect(t.sampleRecord).toBeDefined();
    writeFixture(t, 'train', [t.sampleRecord]);
    const examples = await collect(t, 'train');
    expect(examples.length).toBeGreaterThanOrEqual(1);
    for (const ex of examples) {
      expect(typeof ex.inputs).toBe('string');
      expect(ex.targets.length).toBeGreaterThan(0);
      if (!t.spanCorruption) expect(ex.inputs.length).toBeGreaterThan(0);
    }
  });
});

describe('built-in mini tasks', () => {
  it.each(
    TaskRegistry.values()
      .filter((t) => t.source.builtin)
      .map((t) => [t.name, t] as const),
  )('%s reads its packaged data', async (_n, t) => {
    const examples = await collect(t, 'validation');
    expect(examples).toHaveLength(100);
    for (const ex of examples) expect(ex.targets).not.toBe('');
  });
});

describe('bad input', () => {
  const t = () => TaskRegistry.get('super_glue_cb');

  it('a missing data file names the directory and the download command', () => {
    const empty = path.join(dataDir, 'nothing-here');
    expect(() => t().files('validation', empty)).toThrow(
      `no data files for task super_glue_cb split validation in ${path.join(empty, 'aps', 'super_glue', 'cb', 'validation')}`,
    );
    try {
      t().files('validation', empty);
    } catch (e) {
      expect((e as { hint: string }).hint).toContain(`ext5 data download super_glue_cb --data-dir ${empty}`);
    }
  });

  it('a manual-download dataset says where to put the files', () => {
    try {
      TaskRegistry.get('cogs').files('train', path.join(dataDir, 'none'));
      throw new Error('no error');
    } catch (e) {
      expect((e as { hint: string }).hint).toMatch(
        /manual download: COGS is published on GitHub.*Put the files/,
      );
    }
  });

  it('a missing column names the column and the file', async () => {
    const f = writeFixture(t(), 'validation', [{ premise: 'P.', hyp: 'H.', idx: 0, label: 0 }]);
    await expect(collect(t(), 'validation')).rejects.toThrow(
      `task super_glue_cb: column 'hypothesis' is missing in ${f}`,
    );
  });

  it('a null or missing field in any record is an error naming the file and line (skipMalformed skips it)', async () => {
    const root = path.join(dataDir, 'nulls');
    const good = { premise: 'P.', hypothesis: 'H.', idx: 0, label: 0 };
    const f = writeFixture(t(), 'validation', [good, { ...good, premise: null }], 'part-0.jsonl', root);
    await expect(collect(t(), 'validation', root)).rejects.toThrow(
      `${f}, line 2: task super_glue_cb: column 'premise' is null`,
    );
    const { premise: _, ...noPremise } = good;
    writeFixture(t(), 'validation', [good, good, noPremise], 'part-0.jsonl', root);
    await expect(collect(t(), 'validation', root)).rejects.toThrow(
      `${f}, line 3: task super_glue_cb: column 'premise' is missing`,
    );
    const kept = [];
    for await (const ex of t().examples('validation', { dataDir: root, skipMalformed: true })) kept.push(ex);
    expect(kept.length).toBe(2);
  });

  it('an empty or blank-only split names its files', async () => {
    for (const [name, text] of [
      ['empty', ''],
      ['blank', '\n   \n\t\n'],
    ] as const) {
      const root = path.join(dataDir, `split-${name}`);
      const dir = t().splitDir('validation', root);
      fs.mkdirSync(dir, { recursive: true });
      const f = path.join(dir, 'part-0.jsonl');
      fs.writeFileSync(f, text);
      const err = await collect(t(), 'validation', root).then(
        () => undefined,
        (e: unknown) => e as { code: string; message: string },
      );
      expect(err?.code).toBe('EMPTY_DATA');
      expect(err?.message).toBe(`task super_glue_cb split validation: its data file ${f} holds no records`);
    }
    const csvTask = TaskRegistry.values().find((x) => !x.source.builtin && x.source.columns.length > 0)!;
    const root = path.join(dataDir, 'split-csv');
    const dir = csvTask.splitDir('train', root);
    fs.mkdirSync(dir, { recursive: true });
    const f = path.join(dir, 'data.csv');
    fs.writeFileSync(f, `${csvTask.source.columns.join(',')}\n\n`);
    await expect(collect(csvTask, 'train', root)).rejects.toThrow(`its data file ${f} holds no records`);
  });

  it('a label out of range or of the wrong type names the file and line', async () => {
    const root = path.join(dataDir, 'labels');
    const good = { premise: 'P.', hypothesis: 'H.', idx: 0, label: 0 };
    for (const [label, shown] of [
      [3, '3'],
      [true, 'true'],
      [1.5, '1.5'],
      ['one', '"one"'],
      [-2, '-2'],
    ] as const) {
      const f = writeFixture(t(), 'validation', [good, good, { ...good, label }], 'part-0.jsonl', root);
      await expect(collect(t(), 'validation', root)).rejects.toThrow(
        `${f}, line 3: label ${shown} (in cb) is not an index into [entailment, contradiction, neutral] (0 to 2, or -1 for none)`,
      );
    }
    // The decimal text of an index (as CSV/TSV files hold it) and -1 (no label) are fine.
    writeFixture(
      t(),
      'validation',
      [
        { ...good, label: '2' },
        { ...good, label: -1 },
      ],
      'part-0.jsonl',
      root,
    );
    expect((await collect(t(), 'validation', root)).map((e) => e.targets)).toEqual(['neutral', '<unk>']);
  });

  it('an unknown split lists the splits', () => {
    expect(() => t().splitSpec('dev')).toThrow("task super_glue_cb has no split 'dev'");
  });

  it('a slice reads only its part of the Hub split', async () => {
    const wq = TaskRegistry.get('web_questions_open');
    const rows = Array.from({ length: 3420 }, (_, i) => ({ url: '', question: `q${i}`, answers: [`a${i}`] }));
    const root = path.join(dataDir, 'slice');
    writeFixture(wq, 'train', rows, 'train.jsonl', root);
    const val = await collect(wq, 'validation', root);
    expect(val.map((e) => e.targets)).toEqual(['a3417', 'a3418', 'a3419']);
  });
});
