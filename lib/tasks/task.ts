/**
 * Task: one text-to-text dataset, in SeqIO's vocabulary (google/seqio seqio/dataset_providers.py: Task,
 * DataSource, preprocessors, output_features, postprocess_fn, metric_fns). A Task knows where its records
 * live (a Hugging Face Hub dataset id, config and splits, stored under --data-dir), how to turn a record into
 * {inputs, targets} text, which vocabulary/lengths its output features use, and which metrics (by name; the
 * functions live in lib/eval/metrics) score it. Tokenization, span corruption and packing happen later in
 * lib/text; a Task only yields text.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { type RecordedRows, recordedRows } from '../data/manifest';
import { shardFor } from '../data/sources/shard';
import type { DataRecord } from '../data/sources/types';
import { listMetrics } from '../eval/metrics/registry';
import { didYouMean, Ext5Error } from '../util/errors';
import { packageRoot } from '../util/package_root';

export { packageRoot };

/** The eight ExMix task families (Aribandi et al. 2022, §2). */
export const FAMILIES = [
  'summarization',
  'dialogue',
  'nli',
  'classification',
  'semantic_parsing',
  'commonsense',
  'closed_book_qa',
  'reading_comprehension',
] as const;
export type Family = (typeof FAMILIES)[number];

/** One text-to-text example. Extra keys (answers, idx, label…) pass through for postprocessors and metrics. */
export interface Example {
  inputs: string;
  targets: string;
  [key: string]: unknown;
}

/** A raw record as read from a data file (lib/data/sources' record, re-exported for task code). */
export type { DataRecord };

/** What a preprocessor knows besides the record. */
export interface PreprocessContext {
  task: string;
  split: string;
  /** True on the task's training split (some formats emit one example per answer, or filter, only there). */
  training: boolean;
}

/** Turns one record into zero, one or several examples (null or [] drops the record). */
export type Preprocessor = (record: DataRecord, ctx: PreprocessContext) => Example | Example[] | null;

/**
 * A split of a task: the Hub split it reads, and optionally a slice of it (T5's closed-book QA holds out
 * the tail of `train` as validation: `train[:79168]` is `{ hfSplit: 'train', end: 79168 }`).
 */
export interface SplitSpec {
  hfSplit: string;
  start?: number;
  end?: number;
}

/**
 * Where a task's records come from. `hfId`/`config` name a Hugging Face Hub dataset; its files are stored
 * under `<data-dir>/<hfId>/<config>/<hfSplit>/`. `builtin` points into the package's assets/ instead.
 */
export interface DataSource {
  hfId: string;
  /** Hub config ('default' when the dataset has none). */
  config: string;
  splits: Record<string, SplitSpec>;
  /** Columns every record must have (dotted paths allowed: `answers.text`). Checked on each file's first record. */
  columns: string[];
  /**
   * How the files come from the Hub: 'parquet' (the refs/convert/parquet branch, the default) or 'files'
   * (the repository's own files matching `filePatterns[hfSplit]`, e.g. allenai/c4's en/*.json.gz).
   */
  layout?: 'parquet' | 'files';
  filePatterns?: Record<string, string>;
  /** Set when the Hub has no downloadable copy: how to get the files by hand. */
  manual?: string;
  /**
   * Set when the dataset is published outside the Hub (its URL, e.g. a GitHub repository): `hfId` is then
   * not a Hub dataset, only the name of its folder under the data directory.
   */
  home?: string;
  /** A directory relative to the package root holding `<split>.jsonl` files (the built-in mini tasks). */
  builtin?: string;
}

/** SeqIO's output features: vocabulary and target lengths for `inputs` and `targets`. */
export interface OutputFeatures {
  /** 't5' (the public 32k T5 SentencePiece model) or 'mini' (assets/mini), or a path to a .model file. */
  vocabulary: string;
  addEos: boolean;
  inputsLength: number;
  targetsLength: number;
}

/** Where the paper is known to include a task: true (listed in the paper), 'likely' (family and era fit), false. */
export type InPaper = true | 'likely' | false;

