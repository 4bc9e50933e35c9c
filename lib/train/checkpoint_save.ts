/**
 * Writing a run's checkpoints (named and listed by lib/run/run_checkpoints.ts): each is written to
 * a temporary directory and renamed into place (lib/model/hf_checkpoint.ts), so a crash or a kill
 * in the middle of a save never leaves a half checkpoint; keep-last-K pruning runs only after a
 * save succeeded, and only over checkpoints the same invocation wrote; saves a kill interrupted are
 * repaired by the run's next start, under its lock. Also the trainer state each checkpoint holds.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { asWriteError, recoverInterruptedSave, writeFileDurable } from '../io/durable';
import { savePretrained } from '../model/hf_checkpoint';
import type { T5ForConditionalGeneration } from '../model/t5';
import type { Adafactor } from '../optim/adafactor';
import { checkpointName, listCheckpoints, TRAINER_STATE_FILE } from '../run/run_checkpoints';
import { Ext5Error } from '../util/errors';
import { isShardedLayout, type ShardedSaveOptions, saveShardedDirectory } from './checkpoint_sharded';
import type { PipelineState } from './pipeline';
import type { ShardingMode } from './sharding';

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
  /**
   * `training.sharding` of a sharded checkpoint (model and optimizer in one shard per rank,
   * lib/train/checkpoint_sharded.ts); absent when the checkpoint is whole.
   */
  sharding?: ShardingMode;
  /** Data-parallel runs: each rank's pipeline position and generator state (rank 0's is also above). */
  ranks?: { pipeline: PipelineState; rng: string }[];
  /** The mean training loss of the last logged interval (for reports). */
  lastLoss: number | null;
}

/**
 * Repairs what saves killed before their rename left in a run's checkpoints directory
 * (`.step-….tmp-<pid>-…` / `.old-…` siblings, possibly of a checkpoint that never reached its final
 * name): a checkpoint set aside is renamed back, dead temporaries are removed. Renames and deletes:
 * call it only as the directory's writer, holding its run lock (lib/run/run_lock.ts).
 */
export function repairInterruptedSaves(checkpointsDir: string): void {
  if (!fs.existsSync(checkpointsDir)) return;
  const targets = new Set<string>();
  for (const name of fs.readdirSync(checkpointsDir)) {
    const m = /^\.?(step-\d{8})(?:$|\.(?:tmp|old)-)/.exec(name);
    if (m) targets.add(m[1]!);
  }
  for (const t of targets) recoverInterruptedSave(path.join(checkpointsDir, t));
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
 *
 * Without `shard`, rank 0 alone calls it and writes the whole checkpoint. With `shard` ({ pg, layout }),
 * every rank calls it with the same arguments: a sharded layout (a mode other than none, several
 * ranks) writes one shard per rank into one atomic directory (lib/train/checkpoint_sharded.ts);
 * an unsharded one writes on rank 0 and returns at once on the others. The superseded rule and
 * pruning run on rank 0 only.
 */
export async function saveCheckpoint(
  checkpointsDir: string,
  model: T5ForConditionalGeneration,
  optimizer: Adafactor,
  state: TrainerState,
  keepLast: number,
  written: Set<string>,
  shard?: ShardedSaveOptions,
): Promise<string> {
  const dir = path.resolve(checkpointsDir, checkpointName(state.step));
  const lead = (shard?.pg.rank ?? 0) === 0;
  const prepare = () => {
    try {
      fs.mkdirSync(checkpointsDir, { recursive: true });
    } catch (e) {
      throw asWriteError(e, checkpointsDir);
    }
    if (fs.existsSync(dir) && !written.has(dir)) {
      const aside = `${dir}.superseded-${new Date().toISOString().replace(/[-:]/g, '').replace(/\..*$/, '')}`;
      try {
        fs.renameSync(dir, aside);
      } catch (e) {
        throw asWriteError(e, aside);
      }
      process.stderr.write(`ext5: kept the earlier ${path.basename(dir)} as ${path.basename(aside)}\n`);
    }
  };
  if (isShardedLayout(shard?.layout)) {
    await saveShardedDirectory(dir, model, optimizer, state, shard!, lead ? prepare : undefined);
  } else if (lead) {
    prepare();
    await savePretrained(model, dir, {
      optimizer,
      extra: (tmp) => writeFileDurable(path.join(tmp, TRAINER_STATE_FILE), `${JSON.stringify(state)}\n`),
    });
  }
  written.add(dir);
  if (lead && keepLast > 0) {
    const mine = listCheckpoints(checkpointsDir).filter((k) => written.has(path.resolve(k.dir)));
    for (const old of mine.slice(0, Math.max(0, mine.length - keepLast))) {
      fs.rmSync(old.dir, { recursive: true, force: true });
      written.delete(path.resolve(old.dir));
    }
  }
  return dir;
}
