/**
 * `ext5 convert`: turns a training checkpoint (weights + optimizer + trainer state) into a clean
 * Hugging Face export: config.json + model.safetensors in float32, bfloat16 or float16, sharded
 * above a size, written atomically. transformers' T5ForConditionalGeneration.from_pretrained loads it.
 */
import * as fs from 'node:fs';
import type { CommandModule } from 'yargs';

interface ConvertArgs {
  checkpoint: string;
  out: string;
  dtype: 'float32' | 'bfloat16' | 'float16';
  'max-shard-size': string;
  force: boolean;
}

export const convertCommand: CommandModule<object, ConvertArgs> = {
  command: 'convert <checkpoint> <out>',
  describe: 'Export a checkpoint for Hugging Face transformers (dtype, sharding, no optimizer state)',
  builder: (y) =>
    y
      .positional('checkpoint', {
        type: 'string',
        demandOption: true,
        describe: 'Checkpoint or run directory',
      })
      .positional('out', { type: 'string', demandOption: true, describe: 'Output directory' })
      .option('dtype', { choices: ['float32', 'bfloat16', 'float16'] as const, default: 'float32' as const })
      .option('max-shard-size', { type: 'string', default: '5GB', describe: 'Shard weights above this size' })
      .option('force', { type: 'boolean', default: false, describe: 'Replace an existing output directory' })
      .example('$0 convert runs/demo ./ext5-tiny --dtype bfloat16', 'A bf16 export of the newest checkpoint'),
  handler: async (args) => {
    const { resolveCheckpointDir } =
      require('../run/run_checkpoints') as typeof import('../run/run_checkpoints');
    const { fromPretrained, savePretrained } =
      require('../model/hf_checkpoint') as typeof import('../model/hf_checkpoint');
    const { Ext5Error } = require('../util/errors') as typeof import('../util/errors');
    const ckpt = resolveCheckpointDir(args.checkpoint);
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
    const model = fromPretrained(ckpt);
    try {
      await savePretrained(model, args.out, { dtype: args.dtype, maxShardSize: args['max-shard-size'] });
    } finally {
      model.dispose();
    }
    process.stdout.write(`wrote ${args.out} (${args.dtype}) from ${ckpt}\n`);
  },
};