export interface TaskOptions {
  name: string;
  source: DataSource;
  preprocessor: Preprocessor;
  family?: Family;
  description?: string;
  outputFeatures?: Partial<OutputFeatures>;
  /** Name of a postprocessor in lib/eval (e.g. 'wsc_simple', 'qa', 'record', 'multirc'); undefined = identity. */
  postprocessor?: string;
  /**
   * The label strings in class-id order (T5's `label_classes`): the evaluator maps targets and
   * predictions to class ids with them (`string_label_to_class_id`, unknown → -1) before scoring.
   */
  labelClasses?: string[];
  /** Metric names of the registry in lib/eval/metrics (`listMetrics()`: 'accuracy', 'squad', 'bleu', 'rouge', …). */
  metrics?: string[];
  /** Number of examples per split (train is needed for examples-proportional mixing), from the dataset cards. */
  numExamples?: Record<string, number>;
  inPaper?: InPaper;
  /**
   * With `inPaper: true`: the public document that names the task as an ExMix member, when the
   * paper's own list is not what establishes it (e.g. a repository's ExMix section).
   */
  inPaperSource?: string;
  /**
   * Published after the ExT5 paper (November 2021), so it cannot be an ExMix member: kept out of
   * `exmix` (and `exmix_<family>`), in `exmix_plus` only.
   */
  afterPaper?: boolean;
  /** True for the C4-style pre-training task: yields text, span corruption is applied by lib/text. */
  spanCorruption?: boolean;
  /** Benchmark it belongs to, when it is one: 'superglue', 'gem', 'rainbow', 'cbqa'. */
  benchmark?: string;
  /** Where the format/source comes from (repo and path, or dataset card). */
  reference?: string;
  /** One record in the source's real column layout (documentation, `tasks inspect` without data, tests). */
  sampleRecord?: DataRecord;
  /**
   * How the source metadata (Hub id, config, splits, columns, sizes) was checked, and against what; undefined
   * when it was not checked (written from memory). See docs/tasks.md, "How the registry was checked".
   */
  verified?: string;
}

export const DEFAULT_OUTPUT_FEATURES: OutputFeatures = {
  vocabulary: 't5',
  addEos: true,
  inputsLength: 512,
  targetsLength: 114,
};

const NAME_RE = /^[a-z][a-z0-9_]*$/;

/** Throws unless `name` is lowercase [a-z0-9_] starting with a letter (SeqIO's registry rule, kept strict). */
export function validateName(name: string, kind: 'task' | 'mixture'): void {
  if (typeof name !== 'string' || !NAME_RE.test(name)) {
    throw new Ext5Error(
      'BAD_NAME',
      `invalid ${kind} name ${JSON.stringify(name)}`,
      'names are lowercase letters, digits and underscores, starting with a letter (e.g. "super_glue_boolq")',
    );
  }
}

/** Options for reading a task's examples. */
export interface ReadOptions {
  /** Root of the local data (the `--data-dir` / EXT5_DATA directory). */
  dataDir?: string;
  /** Read every worldSize-th record starting at rank (data-parallel sharding, lib/data/sources/shard.ts). */
  shard?: { rank: number; worldSize: number };
  /** Skip records that fail to parse instead of throwing. */
  skipMalformed?: boolean;
}

/** The default data directory: $EXT5_DATA, else ~/.cache/ext5/data. */
export function defaultDataDir(): string {
  const env = process.env.EXT5_DATA;
  if (env) return path.resolve(env);
  const home = process.env.HOME || process.env.USERPROFILE || '.';
  return path.join(home, '.cache', 'ext5', 'data');
}

/**
 * JSON.stringify that also writes BigInt (Parquet INT64 columns arrive as BigInt): as a number when it is
 * exact, else as a decimal string.
 */
export function toJson(value: unknown, space?: number): string {
  return (
    JSON.stringify(
      value,
      (_k, v) => (typeof v === 'bigint' ? (Number.isSafeInteger(Number(v)) ? Number(v) : v.toString()) : v),
      space,
    ) ?? String(value)
  );
}

