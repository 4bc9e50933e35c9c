/**
 * `ext5 convert`: turns a training checkpoint (weights + optimizer + trainer state) into a clean
 * Hugging Face export: config.json + model.safetensors in float32, bfloat16 or float16, sharded
 * above a size, written atomically, plus the tokenizer files (spiece.model, tokenizer_config.json,
 * special_tokens_map.json) when the vocabulary is known. transformers' T5ForConditionalGeneration and
 * AutoTokenizer.from_pretrained load it.
 */
import type { CommandModule } from 'yargs';

export interface ConvertArgs {
  checkpoint: string;
  out: string;
  dtype: 'float32' | 'bfloat16' | 'float16';
  'max-shard-size': string;
  force: boolean;
  vocab?: string;
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
  // The command's one lazy point: the model code and the checkpoint readers.
  handler: async (args) => (await import('./convert_run')).runConvert(args),
};
