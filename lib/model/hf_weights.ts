/**
 * The weights of a Hugging Face T5 checkpoint: `model.safetensors`, or shards
 * `model-0000k-of-0000n.safetensors` with `model.safetensors.index.json` (HF's layout and default
 * shard size), written with their index and read lazily across shards. The config and the model
 * around them are lib/model/hf_format.ts.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { writeFileDurable } from '../io/durable';
import {
  readRegularFileText,
  type SafetensorsEntry,
  SafetensorsReader,
  type SafetensorsTensorInfo,
  tensorByteLength,
  writeSafetensors,
} from '../io/safetensors';
import { didYouMean, Ext5Error } from '../util/errors';

export const WEIGHTS_FILE = 'model.safetensors';
export const WEIGHTS_INDEX_FILE = 'model.safetensors.index.json';
/** Hugging Face's default max_shard_size ("5GB", decimal). */
export const DEFAULT_MAX_SHARD_BYTES = 5_000_000_000;

/** A checkpoint's JSON file (`what` names it in errors), parsed; EXT5_CHECKPOINT when it is not JSON. */
export function readCheckpointJson(file: string, what: string): unknown {
  try {
    return JSON.parse(readRegularFileText(file, what));
  } catch (e) {
    if (e instanceof Ext5Error) throw e;
    throw ckptError(`${file}: not valid JSON (${(e as Error).message})`);
  }
}

/** An EXT5_CHECKPOINT error: a checkpoint's files disagree with each other or with the format. */
export function ckptError(message: string, hint?: string): Ext5Error {
  return new Ext5Error('EXT5_CHECKPOINT', message, hint);
}

// ---- writes (the atomic directory swap itself is lib/io/durable.ts) ----------------------------

/** fs functions the writer uses; tests replace `write` to simulate a full disk. */
export interface CheckpointWriteOptions {
  /** Replacement for fs.writeSync inside safetensors files (see WriteOptions.write). */
  write?: (fd: number, data: Uint8Array, position: number) => number;
  /** Progress of the weights: bytes written so far and the total. */
  onProgress?: (written: number, total: number) => void;
}

// ---- weights ---------------------------------------------------------------------------------

/** A tensor to store: its name, dtype, shape and a producer of its bytes. */
export type WeightEntry = SafetensorsEntry;

/** Parses "5GB", "500MB", "10KiB" or a number of bytes. */
export function parseShardSize(v: number | string): number {
  if (typeof v === 'number') {
    if (!Number.isFinite(v) || v <= 0)
      throw new Ext5Error('EXT5_INVALID_ARG', `maxShardSize must be > 0, got ${v}`);
    return v;
  }
  const m = /^\s*(\d+(?:\.\d+)?)\s*(B|KB|MB|GB|TB|KIB|MIB|GIB|TIB)?\s*$/i.exec(v);
  if (!m) throw new Ext5Error('EXT5_INVALID_ARG', `maxShardSize '${v}' is not a size like "5GB" or "500MB"`);
  const unit = (m[2] ?? 'B').toUpperCase();
  const mult: Record<string, number> = {
    B: 1,
    KB: 1e3,
    MB: 1e6,
    GB: 1e9,
    TB: 1e12,
    KIB: 2 ** 10,
    MIB: 2 ** 20,
    GIB: 2 ** 30,
    TIB: 2 ** 40,
  };
  return Number(m[1]) * mult[unit]!;
}

/**
 * Splits tensors into shards of at most `maxBytes` in the given order (a tensor larger than the
 * limit gets a shard of its own), as transformers' `shard_checkpoint` does.
 */
export function planShards(entries: readonly WeightEntry[], maxBytes: number): WeightEntry[][] {
  const shards: WeightEntry[][] = [];
  let current: WeightEntry[] = [];
  let size = 0;
  for (const e of entries) {
    const n = tensorByteLength(e.dtype, e.shape);
    if (current.length > 0 && size + n > maxBytes) {
      shards.push(current);
      current = [];
      size = 0;
    }
    current.push(e);
    size += n;
  }
  if (current.length > 0 || shards.length === 0) shards.push(current);
  return shards;
}

/**
 * Writes weights into `dir` as model.safetensors, or as numbered shards with an index when they
 * exceed `maxShardBytes`. Returns the files written.
 */
export function writeWeights(
  dir: string,
  entries: readonly WeightEntry[],
  maxShardBytes = DEFAULT_MAX_SHARD_BYTES,
  opts: CheckpointWriteOptions = {},
): string[] {
  const shards = planShards(entries, maxShardBytes);
  const metadata = { format: 'pt' };
  const total = entries.reduce((a, e) => a + tensorByteLength(e.dtype, e.shape), 0);
  let before = 0;
  const progress = (shardBytes: number) => {
    let headerless = 0;
    return (written: number, fileTotal: number) => {
      headerless = written - (fileTotal - shardBytes);
      opts.onProgress?.(before + headerless, total);
    };
  };
  if (shards.length === 1) {
    const file = path.join(dir, WEIGHTS_FILE);
    writeSafetensors(file, entries, metadata, { write: opts.write, onProgress: progress(total) });
    return [WEIGHTS_FILE];
  }
  const n = shards.length;
  const weightMap: Record<string, string> = {};
  const files: string[] = [];
  shards.forEach((shard, i) => {
    const name = shardFileName('model', i, n);
    const bytes = shard.reduce((a, e) => a + tensorByteLength(e.dtype, e.shape), 0);
    writeSafetensors(path.join(dir, name), shard, metadata, {
      write: opts.write,
      onProgress: progress(bytes),
    });
    before += bytes;
    for (const e of shard) weightMap[e.name] = name;
    files.push(name);
  });
  writeWeightsIndex(dir, weightMap, total);
  files.push(WEIGHTS_INDEX_FILE);
  return files;
}