/** Reads a dotted path (`answers.text`); through arrays it maps (`utterances.text` → string[]). */
export function getField(record: unknown, dotted: string): unknown {
  let cur: unknown = record;
  for (const key of dotted.split('.')) {
    if (cur === null || cur === undefined) return undefined;
    if (Array.isArray(cur))
      cur = cur.map((x) => (x && typeof x === 'object' ? (x as DataRecord)[key] : undefined));
    else if (typeof cur === 'object') cur = (cur as DataRecord)[key];
    else return undefined;
  }
  return cur;
}

const DATA_EXTENSIONS = ['.parquet', '.jsonl', '.jsonl.gz', '.json.gz', '.tsv', '.csv'];

/**
 * A SeqIO-style Task.
 * @example
 * const t = TaskRegistry.get('super_glue_boolq');
 * for await (const ex of t.examples('validation', { dataDir })) console.log(ex.inputs, '->', ex.targets);
 */
export class Task {
  readonly name: string;
  readonly source: DataSource;
  readonly preprocessor: Preprocessor;
  readonly family: Family | undefined;
  readonly description: string;
  readonly outputFeatures: OutputFeatures;
  readonly postprocessor: string | undefined;
  readonly metrics: string[];
  readonly labelClasses: readonly string[] | undefined;
  readonly numExamplesBySplit: Record<string, number>;
  readonly inPaper: InPaper;
  readonly inPaperSource: string | undefined;
  readonly afterPaper: boolean;
  readonly spanCorruption: boolean;
  readonly benchmark: string | undefined;
  readonly reference: string | undefined;
  readonly sampleRecord: DataRecord | undefined;
  readonly verified: string | undefined;

  constructor(opts: TaskOptions) {
    validateName(opts.name, 'task');
    if (opts.family !== undefined && !FAMILIES.includes(opts.family)) {
      throw new Ext5Error(
        'BAD_FAMILY',
        `task ${opts.name}: unknown family '${opts.family}'`,
        `one of ${FAMILIES.join(', ')}`,
      );
    }
    if (opts.verified !== undefined && (typeof opts.verified !== 'string' || opts.verified.trim() === '')) {
      throw new Ext5Error(
        'BAD_TASK',
        `task ${opts.name}: 'verified' must be a non-empty string saying how the source was checked`,
        'leave it undefined when the source metadata was not checked',
      );
    }
    if (Object.keys(opts.source.splits).length === 0) {
      throw new Ext5Error('BAD_TASK', `task ${opts.name} declares no splits`);
    }
    if (opts.inPaperSource !== undefined && (opts.inPaper !== true || opts.inPaperSource.trim() === '')) {
      throw new Ext5Error(
        'BAD_TASK',
        `task ${opts.name}: inPaperSource names the evidence of an ExMix membership, so it needs inPaper: true and a non-empty text`,
      );
    }
    if (opts.afterPaper === true && opts.inPaper !== undefined && opts.inPaper !== false) {
      throw new Ext5Error(
        'BAD_TASK',
        `task ${opts.name}: a task published after the ExT5 paper (afterPaper) cannot be in it (inPaper: ${String(opts.inPaper)})`,
      );
    }
    // A metric name the registry does not know would only fail at evaluation; refuse it here.
    const known = listMetrics();
    for (const m of opts.metrics ?? []) {
      if (!known.includes(m)) {
        throw new Ext5Error(
          'UNKNOWN_METRIC',
          `task ${opts.name} names unknown metric '${m}'${didYouMean(m, known)}`,
          `known metrics: ${known.join(', ')}`,
        );
      }
    }
    this.name = opts.name;
    this.source = opts.source;
    this.preprocessor = opts.preprocessor;
    this.family = opts.family;
    this.description = opts.description ?? '';
    this.outputFeatures = { ...DEFAULT_OUTPUT_FEATURES, ...opts.outputFeatures };
    this.postprocessor = opts.postprocessor;
    this.metrics = opts.metrics ?? [];
    this.labelClasses = opts.labelClasses;
    this.numExamplesBySplit = opts.numExamples ?? {};
    this.inPaper = opts.inPaper ?? false;
    this.inPaperSource = opts.inPaperSource;
    this.afterPaper = opts.afterPaper ?? false;
    this.spanCorruption = opts.spanCorruption ?? false;
    this.benchmark = opts.benchmark;
    this.reference = opts.reference;
    this.sampleRecord = opts.sampleRecord;
    this.verified = opts.verified;
  }

