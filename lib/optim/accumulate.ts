/**
 * Gradient accumulation: run several micro-batches through forward+backward (gradients add up
 * in each parameter's `.grad`, libtorch's semantics), then average them with one native call, so
 * that a step over k micro-batches equals a step over their union when each micro-batch loss is a
 * mean over the same number of targets.
 *
 * @example
 * const loss = await accumulateGradients(opt, microBatches, (mb) => model.forwardBackward(mb).loss);
 * await opt.stepAsync();
 * opt.zeroGrad();
 */
import { Ext5Error } from '../util/errors';
import { type Adafactor, type ParamsInput, scaleGrads } from './adafactor';

/**
 * Calls `run(batch, i)` for every micro-batch in order (each must run backward), then scales
 * the accumulated gradients by 1/k. Returns the mean of the losses `run` returned.
 */
export async function accumulateGradients<B>(
  params: ParamsInput | Adafactor,
  batches: readonly B[],
  run: (batch: B, index: number) => number | Promise<number>,
): Promise<number> {
  if (batches.length === 0) {
    throw new Ext5Error('EXT5_INVALID_ARG', 'accumulateGradients needs at least one micro-batch');
  }
  let total = 0;
  for (let i = 0; i < batches.length; i++) {
    const loss = await run(batches[i]!, i);
    if (typeof loss !== 'number') {
      throw new Ext5Error('EXT5_INVALID_ARG', `micro-batch ${i}: run() must return the loss as a number`);
    }
    total += loss;
  }
  if (batches.length > 1) scaleGrads(params, 1 / batches.length);
  return total / batches.length;
}
