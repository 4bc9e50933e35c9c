/**
 * Training checkpoints: `<run>/checkpoints/step-00000100/` holds a Hugging Face checkpoint
 * (config.json + model.safetensors, loadable by transformers), optimizer.safetensors and
 * trainer_state.json (step, data-pipeline position, RNG, counters). Each is written to a
 * temporary directory and renamed into place (lib/model/hf_checkpoint.ts), so a crash or a kill in
 * the middle of a save never leaves a half checkpoint; keep-last-K pruning runs only after a
 * save succeeded, and only over checkpoints the same invocation wrote.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fetchModelDir, parseHubRef } from '../hub';
import { asWriteError, recoverInterruptedSave, writeFileDurable } from '../io/durable';
import { CONFIG_FILE, savePretrained } from '../model/hf_checkpoint';
import type { T5ForConditionalGeneration } from '../model/t5';
import type { Adafactor } from '../optim/adafactor';
import type { PipelineState } from '../train/pipeline';
import { Ext5Error } from '../util/errors';

export const TRAINER_STATE_FILE = 'trainer_state.json';

export interface TrainerState {
  version: 1;
  /** Optimizer steps completed. */
  step: number;
  pipeline: PipelineState;
  /** libtorch's default generator state (dropout), base64. */
  rng: string;
  /** Seconds of training so far. */
  elapsed: number;
  /** Non-padding encoder tokens trained on so far, over all ranks. */
  tokens: number;
  /** Examples (before packing) trained on so far, over all ranks. */
  examples: number;
  worldSize: number;
  /** Data-parallel runs: each rank's pipeline position and generator state (rank 0's is also above). */
  ranks?: { pipeline: PipelineState; rng: string }[];
  /** The mean training loss of the last logged interval (for reports). */
  lastLoss: number | null;
}

export function checkpointName(step: number): string {
  return `step-${String(step).padStart(8, '0')}`;
}

/** Complete checkpoints of a run, oldest first. */
export function listCheckpoints(checkpointsDir: string): { step: number; dir: string }[] {
  if (!fs.existsSync(checkpointsDir)) return [];
  // A save killed before its rename leaves `.step-….tmp-<pid>-…` (or `.old-…`) behind, possibly
  // for a checkpoint that never reached its final name: repair or remove those first.
  for (const name of fs.readdirSync(checkpointsDir)) {
    const m = /^\.(step-\d{8})\.(tmp|old)-/.exec(name);
    if (m) recoverInterruptedSave(path.join(checkpointsDir, m[1]!));
  }
  const out: { step: number; dir: string }[] = [];
  for (const name of fs.readdirSync(checkpointsDir)) {
    const m = /^step-(\d{8})$/.exec(name);
    if (!m) continue;
    const dir = path.join(checkpointsDir, name);
    recoverInterruptedSave(dir);
    if (fs.existsSync(path.join(dir, TRAINER_STATE_FILE)) && fs.existsSync(path.join(dir, CONFIG_FILE))) {
      out.push({ step: Number(m[1]), dir });
    }
  }
  return out.sort((a, b) => a.step - b.step);
}

export function readTrainerState(dir: string): TrainerState {
  const file = path.join(dir, TRAINER_STATE_FILE);
  let state: TrainerState;
  try {
    state = JSON.parse(fs.readFileSync(file, 'utf8')) as TrainerState;
  } catch (e) {
    throw new Ext5Error(
      'EXT5_CHECKPOINT',
      `${file}: cannot read the trainer state (${(e as Error).message})`,
      'the checkpoint is damaged; resume from an earlier one (--resume <dir>) or start afresh (--resume none)',
    );
  }
  if (state?.version !== 1 || !Number.isInteger(state.step) || state.step < 0) {
    throw new Ext5Error('EXT5_CHECKPOINT', `${file}: not an ext5 trainer state (version 1)`);
  }
  return state;
}

/**
 * Saves a checkpoint for `state.step` and prunes all but the newest `keepLast` of those this
 * invocation wrote (`written`, which this adds to). A checkpoint of an earlier start is never
 * deleted: one already at the new step's name (a damaged checkpoint that resume passed over, or a
 * later one after resuming an older checkpoint) is renamed to `<name>.superseded-<time>` first.
 */
export async function saveCheckpoint(
  checkpointsDir: string,
  model: T5ForConditionalGeneration,
  optimizer: Adafactor,
  state: TrainerState,
  keepLast: number,
  written: Set<string>,
): Promise<string> {
  try {
    fs.mkdirSync(checkpointsDir, { recursive: true });
  } catch (e) {
    throw asWriteError(e, checkpointsDir);
  }
  const dir = path.resolve(checkpointsDir, checkpointName(state.step));
  if (fs.existsSync(dir) && !written.has(dir)) {
    const aside = `${dir}.superseded-${new Date().toISOString().replace(/[-:]/g, '').replace(/\..*$/, '')}`;
    try {
      fs.renameSync(dir, aside);
    } catch (e) {
      throw asWriteError(e, aside);
    }
    process.stderr.write(`ext5: kept the earlier ${path.basename(dir)} as ${path.basename(aside)}\n`);
  }
  await savePretrained(model, dir, {
    optimizer,
    extra: (tmp) => writeFileDurable(path.join(tmp, TRAINER_STATE_FILE), `${JSON.stringify(state)}\n`),
  });
  written.add(dir);
  if (keepLast > 0) {
    const mine = listCheckpoints(checkpointsDir).filter((k) => written.has(path.resolve(k.dir)));
    for (const old of mine.slice(0, Math.max(0, mine.length - keepLast))) {
      fs.rmSync(old.dir, { recursive: true, force: true });
      written.delete(path.resolve(old.dir));
    }
  }
  return dir;
}

