/**
 * `ext5 eval`: evaluates a checkpoint on a benchmark (superglue, gem, rainbow, cbqa), a mixture
 * or tasks, the way T5 does (decode → postprocess → metrics), and prints a table (or JSON).
 * Predictions are written as JSONL, one file per task.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { CommandModule } from 'yargs';
import { writeFileDurable } from '../io/durable';

interface EvalArgs {
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

/**
 * `ext5 eval --print-config`: the evaluation it would run, with the checkpoint and the tasks
 * resolved (a run directory → its newest checkpoint; a benchmark → its tasks), as YAML.
 */
export function renderEvalConfig(args: EvalArgs, checkpoint: string, tasks: readonly string[]): string {
  const yaml = require('js-yaml') as typeof import('js-yaml');
  const settings = {
    checkpoint,
    benchmark: args.benchmark ?? [],
    tasks,
    split: args.split,
    maxExamples: args['max-examples'] ?? null,
    batchSize: args['batch-size'],
    decoding: args.decoding,
    numBeams: args['num-beams'],
    lengthPenalty: args['length-penalty'],
    maxNewTokens: args['max-new-tokens'] ?? null,
    rankClassification: args['rank-classification'],
    dataDir: args['data-dir'] ?? process.env.EXT5_DATA ?? null,
    vocab: args.vocab ?? null,
    predictions: args.predictions ?? null,
    threads: args.threads ?? null,
  };
  return yaml.dump(settings, { flowLevel: 1, lineWidth: 110 });
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
  handler: async (args) => {
    require('../tasks');
    const { evalTasks } = require('../train/assemble') as typeof import('../train/assemble');
    const { evaluateTasks } = require('../eval/evaluator') as typeof import('../eval/evaluator');
    const { formatBenchmarkTable } = require('../eval/aggregate') as typeof import('../eval/aggregate');
    const { Progress } = require('../util/progress') as typeof import('../util/progress');

    const { checkEvalNames } = require('./names') as typeof import('./names');
    const dataDir = args['data-dir'] ?? process.env.EXT5_DATA;
    // Names first (with the closest benchmark, mixture or task), then the checkpoint, then the model.
    checkEvalNames(args.benchmark ?? [], '--benchmark');
    const tasks = evalTasks(args.benchmark ?? []);
    const vocabName = (t: (typeof tasks)[number]) => args.vocab ?? t.outputFeatures.vocabulary;
    if (args['print-config']) {
      const { parseModelSpec, localModelSource } =
        require('../run/model_source') as typeof import('../run/model_source');
      // A Hub id is printed, not downloaded; a run directory as its newest checkpoint, nothing written.
      const spec = parseModelSpec(args.checkpoint);
      const shown = spec.kind === 'hub' ? spec.spec : localModelSource(spec).dir;
      process.stdout.write(
        renderEvalConfig(
          args,
          shown,
          tasks.map((t) => t.name),
        ),
      );
      return;
    }
    const { loadCheckpointModel } = require('./checkpoint_model') as typeof import('./checkpoint_model');
    const loaded = await loadCheckpointModel(args.checkpoint, {
      vocabularies: tasks.map(vocabName),
      dataDir,
      threads: args.threads,
    });
    const { model, dir: ckpt } = loaded;
    let evaluation: import('../eval/evaluator').TasksEvaluation;
    try {
      let progress: InstanceType<typeof Progress> | undefined;
      evaluation = await evaluateTasks(
        model,
        tasks,
        (task) => loaded.vocabulary(vocabName(task)),
        {
          split: args.split,
          maxExamples: args['max-examples'],
          batchSize: args['batch-size'],
          decoding: args.decoding,
          numBeams: args['num-beams'],
          lengthPenalty: args['length-penalty'],
          maxNewTokens: args['max-new-tokens'],
          rankClassification: args['rank-classification'],
          dataDir,
        },
        {
          taskOptions: (task) => {
            const p = new Progress({
              label: `eval ${task.name}`,
              unitName: 'examples',
              mode: args.json ? 'silent' : 'auto',
            });
            progress = p;
            return {
              onProgress: (done, total) => {
                p.total = total;
                p.update(done);
              },
            };
          },
          onResult: (r, task) => {
            progress?.done();
            if (args.predictions) {
              fs.mkdirSync(args.predictions, { recursive: true });
              writeFileDurable(
                path.join(args.predictions, `${task.name}.jsonl`),
                r.predictions.map((p) => JSON.stringify(p)).join('\n') + '\n',
              );
            }
          },
        },
      );
    } finally {
      loaded.dispose();
    }
    const { results, reports } = evaluation;
    if (args.json) {
      const out = {
        checkpoint: ckpt,
        split: args.split,
        tasks: results.map(({ predictions, ...r }) => r),
        benchmarks: reports,
      };
      process.stdout.write(`${JSON.stringify(out, null, 2)}\n`);
      return;
    }
    const lines = [`checkpoint ${ckpt}, split ${args.split}`, ''];
    for (const rep of reports) lines.push(formatBenchmarkTable(rep), '');
    const loose = results.filter((r) => !r.benchmark);
    if (loose.length > 0) {
      const w = Math.max(4, ...loose.map((r) => r.task.length));
      lines.push(`${'task'.padEnd(w)}  examples  metrics`);
      for (const r of loose) {
        const m = Object.entries(r.metrics)
          .map(([k, v]) => `${k} ${v.toFixed(2)}`)
          .join('  ');
        lines.push(`${r.task.padEnd(w)}  ${String(r.count).padStart(8)}  ${m}`);
      }
    }
    process.stdout.write(`${lines.join('\n').trimEnd()}\n`);
  },
};