  /** The splits this task offers. */
  get splits(): string[] {
    return Object.keys(this.source.splits);
  }

  /** Examples in `split` (from the dataset card), or undefined when unknown. */
  numExamples(split = 'train'): number | undefined {
    return this.numExamplesBySplit[split];
  }

  /** The split spec, or a clear error naming the splits that exist. */
  splitSpec(split: string): SplitSpec {
    const spec = this.source.splits[split];
    if (!spec) {
      throw new Ext5Error(
        'UNKNOWN_SPLIT',
        `task ${this.name} has no split '${split}'`,
        `its splits are: ${this.splits.join(', ')}`,
      );
    }
    return spec;
  }

  /** The directory that holds `split`'s files. */
  splitDir(split: string, dataDir = defaultDataDir()): string {
    const spec = this.splitSpec(split);
    if (this.source.builtin) return path.join(packageRoot(), this.source.builtin);
    return path.join(dataDir, ...this.source.hfId.split('/'), this.source.config, spec.hfSplit);
  }

  /**
   * What the download record of `split`'s folder (`ext5 data download`, lib/data/manifest.ts) says of its
   * rows: the rows present in this task split (a slice of the Hub split counts only the rows inside the
   * slice) and whether the Hub's export is partial. Undefined for built-in tasks and folders without a
   * record; `rows` is undefined while the record has no count. A malformed record is E_DATA_MANIFEST.
   */
  rowsPresent(split: string, dataDir = defaultDataDir()): RecordedRows | undefined {
    const spec = this.splitSpec(split);
    if (this.source.builtin) return undefined;
    const owner = { repo: this.source.hfId, config: this.source.config, split: spec.hfSplit };
    const rec = recordedRows(this.splitDir(split, dataDir), owner);
    if (!rec || rec.rows === undefined) return rec;
    const start = spec.start ?? 0;
    const end = Math.min(spec.end ?? Number.POSITIVE_INFINITY, rec.rows);
    return { ...rec, rows: Math.max(0, end - start) };
  }

  /** The data files of `split`, sorted; throws with the download command when there are none. */
  files(split: string, dataDir = defaultDataDir()): string[] {
    const spec = this.splitSpec(split);
    const dir = this.splitDir(split, dataDir);
    if (this.source.builtin) {
      const f = path.join(dir, `${spec.hfSplit}.jsonl`);
      if (!fs.existsSync(f)) {
        throw new Ext5Error(
          'MISSING_DATA',
          `built-in data file ${f} is missing`,
          'reinstall ext5 or run scripts/make-mini-assets.py',
        );
      }
      return [f];
    }
    const found = fs.existsSync(dir)
      ? fs
          .readdirSync(dir)
          .filter((f) => DATA_EXTENSIONS.some((e) => f.endsWith(e)))
          .sort()
          .map((f) => path.join(dir, f))
      : [];
    if (found.length === 0) {
      const how = this.source.manual
        ? `this dataset needs a manual download: ${this.source.manual} Put the files (${DATA_EXTENSIONS.join(', ')}) in ${dir}`
        : this.benchmark
          ? `run \`ext5 data download --benchmark ${this.benchmark} --data-dir ${dataDir}\` for the whole benchmark, or \`ext5 data download ${this.name} --data-dir ${dataDir}\` for this task (or put ${DATA_EXTENSIONS.join('/')} files there yourself)`
          : `run \`ext5 data download ${this.name} --data-dir ${dataDir}\` (or put ${DATA_EXTENSIONS.join('/')} files there yourself)`;
      throw new Ext5Error(
        'MISSING_DATA',
        `no data files for task ${this.name} split ${split} in ${dir}`,
        how,
      );
    }
    return found;
  }

  /** The raw records of `split` (after slicing), with the column checks of {@link located}. */
  async *records(split: string, opts: ReadOptions = {}): AsyncGenerator<DataRecord> {
    for await (const r of this.located(split, opts)) yield r.record;
  }

