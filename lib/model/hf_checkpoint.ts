/**
 * Hugging Face T5 checkpoints, the public face: `fromPretrained(dir)` / `savePretrained(model, dir)`
 * and the format's pieces (lib/model/hf_format.ts). The format module knows the model class only
 * as a type and the class (lib/model/t5.ts) imports the format, so this module, which needs both,
 * sits above them and no import cycle hides behind a lazy require.
 *
 * @example
 * const model = fromPretrained('checkpoints/t5-small', { device: 'cpu' });
 * // or: const model = await fromPretrainedAsync('checkpoints/t5-small');
 * await savePretrained(model, 'checkpoints/step-1000', { optimizer: opt });
 */
import type { FromPretrainedOptions } from './hf_format';
import { T5ForConditionalGeneration } from './t5';

export * from './hf_format';

/**
 * Loads a Hugging Face T5 / T5.1.1 checkpoint directory (config.json + model.safetensors or
 * shards); see `loadPretrained` in lib/model/hf_format.ts for the checks.
 *
 * @throws Ext5Error EXT5_CHECKPOINT / EXT5_CONFIG / EXT5_SAFETENSORS naming the file and tensor.
 */
export function fromPretrained(dir: string, opts: FromPretrainedOptions = {}): T5ForConditionalGeneration {
  return T5ForConditionalGeneration.fromPretrained(dir, opts);
}

/** fromPretrained() as a Promise, to pair with the async savePretrained(); errors reject it. */
export function fromPretrainedAsync(
  dir: string,
  opts: FromPretrainedOptions = {},
): Promise<T5ForConditionalGeneration> {
  return T5ForConditionalGeneration.fromPretrainedAsync(dir, opts);
}