/** True when `dir` holds model weights (model.safetensors or a sharded index). */
export function isCheckpointDir(dir: string): boolean {
  return (
    fs.existsSync(path.join(dir, 'model.safetensors')) ||
    fs.existsSync(path.join(dir, 'model.safetensors.index.json'))
  );
}

/**
 * A checkpoint directory from what a user passes: a checkpoint itself, or a run directory (its
 * newest complete checkpoint). The run may prune that checkpoint at any moment: to load from a run
 * directory, use {@link openCheckpoint}.
 * @throws Ext5Error EXT5_CHECKPOINT when it is neither.
 */
export function resolveCheckpointDir(dirOrRun: string): string {
  if (isCheckpointDir(dirOrRun)) return dirOrRun;
  const latest = listCheckpoints(path.join(dirOrRun, 'checkpoints')).at(-1)?.dir;
  if (latest) return latest;
  throw notACheckpoint(dirOrRun);
}

function notACheckpoint(dirOrRun: string): Ext5Error {
  return new Ext5Error(
    'EXT5_CHECKPOINT',
    `${dirOrRun} is neither a checkpoint (no model.safetensors) nor a run directory with checkpoints`,
    'pass a directory holding config.json + model.safetensors, a run directory, or a Hub model id (org/name[@revision])',
  );
}

/** A checkpoint opened by {@link openCheckpoint}. */
export interface OpenedCheckpoint<T> {
  /** The checkpoint directory (or Hub id) that `open` read. */
  dir: string;
  value: T;
  /** Newer checkpoints of the run that could not be opened, newest first, and why. */
  passed: { dir: string; reason: string }[];
}

/** Times a run directory's checkpoints are listed again when every one listed vanished meanwhile. */
const RELIST = 5;

/**
 * Runs `open` on what `spec` names: a checkpoint directory or Hub id as given, a run directory's
 * newest complete checkpoint that opens. A live run writes and prunes its checkpoints while this
 * reads them (no lock is needed to read another run's directory): a checkpoint that vanishes
 * between listing and opening, or fails to open, is passed over for the next older one, and when
 * every listed one vanished the run's checkpoints are listed again (the run saved newer ones).
 * @throws Ext5Error EXT5_CHECKPOINT when `spec` is no checkpoint or run directory, or none of the
 *   run's checkpoints opens (each one's reason is listed).
 */
export function openCheckpoint<T>(spec: string, open: (dir: string) => T): OpenedCheckpoint<T> {
  const ckDir = path.join(spec, 'checkpoints');
  if (isCheckpointDir(spec) || !fs.existsSync(ckDir)) {
    if (!isCheckpointDir(spec) && !parseHubRef(spec)) throw notACheckpoint(spec);
    return { dir: spec, value: open(spec), passed: [] };
  }
  const passed: { dir: string; reason: string }[] = [];
  const tried = new Set<string>();
  let vanished = 0;
  for (let round = 0; round <= RELIST; round++) {
    const list = listCheckpoints(ckDir)
      .reverse()
      .filter((k) => !tried.has(k.dir));
    if (list.length === 0) break;
    for (const k of list) {
      tried.add(k.dir);
      try {
        return { dir: k.dir, value: open(k.dir), passed };
      } catch (e) {
        const gone = !fs.existsSync(k.dir);
        if (gone) vanished++;
        passed.push({
          dir: k.dir,
          reason: gone ? 'removed while it was being opened (pruned by its run)' : (e as Error).message,
        });
      }
    }
    if (vanished === 0) break; // nothing vanished: listing again finds nothing newer
  }
  if (passed.length === 0) {
    throw new Ext5Error(
      'EXT5_CHECKPOINT',
      `${spec} is a run directory without a complete checkpoint yet`,
      'wait for its run to save one (checkpoint.every), or pass a checkpoint directory',
    );
  }
  throw new Ext5Error(
    'EXT5_CHECKPOINT',
    `no checkpoint of the run ${spec} could be opened:\n${passed.map((p) => `  ${path.basename(p.dir)}: ${p.reason}`).join('\n')}`,
    vanished > 0
      ? 'its run pruned each checkpoint before it could be read: keep more of them there (checkpoint.keepLast), or pass one checkpoint directory'
      : "pass a checkpoint directory that loads, or restore the run's checkpoints from a backup",
  );
}

/**
 * What a checkpoint argument names, without touching the network: a Hub id (`org/name`,
 * `org/name@revision`; a local path of that name wins) as given, else resolveCheckpointDir's directory.
 */
export function resolveCheckpointSpec(spec: string): string {
  return parseHubRef(spec) ? spec : resolveCheckpointDir(spec);
}

/**
 * resolveCheckpointSpec, with a Hub id's snapshot downloaded into the Hub cache (or, offline, the cached
 * one): the directory `--checkpoint` loads from.
 */
export async function resolveCheckpointSource(spec: string): Promise<string> {
  return parseHubRef(spec) ? fetchModelDir(spec) : resolveCheckpointDir(spec);
}
