/**
 * `ext5 vocab train|encode|decode|info`: make a T5-style SentencePiece vocabulary and look at
 * what it does to text. Loads only the SentencePiece addon (never libtorch), inside handlers.
 */
import * as fs from 'node:fs';
import type { Argv, CommandModule } from 'yargs';
import { Ext5Error } from '../util/errors';

interface TrainArgs {
  input: string[];
  'vocab-size': number;
  'model-prefix': string;
  'model-type': 'unigram' | 'bpe' | 'char' | 'word';
  'character-coverage': number;
  'input-sentence-size': number;
  threads: number;
  verbose: boolean;
  'spm-flag'?: string[];
  json: boolean;
}

/** `--spm-flag key=value` pairs for SentencePiece's trainer (e.g. hard_vocab_limit=false). */
export function parseSpmFlags(flags: readonly string[] = []): Record<string, string> {
  const out: Record<string, string> = {};
  for (const f of flags) {
    const m = /^([A-Za-z_][A-Za-z0-9_]*)=(.*)$/.exec(f);
    if (!m) {
      throw new Ext5Error(
        'E_ARG',
        `--spm-flag '${f}' is not key=value`,
        'e.g. --spm-flag hard_vocab_limit=false (see spm_train --help for the keys)',
      );
    }
    out[m[1]!] = m[2]!;
  }
  return out;
}

interface CodeArgs {
  model: string;
  text?: string;
  ids?: string;
  input?: string;
  pieces: boolean;
  'extra-ids': number;
  json: boolean;
}

function readLines(file: string): string[] {
  let text: string;
  try {
    text = fs.readFileSync(file === '-' ? 0 : file, 'utf8');
  } catch (err) {
    throw new Ext5Error(
      'E_DATA_NOT_FOUND',
      `cannot read ${file === '-' ? 'standard input' : file}: ${(err as Error).message}`,
      'check the path',
    );
  }
  const lines = text.split(/\r?\n/);
  if (lines.at(-1) === '') lines.pop();
  return lines;
}

/** Texts from --text, else the lines of --input (or stdin). */
function textsOf(args: CodeArgs, flag: 'text' | 'ids'): string[] {
  const direct = args[flag];
  if (direct !== undefined) return [direct];
  if (args.input !== undefined) return readLines(args.input);
  if (process.stdin.isTTY) {
    throw new Ext5Error(
      'E_ARG',
      `nothing to ${flag === 'text' ? 'encode' : 'decode'}`,
      `pass --${flag} "...", --input FILE (one per line), or pipe lines into standard input`,
    );
  }
  return readLines('-');
}

function parseIds(line: string, lineNo: number): number[] {
  const parts =
    line.trim().length === 0
      ? []
      : line
          .trim()
          .replace(/^\[|\]$/g, '')
          .split(/[\s,]+/);
  return parts.map((p) => {
    const n = Number(p);
    if (!Number.isInteger(n) || n < 0) {
      throw new Ext5Error(
        'E_ARG',
        `line ${lineNo}: '${p}' is not a token id`,
        'give ids as non-negative integers separated by spaces or commas',
      );
    }
    return n;
  });
}

/**
 * The command's one lazy point: the vocabulary names (lib/text/vocab_names) reach the Hub client,
 * and the vocabulary brings in the SentencePiece addon's loader; `ext5 --help` and the other
 * commands load neither.
 */
const vocabNames = () => import('../text/vocab_names');
const vocabulary = () => import('../text/vocabulary');

/** Runs `ext5 vocab train`; returns what it prints. */
export async function runVocabTrain(args: TrainArgs): Promise<string> {
  const { SentencePieceVocabulary, trainVocabulary } = await vocabulary();
  const started = Date.now();
  const out = await trainVocabulary({
    input: args.input,
    modelPrefix: args['model-prefix'],
    vocabSize: args['vocab-size'],
    modelType: args['model-type'],
    characterCoverage: args['character-coverage'],
    inputSentenceSize: args['input-sentence-size'],
    numThreads: args.threads,
    extraFlags: { ...parseSpmFlags(args['spm-flag']), ...(args.verbose ? { minloglevel: '0' } : {}) },
  });
  const seconds = (Date.now() - started) / 1000;
  // The trained size can be below the request (e.g. with --spm-flag hard_vocab_limit=false).
  const trained = SentencePieceVocabulary.load(out.modelPath);
  const pieces = trained.baseVocabSize;
  trained.dispose();
  if (args.json)
    return `${JSON.stringify({ ...out, vocabSize: pieces, requested: args['vocab-size'], seconds })}\n`;
  return (
    `wrote ${out.modelPath} and ${out.vocabPath} (${pieces} pieces, ${args['model-type']}, ` +
    `pad 0 / eos 1 / unk 2, ${seconds.toFixed(1)} s)\n` +
    `with T5's 100 sentinels the vocabulary has ${pieces + 100} ids; <extra_id_0> = ${pieces + 99}\n`
  );
}

