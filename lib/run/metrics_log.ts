/**
 * metrics.jsonl: the run's scalar log, one JSON object per line,
 * `{"step": 100, "time": 1764120000.123, "split": "train", "loss": 2.31, "lr": 0.01}`.
 *
 * - Append-only, one write per record, so a killed run loses at most its last, partial line; the reader
 *   skips such a line with a warning, and a writer reopening the file cuts it off first.
 * - `time` is wall-clock seconds since the Unix epoch (what TensorBoard calls wall_time).
 * - Non-finite values (a diverged loss) are kept as the strings "NaN", "Infinity", "-Infinity", which
 *   JSON cannot hold as numbers; the reader turns them back into numbers.
 * - On resume, `MetricsWriter.open(path, { resumeStep })` drops records after the checkpoint's step,
 *   so the steps that are run again are not logged twice.
 *
 * Names the training loop writes (so that the report and TensorBoard agree): see {@link METRIC_NAMES}.
 *
 * @example
 * const log = MetricsWriter.open('runs/x/metrics.jsonl');
 * log.write(100, 'train', { loss: 2.31, lr: 0.01, tokens_per_s: 5120 });
 * log.write(100, 'validation', { loss: 2.45 });
 * log.close(); // fsync + close
 * readMetrics('runs/x/metrics.jsonl').records[0]; // { step: 100, time: ..., split: 'train', values: {...} }
 */
import * as fs from 'node:fs';
import { asWriteError, fsyncQuietly, isDiskFull, writeFileDurable, writeSyncMapped } from '../io/durable';
import { Ext5Error } from '../util/errors';
import { TensorBoardWriter } from './tensorboard';

/** Conventional metric names (per split). Evaluation metrics are `<task>/<metric>` in split 'eval'. */
export const METRIC_NAMES = {
  /** Mean token cross-entropy (train: over the logging interval; validation: over eval.lossBatches). */
  loss: 'loss',
  /** Learning rate of the last step. */
  lr: 'lr',
  /** Encoder tokens per second over the logging interval. */
  tokensPerSecond: 'tokens_per_s',
  /** Examples (rows) per second over the logging interval. */
  examplesPerSecond: 'examples_per_s',
  /** Global L2 norm of the gradients before clipping. */
  gradNorm: 'grad_norm',
  /** Seconds per optimizer step. */
  stepTime: 'step_time',
} as const;

/** Splits the training loop writes: 'train', 'validation' (loss on data.evalSplit) and 'eval' (task metrics). */
export type MetricSplit = 'train' | 'validation' | 'eval' | (string & {});

/**
 * The split of the one record a data-parallel run logs after its first step: the bytes each rank
 * holds in parameters, gradients and optimizer state (`rank<r>.<part>`, `max.<part>`, and
 * `model_parameters` for scale). A snapshot, not a curve: `ext5 report` does not chart it.
 */
export const MEMORY_SPLIT = 'memory';

/** One line of metrics.jsonl. */
export interface MetricRecord {
  step: number;
  /** Wall-clock seconds since the epoch. */
  time: number;
  split: string;
  values: Record<string, number>;
}

const RESERVED = new Set(['step', 'time', 'split']);

function encodeValue(v: number): number | string {
  return Number.isFinite(v) ? v : String(v);
}

/** Options of {@link MetricsWriter.open}. */
export interface MetricsWriterOptions {
  /** When resuming from a checkpoint at this step: drop the records logged after it. */
  resumeStep?: number;
  /** Seconds clock for `time` (default Date.now() / 1000), for tests. */
  now?: () => number;
}

/** Appends records to a metrics.jsonl file. Synchronous: one `write(2)` per record. */
export class MetricsWriter {
  readonly path: string;
  private fd: number | undefined;
  private readonly now: () => number;

  private constructor(file: string, fd: number, now: () => number) {
    this.path = file;
    this.fd = fd;
    this.now = now;
  }

