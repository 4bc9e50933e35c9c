/**
 * `ext5 tasks list|inspect`: what tasks exist, and what one of them turns its records into.
 * Never loads libtorch; the SentencePiece addon is loaded only for `inspect --vocab`.
 */
import * as path from 'node:path';
import type { Argv, CommandModule } from 'yargs';
import { randomSpansHelper, SPAN_CORRUPTION_DEFAULTS, spanCorrupt } from '../text/span_corruption';
import type { SentencePieceVocabulary } from '../text/vocabulary';
import { didYouMean, Ext5Error } from '../util/errors';
import { Rng } from '../util/rng';
import { checkBenchmark } from './names';

interface ListArgs {
  family?: string;
  benchmark?: string;
  json: boolean;
}

interface InspectArgs {
  name: string;
  n: number;
  split: string;
  'data-dir'?: string;
  vocab?: string;
  json: boolean;
}

/**
 * The modules `ext5 tasks` runs on, loaded when it runs, its one lazy point: importing the tasks
 * registers every built-in task, and the vocabulary names reach the Hub client; `ext5 --help`
 * needs neither. The vocabulary itself (it brings in the SentencePiece addon's loader) loads only
 * where `tasks inspect` span-corrupts an example.
 */
async function load() {
  return {
    tasks: await import('../tasks'),
    vocabNames: await import('../text/vocab_names'),
  };
}

async function list(args: ListArgs): Promise<void> {
  const { TaskRegistry, FAMILIES } = (await load()).tasks;
  if (args.family && !(FAMILIES as readonly string[]).includes(args.family)) {
    throw new Ext5Error(
      'E_ARG',
      `unknown family '${args.family}'${didYouMean(args.family, FAMILIES)}`,
      `families: ${FAMILIES.join(', ')}`,
    );
  }
  if (args.benchmark) checkBenchmark(args.benchmark);
  const tasks = TaskRegistry.values().filter(
    (t) => (!args.family || t.family === args.family) && (!args.benchmark || t.benchmark === args.benchmark),
  );
  if (args.json) {
    const rows = tasks.map((t) => ({
      name: t.name,
      family: t.family ?? null,
      benchmark: t.benchmark ?? null,
      dataset: t.source.builtin ? 'built-in' : t.source.hfId,
      config: t.source.config,
      splits: t.splits,
      numExamples: t.numExamplesBySplit,
      inPaper: t.inPaper,
      metrics: t.metrics,
      manualDownload: Boolean(t.source.manual),
      home: t.source.home ?? null,
      verified: t.verified ?? null,
      description: t.description,
    }));
    process.stdout.write(`${JSON.stringify(rows, null, 2)}\n`);
    return;
  }
  const w = Math.max(...tasks.map((t) => t.name.length), 4);
  const lines = [`${'name'.padEnd(w)}  ${'family'.padEnd(21)}  ${'train'.padStart(9)}  paper   dataset`];
  for (const t of tasks) {
    const n = t.numExamples('train');
    const paper = t.inPaper === true ? 'yes' : t.inPaper === 'likely' ? 'likely' : '-';
    const ds = t.source.builtin
      ? 'built-in'
      : t.source.home
        ? `${t.source.home.replace(/^https?:\/\//, '')} (not a Hub dataset; manual)`
        : `${t.source.hfId}${t.source.config !== 'default' ? `:${t.source.config}` : ''}${t.source.manual ? ' (manual)' : ''}`;
    lines.push(
      `${t.name.padEnd(w)}  ${(t.family ?? '-').padEnd(21)}  ${(n === undefined ? '?' : String(n)).padStart(9)}  ${paper.padEnd(6)}  ${ds}`,
    );
  }
  lines.push(`${tasks.length} tasks`);
  process.stdout.write(`${lines.join('\n')}\n`);
}

/**
 * One text as span-corruption training sees it: tokenized, cut to the segment length that fills
 * `inputsLength`, corrupted with T5's random spans (lib/text/span_corruption), and shown as text
 * with `<extra_id_N>` where the sentinels are. Seeded by `seed`, so the view is stable.
 */