/**
 * Writes `model.safetensors.index.json` (Hugging Face's shard index: `metadata.total_size`, the
 * bytes of all tensors, and `weight_map`, tensor name -> shard file) into `dir`, durably.
 */
export function writeWeightsIndex(dir: string, weightMap: Record<string, string>, totalSize: number): void {
  const index = { metadata: { total_size: totalSize }, weight_map: weightMap };
  writeFileDurable(path.join(dir, WEIGHTS_INDEX_FILE), `${JSON.stringify(index, null, 2)}\n`);
}

/** `model-00002-of-00004.safetensors`: the file of shard `index` (from 0) of `count`, Hugging Face's shard names. */
export function shardFileName(kind: 'model' | 'optimizer', index: number, count: number): string {
  const pad = (k: number) => String(k).padStart(5, '0');
  return `${kind}-${pad(index + 1)}-of-${pad(count)}.safetensors`;
}

/** A checkpoint's tensors, across one file or several shards, read lazily. */
export class CheckpointWeights implements Disposable {
  /** Tensor name -> its file's reader. */
  private readonly where = new Map<string, SafetensorsReader>();
  private readonly readers: SafetensorsReader[] = [];
  readonly dir: string;
  readonly files: string[];

  private constructor(dir: string) {
    this.dir = dir;
    this.files = [];
  }

  /** Opens model.safetensors or the sharded index in `dir` (checks every header). */
  static open(dir: string): CheckpointWeights {
    const w = new CheckpointWeights(dir);
    try {
      const single = path.join(dir, WEIGHTS_FILE);
      const index = path.join(dir, WEIGHTS_INDEX_FILE);
      if (fs.existsSync(single)) {
        w.add(SafetensorsReader.open(single));
      } else if (fs.existsSync(index)) {
        w.openIndex(index);
      } else {
        const pickles = [
          'pytorch_model.bin',
          'pytorch_model.bin.index.json',
          'tf_model.h5',
          'flax_model.msgpack',
        ].filter((f) => fs.existsSync(path.join(dir, f)));
        throw ckptError(
          `${dir}: no ${WEIGHTS_FILE} or ${WEIGHTS_INDEX_FILE}${pickles.length ? ` (found ${pickles.join(', ')})` : ''}`,
          pickles.length
            ? 'ext5 reads safetensors only (never pickle); convert with transformers: ' +
                'T5ForConditionalGeneration.from_pretrained(dir).save_pretrained(out, safe_serialization=True)'
            : 'point at a directory written by savePretrained or a Hugging Face T5 checkpoint',
        );
      }
      return w;
    } catch (e) {
      w.close();
      throw e;
    }
  }

  private add(r: SafetensorsReader, only?: Set<string>): void {
    this.readers.push(r);
    this.files.push(path.basename(r.file));
    for (const name of r.names()) if (!only || only.has(name)) this.where.set(name, r);
  }

  private openIndex(index: string): void {
    const parsed = readCheckpointJson(index, 'a safetensors index file');
    const map = (parsed as { weight_map?: unknown })?.weight_map;
    if (map === null || typeof map !== 'object' || Array.isArray(map)) {
      throw ckptError(
        `${index}: no "weight_map" object`,
        'a sharded checkpoint index maps tensor names to shard files',
      );
    }
    const byFile = new Map<string, Set<string>>();
    for (const [name, file] of Object.entries(map as Record<string, unknown>)) {
      if (
        typeof file !== 'string' ||
        file === '' ||
        file.includes('/') ||
        file.includes('\\') ||
        file.startsWith('.')
      ) {
        throw ckptError(
          `${index}: weight_map["${name}"] must be a file name in the same directory, got ${JSON.stringify(file)}`,
        );
      }
      const set = byFile.get(file) ?? new Set<string>();
      byFile.set(file, set);
      set.add(name);
    }
    for (const [file, names] of byFile) {
      const full = path.join(path.dirname(index), file);
      if (!fs.existsSync(full))
        throw ckptError(`${index}: shard ${file} is missing`, 'the download or copy is incomplete');
      const r = SafetensorsReader.open(full);
      for (const name of names) {
        if (!r.has(name)) {
          r.close();
          throw ckptError(`${index}: weight_map puts '${name}' in ${file}, which has no such tensor`);
        }
      }
      this.add(r, names);
    }
  }

  names(): string[] {
    return [...this.where.keys()];
  }
  has(name: string): boolean {
    return this.where.has(name);
  }
  info(name: string): SafetensorsTensorInfo {
    return this.reader(name).info(name);
  }
  /** The file that holds a tensor, for error messages. */
  fileOf(name: string): string {
    return this.where.get(name)?.file ?? this.dir;
  }
  read(name: string): Uint8Array {
    return this.reader(name).read(name);
  }
  /** read() with asynchronous file I/O (SafetensorsReader.readAsync): the event loop runs meanwhile. */
  async readAsync(name: string): Promise<Uint8Array> {
    return this.reader(name).readAsync(name);
  }
  private reader(name: string): SafetensorsReader {
    const r = this.where.get(name);
    if (!r) throw ckptError(`${this.dir}: no tensor '${name}'${didYouMean(name, this.where.keys())}`);
    return r;
  }
  close(): void {
    for (const r of this.readers) r.close();
  }
  [Symbol.dispose](): void {
    this.close();
  }
}
