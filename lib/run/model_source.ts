/**
 * Where a model's weights come from, read once: what `--checkpoint` / model.checkpoint names (a
 * checkpoint folder, a run directory, or a Hub id `org/name[@revision]`) is parsed by
 * {@link parseModelSpec} alone, turned into a {@link ModelSource} (the folder to load, and the Hub
 * commit or run directory it came from) by {@link fetchModelSource} (downloads) or
 * {@link localModelSource} (cache only), and from then on the loaders take its paths.
 *
 * Looking a source up never writes: a run directory's checkpoints are listed as they are (a save
 * interrupted there is repaired by that run's next start, under its lock).
 *
 * @example
 * const source = await fetchModelSource('runs/demo');   // its newest complete checkpoint
 * const { value: model } = openModelSource(source, (dir) => T5ForConditionalGeneration.fromPretrained(dir));
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { cachedRefDir, fetchRefDir, type HubModelRef, parseHubRef, type SnapshotOptions } from '../hub';
import { Ext5Error } from '../util/errors';
import { isCheckpointDir, listCheckpoints } from './run_checkpoints';
import { RUN_FILES } from './run_dir';

/** What a model argument names, parsed: nothing read but the file system's names, nothing written. */
export type ModelSpec =
  | { kind: 'checkpoint'; spec: string; dir: string }
  | { kind: 'run'; spec: string; runDir: string; checkpointsDir: string }
  | { kind: 'hub'; spec: string; ref: HubModelRef };

/** A model source resolved to folders: what loaders, printers and run records take. */
export interface ModelSource {
  /** As the user wrote it. */
  spec: string;
  /** The folder to load: the checkpoint, the Hub snapshot, or the run directory's newest complete checkpoint. */
  dir: string;
  /** For a Hub id: the repo, the revision asked for and the commit its snapshot holds. */
  hub?: { repo: string; revision: string; commit: string };
  /**
   * For a run directory: its run may prune `dir` at any moment, so {@link openModelSource} passes over
   * checkpoints that vanish to the next newest.
   */
  runDir?: string;
}

function notACheckpoint(spec: string): Ext5Error {
  return new Ext5Error(
    'EXT5_CHECKPOINT',
    `${spec} is neither a checkpoint (no model.safetensors) nor a run directory with checkpoints`,
    'pass a directory holding config.json + model.safetensors, a run directory, or a Hub model id (org/name[@revision])',
  );
}

function noCheckpointYet(spec: string): Ext5Error {
  return new Ext5Error(
    'EXT5_CHECKPOINT',
    `${spec} is a run directory without a complete checkpoint yet`,
    'wait for its run to save one (checkpoint.every), or pass a checkpoint directory',
  );
}

/**
 * The one parser of a model argument: a checkpoint folder (config.json + weights), a run directory
 * (has checkpoints/), else a Hub id (an existing local path always wins).
 * @throws Ext5Error EXT5_CHECKPOINT when it is none of them; HUB_BAD_ID for a malformed revision.
 */
export function parseModelSpec(spec: string): ModelSpec {
  if (isCheckpointDir(spec)) return { kind: 'checkpoint', spec, dir: spec };
  const checkpointsDir = path.join(spec, RUN_FILES.checkpoints);
  if (fs.existsSync(checkpointsDir)) return { kind: 'run', spec, runDir: spec, checkpointsDir };
  const ref = parseHubRef(spec);
  if (ref) return { kind: 'hub', spec, ref };
  throw notACheckpoint(spec);
}

const asSpec = (s: string | ModelSpec): ModelSpec => (typeof s === 'string' ? parseModelSpec(s) : s);

function hubSource(spec: ModelSpec & { kind: 'hub' }, dir: string): ModelSource {
  return {
    spec: spec.spec,
    dir,
    hub: { repo: spec.ref.repoId, revision: spec.ref.revision, commit: path.basename(dir) },
  };
}

function runSource(spec: ModelSpec & { kind: 'run' }): ModelSource {
  const newest = listCheckpoints(spec.checkpointsDir).at(-1);
  if (!newest) throw noCheckpointYet(spec.spec);
  return { spec: spec.spec, dir: newest.dir, runDir: spec.runDir };
}

/**
 * A model source without the network: a Hub id's snapshot must be in the cache.
 * @throws Ext5Error HUB_MODEL_NOT_CACHED for a Hub id never downloaded; EXT5_CHECKPOINT (see parseModelSpec).
 */
export function localModelSource(given: string | ModelSpec, cacheDir?: string): ModelSource {
  const spec = asSpec(given);
  switch (spec.kind) {
    case 'checkpoint':
      return { spec: spec.spec, dir: spec.dir };
    case 'run':
      return runSource(spec);
    case 'hub':
      return hubSource(spec, cachedRefDir(spec.ref, spec.spec, cacheDir));
  }
}

/** A model source with a Hub id's snapshot downloaded into the cache (offline: the cached one). */
export async function fetchModelSource(
  given: string | ModelSpec,
  opts: SnapshotOptions = {},
): Promise<ModelSource> {
  const spec = asSpec(given);
  if (spec.kind !== 'hub') return localModelSource(spec);
  return hubSource(spec, await fetchRefDir(spec.ref, spec.spec, opts));
}

/** What {@link openModelSource} opened. */
export interface OpenedCheckpoint<T> {
  /** The checkpoint directory (or Hub snapshot) that `open` read. */
  dir: string;
  value: T;
  /** Newer checkpoints of the run that could not be opened, newest first, and why. */
  passed: { dir: string; reason: string }[];
}

/** Times a run directory's checkpoints are listed again when every one listed vanished meanwhile. */
const RELIST = 5;

/**
 * Runs `open` on a source's folder. For a run directory, its newest complete checkpoint that opens:
 * a live run writes and prunes its checkpoints while this reads them (no lock is needed to read
 * another run's directory), so a checkpoint that vanishes between listing and opening, or fails to
 * open, is passed over for the next older one, and when every listed one vanished the run's
 * checkpoints are listed again (the run saved newer ones).
 * @throws Ext5Error EXT5_CHECKPOINT when none of the run's checkpoints opens (each one's reason is listed).
 */
export function openModelSource<T>(source: ModelSource, open: (dir: string) => T): OpenedCheckpoint<T> {
  if (source.runDir === undefined) return { dir: source.dir, value: open(source.dir), passed: [] };
  const spec = source.spec;
  const ckDir = path.join(source.runDir, RUN_FILES.checkpoints);
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
  if (passed.length === 0) throw noCheckpointYet(spec);
  throw new Ext5Error(
    'EXT5_CHECKPOINT',
    `no checkpoint of the run ${spec} could be opened:\n${passed.map((p) => `  ${path.basename(p.dir)}: ${p.reason}`).join('\n')}`,
    vanished > 0
      ? 'its run pruned each checkpoint before it could be read: keep more of them there (checkpoint.keepLast), or pass one checkpoint directory'
      : "pass a checkpoint directory that loads, or restore the run's checkpoints from a backup",
  );
}

/**
 * {@link openModelSource} on what `spec` names, read from the cache for a Hub id. A run directory
 * without a complete checkpoint yet is an error (EXT5_CHECKPOINT), as is a path that names nothing.
 */
export function openCheckpoint<T>(spec: string | ModelSpec, open: (dir: string) => T): OpenedCheckpoint<T> {
  const parsed = asSpec(spec);
  if (parsed.kind === 'run') {
    return openModelSource({ spec: parsed.spec, dir: parsed.runDir, runDir: parsed.runDir }, open);
  }
  return openModelSource(localModelSource(parsed), open);
}