export function spanCorruptedView(
  text: string,
  vocab: SentencePieceVocabulary,
  inputsLength: number,
  seed: string,
): { inputs: string; targets: string; lengths: { inputs: number; targets: number } } {
  const { tokensLength } = randomSpansHelper(inputsLength);
  const tokens = vocab.encode(text).slice(0, tokensLength);
  if (tokens.length === 0) return { inputs: '', targets: '', lengths: { inputs: 1, targets: 1 } };
  const { inputs, targets } = spanCorrupt(tokens, new Rng(seed), {
    vocabSize: vocab.vocabSize,
    eosId: vocab.eosId,
  });
  const render = (ids: Int32Array): string => {
    const parts: string[] = [];
    let run: number[] = [];
    const flush = () => {
      if (run.length > 0) parts.push(vocab.decode(run));
      run = [];
    };
    for (const id of ids) {
      if (id === vocab.eosId) break;
      if (id >= vocab.baseVocabSize) {
        flush();
        parts.push(`<extra_id_${vocab.vocabSize - 1 - id}>`);
      } else run.push(id);
    }
    flush();
    return parts.join(' ');
  };
  return {
    inputs: render(inputs),
    targets: render(targets),
    lengths: { inputs: inputs.length, targets: targets.length },
  };
}

async function inspect(args: InspectArgs): Promise<void> {
  const { tasks, vocabNames } = await load();
  const { TaskRegistry, defaultDataDir, toJson } = tasks;
  const task = TaskRegistry.get(args.name);
  if (!Number.isInteger(args.n) || args.n < 1)
    throw new Ext5Error('E_ARG', `-n must be a positive integer, got ${args.n}`);
  const dataDir = args['data-dir'] ? path.resolve(args['data-dir']) : defaultDataDir();
  task.splitSpec(args.split);
  const shown: Array<{ record: unknown; examples: unknown[] }> = [];
  let fromSample = false;
  let dataError: Ext5Error | undefined;
  try {
    for await (const rec of task.records(args.split, { dataDir })) {
      shown.push({ record: rec, examples: task.preprocess(rec, args.split) });
      if (shown.length >= args.n) break;
    }
  } catch (err) {
    if (!(err instanceof Ext5Error) || err.code !== 'MISSING_DATA' || !task.sampleRecord) throw err;
    // No local data: show the documented sample record so the format is still visible.
    dataError = err;
    fromSample = true;
    shown.push({ record: task.sampleRecord, examples: task.preprocess(task.sampleRecord, args.split) });
  }
  let lengths: Array<Array<{ inputs: number; targets: number }>> | undefined;
  let spanNote: string | undefined;
  // A span-corruption task's examples are raw text: show what training makes of them, which
  // needs a vocabulary (--vocab, else the task's own).
  const vocabName = args.vocab ?? (task.spanCorruption ? task.outputFeatures.vocabulary : undefined);
  if (vocabName) {
    const vocabulary = await import('../text/vocabulary');
    let vocab: SentencePieceVocabulary | undefined;
    try {
      vocab = vocabulary.SentencePieceVocabulary.load(vocabNames.vocabularyPath(vocabName, dataDir));
    } catch (err) {
      if (args.vocab || !(err instanceof Ext5Error)) throw err;
      spanNote = `raw text shown: ${err.message}; pass --vocab to see it span-corrupted`;
    }
    try {
      if (vocab && task.spanCorruption) {
        const v = vocab;
        const inputsLength = task.outputFeatures.inputsLength;
        spanNote = `span-corrupted as in training (noise density ${SPAN_CORRUPTION_DEFAULTS.noiseDensity}, mean span ${SPAN_CORRUPTION_DEFAULTS.meanNoiseSpanLength}, inputs ${inputsLength} tokens); training also joins documents before cutting segments`;
        lengths = [];
        shown.forEach((s, i) => {
          const views = (s.examples as Array<{ inputs: string; targets: string; text?: unknown }>).map(
            (e, j) =>
              spanCorruptedView(
                typeof e.text === 'string' ? e.text : e.targets,
                v,
                inputsLength,
                `${i}:${j}`,
              ),
          );
          s.examples = views.map((x) => ({ inputs: x.inputs, targets: x.targets }));
          lengths!.push(views.map((x) => x.lengths));
        });
      } else if (vocab) {
        const v = vocab;
        lengths = shown.map((s) =>
          (s.examples as Array<{ inputs: string; targets: string }>).map((e) => ({
            inputs: v.encode(e.inputs).length + 1,
            targets: v.encode(e.targets).length + 1,
          })),
        );
      }
    } finally {
      vocab?.dispose();
    }
  }
  if (args.json) {
    process.stdout.write(
      `${toJson(
        {
          task: task.name,
          split: args.split,
          source: fromSample ? 'sampleRecord' : 'data',
          dataDir,
          outputFeatures: task.outputFeatures,
          metrics: task.metrics,
          postprocessor: task.postprocessor ?? null,
          ...(spanNote ? { note: spanNote } : {}),
          verified: task.verified ?? null,
          items: shown.map((s, i) => ({ ...s, ...(lengths ? { tokenLengths: lengths[i] } : {}) })),
        },
        2,
      )}\n`,
    );
    return;
  }
  const out: string[] = [];
  out.push(`task ${task.name}${task.family ? ` (${task.family})` : ''}: ${task.description}`);
  out.push(
    `  source: ${task.source.builtin ? `built-in ${task.source.builtin}` : `${task.source.hfId} config ${task.source.config}`}; split ${args.split} -> ${task.splitDir(args.split, dataDir)}`,
  );
  out.push(
    `  metrics: ${task.metrics.join(', ') || '-'}; postprocessor: ${task.postprocessor ?? '-'}; in paper: ${task.inPaper}`,
  );
  out.push(`  source checked: ${task.verified ?? 'no (metadata written from memory, not checked)'}`);
  if (spanNote) out.push(`  (${spanNote})`);
  if (fromSample)
    out.push(`  (no local data: showing the task's documented sample record; ${dataError?.hint ?? ''})`);
  shown.forEach((s, i) => {
    out.push(`\n[${i}] record: ${toJson(s.record).slice(0, 600)}`);
    (s.examples as Array<{ inputs: string; targets: string }>).forEach((e, j) => {
      const len = lengths?.[i]?.[j];
      out.push(`    inputs${len ? ` (${len.inputs} tokens)` : ''}: ${JSON.stringify(e.inputs)}`);
      out.push(`    targets${len ? ` (${len.targets} tokens)` : ''}: ${JSON.stringify(e.targets)}`);
    });
    if (s.examples.length === 0) out.push('    (dropped by the preprocessor on this split)');
  });
  process.stdout.write(`${out.join('\n')}\n`);
}

