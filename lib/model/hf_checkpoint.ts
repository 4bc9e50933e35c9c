/**
 * Hugging Face T5 checkpoints, the public face: `fromPretrained(dirOrId)` / `fromPretrainedAsync(dirOrId)` /
 * `savePretrained(model, dir)` and the format's pieces (lib/model/hf_format.ts). The format module knows
 * the model class only as a type and the class (lib/model/t5.ts) imports the format, so this module, which
 * needs both, sits above them and no import cycle hides behind a lazy require.
 *
 * A model is named by a local folder or a Hub id (`org/name`, `org/name@revision`); Hub snapshots live in
 * huggingface_hub's cache (lib/hub). The async form downloads; the sync forms read the cache only.
 *
 * @example
 * const model = await fromPretrainedAsync('google-t5/t5-small', { device: 'cpu' });
 * const again = fromPretrained('google-t5/t5-small'); // the cached snapshot, no network
 * const local = fromPretrained('checkpoints/t5-small');
 * await savePretrained(model, 'checkpoints/step-1000', { optimizer: opt, vocabulary: 't5' });
 */
import { type HubModelOptions, localModelDir } from '../hub';
import { checkFromPretrainedArgs, type FromPretrainedOptions, readCheckpointFolderConfig } from './hf_format';
import { T5ForConditionalGeneration } from './t5';
import type { T5Config } from './t5_config';

export type { HubModelOptions } from '../hub';
export * from './hf_format';
export { TOKENIZER_FILES, type TokenizerFilesOptions, writeTokenizerFiles } from './hf_tokenizer';

/**
 * Loads a Hugging Face T5 / T5.1.1 checkpoint: a directory (config.json + model.safetensors or shards), or a
 * Hub id whose snapshot is already in the cache. `T5ForConditionalGeneration.fromPretrained` under the
 * name users of this module call (errors name `fromPretrained()`).
 *
 * @throws Ext5Error HUB_MODEL_NOT_CACHED for a Hub id never downloaded (use fromPretrainedAsync);
 *   EXT5_CHECKPOINT / EXT5_CONFIG / EXT5_SAFETENSORS naming the file and tensor.
 */
export function fromPretrained(
  dirOrId: string,
  opts: FromPretrainedOptions & Pick<HubModelOptions, 'revision' | 'cacheDir'> = {},
): T5ForConditionalGeneration {
  checkFromPretrainedArgs('fromPretrained', dirOrId, opts);
  return T5ForConditionalGeneration.fromPretrained(dirOrId, opts);
}

/**
 * fromPretrained for a directory or a Hub id, downloading the snapshot first:
 * `T5ForConditionalGeneration.fromPretrainedAsync` under the name users of this module call.
 *
 * @throws Ext5Error HUB_NO_SAFETENSORS for a repo with only pytorch_model.bin; HUB_* for Hub answers.
 */
export async function fromPretrainedAsync(
  dirOrId: string,
  opts: FromPretrainedOptions & HubModelOptions = {},
): Promise<T5ForConditionalGeneration> {
  checkFromPretrainedArgs('fromPretrainedAsync', dirOrId, opts);
  return T5ForConditionalGeneration.fromPretrainedAsync(dirOrId, opts);
}

/** The config.json of a checkpoint folder or of a cached Hub snapshot (readCheckpointFolderConfig for a folder). */
export function readCheckpointConfig(
  dirOrId: string,
  opts: Pick<HubModelOptions, 'revision' | 'cacheDir'> = {},
): T5Config {
  return readCheckpointFolderConfig(localModelDir(dirOrId, opts));
}
