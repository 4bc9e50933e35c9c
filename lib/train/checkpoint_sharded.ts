/**
 * The checkpoint of a sharded run (`training.sharding` other than none, more than one rank), written
 * by every rank into one directory that appears whole or not at all.
 *
 * The directory is a Hugging Face sharded checkpoint: rank r writes `model-{r+1}-of-{N}.safetensors`
 * with the parameters it owns (lib/train/sharding.ts) and `optimizer-{r+1}-of-{N}.safetensors` with
 * its Adafactor's state (over those parameters only); rank 0 then writes `model.safetensors.index.json`
 * (Hugging Face's index, so transformers and every ext5 loader read the folder as one model),
 * `optimizer.safetensors.index.json` (parameter -> optimizer file, world size, mode),
 * trainer_state.json and, last, config.json, and renames the directory into place.
 *
 * Atomic as a whole: the ranks write into rank 0's temporary sibling of the target (the one
 * writeDirectoryAtomic of lib/io/durable.ts makes; its path reaches the others through one
 * collective), each file fsynced; rank 0 renames only after every rank reported success within the
 * group's deadline. A rank that fails or dies leaves no final directory: rank 0 removes the
 * temporary, or, if rank 0 itself died, the next start's repairInterruptedSaves does (its name
 * carries rank 0's pid). The ranks must share the checkpoints directory's file system.
 *
 * Three collectives, each carrying either the step's data or the error that stops it, so that a
 * failure on one rank ends the save on all ranks with that error instead of a hang:
 *   1. rank 0 -> all: the temporary directory (or why none was made);
 *   2. all -> rank 0: what each rank wrote (or its error);
 *   3. rank 0 -> all: whether the directory was published.
 * A collective that fails (a rank died, the deadline passed) ends the save on the ranks that see it.
 */
import * as path from 'node:path';
import type { ProcessGroup } from '../ddp/process_group';
import { writeDirectoryAtomic, writeFileDurable } from '../io/durable';
import { tensorByteLength, writeSafetensors } from '../io/safetensors';
import {
  type CheckpointWriteOptions,
  CONFIG_FILE,
  checkpointConfigText,
  checkpointWeightEntries,
  writeOptimizerIndex,
} from '../model/hf_format';
import { shardFileName, writeWeightsIndex } from '../model/hf_weights';
import type { T5ForConditionalGeneration } from '../model/t5';
import type { Adafactor } from '../optim/adafactor';
import { TRAINER_STATE_FILE } from '../run/run_checkpoints';
import { Ext5Error } from '../util/errors';
import type { TrainerState } from './checkpoint_save';
import { ownedNames, type ShardLayout } from './sharding';

/** What a sharded save needs besides the model and optimizer. */
export interface ShardedSaveOptions {
  pg: ProcessGroup;
  layout: ShardLayout;
  /** Replacement for fs.writeSync inside this rank's model shard (tests simulate a full disk or a kill). */
  write?: CheckpointWriteOptions['write'];
}

/** An error as it travels between ranks. */
interface WireError {
  code: string;
  message: string;
  hint?: string;
}

type Announce = { tmp: string } | { error: WireError };
type Report = { weights: Array<[name: string, bytes: number]>; params: string[] } | { error: WireError };
type Outcome = { ok: true } | { error: WireError };

/** `e` as it travels; `anyCode` keeps the code of a native error too (the addon's errors carry one). */
function toWire(e: unknown, anyCode = false): WireError {
  const err = e as { code?: unknown; message?: unknown; hint?: unknown };
  const coded =
    typeof err?.code === 'string' && (e instanceof Ext5Error || (anyCode && err.code.startsWith('EXT5_')));
  return {
    code: coded ? (err.code as string) : 'EXT5_IO',
    message: typeof err?.message === 'string' ? err.message : String(e),
    ...(typeof err?.hint === 'string' ? { hint: err.hint } : {}),
  };
}

function fromWire(w: WireError, rank: number, self: number): Ext5Error {
  return new Ext5Error(w.code, rank === self ? w.message : `rank ${rank}: ${w.message}`, w.hint);
}

/** Whether a layout makes a sharded checkpoint (several ranks, each holding part of the state). */
export function isShardedLayout(layout: ShardLayout | undefined): layout is ShardLayout {
  return layout !== undefined && layout.mode !== 'none' && layout.world > 1;
}

/** Writes this rank's model and optimizer shards into `tmp`; what it wrote, for rank 0's indexes. */
function writeOwnShards(
  tmp: string,
  model: T5ForConditionalGeneration,
  optimizer: Adafactor,
  opts: ShardedSaveOptions,
): Report {
  const { layout } = opts;
  const mine = ownedNames(layout);
  if (mine.length !== optimizer.names.length || mine.some((n, i) => optimizer.names[i] !== n)) {
    throw new Ext5Error(
      'EXT5_INVALID_ARG',
      `rank ${layout.rank}: the optimizer is over ${optimizer.names.length} parameter(s), but the layout gives this rank ${mine.length}`,
      'build the optimizer over the owned parameters (ownedNames(layout)) of the same layout',
    );
  }
  const owned = new Set(mine);
  // Only the owned tensors are read: under `full` the others may be freed on this rank.
  const all = model.namedParameters();
  try {
    const entries = checkpointWeightEntries(
      model,
      all.filter(([n]) => owned.has(n)),
      'float32',
    );
    if (entries.length > 0) {
      const file = path.join(tmp, shardFileName('model', layout.rank, layout.world));
      writeSafetensors(file, entries, { format: 'pt' }, opts.write ? { write: opts.write } : {});
    }
    optimizer.saveState(path.join(tmp, shardFileName('optimizer', layout.rank, layout.world)));
    return { weights: entries.map((e) => [e.name, tensorByteLength(e.dtype, e.shape)]), params: mine };
  } finally {
    for (const [, t] of all) t.dispose();
  }
}

