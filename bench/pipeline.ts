/**
 * Does the data pipeline starve the model? (target ratio >= 0.9)
 *
 * Same model, optimizer and batch shapes, two ways, interleaved so load swings hit both:
 *   model-only: forward+backward+Adafactor on batches made in advance (no data work at all);
 *   pipeline:   the training loop's pattern: the next batch is read, tokenized, span-corrupted,
 *               mixed and packed while libtorch computes the current step.
 * Run: node dist/bench/pipeline.js [--preset tiny-demo] [--steps 40] [--rounds 3] [--set k=v ...]
 */
import '../lib/tasks';
import { torch } from '../lib/native/torch';
import { Adafactor } from '../lib/optim/adafactor';
import { adafactorOptions, batchRows, resolveThreads } from '../lib/run/derive';
import { loadRunConfig } from '../lib/run/run_config';
import { buildModel, loadRunVocabulary } from '../lib/train/assemble';
import { batchToModelInputs, type TrainingPipeline as P, TrainingPipeline } from '../lib/train/pipeline';
import { pipelineOptions } from '../lib/train/pipeline_options';
import { arg, args } from './args';

const sets = args('set');

async function main() {
  const c = loadRunConfig({ preset: arg('preset', 'tiny-demo'), set: sets });
  const steps = Number(arg('steps', '40'));
  const rounds = Number(arg('rounds', '3'));
  torch().setNumThreads(resolveThreads(c));
  const vocab = loadRunVocabulary(c);
  const rows = batchRows(c);
  const model = buildModel(c, vocab.vocabSize);
  model.train();
  const opt = new Adafactor(model, adafactorOptions(c));
  // The training run's pipeline, with a seed per round so rounds read different batches.
  const mk = (seed: number): P => new TrainingPipeline({ ...pipelineOptions(c, 'train', { vocab }), seed });
  const step = async (b: Awaited<ReturnType<P['next']>>['batch']) => {
    await model.forwardBackwardAsync(batchToModelInputs(b));
    await opt.stepAsync(1e-3);
    opt.zeroGrad();
  };
  // warm-up
  const warm = mk(99);
  for (let i = 0; i < 3; i++) await step((await warm.next()).batch);

  const modelOnly: number[] = [];
  const pipelined: number[] = [];
  for (let r = 0; r < rounds; r++) {
    const pre = mk(r);
    const batches = [];
    for (let i = 0; i < steps; i++) batches.push((await pre.next()).batch);
    let t0 = performance.now();
    for (const b of batches) await step(b);
    modelOnly.push(steps / ((performance.now() - t0) / 1000));

    const p = mk(r);
    t0 = performance.now();
    let next = p.next();
    for (let i = 0; i < steps; i++) {
      const { batch } = await next;
      next = p.next();
      await step(batch);
    }
    pipelined.push(steps / ((performance.now() - t0) / 1000));
  }
  const med = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
  const a = med(modelOnly);
  const b = med(pipelined);
  console.log(
    `preset ${arg('preset', 'tiny-demo')}: ${rows.microBatchRows} rows x ${c.data.inputsLength}/${c.data.targetsLength} tokens, ` +
      `${model.numParameters()} parameters, ${torch().getNumThreads()} threads, ${steps} steps x ${rounds} rounds`,
  );
  console.table([
    { mode: 'model only (pre-made batches)', 'steps/s': a.toFixed(2) },
    { mode: 'full pipeline (prefetched)', 'steps/s': b.toFixed(2) },
    { mode: 'ratio pipeline / model-only', 'steps/s': (b / a).toFixed(3) },
  ]);
  opt.dispose();
  model.dispose();
  vocab.dispose();
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