  /**
   * Opens (creating if needed) a metrics file for appending. A partial last line left by a killed run is
   * cut off; with `resumeStep`, records with a larger step are dropped.
   */
  static open(file: string, opts: MetricsWriterOptions = {}): MetricsWriter {
    const now = opts.now ?? (() => Date.now() / 1000);
    if (fs.existsSync(file)) {
      const text = fs.readFileSync(file, 'utf8');
      let keep = text.endsWith('\n') || text === '' ? text : text.slice(0, text.lastIndexOf('\n') + 1);
      if (opts.resumeStep !== undefined) {
        const stop = opts.resumeStep;
        keep = keep
          .split('\n')
          .filter((line) => {
            if (line.trim() === '') return false;
            try {
              const step = (JSON.parse(line) as { step?: unknown }).step;
              return typeof step !== 'number' || step <= stop;
            } catch {
              return true; // keep what we cannot judge; the reader will name the line
            }
          })
          .map((l) => `${l}\n`)
          .join('');
      }
      if (keep !== text) {
        // Rewrite through a temporary file so a crash here cannot lose the log.
        writeFileDurable(file, keep);
      }
    }
    let fd: number;
    try {
      fd = fs.openSync(file, 'a');
    } catch (err) {
      if (isDiskFull(err)) throw asWriteError(err, file);
      throw new Ext5Error(
        'EXT5_RUN_DIR',
        `cannot open metrics file '${file}' for appending: ${(err as Error).message}`,
        'check that the run directory exists and is writable.',
      );
    }
    return new MetricsWriter(file, fd, now);
  }

  /**
   * Appends one record. Names must not be 'step', 'time' or 'split'; values must be numbers.
   * @param time wall-clock seconds (default: now)
   */
  write(step: number, split: MetricSplit, values: Readonly<Record<string, number>>, time?: number): void {
    if (this.fd === undefined) throw new Ext5Error('EXT5_CLOSED', `metrics file '${this.path}' is closed`);
    if (!Number.isInteger(step) || step < 0) {
      throw new Ext5Error('EXT5_INVALID_ARG', `metrics step must be an integer >= 0, got ${step}`);
    }
    if (typeof split !== 'string' || split === '') {
      throw new Ext5Error(
        'EXT5_INVALID_ARG',
        `metrics split must be a non-empty string, got ${JSON.stringify(split)}`,
      );
    }
    const rec: Record<string, unknown> = { step, time: time ?? this.now(), split };
    for (const [name, v] of Object.entries(values)) {
      if (RESERVED.has(name)) {
        throw new Ext5Error(
          'EXT5_INVALID_ARG',
          `metric name '${name}' is reserved (step, time and split are fields)`,
        );
      }
      if (typeof v !== 'number') {
        throw new Ext5Error(
          'EXT5_INVALID_ARG',
          `metric '${name}' must be a number, got ${JSON.stringify(v)}`,
        );
      }
      rec[name] = encodeValue(v);
    }
    writeSyncMapped(this.fd, `${JSON.stringify(rec)}\n`, this.path);
  }

  /** Forces what was written to disk. */
  flush(): void {
    if (this.fd !== undefined) fsyncQuietly(this.fd);
  }

  /** fsync and close; idempotent. */
  close(): void {
    if (this.fd === undefined) return;
    fsyncQuietly(this.fd);
    fs.closeSync(this.fd);
    this.fd = undefined;
  }

  [Symbol.dispose](): void {
    this.close();
  }
}

/** What {@link readMetrics} found. */
export interface MetricsFile {
  records: MetricRecord[];
  /** Lines skipped, e.g. "metrics.jsonl:57: partial last line (the run was stopped while writing); skipped". */
  warnings: string[];
}

function decodeValue(v: unknown): number | undefined {
  if (typeof v === 'number') return v;
  if (v === 'NaN') return Number.NaN;
  if (v === 'Infinity') return Number.POSITIVE_INFINITY;
  if (v === '-Infinity') return Number.NEGATIVE_INFINITY;
  return undefined;
}

/**
 * Parses metrics.jsonl text. A bad last line without a final newline is a run killed mid-write: skipped
 * with a warning. Any other bad line is an error naming the file and line.
 */
