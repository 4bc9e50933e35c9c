/**
 * `ext5 convert`: turns a training checkpoint (weights + optimizer + trainer state) into a clean
 * Hugging Face export: config.json + model.safetensors in float32, bfloat16 or float16, sharded
 * above a size, written atomically, plus the tokenizer files (spiece.model, tokenizer_config.json,
 * special_tokens_map.json) when the vocabulary is known. transformers' T5ForConditionalGeneration and
 * AutoTokenizer.from_pretrained load it.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { CommandModule } from 'yargs';

interface ConvertArgs {
  checkpoint: string;
  out: string;
  dtype: 'float32' | 'bfloat16' | 'float16';
  'max-shard-size': string;
  force: boolean;
  vocab?: string;
}

/**
 * The vocabulary of a checkpoint: --vocab, else the spiece.model it holds, else the vocabulary of the run
 * it belongs to (the run directory given, or the one around <run>/checkpoints/<name>); undefined if none.
 */
async function checkpointVocabulary(
  source: import('../run/model_source').ModelSource,
  ckpt: string,
  vocab?: string,
): Promise<string | undefined> {
  const { fetchVocabulary } = require('../text/vocab_names') as typeof import('../text/vocab_names');
  if (vocab !== undefined) return fetchVocabulary(vocab);
  const own = path.join(ckpt, 'spiece.model');
  if (fs.existsSync(own)) return own;
  if (source.hub) return undefined;
  const { openRunDir } = require('../run/run_dir') as typeof import('../run/run_dir');
  const { runVocabularyName } = require('../train/assemble') as typeof import('../train/assemble');
  for (const dir of [source.runDir ?? source.dir, path.dirname(path.dirname(ckpt))]) {
    if (!fs.existsSync(path.join(dir, 'config.json')) || !fs.existsSync(path.join(dir, 'checkpoints')))
      continue;
    const run = openRunDir(dir);
    if (!run.config) continue;
    require('../tasks');
    return fetchVocabulary(runVocabularyName(run.config), run.config.data.dataDir ?? undefined);
  }
  return undefined;
}

export const convertCommand: CommandModule<object, ConvertArgs> = {
  command: 'convert <checkpoint> <out>',
  describe: 'Export a checkpoint for Hugging Face transformers (dtype, sharding, no optimizer state)',
  builder: (y) =>
    y
      .positional('checkpoint', {
        type: 'string',
        demandOption: true,
        describe: 'Checkpoint or run directory, or a Hub model id (org/name[@revision])',
      })
      .positional('out', { type: 'string', demandOption: true, describe: 'Output directory' })
      .option('dtype', { choices: ['float32', 'bfloat16', 'float16'] as const, default: 'float32' as const })
      .option('max-shard-size', { type: 'string', default: '5GB', describe: 'Shard weights above this size' })
      .option('force', { type: 'boolean', default: false, describe: 'Replace an existing output directory' })
      .option('vocab', {
        type: 'string',
        describe:
          "Vocabulary for the tokenizer files: 'mini', 't5' or a .model path (default: the checkpoint's spiece.model, else its run's vocabulary)",
      })
      .example('$0 convert runs/demo ./ext5-tiny --dtype bfloat16', 'A bf16 export of the newest checkpoint'),
  handler: async (args) => {
    const { savePretrained } = require('../model/hf_checkpoint') as typeof import('../model/hf_checkpoint');
    const { Ext5Error } = require('../util/errors') as typeof import('../util/errors');
    const { fetchModelSource } = require('../run/model_source') as typeof import('../run/model_source');
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
    const { loadCheckpointModel } = require('./checkpoint_model') as typeof import('./checkpoint_model');
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
  },
};
