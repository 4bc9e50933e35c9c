/**
 * Vocabulary names used by task output features: 'mini' (the built-in model in assets/mini),
 * 't5' (the public 32k T5 SentencePiece model, fetched from a T5 model repo on the Hub on first use and
 * kept in the Hub cache; see lib/hub/t5_vocab.ts), or a path.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { cachedT5Vocab, fetchT5Vocab, type SnapshotOptions, t5VocabRepo } from '../hub';
import { Ext5Error } from '../util/errors';
import { packageRoot } from '../util/package_root';
import type { SentencePieceVocabulary } from './vocabulary';

function t5Candidates(dataDir?: string): string[] {
  return [
    process.env.EXT5_T5_VOCAB,
    dataDir ? path.join(dataDir, 'vocab', 't5', 'spiece.model') : undefined,
    process.env.EXT5_DATA ? path.join(process.env.EXT5_DATA, 'vocab', 't5', 'spiece.model') : undefined,
  ].filter((c): c is string => typeof c === 'string');
}

/**
 * Where a vocabulary name points, without the network; `t5` is looked up in EXT5_T5_VOCAB, then
 * <dataDir>/vocab/t5, then the Hub cache (what {@link fetchVocabulary} downloaded).
 */
export function vocabularyPath(name: string, dataDir?: string): string {
  if (name === 'mini') return path.join(packageRoot(), 'assets', 'mini', 'spm', 'mini.model');
  if (name === 't5') {
    const candidates = t5Candidates(dataDir);
    const found = candidates.find((c) => fs.existsSync(c)) ?? cachedT5Vocab();
    if (found) return found;
    throw new Ext5Error(
      'EXT5_VOCAB_NOT_FOUND',
      `the T5 SentencePiece vocabulary (spiece.model) is not on disk (looked in: ${[...candidates, `the Hub cache for ${t5VocabRepo()}`].join(', ')})`,
      'ext5 commands fetch it from the Hub on first use; run `ext5 vocab fetch t5` (or `await fetchVocabulary("t5")` in code) once, or set EXT5_T5_VOCAB=/path/to/spiece.model',
    );
  }
  return name;
}

/**
 * vocabularyPath, downloading the T5 vocabulary into the Hub cache when it is nowhere on disk: what
 * commands call before they load a vocabulary synchronously.
 * @example
 * const file = await fetchVocabulary('t5'); // ~/.cache/huggingface/hub/models--google-t5--t5-small/snapshots/…/spiece.model
 */
export async function fetchVocabulary(
  name: string,
  dataDir?: string,
  opts: SnapshotOptions = {},
): Promise<string> {
  if (name !== 't5') return vocabularyPath(name, dataDir);
  const local = t5Candidates(dataDir).find((c) => fs.existsSync(c));
  return local ?? fetchT5Vocab(opts);
}

/** Loads a vocabulary by name or path (the SentencePiece addon loads on first use). */
export function loadVocabulary(name: string, dataDir?: string): SentencePieceVocabulary {
  // Required here, not at the top: resolving names (tasks, mixtures, --print-config) must not load
  // the SentencePiece addon's loader, only loading a vocabulary does.
  const vocabulary = require('./vocabulary') as typeof import('./vocabulary');
  return vocabulary.SentencePieceVocabulary.load(vocabularyPath(name, dataDir));
}
