import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { MetricsWriter, parseMetrics, RunLogger, readMetrics } from '../../../lib/run/metrics_log';
import { readEvents } from '../../../lib/run/tensorboard';
import { Ext5Error } from '../../../lib/util/errors';

let dir: string;
beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ext5-metrics-'));
});
afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

test('round trip: one JSON object per line, {step, time, split, name: value}', () => {
  const file = path.join(dir, 'metrics.jsonl');
  const w = MetricsWriter.open(file, { now: () => 1000.5 });
  w.write(10, 'train', { loss: 2.5, lr: 0.01, tokens_per_s: 5120 });
  w.write(10, 'validation', { loss: 2.75 }, 1001);
  w.write(20, 'eval', { 'super_glue_cb/accuracy': 0.5 });
  w.close();
  w.close(); // idempotent
  const lines = fs.readFileSync(file, 'utf8').split('\n');
  expect(lines[0]).toBe('{"step":10,"time":1000.5,"split":"train","loss":2.5,"lr":0.01,"tokens_per_s":5120}');
  expect(lines[3]).toBe('');
  const { records, warnings } = readMetrics(file);
  expect(warnings).toEqual([]);
  expect(records).toEqual([
    { step: 10, time: 1000.5, split: 'train', values: { loss: 2.5, lr: 0.01, tokens_per_s: 5120 } },
    { step: 10, time: 1001, split: 'validation', values: { loss: 2.75 } },
    { step: 20, time: 1000.5, split: 'eval', values: { 'super_glue_cb/accuracy': 0.5 } },
  ]);
});

test('append-only: reopening continues the file', () => {
  const file = path.join(dir, 'm.jsonl');
  const a = MetricsWriter.open(file, { now: () => 1 });
  a.write(1, 'train', { loss: 3 });
  a.close();
  const b = MetricsWriter.open(file, { now: () => 2 });
  b.write(2, 'train', { loss: 2 });
  b.close();
  expect(readMetrics(file).records.map((r) => r.step)).toEqual([1, 2]);
});

test('non-finite values survive as NaN / Infinity', () => {
  const file = path.join(dir, 'm.jsonl');
  const w = MetricsWriter.open(file, { now: () => 1 });
  w.write(1, 'train', { loss: Number.NaN, grad_norm: Number.POSITIVE_INFINITY, x: Number.NEGATIVE_INFINITY });
  w.close();
  expect(fs.readFileSync(file, 'utf8')).toContain('"loss":"NaN","grad_norm":"Infinity","x":"-Infinity"');
  const v = readMetrics(file).records[0]!.values;
  expect(v.loss).toBeNaN();
  expect(v.grad_norm).toBe(Number.POSITIVE_INFINITY);
  expect(v.x).toBe(Number.NEGATIVE_INFINITY);
});

test('a killed run: the truncated last line is skipped with a warning, and cut off when reopened', () => {
  const file = path.join(dir, 'metrics.jsonl');
  fs.writeFileSync(file, '{"step":1,"time":1,"split":"train","loss":3}\n{"step":2,"time":2,"split":"tr');
  const { records, warnings } = readMetrics(file);
  expect(records.map((r) => r.step)).toEqual([1]);
  expect(warnings).toEqual([`${file}:2: partial last line (the run was stopped while writing); skipped`]);
  const w = MetricsWriter.open(file, { now: () => 3 });
  w.write(3, 'train', { loss: 1 });
  w.close();
  expect(fs.readFileSync(file, 'utf8')).toBe(
    '{"step":1,"time":1,"split":"train","loss":3}\n{"step":3,"time":3,"split":"train","loss":1}\n',
  );
  expect(readMetrics(file).warnings).toEqual([]);
});

test('resumeStep drops records logged after the checkpoint', () => {
  const file = path.join(dir, 'm.jsonl');
  const w = MetricsWriter.open(file, { now: () => 1 });
  for (const s of [10, 20, 30, 40]) w.write(s, 'train', { loss: s });
  w.close();
  const r = MetricsWriter.open(file, { resumeStep: 20, now: () => 2 });
  r.write(30, 'train', { loss: 0.3 });
  r.close();
  expect(readMetrics(file).records.map((x) => [x.step, x.values.loss])).toEqual([
    [10, 10],
    [20, 20],
    [30, 0.3],
  ]);
});

test('a bad line in the middle is an error naming the line', () => {
  const text = '{"step":1,"split":"train","loss":3}\nnot json\n{"step":2,"split":"train","loss":2}\n';
  let err: unknown;
  try {
    parseMetrics(text, 'run/metrics.jsonl');
  } catch (e) {
    err = e;
  }
  expect(err).toBeInstanceOf(Ext5Error);
  expect((err as Ext5Error).message).toMatch(/^run\/metrics\.jsonl:2: not valid JSON/);
  expect(() => parseMetrics('{"split":"train"}\n', 'm')).toThrow(
    /m:1: expected an object with a numeric "step"/,
  );
  // A complete (newline-terminated) bad last line is damage, not a killed write.
  expect(() => parseMetrics('{"step":1}\n{"ste\n', 'm')).toThrow(/m:2: not valid JSON/);
});

test('missing file and bad writes', () => {
  expect(() => readMetrics(path.join(dir, 'none.jsonl'))).toThrow(/no such file/);
  const w = MetricsWriter.open(path.join(dir, 'm.jsonl'));
  expect(() => w.write(-1, 'train', { loss: 1 })).toThrow(/step must be an integer >= 0/);
  expect(() => w.write(1, 'train', { step: 1 })).toThrow(/'step' is reserved/);
  expect(() => w.write(1, 'train', { loss: '1' as unknown as number })).toThrow(/must be a number/);
  expect(() => w.write(1, '', { loss: 1 })).toThrow(/split must be a non-empty string/);
  w.close();
  expect(() => w.write(1, 'train', { loss: 1 })).toThrow(/closed/);
  expect(() => MetricsWriter.open(path.join(dir, 'no', 'such', 'dir', 'm.jsonl'))).toThrow(
    /cannot open metrics file/,
  );
});

test('RunLogger writes the same records to metrics.jsonl and TensorBoard', () => {
  const m = path.join(dir, 'metrics.jsonl');
  const logger = RunLogger.open(m, dir, { now: () => 50, hostname: 'h' });
  logger.log(10, 'train', { loss: 2.5, lr: 0.01 });
  logger.log(10, 'validation', { loss: 2.75 }, 60);
  logger.flush();
  logger.close();
  logger.close();
  expect(readMetrics(m).records).toEqual([
    { step: 10, time: 50, split: 'train', values: { loss: 2.5, lr: 0.01 } },
    { step: 10, time: 60, split: 'validation', values: { loss: 2.75 } },
  ]);
  const events = readEvents(logger.tensorboard!.file);
  expect(events.slice(1)).toEqual([
    {
      wallTime: 50,
      step: 10,
      scalars: [
        { tag: 'train/loss', value: 2.5 },
        { tag: 'train/lr', value: Math.fround(0.01) },
      ],
    },
    { wallTime: 60, step: 10, scalars: [{ tag: 'validation/loss', value: 2.75 }] },
  ]);
  const off = RunLogger.open(path.join(dir, 'm2.jsonl'), path.join(dir, 'no-tb'), { tensorboard: false });
  off.log(1, 'train', { loss: 1 });
  off.close();
  expect(off.tensorboard).toBeNull();
  expect(fs.existsSync(path.join(dir, 'no-tb'))).toBe(false);
});
