/**
 * `ext5 score`: scores a predictions file against one or more reference files with the metrics of
 * the registry (lib/eval/metrics/registry.ts) that declare a report, printing sacreBLEU-style lines
 * (or JSON). This file reads the files and flags; the registry says what each metric computes and
 * prints. Needs no libtorch.
 */
import * as fs from 'node:fs';
import type { Argv, CommandModule } from 'yargs';
import type { SmoothMethod } from '../eval/metrics/bleu';
import { pyRstrip } from '../eval/metrics/pytext';
import type * as Registry from '../eval/metrics/registry';
import { decodeUtf8 } from '../io/text_check';
import { didYouMean, Ext5Error } from '../util/errors';

interface ScoreArgs {
  metric: string[];
  predictions: string;
  references: string[];
  tokenize: string;
  lowercase: boolean;
  'smooth-method': string;
  'smooth-value'?: number;
  'chrf-word-order': number;
  'rouge-types': string;
  stemmer: boolean;
  't5-split': boolean;
  bootstrap: number;
  seed: number;
  width: number;
  json: boolean;
}

/** Lines of a text file as sacreBLEU reads them: split on '\n', a final newline ends the last line. */
function splitLines(text: string): string[] {
  if (text === '') return [];
  const lines = text.split('\n');
  if (lines[lines.length - 1] === '') lines.pop();
  return lines;
}

function readText(file: string, what: string): string {
  if (file === '-') {
    if (process.stdin.isTTY) {
      throw new Ext5Error(
        'E_SCORE_INPUT',
        `${what} '-' means standard input, but standard input is a terminal`,
        'pipe the predictions in, e.g. `cat hyp.txt | ext5 score -p - -r ref.txt`.',
      );
    }
    return decodeUtf8(fs.readFileSync(0), `${what} on standard input`, 'E_SCORE_INPUT');
  }
  let bytes: Buffer;
  try {
    bytes = fs.readFileSync(file);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new Ext5Error(
      code === 'ENOENT' ? 'E_FILE_NOT_FOUND' : 'E_FILE_READ',
      `cannot read ${what} file '${file}': ${code === 'ENOENT' ? 'no such file' : (err as Error).message}`,
      'check the path (relative paths are from the current directory).',
    );
  }
  return decodeUtf8(bytes, `${what} file '${file}'`, 'E_SCORE_INPUT');
}

/** Reads one references file: plain text (one reference per line) or JSONL (a string or list of strings per line). */
function readReferences(file: string): string[][] {
  const text = readText(file, 'references');
  const lines = splitLines(text);
  if (!/\.jsonl$/i.test(file)) return lines.map((l) => [pyRstrip(l)]);
  return lines.map((line, i) => {
    const where = `${file}:${i + 1}`;
    let v: unknown;
    try {
      v = JSON.parse(line);
    } catch (err) {
      throw new Ext5Error(
        'E_SCORE_INPUT',
        `${where}: not valid JSON (${(err as Error).message})`,
        'each line of a .jsonl references file must be a JSON string or a JSON list of strings.',
      );
    }
    if (typeof v === 'string') return [v];
    if (Array.isArray(v) && v.length > 0 && v.every((x) => typeof x === 'string')) return v as string[];
    throw new Ext5Error(
      'E_SCORE_INPUT',
      `${where}: expected a string or a non-empty list of strings, got ${Array.isArray(v) ? 'a list with non-strings or nothing' : typeof v}`,
      'write e.g. "the answer" or ["answer one", "answer two"].',
    );
  });
}

/**
 * The metric registry, the command's one lazy point: every command module is loaded at start-up,
 * and the registry (10-20 ms on the 2-core development machine) is needed by `ext5 score` only.
 */
function registry(): typeof Registry {
  return require('../eval/metrics/registry') as typeof Registry;
}

type Report = NonNullable<Registry.MetricSpec['report']>;

