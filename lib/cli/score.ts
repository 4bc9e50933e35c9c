/**
 * `ext5 score`: scores a predictions file against one or more reference files with the metrics of
 * lib/eval/metrics, printing sacreBLEU-style lines (or JSON). Needs no libtorch.
 */
import * as fs from 'node:fs';
import type { Argv, CommandModule } from 'yargs';
import { pyRstrip } from '../eval/metrics/pytext';
import { didYouMean, Ext5Error } from '../util/errors';

/** The metrics `ext5 score` offers, in the order they are printed. */
export const SCORE_METRICS = ['bleu', 'chrf', 'rouge', 'squad', 'trivia_qa', 'accuracy', 'f1'] as const;
type ScoreMetric = (typeof SCORE_METRICS)[number];

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
    return fs.readFileSync(0, 'utf8');
  }
  try {
    return fs.readFileSync(file, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new Ext5Error(
      code === 'ENOENT' ? 'E_FILE_NOT_FOUND' : 'E_FILE_READ',
      `cannot read ${what} file '${file}': ${code === 'ENOENT' ? 'no such file' : (err as Error).message}`,
      'check the path (relative paths are from the current directory).',
    );
  }
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

function parseMetrics(values: readonly string[]): ScoreMetric[] {
  const out: ScoreMetric[] = [];
  for (const v of values.flatMap((x) => String(x).split(','))) {
    const name = v.trim().toLowerCase();
    if (name === '') continue;
    if (!(SCORE_METRICS as readonly string[]).includes(name)) {
      throw new Ext5Error(
        'E_UNKNOWN_METRIC',
        `unknown metric '${v}'${didYouMean(name, SCORE_METRICS)}`,
        `ext5 score knows: ${SCORE_METRICS.join(', ')}.`,
      );
    }
    if (!out.includes(name as ScoreMetric)) out.push(name as ScoreMetric);
  }
  if (out.length === 0)
    throw new Ext5Error('E_UNKNOWN_METRIC', 'no metric given', `use --metric ${SCORE_METRICS.join('|')}.`);
  return out;
}

function singleRefs(refs: string[][], metric: string, files: string[]): string[] {
  return refs.map((r, i) => {
    if (r.length !== 1) {
      throw new Ext5Error(
        'E_SCORE_INPUT',
        `${metric} takes one reference per prediction, but line ${i + 1} has ${r.length} (from ${files.join(', ')})`,
        'give a single plain references file (or a JSONL file with one string per line).',
      );
    }
    return r[0]!;
  });
}

/** The result of one metric: its text line(s) and its JSON object. */
interface Scored {
  text: string[];
  json: Record<string, unknown>;
}

async function scoreOne(
  metric: ScoreMetric,
  hyps: string[],
  refs: string[][],
  args: ScoreArgs,
): Promise<Scored> {
  const m = await import('../eval/metrics/index');
  const pp = await import('../eval/postprocessors');
  const w = args.width;
  const fx = (x: number): string => m.pyFixed(x, w);
  const round = (x: number): number => Number(fx(x));
  switch (metric) {
    case 'bleu': {
      const s = m.corpusBleu(hyps, refs, {
        tokenize: args.tokenize,
        lowercase: args.lowercase,
        smoothMethod: args['smooth-method'] as 'exp',
        smoothValue: args['smooth-value'] ?? null,
      });
      return {
        text: [m.formatBleu(s, w), `  signature: ${s.signature}`],
        json: {
          name: 'BLEU',
          score: round(s.score),
          signature: s.signature,
          verbose_score: s.verbose,
          ...Object.fromEntries(s.signature.split('|').map((kv) => kv.split(':') as [string, string])),
          exact_score: s.score,
          counts: s.counts,
          totals: s.totals,
          precisions: s.precisions,
          bp: s.bp,
          ratio: s.ratio,
          hyp_len: s.sysLen,
          ref_len: s.refLen,
        },
      };
    }
    case 'chrf': {
      const s = m.corpusChrf(hyps, refs, { wordOrder: args['chrf-word-order'] });
      return {
        text: [m.formatChrf(s, w), `  signature: ${s.signature}`],
        json: {
          name: s.name,
          score: round(s.score),
          signature: s.signature,
          ...Object.fromEntries(s.signature.split('|').map((kv) => kv.split(':') as [string, string])),
          exact_score: s.score,
        },
      };
    }
    case 'rouge': {
      const rougeTypes = args['rouge-types']
        .split(',')
        .map((x) => x.trim())
        .filter(Boolean);
      const res = m.corpusRouge(hyps, refs, {
        rougeTypes,
        useStemmer: args.stemmer,
        t5Split: args['t5-split'],
      });
      const ci = args.bootstrap > 0 ? bootstrap(m, res.perExample, args) : undefined;
      const text: string[] = [];
      const json: Record<string, unknown> = { name: 'ROUGE' };
      for (const t of rougeTypes) {
        const s = res.mean[t]!;
        const label = t.replace(/^rouge/, 'ROUGE-');
        let line = `${label} = ${fx(100 * s.fmeasure)} (P = ${fx(100 * s.precision)} R = ${fx(100 * s.recall)})`;
        const entry: Record<string, number> = {
          fmeasure: 100 * s.fmeasure,
          precision: 100 * s.precision,
          recall: 100 * s.recall,
        };
        const c = ci?.[t];
        if (c) {
          line += ` 95% CI [${fx(100 * c.low.fmeasure)}, ${fx(100 * c.high.fmeasure)}]`;
          entry.fmeasure_low = 100 * c.low.fmeasure;
          entry.fmeasure_mid = 100 * c.mid.fmeasure;
          entry.fmeasure_high = 100 * c.high.fmeasure;
        }
        text.push(line);
        json[t] = entry;
      }
      const settings =
        `mean of ${hyps.length} examples|stemmer:${args.stemmer ? 'yes' : 'no'}|t5_split:${args['t5-split'] ? 'yes' : 'no'}` +
        (args.bootstrap > 0 ? `|bootstrap:${args.bootstrap}|seed:${args.seed}` : '');
      text.push(`  settings: ${settings}`);
      Object.assign(json, {
        n: hyps.length,
        use_stemmer: args.stemmer,
        t5_split: args['t5-split'],
        ...(args.bootstrap > 0 ? { bootstrap: args.bootstrap, seed: args.seed } : {}),
      });
      return { text, json };
    }
    case 'squad':
    case 'trivia_qa': {
      const r = metric === 'squad' ? m.squad(refs, hyps) : m.triviaQa(refs, hyps);
      const label = metric === 'squad' ? 'SQuAD' : 'TriviaQA';
      return {
        text: [
          `${label} EM = ${fx(r.em)} F1 = ${fx(r.f1)} (${hyps.length} questions, max over gold answers)`,
        ],
        json: { name: metric, em: r.em, f1: r.f1, n: hyps.length },
      };
    }
    case 'accuracy': {
      const single = singleRefs(refs, 'accuracy', args.references);
      const acc = m.accuracy(single, hyps);
      const correct = Math.round((acc * hyps.length) / 100);
      return {
        text: [`Accuracy = ${fx(acc)} (${correct}/${hyps.length})`],
        json: { name: 'accuracy', accuracy: acc, correct, n: hyps.length },
      };
    }
    case 'f1': {
      const single = singleRefs(refs, 'f1', args.references);
      const classes = [...new Set(single)].sort();
      const ids = (xs: string[]): number[] => xs.map((x) => pp.stringLabelToClassId(x, classes));
      const f1 = m.meanMulticlassF1(ids(single), ids(hyps), classes.length);
      const unknown = hyps.filter((h) => !classes.includes(h)).length;
      return {
        text: [
          `F1 (macro over ${classes.length} classes) = ${fx(f1)}` +
            (unknown ? ` (${unknown} predictions outside the reference labels counted wrong)` : ''),
        ],
        json: { name: 'f1', macro_f1: f1, classes, unknown_predictions: unknown, n: hyps.length },
      };
    }
  }
}

function bootstrap(
  m: typeof import('../eval/metrics/index'),
  perExample: Record<string, import('../eval/metrics/index').RougeScore>[],
  args: ScoreArgs,
): Record<string, import('../eval/metrics/index').AggregateScore> {
  const agg = new m.BootstrapAggregator({ nSamples: args.bootstrap, seed: args.seed });
  for (const s of perExample) agg.addScores(s);
  return agg.aggregate();
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
  const results: Scored[] = [];
  for (const metric of metrics) results.push(await scoreOne(metric, hyps, refs, args));
  if (args.json) {
    const objs = results.map((r) => r.json);
    return `${JSON.stringify(objs.length === 1 ? objs[0] : objs, null, 1)}\n`;
  }
  return `${results.flatMap((r) => r.text).join('\n')}\n`;
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
        describe: `metrics, repeatable or comma-separated: ${SCORE_METRICS.join(', ')}`,
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
