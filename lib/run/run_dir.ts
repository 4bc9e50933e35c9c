/**
 * The run directory: everything one pre-training, fine-tuning or evaluation run leaves behind.
 *
 * ```
 * RUN_DIR/
 *   config.json                         the resolved RunConfig (lib/run/run_config.ts)
 *   env.json                            where and how it ran: versions, machine, git commit, argv, start time
 *   metrics.jsonl                       scalars, one JSON object per line (lib/run/metrics_log.ts)
 *   events.out.tfevents.<time>.<host>   the same scalars for TensorBoard (lib/run/tensorboard.ts)
 *   checkpoints/                        one directory per saved step
 *   predictions/                        decoded outputs of evaluations
 *   run.lock                            while a run writes it: who (lib/run/run_lock.ts)
 * ```
 * TensorBoard names a run after the directory that holds its event files, so `tensorboard --logdir runs/`
 * lists each run directory under its own name.
 *
 * One rule for every run: the directory, config.json and env.json are written only once the run has
 * started, after everything it needs has loaded (lib/train/setup.ts, lib/train/resume.ts); a start
 * that fails or is refused before that leaves no trace, one that fails later keeps them.
 *
 * @example
 * const cfg = loadRunConfig({ preset: 'tiny-demo' });
 * const run = createRunDir(defaultRunDirPath(cfg), cfg, { libtorchVersion: '1.13.1', threads: 2 });
 * const log = MetricsWriter.open(run.metricsPath);
 */
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { asWriteError, isDiskFull, writeFileDurable } from '../io/durable';
import { Ext5Error } from '../util/errors';
import { type RunConfig, serializeRunConfig, validateRunConfig } from './run_config';

/** File and directory names inside a run directory. */
export const RUN_FILES = {
  config: 'config.json',
  env: 'env.json',
  metrics: 'metrics.jsonl',
  checkpoints: 'checkpoints',
  predictions: 'predictions',
  lock: 'run.lock',
} as const;

/** Paths of one run directory. */
export interface RunDir {
  root: string;
  configPath: string;
  envPath: string;
  metricsPath: string;
  /** TensorBoard event files are written here (the run directory itself). */
  eventsDir: string;
  checkpointsDir: string;
  predictionsDir: string;
}

/** The paths of a run directory (nothing is created). */
export function runDirPaths(dir: string): RunDir {
  const root = path.resolve(dir);
  return {
    root,
    configPath: path.join(root, RUN_FILES.config),
    envPath: path.join(root, RUN_FILES.env),
    metricsPath: path.join(root, RUN_FILES.metrics),
    eventsDir: root,
    checkpointsDir: path.join(root, RUN_FILES.checkpoints),
    predictionsDir: path.join(root, RUN_FILES.predictions),
  };
}

/** The environment of one start of a run (env.json). */
export interface EnvRecord {
  ext5Version: string;
  node: string;
  platform: string;
  arch: string;
  /** ext5's own git commit when it runs from a checkout, else null. */
  gitCommit: string | null;
  /** True when that checkout had uncommitted changes. */
  gitDirty: boolean | null;
  /** libtorch's version when the caller loaded it (this module never loads libtorch). */
  libtorchVersion: string | null;
  /** libtorch intra-op threads in use. */
  threads: number | null;
  cpuModel: string;
  cpuCount: number;
  totalMemoryBytes: number;
  hostname: string;
  /** ISO 8601, UTC. */
  startTime: string;
  argv: string[];
  cwd: string;
  pid: number;
}

/** What the caller knows that this module must not find out itself (libtorch stays unloaded here). */
export interface EnvInfo {
  libtorchVersion?: string | null;
  threads?: number | null;
  /** Default process.argv. */
  argv?: string[];
  /** Default new Date(). */
  startTime?: Date;
}

function findPackageRoot(): string | undefined {
  let dir = __dirname;
  for (;;) {
    const pj = path.join(dir, 'package.json');
    if (fs.existsSync(pj)) {
      try {
        if ((JSON.parse(fs.readFileSync(pj, 'utf8')) as { name?: string }).name === 'ext5') return dir;
      } catch {
        // keep looking
      }
    }
    const up = path.dirname(dir);
    if (up === dir) return undefined;
    dir = up;
  }
}