/**
 * The model named by --model (alias --vocab): a file, a directory, or a vocabulary name that
 * --vocab takes elsewhere ('mini' = the built-in model, 't5' = the user's T5 spiece.model), all
 * through lib/text/vocab_names.
 */
async function loadModel(args: CodeArgs) {
  const { vocabularyPath } = await vocabNames();
  const { SentencePieceVocabulary } = await vocabulary();
  return SentencePieceVocabulary.load(vocabularyPath(args.model), { extraIds: args['extra-ids'] });
}

/** Runs `ext5 vocab encode`; returns what it prints. */
export async function runVocabEncode(args: CodeArgs): Promise<string> {
  const vocab = await loadModel(args);
  try {
    const texts = textsOf(args, 'text');
    const rows = texts.map((t) => ({
      text: t,
      ids: Array.from(vocab.encode(t)),
      ...(args.pieces ? { pieces: vocab.encodePieces(t) } : {}),
    }));
    if (args.json) return rows.map((r) => JSON.stringify(r)).join('\n') + (rows.length ? '\n' : '');
    return (
      rows.map((r) => (args.pieces ? r.pieces!.join(' ') : r.ids.join(' '))).join('\n') +
      (rows.length ? '\n' : '')
    );
  } finally {
    vocab.dispose();
  }
}

/** Runs `ext5 vocab decode`; returns what it prints. */
export async function runVocabDecode(args: CodeArgs): Promise<string> {
  const vocab = await loadModel(args);
  try {
    const lines = textsOf(args, 'ids');
    const rows = lines.map((l, i) => {
      const ids = parseIds(l, i + 1);
      return { ids, text: vocab.decode(ids) };
    });
    if (args.json) return rows.map((r) => JSON.stringify(r)).join('\n') + (rows.length ? '\n' : '');
    return rows.map((r) => r.text).join('\n') + (rows.length ? '\n' : '');
  } finally {
    vocab.dispose();
  }
}

/** Runs `ext5 vocab info`; returns what it prints. */
export async function runVocabInfo(args: CodeArgs): Promise<string> {
  const vocab = await loadModel(args);
  try {
    const info = {
      model: vocab.modelPath,
      vocabSize: vocab.vocabSize,
      baseVocabSize: vocab.baseVocabSize,
      extraIds: vocab.extraIds,
      padId: vocab.padId,
      eosId: vocab.eosId,
      unkId: vocab.unkId,
      firstSentinel: vocab.extraIds > 0 ? vocab.sentinelId(0) : null,
    };
    if (args.json) return `${JSON.stringify(info)}\n`;
    const lines = [
      `model:      ${info.model}`,
      `vocab size: ${info.vocabSize} (${info.baseVocabSize} pieces + ${info.extraIds} sentinels)`,
      `special:    pad ${info.padId}, eos ${info.eosId}, unk ${info.unkId}`,
    ];
    if (info.firstSentinel !== null) {
      lines.push(
        `sentinels:  <extra_id_0> = ${info.firstSentinel} … <extra_id_${info.extraIds - 1}> = ${info.baseVocabSize}`,
      );
    }
    if (info.padId !== 0 || info.eosId !== 1 || info.unkId !== 2) {
      lines.push(
        'warning:    T5 expects pad 0, eos 1, unk 2; this model differs (train with `ext5 vocab train`)',
      );
    }
    return `${lines.join('\n')}\n`;
  } finally {
    vocab.dispose();
  }
}

const modelOptions = (y: Argv<object>) =>
  y
    .option('model', {
      type: 'string',
      alias: 'vocab',
      demandOption: true,
      describe:
        "SentencePiece model file, a directory with spiece.model / sentencepiece.model, or 'mini' / 't5' (as --vocab elsewhere)",
    })
    .option('extra-ids', { type: 'number', default: 100, describe: 'sentinels appended (T5: 100)' })
    .option('input', {
      type: 'string',
      describe: 'file with one text (encode) or id list (decode) per line; - for stdin',
    })
    .option('pieces', { type: 'boolean', default: false, describe: 'encode: print pieces instead of ids' })
    .option('json', { type: 'boolean', default: false, describe: 'one JSON object per line' });