/** Rank 0's part after every rank reported: the indexes, the trainer state, config.json last. */
function writeLeadFiles(
  tmp: string,
  model: T5ForConditionalGeneration,
  state: TrainerState,
  reports: Report[],
  layout: ShardLayout,
): void {
  const weightMap: Record<string, string> = {};
  const paramMap: Record<string, string> = {};
  let total = 0;
  reports.forEach((rep, r) => {
    if ('error' in rep) throw fromWire(rep.error, r, 0);
    for (const [name, bytes] of rep.weights) {
      weightMap[name] = shardFileName('model', r, layout.world);
      total += bytes;
    }
    for (const name of rep.params) paramMap[name] = shardFileName('optimizer', r, layout.world);
  });
  writeWeightsIndex(tmp, weightMap, total);
  writeOptimizerIndex(tmp, paramMap, { worldSize: layout.world, sharding: layout.mode });
  writeFileDurable(path.join(tmp, TRAINER_STATE_FILE), `${JSON.stringify(state)}\n`);
  // config.json last: listCheckpoints counts a directory only with it (and the trainer state).
  writeFileDurable(path.join(tmp, CONFIG_FILE), checkpointConfigText(model, 'float32'));
}

/**
 * Writes the sharded checkpoint `dir` (absolute) from every rank of `opts.pg`: call it on all
 * ranks, with the same `dir` and `state`. Resolves on every rank once `dir` is in place; rejects on
 * every rank that can still talk to rank 0 when any rank failed, and then no `dir` appears (an
 * existing one is kept). `prepare` runs on rank 0 first (its error ends the save on every rank).
 *
 * @throws Ext5Error EXT5_DISK_FULL / EXT5_IO (prefixed with the failing rank), EXT5_DIST_* when a
 *   rank died or missed the group's deadline.
 */
export async function saveShardedDirectory(
  dir: string,
  model: T5ForConditionalGeneration,
  optimizer: Adafactor,
  state: TrainerState,
  opts: ShardedSaveOptions,
  prepare?: () => void,
): Promise<void> {
  const { pg, layout } = opts;
  if (pg.rank !== layout.rank || pg.worldSize !== layout.world) {
    throw new Ext5Error(
      'EXT5_INVALID_ARG',
      `the layout is for rank ${layout.rank} of ${layout.world}, but this process is rank ${pg.rank} of ${pg.worldSize}`,
    );
  }
  const fullState: TrainerState = { ...state, sharding: layout.mode };
  if (pg.rank !== 0) {
    const [announce] = await pg.allGatherObject<Announce | null>(null);
    if (!announce || 'error' in announce) throw fromWire(announce!.error, 0, pg.rank);
    let report: Report;
    try {
      report = writeOwnShards(announce.tmp, model, optimizer, opts);
    } catch (e) {
      report = { error: toWire(e) };
    }
    await pg.allGatherObject(report);
    const [outcome] = await pg.allGatherObject<Outcome | null>(null);
    if ('error' in report) throw fromWire(report.error, pg.rank, pg.rank);
    if (!outcome || 'error' in outcome) throw fromWire(outcome!.error, 0, pg.rank);
    return;
  }
  let announced = false;
  let collectiveFailed = false;
  const collective = async <V>(value: V): Promise<V[]> => {
    try {
      return await pg.allGatherObject(value);
    } catch (e) {
      collectiveFailed = true;
      // The group's coded error (EXT5_DIST_*: a rank died, the deadline passed) names the cause;
      // it is kept as it is rather than reported as a failed write of the directory.
      const { code, message } = toWire(e, true);
      throw new Ext5Error(code, `the save of ${dir} stopped: ${message}`);
    }
  };
  try {
    prepare?.();
    await writeDirectoryAtomic(dir, async (tmp) => {
      announced = true;
      await collective<Announce | null>({ tmp });
      let mine: Report;
      try {
        mine = writeOwnShards(tmp, model, optimizer, opts);
      } catch (e) {
        mine = { error: toWire(e) };
      }
      const reports = await collective<Report>(mine);
      writeLeadFiles(tmp, model, fullState, reports as Report[], layout);
    });
  } catch (e) {
    if (!collectiveFailed) {
      // Tell the others at the collective they wait in; this save's own error is what is thrown.
      const told = announced
        ? pg.allGatherObject<Outcome | null>({ error: toWire(e) })
        : pg.allGatherObject<Announce | null>({ error: toWire(e) });
      await told.catch(() => undefined);
    }
    throw e;
  }
  await pg.allGatherObject<Outcome | null>({ ok: true });
}
