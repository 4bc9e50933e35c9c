/**
 * The public T5 SentencePiece vocabulary (32k pieces; every T5, T5.1.1, LM-adapted and Flan-T5 checkpoint
 * uses the same one) from a T5 model repo on the Hub: its `spiece.model`, fetched once into the shared cache
 * (the same blob Python's T5Tokenizer.from_pretrained would fetch) and read from there afterwards.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Ext5Error } from '../util/errors';
import { isOffline } from './config';
import { cachedModelDir, parseHubRef } from './model_ref';
import { type SnapshotOptions, snapshotDownload } from './snapshot';

/** The repo whose spiece.model is the T5 vocabulary when EXT5_T5_VOCAB_REPO does not name another. */
export const DEFAULT_T5_VOCAB_REPO = 'google-t5/t5-small';

/** The repo (`org/name` or `org/name@revision`) the T5 vocabulary comes from: $EXT5_T5_VOCAB_REPO, else the default. */
export function t5VocabRepo(): string {
  return process.env.EXT5_T5_VOCAB_REPO?.trim() || DEFAULT_T5_VOCAB_REPO;
}

function refOf(spec: string) {
  const ref = parseHubRef(spec);
  if (!ref) {
    throw new Ext5Error(
      'HUB_BAD_ID',
      `EXT5_T5_VOCAB_REPO '${spec}' is not a Hub model id`,
      `name a T5 model repo such as ${DEFAULT_T5_VOCAB_REPO} (optionally @revision)`,
    );
  }
  return ref;
}

/** The cached spiece.model of the T5 vocabulary repo, if it was fetched before. */
export function cachedT5Vocab(opts: Pick<SnapshotOptions, 'cacheDir'> = {}): string | undefined {
  const spec = t5VocabRepo();
  const dir = cachedModelDir(spec, { cacheDir: opts.cacheDir });
  const file = dir && path.join(dir, 'spiece.model');
  return file && fs.existsSync(file) ? file : undefined;
}

/**
 * The T5 vocabulary's spiece.model: from the cache, else downloaded from the vocabulary repo (see t5VocabRepo).
 * @throws Ext5Error EXT5_VOCAB_NOT_FOUND offline with nothing cached, or when the repo has no spiece.model.
 */
export async function fetchT5Vocab(opts: SnapshotOptions = {}): Promise<string> {
  const cached = cachedT5Vocab(opts);
  if (cached) return cached;
  const spec = t5VocabRepo();
  const ref = refOf(spec);
  if (isOffline(opts)) {
    throw new Ext5Error(
      'EXT5_VOCAB_NOT_FOUND',
      `the T5 vocabulary (spiece.model of ${spec}) is not in the Hub cache and HF_HUB_OFFLINE is set`,
      'run `ext5 vocab fetch t5` once with a network connection (it fills the cache that offline runs read), or set EXT5_T5_VOCAB=/path/to/spiece.model',
    );
  }
  let dir: string;
  try {
    dir = await snapshotDownload(ref.repoId, {
      ...opts,
      revision: ref.revision,
      allowPatterns: ['spiece.model'],
    });
  } catch (e) {
    if (e instanceof Ext5Error && ['OFFLINE', 'HUB_TIMEOUT', 'HUB_OFFLINE_MODE'].includes(e.code)) {
      throw new Ext5Error(
        'EXT5_VOCAB_NOT_FOUND',
        `the T5 vocabulary (spiece.model of ${spec}) is not on disk and the Hub could not be reached: ${e.message}`,
        'run `ext5 vocab fetch t5` once with a network connection (it fills the cache that later runs read), or set EXT5_T5_VOCAB=/path/to/spiece.model',
      );
    }
    throw e;
  }
  const file = path.join(dir, 'spiece.model');
  if (!fs.existsSync(file)) {
    throw new Ext5Error(
      'EXT5_VOCAB_NOT_FOUND',
      `${spec} has no spiece.model, so it cannot provide the T5 vocabulary`,
      `set EXT5_T5_VOCAB_REPO to a T5 model repo that has one (e.g. ${DEFAULT_T5_VOCAB_REPO}), or EXT5_T5_VOCAB=/path/to/spiece.model`,
    );
  }
  return file;
}