/** The `--metric` values as the registry's reports, in the order given (duplicates dropped). */
function parseMetrics(values: readonly string[]): Report[] {
  const reg = registry();
  const offered = reg.listScoreMetrics();
  const out: string[] = [];
  for (const v of values.flatMap((x) => String(x).split(','))) {
    const name = v.trim().toLowerCase();
    if (name === '') continue;
    if (!offered.includes(name)) {
      if (reg.listMetrics().includes(name)) {
        throw new Ext5Error(
          'E_UNKNOWN_METRIC',
          `metric '${v}' is not offered by ext5 score: it takes ${reg.getMetric(name).inputs}`,
          `ext5 score knows: ${offered.join(', ')}; from TypeScript, use metrics.computeMetrics('${name}', predictions, references).`,
        );
      }
      throw new Ext5Error(
        'E_UNKNOWN_METRIC',
        `unknown metric '${v}'${didYouMean(name, offered)}`,
        `ext5 score knows: ${offered.join(', ')}.`,
      );
    }
    if (!out.includes(name)) out.push(name);
  }
  if (out.length === 0)
    throw new Ext5Error('E_UNKNOWN_METRIC', 'no metric given', `use --metric ${offered.join('|')}.`);
  // listScoreMetrics names exactly the metrics whose spec has a report.
  return out.map((name) => reg.getMetric(name).report!);
}

/** The registry's options from the command line's flags. */
function reportOptions(args: ScoreArgs): Registry.MetricReportOptions {
  return {
    bleu: {
      tokenize: args.tokenize,
      lowercase: args.lowercase,
      smoothMethod: args['smooth-method'] as SmoothMethod,
      smoothValue: args['smooth-value'] ?? null,
    },
    chrf: { wordOrder: args['chrf-word-order'] },
    rouge: {
      rougeTypes: args['rouge-types']
        .split(',')
        .map((x) => x.trim())
        .filter(Boolean),
      useStemmer: args.stemmer,
      t5Split: args['t5-split'],
    },
    ...(args.bootstrap > 0 ? { bootstrap: { nSamples: args.bootstrap, seed: args.seed } } : {}),
    width: args.width,
    referenceSource: args.references.join(', '),
  };
}

/** Runs `ext5 score` on parsed arguments and returns what it prints. */
export async function runScore(args: ScoreArgs): Promise<string> {
  const metrics = parseMetrics(args.metric);
  if (!Number.isInteger(args.width) || args.width < 0 || args.width > 20) {
    throw new Ext5Error('E_SCORE_INPUT', `--width must be an integer from 0 to 20, got ${args.width}`);
  }
  for (const [flag, v] of [
    ['--bootstrap', args.bootstrap],
    ['--chrf-word-order', args['chrf-word-order']],
  ] as const) {
    if (!Number.isInteger(v) || v < 0) {
      throw new Ext5Error('E_SCORE_INPUT', `${flag} must be a non-negative integer, got ${v}`);
    }
  }
  if (args.references.length === 0) {
    throw new Ext5Error('E_SCORE_INPUT', 'no references file given', 'pass --references FILE [FILE ...].');
  }
  const predName = args.predictions === '-' ? '<stdin>' : args.predictions;
  const hyps = splitLines(readText(args.predictions, 'predictions')).map(pyRstrip);
  const perFile = args.references.map((f) => ({ file: f, refs: readReferences(f) }));
  for (const { file, refs } of perFile) {
    if (refs.length !== hyps.length) {
      throw new Ext5Error(
        'E_LINE_COUNT_MISMATCH',
        `predictions file '${predName}' has ${hyps.length} lines but references file '${file}' has ${refs.length}`,
        'each line of a references file is the reference of the same line of the predictions file; make the counts equal.',
      );
    }
  }
  if (hyps.length === 0) {
    throw new Ext5Error(
      'E_SCORE_INPUT',
      `predictions file '${predName}' is empty`,
      'there is nothing to score.',
    );
  }
  const refs = hyps.map((_, i) => perFile.flatMap((p) => p.refs[i]!));
  const options = reportOptions(args);
  const results = metrics.map((report) => report(hyps, refs, options));
  if (args.json) {
    const objs = results.map((r) => r.json);
    return `${JSON.stringify(objs.length === 1 ? objs[0] : objs, null, 1)}\n`;
  }
  return `${results.flatMap((r) => r.text).join('\n')}\n`;
}

/** The help's list of metrics: each one's name and the registry's description of it. */
function metricList(): string {
  const reg = registry();
  const names = reg.listScoreMetrics();
  const width = Math.max(...names.map((n) => n.length));
  return `Metrics:\n${names.map((n) => `  ${n.padEnd(width)}  ${reg.getMetric(n).description}`).join('\n')}`;
}

