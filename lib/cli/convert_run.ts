/**
 * What `ext5 convert` does once its flags are parsed: resolve the checkpoint, load it, write the
 * Hugging Face folder. The command loads this file lazily (it brings in the model code), so
 * `ext5 --help` does not pay for it.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { savePretrained } from '../model/hf_checkpoint';
import { fetchModelSource, type ModelSource } from '../run/model_source';
import { openRunDir } from '../run/run_dir';
import '../tasks';
import { fetchVocabulary } from '../text/vocab_names';
import { runVocabularyName } from '../train/assemble';
import { Ext5Error } from '../util/errors';
import { loadCheckpointModel } from './checkpoint_model';
import type { ConvertArgs } from './convert';

/**
 * The vocabulary of a checkpoint: --vocab, else the spiece.model it holds, else the vocabulary of the run
 * it belongs to (the run directory given, or the one around <run>/checkpoints/<name>); undefined if none.
 */
async function checkpointVocabulary(
  source: ModelSource,
  ckpt: string,
  vocab?: string,
): Promise<string | undefined> {
  if (vocab !== undefined) return fetchVocabulary(vocab);
  const own = path.join(ckpt, 'spiece.model');
  if (fs.existsSync(own)) return own;
  if (source.hub) return undefined;
  for (const dir of [source.runDir ?? source.dir, path.dirname(path.dirname(ckpt))]) {
    if (!fs.existsSync(path.join(dir, 'config.json')) || !fs.existsSync(path.join(dir, 'checkpoints')))
      continue;
    const run = openRunDir(dir);
    if (!run.config) continue;
    return fetchVocabulary(runVocabularyName(run.config), run.config.data.dataDir ?? undefined);
  }
  return undefined;
}

/** Converts the checkpoint the flags name into a Hugging Face folder. */
export async function runConvert(args: ConvertArgs): Promise<void> {
  const source = await fetchModelSource(args.checkpoint);
  if (fs.existsSync(args.out) && !args.force) {
    throw new Ext5Error(
      'EXT5_EXISTS',
      `${args.out} already exists`,
      'pass --force to replace it, or choose another directory',
    );
  }
  if (args.dtype === 'float16') {
    process.stderr.write(
      'ext5 convert: note: T5 activations overflow in float16; prefer bfloat16 for inference\n',
    );
  }
  const loaded = await loadCheckpointModel(source);
  const ckpt = loaded.dir;
  try {
    const vocabulary = await checkpointVocabulary(loaded.source, ckpt, args.vocab);
    if (vocabulary === undefined) {
      process.stderr.write(
        'ext5 convert: note: the vocabulary is unknown, so no tokenizer files are written (pass --vocab t5|mini|<path>)\n',
      );
    }
    await savePretrained(loaded.model, args.out, {
      dtype: args.dtype,
      maxShardSize: args['max-shard-size'],
      ...(vocabulary !== undefined ? { vocabulary } : {}),
    });
    process.stdout.write(
      `wrote ${args.out} (${args.dtype}${vocabulary !== undefined ? ', with tokenizer files' : ''}) from ${ckpt}\n`,
    );
  } finally {
    loaded.dispose();
  }
}