export const tasksCommand: CommandModule<object, object> = {
  command: 'tasks <action>',
  describe: 'List the registered tasks, or inspect what one makes of its records',
  builder: (y: Argv) =>
    y
      .command<ListArgs>(
        'list',
        'List tasks (name, family, train size, whether the ExT5 paper includes it, dataset)',
        (a) =>
          a
            .option('family', { type: 'string', describe: 'only this ExMix family (e.g. nli, dialogue)' })
            .option('benchmark', {
              type: 'string',
              describe: 'only this benchmark: superglue, gem, rainbow, cbqa',
            })
            .option('json', { type: 'boolean', default: false, describe: 'print JSON' })
            .example('$0 tasks list --family nli', 'the NLI tasks of ExMix'),
        list,
      )
      .command<InspectArgs>(
        'inspect <name>',
        'Show raw records and their text-to-text examples (and token lengths with --vocab)',
        (a) =>
          a
            .positional('name', { type: 'string', demandOption: true, describe: 'task name' })
            .option('n', { type: 'number', default: 3, describe: 'how many records' })
            .option('split', { type: 'string', default: 'train', describe: 'split to read' })
            .option('data-dir', {
              type: 'string',
              describe: 'data directory (default $EXT5_DATA or ~/.cache/ext5/data)',
            })
            .option('vocab', {
              type: 'string',
              describe: "SentencePiece model for token lengths ('mini' = the built-in one)",
            })
            .option('json', { type: 'boolean', default: false, describe: 'print JSON' })
            .example(
              '$0 tasks inspect mini_topic -n 2 --vocab mini',
              'two built-in examples with token counts',
            ),
        inspect,
      )
      .demandCommand(1, 'Name an action: list or inspect'),
  handler: () => undefined,
};
