/**
 * The optimizer state of a checkpoint folder, in either layout:
 *
 * - one file, `optimizer.safetensors` (Adafactor.saveState over every parameter), written by an
 *   unsharded save;
 * - shards `optimizer-0000k-of-0000n.safetensors`, one per rank of a sharded run (each rank's
 *   Adafactor over the parameters it owns), with `optimizer.safetensors.index.json` mapping each
 *   parameter name to the file that holds its state (lib/train/checkpoint_sharded.ts writes them).
 *
 * {@link loadOptimizerState} loads the state of an optimizer's parameters from either layout, by
 * name: a file holding exactly those parameters is loaded as saved, anything else is merged from
 * the files that hold them. So a checkpoint of N ranks resumes with M ranks, or unsharded, and an
 * unsharded checkpoint resumes sharded (the state of a parameter is whole in every layout; Adafactor
 * never splits a tensor).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { writeFileDurable } from '../io/durable';
import { SafetensorsReader } from '../io/safetensors';
import { tensorFromBytes } from '../io/tensor_io';
import type { Adafactor } from '../optim/adafactor';
import type { Tensor } from '../tensor/tensor';
import { Ext5Error } from '../util/errors';
import { ckptError, readCheckpointJson } from './hf_weights';

export const OPTIMIZER_FILE = 'optimizer.safetensors';
export const OPTIMIZER_INDEX_FILE = 'optimizer.safetensors.index.json';

/** What `optimizer.safetensors.index.json` holds. */
export interface OptimizerIndex {
  metadata: { world_size: number; sharding: string };
  /** Parameter name -> the optimizer file (in the same folder) holding its state. */
  param_map: Record<string, string>;
}

/** Writes the optimizer index of a sharded checkpoint into `dir`, durably. */
export function writeOptimizerIndex(
  dir: string,
  paramMap: Record<string, string>,
  meta: { worldSize: number; sharding: string },
): void {
  const index: OptimizerIndex = {
    metadata: { world_size: meta.worldSize, sharding: meta.sharding },
    param_map: paramMap,
  };
  writeFileDurable(path.join(dir, OPTIMIZER_INDEX_FILE), `${JSON.stringify(index, null, 2)}\n`);
}

/** A file name in the same folder (no path, not hidden), as an index must name its files. */
function plainFileName(v: unknown): v is string {
  return typeof v === 'string' && v !== '' && !v.includes('/') && !v.includes('\\') && !v.startsWith('.');
}

/** The files of a sharded optimizer state and the parameters the index puts in each. */
function readOptimizerIndex(file: string): Map<string, string[]> {
  const parsed = readCheckpointJson(file, 'an optimizer index file');
  const map = (parsed as { param_map?: unknown } | null)?.param_map;
  if (map === null || typeof map !== 'object' || Array.isArray(map)) {
    throw ckptError(
      `${file}: no "param_map" object`,
      'a sharded optimizer index maps parameter names to optimizer files',
    );
  }
  const byFile = new Map<string, string[]>();
  for (const [name, shard] of Object.entries(map as Record<string, unknown>)) {
    if (!plainFileName(shard)) {
      throw ckptError(
        `${file}: param_map["${name}"] must be a file name in the same directory, got ${JSON.stringify(shard)}`,
      );
    }
    const list = byFile.get(shard) ?? [];
    byFile.set(shard, list);
    list.push(name);
  }
  return byFile;
}

/** The parameter list ([name, shape]) an optimizer state file was saved for (its `params` metadata). */
function savedParams(reader: SafetensorsReader): Map<string, number[]> {
  let list: unknown;
  try {
    list = JSON.parse(reader.metadata.params ?? '');
  } catch {
    list = undefined;
  }
  if (
    !Array.isArray(list) ||
    !list.every((p) => Array.isArray(p) && typeof p[0] === 'string' && Array.isArray(p[1]))
  ) {
    throw new Ext5Error(
      'EXT5_OPTIMIZER_STATE',
      `${reader.file}: metadata 'params' is missing or not a JSON list of [name, shape]`,
    );
  }
  return new Map((list as Array<[string, number[]]>).map(([n, s]) => [n, s]));
}