  /**
   * The records of `split` with the file and place each came from. Every record must hold each of
   * the task's columns with a value (not null): the first record of a file missing one says the
   * file has another layout; a later one, or a null, names the record (skipMalformed skips it).
   * A split whose files hold no record at all is an error naming them.
   */
  private async *located(
    split: string,
    opts: ReadOptions,
  ): AsyncGenerator<{ record: DataRecord; file: string; where: string }> {
    const spec = this.splitSpec(split);
    const files = this.files(split, opts.dataDir);
    // Loaded on first read so that listing and inspecting tasks never pay for the readers (hyparquet).
    const { readRecords } = await import('../data/sources');
    const start = spec.start ?? 0;
    const end = spec.end ?? Number.POSITIVE_INFINITY;
    const shard = opts.shard ? shardFor(opts.shard.rank, opts.shard.worldSize) : undefined;
    let index = 0;
    let malformed = 0;
    for (const file of files) {
      let first = true;
      // Slicing is over the unsharded split, so shards are taken after slicing here.
      const src = readRecords(file, { skipMalformed: opts.skipMalformed });
      for await (const rec of src) {
        const where = src.lastWhere() ?? 'a record';
        if (first) {
          this.checkColumns(rec, file);
          first = false;
        }
        const bad = this.source.columns.find((col) => getField(rec, col) == null);
        if (bad !== undefined) {
          if (opts.skipMalformed) {
            malformed++;
            continue;
          }
          throw new Ext5Error(
            'BAD_RECORD',
            `${file}, ${where}: task ${this.name}: column '${bad}' is ${getField(rec, bad) === null ? 'null' : 'missing'}`,
            'fix or delete that record, or skip such records (skipMalformed / --skip-malformed)',
          );
        }
        const i = index++;
        if (i < start) continue;
        if (i >= end) return;
        if (shard && !shard.owns(i - start)) continue;
        yield { record: rec, file, where };
      }
      malformed += src.stats().malformed;
    }
    if (index === 0) {
      throw new Ext5Error(
        'EMPTY_DATA',
        `task ${this.name} split ${split}: its data file${files.length === 1 ? '' : 's'} ${files.join(', ')} hold${files.length === 1 ? 's' : ''} no records${malformed > 0 ? ` (${malformed} malformed skipped)` : ''}`,
        "the file is empty or blank: download it again, or put the split's records there",
      );
    }
  }

  /** Throws naming the missing column and the file. */
  checkColumns(rec: DataRecord, file: string): void {
    for (const col of this.source.columns) {
      if (getField(rec, col) === undefined) {
        const have = Object.keys(rec).join(', ');
        throw new Ext5Error(
          'MISSING_COLUMN',
          `task ${this.name}: column '${col}' is missing in ${file} (its columns: ${have})`,
          `the file does not have ${this.source.hfId}${this.source.config !== 'default' ? `/${this.source.config}` : ''}'s layout; re-download it with \`ext5 data download ${this.name}\``,
        );
      }
    }
  }

  /** Applies the preprocessor to one record (exposed for tests and `ext5 tasks inspect`). */
  preprocess(record: DataRecord, split = 'train'): Example[] {
    const ctx: PreprocessContext = { task: this.name, split, training: split === 'train' };
    const out = this.preprocessor(record, ctx);
    const list = out === null ? [] : Array.isArray(out) ? out : [out];
    for (const ex of list) {
      if (typeof ex.inputs !== 'string' || typeof ex.targets !== 'string') {
        throw new Ext5Error(
          'BAD_EXAMPLE',
          `task ${this.name}: preprocessor returned a non-string inputs/targets for record ${toJson(record).slice(0, 200)}`,
        );
      }
    }
    return list;
  }

  /** The text-to-text examples of `split`; an error in one record's preprocessing names its file and place. */
  async *examples(split: string, opts: ReadOptions = {}): AsyncGenerator<Example> {
    for await (const { record, file, where } of this.located(split, opts)) {
      let out: Example[];
      try {
        out = this.preprocess(record, split);
      } catch (e) {
        if (e instanceof Ext5Error) throw new Ext5Error(e.code, `${file}, ${where}: ${e.message}`, e.hint);
        throw e;
      }
      yield* out;
    }
  }
}
