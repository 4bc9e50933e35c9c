// Writes a run directory the way the training loop does (createRunDir, MetricsWriter, TensorBoardWriter),
// with curves of a plausible shape: a decaying noisy loss, the T5 rsqrt learning rate, throughput and
// evaluation accuracy. The numbers are synthetic; the files and the code that writes them are real.

import { MetricsWriter } from '../../../lib/run/metrics_log';
import { loadRunConfig } from '../../../lib/run/run_config';
import { createRunDir } from '../../../lib/run/run_dir';
import { TensorBoardWriter } from '../../../lib/run/tensorboard';
import { Rng } from '../../../lib/util/rng';

export interface SyntheticRun {
  name: string;
  preset?: string;
  steps?: number;
  every?: number;
  evalEvery?: number;
  seed?: number;
  /** Loss reached at the end (the start is 7). */
  finalLoss?: number;
  /** Eval accuracy reached at the end. */
  finalAccuracy?: number;
  startTime?: number;
}

export function writeSyntheticRun(dir: string, o: SyntheticRun): void {
  const steps = o.steps ?? 400;
  const every = o.every ?? 10;
  const evalEvery = o.evalEvery ?? 100;
  const cfg = loadRunConfig({
    preset: o.preset ?? 'tiny-demo',
    set: [
      `run.name=${o.name}`,
      `training.steps=${steps}`,
      `logging.every=${every}`,
      `eval.every=${evalEvery}`,
    ],
  });
  const t0 = o.startTime ?? 1_764_120_000;
  const run = createRunDir(dir, cfg, {
    libtorchVersion: '1.13.1',
    threads: 2,
    startTime: new Date(t0 * 1000),
  });
  const log = MetricsWriter.open(run.metricsPath);
  const tb = new TensorBoardWriter(run.eventsDir, { now: () => t0, hostname: 'testhost' });
  const rng = new Rng(o.seed ?? 1);
  const noise = () => (rng.nextFloat() - 0.5) * 2;
  const end = o.finalLoss ?? 2;
  const loss = (s: number) => end + (7 - end) * Math.exp(-s / (steps / 5));
  for (let s = every; s <= steps; s += every) {
    const time = t0 + s * 0.25;
    const train = {
      loss: loss(s) * (1 + 0.06 * noise()),
      lr: 1 / Math.sqrt(Math.max(s, 10_000)),
      tokens_per_s: 5000 * (1 + 0.05 * noise()),
    };
    log.write(s, 'train', train, time);
    tb.addScalars(s, 'train', train, time);
    if (s % evalEvery === 0) {
      const v = { loss: loss(s) * 1.05 };
      log.write(s, 'validation', v, time);
      tb.addScalars(s, 'validation', v, time);
      const acc = (o.finalAccuracy ?? 0.8) * (1 - Math.exp(-s / (steps / 3)));
      log.write(s, 'eval', { 'mini_nli_counts/accuracy': acc }, time);
      tb.addScalars(s, 'eval', { 'mini_nli_counts/accuracy': acc }, time);
    }
  }
  log.close();
  tb.close();
}