export function parseMetrics(text: string, file = 'metrics.jsonl'): MetricsFile {
  const records: MetricRecord[] = [];
  const warnings: string[] = [];
  const lines = text.split('\n');
  const complete = text.endsWith('\n');
  if (complete) lines.pop();
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!;
    if (line.trim() === '') continue;
    const isLast = i === lines.length - 1;
    const where = `${file}:${i + 1}`;
    let obj: unknown;
    try {
      obj = JSON.parse(line);
    } catch (err) {
      if (isLast && !complete) {
        warnings.push(`${where}: partial last line (the run was stopped while writing); skipped`);
        continue;
      }
      throw new Ext5Error(
        'EXT5_METRICS',
        `${where}: not valid JSON (${(err as Error).message})`,
        'metrics.jsonl holds one JSON object per line; remove or fix that line.',
      );
    }
    const o = obj as Record<string, unknown>;
    if (obj === null || typeof obj !== 'object' || Array.isArray(obj) || typeof o.step !== 'number') {
      throw new Ext5Error(
        'EXT5_METRICS',
        `${where}: expected an object with a numeric "step", got ${line.slice(0, 80)}`,
        'each line looks like {"step": 100, "time": 1764120000.1, "split": "train", "loss": 2.3}.',
      );
    }
    const values: Record<string, number> = {};
    for (const [k, v] of Object.entries(o)) {
      if (RESERVED.has(k)) continue;
      const n = decodeValue(v);
      if (n !== undefined) values[k] = n;
    }
    records.push({
      step: o.step,
      time: typeof o.time === 'number' ? o.time : Number.NaN,
      split: typeof o.split === 'string' ? o.split : 'train',
      values,
    });
  }
  return { records, warnings };
}

/**
 * Reads a metrics.jsonl file.
 * @throws Ext5Error EXT5_METRICS when the file is missing or a line (other than a partial last one) is bad.
 */
export function readMetrics(file: string): MetricsFile {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new Ext5Error(
      'EXT5_METRICS',
      `cannot read '${file}': ${code === 'ENOENT' ? 'no such file' : (err as Error).message}`,
      'is this a run directory? `ext5 pretrain` writes metrics.jsonl there after the first logging step.',
    );
  }
  return parseMetrics(text, file);
}

/** Options of {@link RunLogger.open}. */
export interface RunLoggerOptions {
  /** Also write TensorBoard event files (config `logging.tensorboard`). Default true. */
  tensorboard?: boolean;
  /** Resuming from a checkpoint at this step: metrics.jsonl drops what was logged after it. */
  resumeStep?: number;
  /** Seconds clock, for tests. */
  now?: () => number;
  /** Host name in the event file name, for tests. */
  hostname?: string;
}

/**
 * What the training loop logs through: each record goes to metrics.jsonl and, when enabled, to a
 * TensorBoard event file in the same directory (tags `<split>/<name>`), with the same step and time.
 * @example
 * const logger = RunLogger.open(run.metricsPath, run.eventsDir, { tensorboard: cfg.logging.tensorboard });
 * logger.log(step, 'train', { loss, lr, tokens_per_s });
 * logger.close();
 */
export class RunLogger {
  readonly metrics: MetricsWriter;
  readonly tensorboard: TensorBoardWriter | null;
  private readonly now: () => number;

  private constructor(metrics: MetricsWriter, tensorboard: TensorBoardWriter | null, now: () => number) {
    this.metrics = metrics;
    this.tensorboard = tensorboard;
    this.now = now;
  }

  /** Opens metrics.jsonl at `metricsPath` and, unless disabled, a new event file in `eventsDir`. */
  static open(metricsPath: string, eventsDir: string, opts: RunLoggerOptions = {}): RunLogger {
    const now = opts.now ?? (() => Date.now() / 1000);
    const metrics = MetricsWriter.open(metricsPath, { resumeStep: opts.resumeStep, now });
    let tb: TensorBoardWriter | null = null;
    if (opts.tensorboard !== false) {
      try {
        tb = new TensorBoardWriter(eventsDir, { now, hostname: opts.hostname });
      } catch (err) {
        metrics.close();
        throw err;
      }
    }
    return new RunLogger(metrics, tb, now);
  }

  /** Logs one record of `split` at `step` to every sink. */
  log(step: number, split: MetricSplit, values: Readonly<Record<string, number>>, time?: number): void {
    const t = time ?? this.now();
    this.metrics.write(step, split, values, t);
    this.tensorboard?.addScalars(step, split, values, t);
  }

  /** fsyncs every sink (e.g. after a checkpoint). */
  flush(): void {
    this.metrics.flush();
    this.tensorboard?.flush();
  }

  /** fsyncs and closes every sink; idempotent. */
  close(): void {
    this.metrics.close();
    this.tensorboard?.close();
  }

  [Symbol.dispose](): void {
    this.close();
  }
}