function git(args: string[], cwd: string): string | null {
  try {
    return execFileSync('git', args, {
      cwd,
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'ignore'],
      timeout: 5000,
    }).trim();
  } catch {
    return null; // not a checkout, or no git
  }
}

/** ext5's version from its package.json ('unknown' when it cannot be found). */
export function ext5Version(): string {
  const root = findPackageRoot();
  if (!root) return 'unknown';
  try {
    return (JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8')) as { version: string })
      .version;
  } catch {
    return 'unknown';
  }
}

/** The environment record of this process (env.json). */
export function environmentRecord(info: EnvInfo = {}): EnvRecord {
  const root = findPackageRoot();
  const version = ext5Version();
  let gitCommit: string | null = null;
  let gitDirty: boolean | null = null;
  if (root) {
    if (fs.existsSync(path.join(root, '.git'))) {
      gitCommit = git(['rev-parse', 'HEAD'], root);
      const status = gitCommit ? git(['status', '--porcelain', '--untracked-files=no'], root) : null;
      gitDirty = status === null ? null : status !== '';
    }
  }
  const cpus = os.cpus();
  return {
    ext5Version: version,
    node: process.version,
    platform: process.platform,
    arch: process.arch,
    gitCommit,
    gitDirty,
    libtorchVersion: info.libtorchVersion ?? null,
    threads: info.threads ?? null,
    cpuModel: cpus[0]?.model.trim() ?? 'unknown',
    cpuCount: os.availableParallelism(),
    totalMemoryBytes: os.totalmem(),
    hostname: os.hostname(),
    startTime: (info.startTime ?? new Date()).toISOString(),
    argv: info.argv ?? process.argv,
    cwd: process.cwd(),
    pid: process.pid,
  };
}

/**
 * The default run directory of a config: `run.dir`, else `runs/<run.name or kind>-<UTC YYYYMMDD-HHMMSS>`.
 * @example
 * defaultRunDirPath(cfg, new Date('2026-11-26T02:05:38Z')); // 'runs/tiny-demo-20261126-020538'
 */
/** `YYYYMMDD-HHMMSS` (UTC), the suffix of default run directory names. */
export function runStamp(now: Date = new Date()): string {
  return now
    .toISOString()
    .replace(/\.\d+Z$/, '')
    .replace(/[-:]/g, '')
    .replace('T', '-');
}

export function defaultRunDirPath(c: RunConfig, now: Date = new Date()): string {
  if (c.run.dir) return c.run.dir;
  const stamp = runStamp(now);
  const name = (c.run.name ?? c.run.kind).replace(/[^A-Za-z0-9._-]/g, '_');
  return path.join('runs', `${name}-${stamp}`);
}

/** The contents of env.json: the first start, plus one record per resumed start. */
export interface EnvFile extends EnvRecord {
  resumes: EnvRecord[];
}

/** Options of {@link createRunDir}. */
export interface CreateRunDirOptions extends EnvInfo {
  /**
   * What to do when the directory already holds a run (a config.json): 'error' (default) or 'resume'
   * (keep it; add this start to env.json's `resumes` and write the new config).
   */
  ifExists?: 'error' | 'resume';
}

/**
 * Creates a run directory (and its checkpoints/ and predictions/), writes config.json and env.json.
 * @throws Ext5Error EXT5_RUN_DIR when it already holds a run and `ifExists` is not 'resume', or cannot be written.
 */
export function createRunDir(dir: string, config: RunConfig, opts: CreateRunDirOptions = {}): RunDir {
  const p = runDirPaths(dir);
  const exists = fs.existsSync(p.configPath);
  if (exists && opts.ifExists !== 'resume') {
    throw new Ext5Error(
      'EXT5_RUN_DIR',
      `'${p.root}' already holds a run (it has ${RUN_FILES.config})`,
      'resume it (checkpoint.resume=auto with the same run directory), or choose another one with --set run.dir=DIR.',
    );
  }
  const env = environmentRecord(opts);
  try {
    fs.mkdirSync(p.checkpointsDir, { recursive: true });
    fs.mkdirSync(p.predictionsDir, { recursive: true });
    let envFile: EnvFile = { ...env, resumes: [] };
    if (exists && fs.existsSync(p.envPath)) {
      try {
        const old = JSON.parse(fs.readFileSync(p.envPath, 'utf8')) as EnvFile;
        envFile = { ...old, resumes: [...(old.resumes ?? []), env] };
      } catch {
        // a damaged env.json is replaced rather than blocking the run
      }
    }
    writeFileDurable(p.configPath, serializeRunConfig(config));
    writeFileDurable(p.envPath, `${JSON.stringify(envFile, null, 2)}\n`);
  } catch (err) {
    if (err instanceof Ext5Error && err.code === 'EXT5_DISK_FULL') throw err;
    if (isDiskFull(err)) throw asWriteError(err, p.root);
    throw new Ext5Error(
      'EXT5_RUN_DIR',
      `cannot write the run directory '${p.root}': ${(err as Error).message}`,
      'check that the parent directory exists and is writable.',
    );
  }
  return p;
}

/** A run directory read back. */
export interface OpenedRunDir extends RunDir {
  /** The validated config.json, or null when the directory has none. */
  config: RunConfig | null;
  /** The raw config.json (kept even when it fails validation, e.g. written by a newer ext5). */
  rawConfig: unknown;
  env: EnvFile | null;
  /** Paths of the TensorBoard event files. */
  eventFiles: string[];
}

/**
 * Opens an existing run directory for reading (report, resume).
 * @throws Ext5Error EXT5_RUN_DIR when the directory does not exist or holds neither config.json nor metrics.jsonl.
 */
export function openRunDir(dir: string): OpenedRunDir {
  const p = runDirPaths(dir);
  let stat: fs.Stats;
  try {
    stat = fs.statSync(p.root);
  } catch {
    throw new Ext5Error(
      'EXT5_RUN_DIR',
      `run directory '${dir}' does not exist`,
      'pass the directory that `ext5 pretrain|finetune|eval` printed (it holds metrics.jsonl).',
    );
  }
  if (!stat.isDirectory()) {
    throw new Ext5Error(
      'EXT5_RUN_DIR',
      `'${dir}' is a file, not a run directory`,
      'pass the directory that holds metrics.jsonl and config.json.',
    );
  }
  if (!fs.existsSync(p.configPath) && !fs.existsSync(p.metricsPath)) {
    throw new Ext5Error(
      'EXT5_RUN_DIR',
      `'${dir}' is not a run directory: it has neither ${RUN_FILES.config} nor ${RUN_FILES.metrics}`,
      'pass the directory that `ext5 pretrain|finetune|eval` printed.',
    );
  }
  let rawConfig: unknown = null;
  let config: RunConfig | null = null;
  if (fs.existsSync(p.configPath)) {
    try {
      rawConfig = JSON.parse(fs.readFileSync(p.configPath, 'utf8'));
    } catch (err) {
      throw new Ext5Error(
        'EXT5_RUN_DIR',
        `${p.configPath}: not valid JSON (${(err as Error).message})`,
        'the run directory was damaged; restore config.json or remove it.',
      );
    }
    try {
      config = validateRunConfig(rawConfig, p.configPath);
    } catch {
      config = null; // readers that only display it can use rawConfig
    }
  }
  let env: EnvFile | null = null;
  if (fs.existsSync(p.envPath)) {
    try {
      env = JSON.parse(fs.readFileSync(p.envPath, 'utf8')) as EnvFile;
    } catch {
      env = null;
    }
  }
  const eventFiles = fs
    .readdirSync(p.root)
    .filter((f) => f.includes('tfevents'))
    .sort()
    .map((f) => path.join(p.root, f));
  return { ...p, config, rawConfig, env, eventFiles };
}
