/**
 * `ext5 predict`: runs a checkpoint on inputs from a file or stdin (one per line, or JSONL with an
 * `inputs` field), in batches, or interactively at a prompt when stdin is a terminal.
 */
import * as fs from 'node:fs';
import * as readline from 'node:readline';
import type { CommandModule } from 'yargs';
import { Ext5Error } from '../util/errors';

interface PredictArgs {
  checkpoint: string;
  file?: string;
  input?: string;
  vocab: string;
  'data-dir'?: string;
  'batch-size': number;
  'max-new-tokens': number;
  'max-input-length': number;
  decoding: 'greedy' | 'beam' | 'sample';
  'num-beams': number;
  temperature: number;
  'top-k'?: number;
  'top-p'?: number;
  seed: number;
  json: boolean;
}

/** Reads inputs: plain lines, or JSONL objects with an `inputs` field (blank lines skipped). */
export function parseInputs(text: string, file: string): string[] {
  const out: string[] = [];
  text.split('\n').forEach((line, i) => {
    if (!line.trim()) return;
    if (line.trimStart().startsWith('{')) {
      let obj: unknown;
      try {
        obj = JSON.parse(line);
      } catch {
        throw new Ext5Error(
          'EXT5_INPUT',
          `${file}:${i + 1}: not valid JSON`,
          'use one input per line, or JSONL with an "inputs" field',
        );
      }
      const v = (obj as { inputs?: unknown }).inputs;
      if (typeof v !== 'string') {
        throw new Ext5Error('EXT5_INPUT', `${file}:${i + 1}: the JSON object has no string "inputs" field`);
      }
      out.push(v);
    } else {
      out.push(line);
    }
  });
  return out;
}

export const predictCommand: CommandModule<object, PredictArgs> = {
  command: 'predict [file]',
  describe: 'Generate outputs for inputs from a file or stdin, or interactively',
  builder: (y) =>
    y
      .positional('file', { type: 'string', describe: 'File of inputs, or - for stdin (same as --input)' })
      .option('checkpoint', {
        type: 'string',
        demandOption: true,
        describe: 'Checkpoint or run directory, or a Hub model id (org/name[@revision])',
      })
      .option('input', {
        type: 'string',
        describe: 'File of inputs (one per line, or JSONL with "inputs"); - = stdin',
      })
      .option('vocab', {
        type: 'string',
        default: 'mini',
        describe: "Vocabulary: 'mini', 't5' or a .model path",
      })
      .option('data-dir', { type: 'string', describe: 'Where the t5 vocabulary lives (default $EXT5_DATA)' })
      .option('batch-size', { type: 'number', default: 16 })
      .option('max-new-tokens', { type: 'number', default: 64 })
      .option('max-input-length', {
        type: 'number',
        default: 512,
        describe: 'Inputs are cut to this many tokens',
      })
      .option('decoding', { choices: ['greedy', 'beam', 'sample'] as const, default: 'greedy' as const })
      .option('num-beams', { type: 'number', default: 4 })
      .option('temperature', { type: 'number', default: 1 })
      .option('top-k', { type: 'number' })
      .option('top-p', { type: 'number' })
      .option('seed', { type: 'number', default: 0, describe: 'Seed for --decoding sample' })
      .option('json', { type: 'boolean', default: false, describe: 'Print JSONL {inputs, prediction}' })
      .example('$0 predict --checkpoint runs/demo --input questions.txt', 'Batch predictions')
      .example('echo "nli counts premise: …" | $0 predict --checkpoint runs/demo -', 'From a pipe')
      .example('$0 predict --checkpoint runs/demo', 'Interactive prompt'),
  handler: async (args) => {
    // The command's one lazy point: loading a checkpoint loads libtorch, which `ext5 --help` must not.
    const { loadCheckpointModel } = await import('./checkpoint_model');
    const dataDir = args['data-dir'] ?? process.env.EXT5_DATA;
    const loaded = await loadCheckpointModel(args.checkpoint, { vocabularies: [args.vocab], dataDir });
    const { model, dir: ckpt } = loaded;
    model.eval();
    const vocab = loaded.vocabulary(args.vocab);
    const genOpts = {
      maxNewTokens: args['max-new-tokens'],
      numBeams: args.decoding === 'beam' ? args['num-beams'] : 1,
      doSample: args.decoding === 'sample',
      temperature: args.temperature,
      ...(args['top-k'] !== undefined ? { topK: args['top-k'] } : {}),
      ...(args['top-p'] !== undefined ? { topP: args['top-p'] } : {}),
      seed: args.seed,
    };
    const run = (texts: string[]): Promise<string[]> =>
      model.predict(texts, vocab, {
        ...genOpts,
        maxInputLength: args['max-input-length'],
        batchSize: Math.max(1, texts.length),
      });
    const emit = (input: string, prediction: string) =>
      process.stdout.write(
        args.json ? `${JSON.stringify({ inputs: input, prediction })}\n` : `${prediction}\n`,
      );
    try {
      // yargs hands a lone `-` over as an empty string: both mean stdin.
      const raw = args.input ?? args.file;
      const source = raw === '' ? '-' : raw;
      if (source === undefined && process.stdin.isTTY) {
        const rl = readline.createInterface({
          input: process.stdin,
          output: process.stderr,
          prompt: 'ext5> ',
        });
        process.stderr.write(`ext5 predict: ${ckpt}. Type an input and press Enter; Ctrl-D to quit.\n`);
        rl.prompt();
        for await (const line of rl) {
          if (line.trim()) emit(line, (await run([line]))[0]!);
          rl.prompt();
        }
        return;
      }
      const file = source ?? '-';
      const text = file === '-' ? fs.readFileSync(0, 'utf8') : fs.readFileSync(file, 'utf8');
      const inputs = parseInputs(text, file === '-' ? 'stdin' : file);
      for (let i = 0; i < inputs.length; i += args['batch-size']) {
        const chunk = inputs.slice(i, i + args['batch-size']);
        const outs = await run(chunk);
        for (let k = 0; k < chunk.length; k++) emit(chunk[k]!, outs[k]!);
      }
    } finally {
      loaded.dispose();
    }
  },
};
