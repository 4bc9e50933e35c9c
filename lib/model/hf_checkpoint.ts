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
import { fetchModelDir, localModelDir, type SnapshotOptions } from '../hub';
import {
  checkFromPretrainedArgs,
  type FromPretrainedOptions,
  readCheckpointConfig as readConfigOf,
} from './hf_format';
import { T5ForConditionalGeneration } from './t5';
import type { T5Config } from './t5_config';

export * from './hf_format';
export { TOKENIZER_FILES, type TokenizerFilesOptions, writeTokenizerFiles } from './hf_tokenizer';

/** Where a Hub id's snapshot comes from: revision (or `id@revision`), endpoint, token, offline, cache folder. */
export type HubModelOptions = Pick<
  SnapshotOptions,
  'revision' | 'endpoint' | 'token' | 'offline' | 'cacheDir' | 'progress' | 'stream'
>;

function split<T extends object>(
  opts: T & HubModelOptions,
): [Omit<T, keyof HubModelOptions>, HubModelOptions] {
  const { revision, endpoint, token, offline, cacheDir, progress, stream, ...rest } = opts;
  const hub = Object.fromEntries(
    Object.entries({ revision, endpoint, token, offline, cacheDir, progress, stream }).filter(
      ([, v]) => v !== undefined,
    ),
  ) as HubModelOptions;
  return [rest, hub];
}

/**
 * Loads a Hugging Face T5 / T5.1.1 checkpoint: a directory (config.json + model.safetensors or shards), or a
 * Hub id whose snapshot is already in the cache (see `loadPretrained` in lib/model/hf_format.ts for the checks).
 *
 * @throws Ext5Error HUB_MODEL_NOT_CACHED for a Hub id never downloaded (use fromPretrainedAsync);
 *   EXT5_CHECKPOINT / EXT5_CONFIG / EXT5_SAFETENSORS naming the file and tensor.
 */
export function fromPretrained(
  dirOrId: string,
  opts: FromPretrainedOptions & Pick<HubModelOptions, 'revision' | 'cacheDir'> = {},
): T5ForConditionalGeneration {
  checkFromPretrainedArgs('fromPretrained', dirOrId, opts);
  const [rest, hub] = split(opts);
  return T5ForConditionalGeneration.fromPretrained(localModelDir(dirOrId, hub), rest);
}

/**
 * fromPretrained for a directory or a Hub id, downloading the snapshot (config.json, safetensors weights and
 * tokenizer files, never a pickle) into the shared cache first; offline (HF_HUB_OFFLINE=1) from the cache.
 *
 * @throws Ext5Error HUB_NO_SAFETENSORS for a repo with only pytorch_model.bin; HUB_* for Hub answers.
 */
export async function fromPretrainedAsync(
  dirOrId: string,
  opts: FromPretrainedOptions & HubModelOptions = {},
): Promise<T5ForConditionalGeneration> {
  checkFromPretrainedArgs('fromPretrainedAsync', dirOrId, opts);
  const [rest, hub] = split(opts);
  return T5ForConditionalGeneration.fromPretrainedAsync(await fetchModelDir(dirOrId, hub), rest);
}

/** The config.json of a checkpoint directory or of a cached Hub snapshot. */
export function readCheckpointConfig(
  dirOrId: string,
  opts: Pick<HubModelOptions, 'revision' | 'cacheDir'> = {},
): T5Config {
  return readConfigOf(localModelDir(dirOrId, opts));
}