function print(run: (a: never) => Promise<string>) {
  return async (args: unknown) => {
    process.stdout.write(await run(args as never));
  };
}

export const vocabCommand: CommandModule<object, object> = {
  command: 'vocab',
  describe: 'Train a T5-style SentencePiece vocabulary, or encode/decode text with one',
  builder: (y: Argv<object>) =>
    y
      .usage(
        '$0 vocab train  --input corpus.txt --vocab-size 32000 --model-prefix out/spiece\n' +
          '$0 vocab encode --model out/spiece.model --text "Hello <extra_id_0> world" [--pieces]\n' +
          '$0 vocab decode --model out/spiece.model --ids "8774 32099 296 1"\n' +
          '$0 vocab info   --model out/spiece.model\n' +
          '$0 vocab fetch  t5   (the public T5 vocabulary, into the Hub cache)\n\n' +
          "T5's vocabulary is a SentencePiece unigram model (pad 0, eos 1, unk 2, no bos) with 100\n" +
          'sentinels appended in reverse order: <extra_id_0> is the last id (32099 for 32000 pieces).',
      )
      .command({
        command: 'train',
        describe: 'Train a SentencePiece model with T5 settings (unigram, pad 0, eos 1, unk 2, no bos)',
        builder: (t: Argv<object>) =>
          t
            .option('input', {
              type: 'string',
              array: true,
              demandOption: true,
              describe: 'text file(s), one sentence or document per line',
            })
            .option('vocab-size', {
              type: 'number',
              demandOption: true,
              describe: 'pieces, specials included (T5: 32000)',
            })
            .option('model-prefix', {
              type: 'string',
              demandOption: true,
              describe: 'output prefix: writes <prefix>.model and <prefix>.vocab',
            })
            .option('model-type', {
              choices: ['unigram', 'bpe', 'char', 'word'] as const,
              default: 'unigram' as const,
              describe: 'SentencePiece model type',
            })
            .option('character-coverage', {
              type: 'number',
              default: 0.9995,
              describe: 'share of characters covered',
            })
            .option('input-sentence-size', {
              type: 'number',
              default: 0,
              describe: 'sample at most this many lines (0 = all)',
            })
            .option('threads', { type: 'number', default: 1, describe: 'training threads' })
            .option('spm-flag', {
              type: 'string',
              array: true,
              describe:
                'extra SentencePiece trainer flag as key=value (repeatable), e.g. hard_vocab_limit=false',
            })
            .option('verbose', {
              type: 'boolean',
              default: false,
              describe: "show SentencePiece's training log",
            })
            .option('json', { type: 'boolean', default: false, describe: 'print the result as JSON' }),
        handler: print(runVocabTrain),
      })
      .command({
        command: 'encode',
        describe: 'Print the token ids (or pieces) of text',
        builder: (t: Argv<object>) =>
          modelOptions(t).option('text', { type: 'string', describe: 'text to encode' }),
        handler: print(runVocabEncode),
      })
      .command({
        command: 'decode',
        describe: 'Print the text of token ids (stops after the first EOS, as SeqIO)',
        builder: (t: Argv<object>) =>
          modelOptions(t).option('ids', { type: 'string', describe: 'ids separated by spaces or commas' }),
        handler: print(runVocabDecode),
      })
      .command({
        command: 'info',
        describe: 'Print the vocabulary size, special ids and sentinel range',
        builder: (t: Argv<object>) => modelOptions(t),
        handler: print(runVocabInfo),
      })
      .command({
        command: 'fetch [name]',
        describe:
          'Download a named vocabulary into the Hub cache (t5: spiece.model of $EXT5_T5_VOCAB_REPO, default google-t5/t5-small) and print its path',
        builder: (t: Argv<object>) =>
          t.positional('name', { type: 'string', default: 't5', describe: 'vocabulary name (t5, mini)' }),
        handler: async (args: unknown) => {
          const { fetchVocabulary } = await vocabNames();
          process.stdout.write(`${await fetchVocabulary((args as { name: string }).name)}\n`);
        },
      })
      .demandCommand(1, 'name an action: train, encode, decode, info or fetch'),
  handler: () => {},
};
