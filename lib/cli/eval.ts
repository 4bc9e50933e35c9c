/**
 * `ext5 eval`: evaluates a checkpoint on a benchmark (superglue, gem, rainbow, cbqa), a mixture
 * or tasks, the way T5 does (decode → postprocess → metrics), and prints a table (or JSON).
 * Predictions are written as JSONL, one file per task.
 */
import type { CommandModule } from 'yargs';

export interface EvalArgs {
  checkpoint: string;
  benchmark?: string[];
  split: string;
  'max-examples'?: number;
  'batch-size': number;
  decoding: 'greedy' | 'beam';
  'num-beams': number;
  'length-penalty': number;
  'max-new-tokens'?: number;
  'rank-classification': boolean;
  'data-dir'?: string;
  vocab?: string;
  predictions?: string;
  threads?: number;
  json: boolean;
  'print-config': boolean;
}

export const evalCommand: CommandModule<object, EvalArgs> = {
  command: 'eval',
  describe: 'Evaluate a checkpoint on benchmarks or tasks (metrics table, JSON, predictions)',
  builder: (y) =>
    y
      .option('checkpoint', {
        type: 'string',
        demandOption: true,
        describe:
          'Checkpoint directory, a run directory (its newest checkpoint), or a Hub model id (org/name[@revision])',
      })
      .option('benchmark', {
        type: 'string',
        array: true,
        demandOption: true,
        describe: 'superglue | gem | rainbow | cbqa, a mixture, or task names (repeatable)',
      })
      .option('split', { type: 'string', default: 'validation', describe: 'Split to evaluate' })
      .option('max-examples', { type: 'number', describe: 'At most this many examples per task' })
      .option('batch-size', { type: 'number', default: 16, describe: 'Examples per decoding batch' })
      .option('decoding', { choices: ['greedy', 'beam'] as const, default: 'greedy' as const })
      .option('num-beams', { type: 'number', default: 4, describe: 'Beams for --decoding beam' })
      .option('length-penalty', {
        type: 'number',
        default: 0.6,
        describe: 'Beam length penalty (score / len^alpha)',
      })
      .option('max-new-tokens', {
        type: 'number',
        describe: "Tokens to decode (default: the task's target length)",
      })
      .option('rank-classification', {
        type: 'boolean',
        default: false,
        describe: 'Score each candidate label instead of generating (classification tasks)',
      })
      .option('data-dir', { type: 'string', describe: 'Where task data lives (default $EXT5_DATA)' })
      .option('vocab', {
        type: 'string',
        describe: "Vocabulary: 'mini', 't5' or a .model path (default: the task's)",
      })
      .option('predictions', { type: 'string', describe: 'Directory for <task>.jsonl predictions' })
      .option('threads', { type: 'number', describe: 'libtorch threads (default all cores)' })
      .option('json', { type: 'boolean', default: false, describe: 'Print the results as JSON' })
      .option('print-config', {
        type: 'boolean',
        default: false,
        describe: 'Print the resolved settings (checkpoint, tasks, decoding) as YAML and exit',
      })
      .example('$0 eval --checkpoint runs/ft --benchmark superglue --data-dir ./data', 'SuperGLUE validation')
      .example(
        '$0 eval --checkpoint runs/demo --benchmark mini_nli_counts --rank-classification',
        'A mini task',
      ),
  // The command's one lazy point: the task registry, the evaluator and the model code.
  handler: async (args) => (await import('./eval_run')).runEval(args),
};
