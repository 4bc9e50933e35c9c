/**
 * What `ext5 eval`, `ext5 predict` and `ext5 convert` do first, done in one place: `--checkpoint` is
 * resolved once (lib/run/model_source: a checkpoint, a run directory's newest that opens, or a Hub
 * snapshot, downloaded), the vocabularies the command names are fetched (the T5 one comes from the
 * Hub on first use), and the model is loaded from the resolved folder. Commands require this module
 * lazily, when they run: it loads libtorch.
 */
import { T5ForConditionalGeneration } from '../model/t5';
import { torch } from '../native/torch';
import { fetchModelSource, type ModelSource, openModelSource } from '../run/model_source';
import { fetchVocabulary, loadVocabulary } from '../text/vocab_names';

/** A vocabulary loaded by {@link CheckpointModel.vocabulary}. */
export type CommandVocabulary = ReturnType<typeof loadVocabulary>;

/** A command's model and vocabularies; `dispose` frees them all. */
export interface CheckpointModel {
  source: ModelSource;
  /** The checkpoint folder the weights were read from. */
  dir: string;
  model: T5ForConditionalGeneration;
  /** A vocabulary named in `vocabularies`, loaded once however often it is asked for. */
  vocabulary(name: string): CommandVocabulary;
  dispose(): void;
}

export interface CheckpointModelOptions {
  /** Vocabularies the command will use ('mini', 't5', a .model path), fetched before the model loads. */
  vocabularies?: readonly string[];
  dataDir?: string;
  /** libtorch threads (default: libtorch's own). */
  threads?: number;
}

/**
 * Resolves `spec` (`--checkpoint`) once, unless the command already did (a ModelSource), fetches the
 * vocabularies named, and loads the model.
 * @throws Ext5Error EXT5_CHECKPOINT / HUB_* when the checkpoint cannot be found or read.
 */
export async function loadCheckpointModel(
  spec: string | ModelSource,
  opts: CheckpointModelOptions = {},
): Promise<CheckpointModel> {
  const source = typeof spec === 'string' ? await fetchModelSource(spec) : spec;
  for (const name of new Set(opts.vocabularies ?? [])) await fetchVocabulary(name, opts.dataDir);
  if (opts.threads) torch().setNumThreads(opts.threads);
  const {
    dir,
    value: model,
    passed,
  } = openModelSource(source, (d) => T5ForConditionalGeneration.fromPretrained(d));
  for (const p of passed) process.stderr.write(`ext5: passed over the checkpoint ${p.dir}: ${p.reason}\n`);
  const vocabs = new Map<string, CommandVocabulary>();
  return {
    source,
    dir,
    model,
    vocabulary(name) {
      let v = vocabs.get(name);
      if (!v) {
        v = loadVocabulary(name, opts.dataDir);
        vocabs.set(name, v);
      }
      return v;
    },
    dispose() {
      for (const v of vocabs.values()) v.dispose();
      vocabs.clear();
      model.dispose();
    },
  };
}
