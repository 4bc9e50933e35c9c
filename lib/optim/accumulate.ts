/**
 * Gradient accumulation weighted as the trainer weights it (lib/train/trainer.ts): a step over k
 * micro-batches equals one step over their union when each micro-batch's mean loss counts by its
 * share of the step's target tokens. Micro-batch i backpropagates its loss times
 * `gradScale = weights[i] / sum(weights)` (pass it to `forwardBackward({ ..., gradScale })`), so the
 * gradients that add up in each parameter's `.grad` (libtorch's semantics) are already the
 * weighted mean; no rescaling afterwards.
 *
 * @example
 * const loss = await accumulateGradients(microBatches, microBatches.map(targetTokens),
 *   (mb, gradScale) => model.forwardBackward({ ...mb, gradScale }).loss);
 * await opt.stepAsync();
 * opt.zeroGrad();
 */
import { Ext5Error } from '../util/errors';

/**
 * Calls `run(batch, gradScale, i)` for every micro-batch in order; `run` must backpropagate its
 * loss times `gradScale`. `weights[i]` is micro-batch i's weight (its number of target tokens);
 * all weights zero counts the micro-batches equally. Returns the weighted mean of the losses `run`
 * returned (unscaled mean losses of each micro-batch).
 */
export async function accumulateGradients<B>(
  batches: readonly B[],
  weights: readonly number[],
  run: (batch: B, gradScale: number, index: number) => number | Promise<number>,
): Promise<number> {
  if (batches.length === 0) {
    throw new Ext5Error('EXT5_INVALID_ARG', 'accumulateGradients needs at least one micro-batch');
  }
  if (weights.length !== batches.length) {
    throw new Ext5Error(
      'EXT5_INVALID_ARG',
      `accumulateGradients got ${batches.length} micro-batches but ${weights.length} weights`,
      'give one weight (its number of target tokens) per micro-batch',
    );
  }
  for (const [i, w] of weights.entries()) {
    if (!Number.isFinite(w) || w < 0) {
      throw new Ext5Error(
        'EXT5_INVALID_ARG',
        `micro-batch ${i}: weight must be a finite number >= 0, got ${w}`,
      );
    }
  }
  const sum = weights.reduce((a, w) => a + w, 0);
  const share = (i: number) => (sum > 0 ? weights[i]! / sum : 1 / batches.length);
  let total = 0;
  for (let i = 0; i < batches.length; i++) {
    const loss = await run(batches[i]!, share(i), i);
    if (typeof loss !== 'number') {
      throw new Ext5Error('EXT5_INVALID_ARG', `micro-batch ${i}: run() must return the loss as a number`);
    }
    total += loss * share(i);
  }
  return total;
}