/**
 * Restores the state of `optimizer`'s parameters from a checkpoint folder: `optimizer.safetensors`
 * or the shards its `optimizer.safetensors.index.json` names. Each parameter's state is taken, by
 * name, from the file that holds it; every file must agree on the step count and the options.
 *
 * @throws Ext5Error EXT5_CHECKPOINT when there is no optimizer state, a file the index names is
 *   missing, or the files disagree; EXT5_OPTIMIZER_STATE when a parameter has no saved state or it
 *   does not fit (another model, other options).
 */
export function loadOptimizerState(dir: string, optimizer: Adafactor): void {
  const single = path.join(dir, OPTIMIZER_FILE);
  const index = path.join(dir, OPTIMIZER_INDEX_FILE);
  let byFile: Map<string, string[] | undefined>;
  let source: string;
  if (fs.existsSync(single)) {
    byFile = new Map([[OPTIMIZER_FILE, undefined]]);
    source = single;
  } else if (fs.existsSync(index)) {
    byFile = readOptimizerIndex(index);
    source = index;
    for (const file of byFile.keys()) {
      if (!fs.existsSync(path.join(dir, file))) {
        throw ckptError(
          `${index}: optimizer shard ${file} is missing`,
          'the save was interrupted or the copy is incomplete; resume from another checkpoint',
        );
      }
    }
  } else {
    throw ckptError(
      `${dir}: no ${OPTIMIZER_FILE}`,
      'the checkpoint was saved without optimizer state; start the optimizer afresh',
    );
  }
  const readers: SafetensorsReader[] = [];
  try {
    // Parameter name -> the reader holding its state and the shape it was saved for.
    const where = new Map<string, { reader: SafetensorsReader; shape: number[] }>();
    for (const [file, names] of byFile) {
      const reader = SafetensorsReader.open(path.join(dir, file));
      readers.push(reader);
      const saved = savedParams(reader);
      for (const name of names ?? saved.keys()) {
        const shape = saved.get(name);
        if (!shape)
          throw ckptError(`${index}: param_map puts '${name}' in ${file}, which has no state for it`);
        where.set(name, { reader, shape });
      }
    }
    if (
      source === single &&
      where.size === optimizer.names.length &&
      optimizer.names.every((n) => where.has(n))
    ) {
      // One file over exactly these parameters: load it as saved (strictly checked, in order).
      optimizer.loadState(single);
      return;
    }
    const first = readers[0]!;
    for (const r of readers.slice(1)) {
      for (const key of ['format', 'step_count', 'options']) {
        if (r.metadata[key] !== first.metadata[key]) {
          throw ckptError(
            `${source}: the optimizer files disagree on '${key}' (${path.basename(first.file)}: ${first.metadata[key]}, ${path.basename(r.file)}: ${r.metadata[key]})`,
            'the files come from different saves; resume from another checkpoint',
          );
        }
      }
    }
    const missing = optimizer.names.filter((n) => !where.has(n));
    if (missing.length > 0) {
      throw new Ext5Error(
        'EXT5_OPTIMIZER_STATE',
        `${source}: no saved state for ${missing.length} parameter(s) of this optimizer: ${missing.slice(0, 8).join(', ')}${missing.length > 8 ? ', ...' : ''}`,
        'load the state into an optimizer over the same model',
      );
    }
    const entries: Array<[string, Tensor]> = [];
    try {
      for (const name of optimizer.names) {
        const { reader } = where.get(name)!;
        const prefix = `state.${name}.`;
        for (const key of reader.names()) {
          // state.<name>.<field>: the field has no dot, so 'a.b' never takes the state of 'a'.
          if (!key.startsWith(prefix) || key.slice(prefix.length).includes('.')) continue;
          const info = reader.info(key);
          entries.push([key, tensorFromBytes(reader.read(key), info.dtype, info.shape)]);
        }
      }
      optimizer.loadStateDict(
        entries,
        {
          ...first.metadata,
          params: JSON.stringify(optimizer.names.map((n) => [n, where.get(n)!.shape])),
        },
        source,
      );
    } finally {
      for (const [, t] of entries) t.dispose();
    }
  } finally {
    for (const r of readers) r.close();
  }
}
