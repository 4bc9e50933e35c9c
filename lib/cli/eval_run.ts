/**
 * What `ext5 eval` does once its flags are parsed: resolve the tasks and the checkpoint, evaluate,
 * print. The command loads this file lazily (it brings in the task registry, the evaluator and the
 * model code), so `ext5 --help` does not pay for it.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import yaml from 'js-yaml';
import { formatBenchmarkTable } from '../eval/aggregate';
import { evaluateTasks, type TasksEvaluation } from '../eval/evaluator';
import { writeFileDurable } from '../io/durable';
import { localModelSource, parseModelSpec } from '../run/model_source';
import '../tasks';
import { evalTasks } from '../train/assemble';
import { Progress } from '../util/progress';
import { loadCheckpointModel } from './checkpoint_model';
import type { EvalArgs } from './eval';
import { checkEvalNames } from './names';

/**
 * `ext5 eval --print-config`: the evaluation it would run, with the checkpoint and the tasks
 * resolved (a run directory → its newest checkpoint; a benchmark → its tasks), as YAML.
 */
export function renderEvalConfig(args: EvalArgs, checkpoint: string, tasks: readonly string[]): string {
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

/** Evaluates the checkpoint the flags name and prints the table (or JSON). */
export async function runEval(args: EvalArgs): Promise<void> {
  const dataDir = args['data-dir'] ?? process.env.EXT5_DATA;
  // Names first (with the closest benchmark, mixture or task), then the checkpoint, then the model.
  checkEvalNames(args.benchmark ?? [], '--benchmark');
  const tasks = evalTasks(args.benchmark ?? []);
  const vocabName = (t: (typeof tasks)[number]) => args.vocab ?? t.outputFeatures.vocabulary;
  if (args['print-config']) {
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
  const loaded = await loadCheckpointModel(args.checkpoint, {
    vocabularies: tasks.map(vocabName),
    dataDir,
    threads: args.threads,
  });
  const { model, dir: ckpt } = loaded;
  let evaluation: TasksEvaluation;
  try {
    let progress: Progress | undefined;
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
}