export const scoreCommand: CommandModule<object, ScoreArgs> = {
  command: 'score',
  describe:
    'Score predictions against references (BLEU, chrF, ROUGE, SQuAD, accuracy, F1); no libtorch needed',
  builder: (y: Argv<object>) =>
    y
      .usage(
        '$0 score --metric bleu,rouge --predictions hyp.txt --references ref.txt [ref2.txt ...]\n\n' +
          'Scores one prediction per line against the reference(s) on the same line. Several plain\n' +
          "reference files give several references per line (like sacreBLEU's); a .jsonl references file\n" +
          'holds one JSON string or list of strings per line. Numbers match sacreBLEU 2.6 (BLEU, chrF),\n' +
          "Google's rouge_score (ROUGE, with T5's ' . ' sentence split for rougeLsum) and the official\n" +
          'SQuAD / TriviaQA scripts.',
      )
      .option('metric', {
        alias: 'm',
        type: 'string',
        array: true,
        default: ['bleu'],
        describe: `metrics, repeatable or comma-separated: ${registry().listScoreMetrics().join(', ')}`,
      })
      .option('predictions', {
        alias: ['p', 'hypotheses'],
        type: 'string',
        demandOption: true,
        describe: "predictions file, one per line ('-' reads standard input)",
      })
      .option('references', {
        alias: 'r',
        type: 'string',
        array: true,
        demandOption: true,
        describe:
          'reference file(s): plain text, one per line, or .jsonl (a string or list of strings per line)',
      })
      .option('tokenize', {
        alias: 'tok',
        type: 'string',
        choices: ['13a', 'intl', 'char', 'none'],
        default: '13a',
        describe: "BLEU tokenizer (sacreBLEU's default 13a; T5 reports intl)",
      })
      .option('lowercase', {
        alias: 'lc',
        type: 'boolean',
        default: false,
        describe: 'BLEU: lowercase both sides',
      })
      .option('smooth-method', {
        alias: 's',
        type: 'string',
        choices: ['exp', 'floor', 'add-k', 'none'],
        default: 'exp',
        describe: 'BLEU smoothing',
      })
      .option('smooth-value', {
        type: 'number',
        describe: 'BLEU smoothing value for floor (0.1) and add-k (1)',
      })
      .option('chrf-word-order', {
        type: 'number',
        default: 0,
        describe: 'chrF word n-gram order (2 = chrF++)',
      })
      .option('rouge-types', {
        type: 'string',
        default: 'rouge1,rouge2,rougeLsum',
        describe: "ROUGE types, comma-separated (rouge1..rouge9, rougeL, rougeLsum); T5's default",
      })
      .option('stemmer', {
        type: 'boolean',
        default: false,
        describe: 'ROUGE: Porter-stem words (rouge_score use_stemmer)',
      })
      .option('t5-split', {
        type: 'boolean',
        default: true,
        describe: "ROUGE: replace ' . ' by ' .\\n' first so rougeLsum sees sentences (--no-t5-split to skip)",
      })
      .option('bootstrap', {
        type: 'number',
        default: 0,
        describe: 'ROUGE: bootstrap samples for 95% intervals (rouge_score uses 1000; 0 = off)',
      })
      .option('seed', {
        type: 'number',
        default: 0,
        describe: 'bootstrap seed (same draws as np.random.seed(seed))',
      })
      .option('width', { alias: 'w', type: 'number', default: 2, describe: 'decimals in text output' })
      .option('json', {
        type: 'boolean',
        default: false,
        describe: 'print JSON (one object, or a list for several metrics)',
      })
      .epilog(metricList())
      .example('$0 score -m bleu -p hyp.txt -r ref.txt', 'sacreBLEU-style BLEU (13a)')
      .example(
        '$0 score -m bleu --tokenize intl -p hyp.txt -r ref1.txt ref2.txt',
        "T5's BLEU, two references",
      )
      .example('$0 score -m rouge,bleu -p summaries.txt -r gold.txt --json', 'GEM-style numbers as JSON')
      .example(
        '$0 score -m squad -p answers.txt -r gold.jsonl',
        'EM/F1, several gold answers per line',
      ) as unknown as Argv<ScoreArgs>,
  handler: async (args) => {
    process.stdout.write(await runScore(args));
  },
};
