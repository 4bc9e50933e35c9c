/**
 * Vocabulary names used by task output features: 'mini' (the built-in model in assets/mini),
 * 't5' (the public 32k T5 SentencePiece model, which the user provides), or a path.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Ext5Error } from '../util/errors';
import { packageRoot } from '../util/package_root';

/** Where a vocabulary name points; `t5` is looked up in EXT5_T5_VOCAB, then <dataDir>/vocab/t5. */
export function vocabularyPath(name: string, dataDir?: string): string {
  if (name === 'mini') return path.join(packageRoot(), 'assets', 'mini', 'spm', 'mini.model');
  if (name === 't5') {
    const candidates = [
      process.env.EXT5_T5_VOCAB,
      dataDir ? path.join(dataDir, 'vocab', 't5', 'spiece.model') : undefined,
      process.env.EXT5_DATA ? path.join(process.env.EXT5_DATA, 'vocab', 't5', 'spiece.model') : undefined,
    ].filter((c): c is string => typeof c === 'string');
    const found = candidates.find((c) => fs.existsSync(c));
    if (found) return found;
    throw new Ext5Error(
      'EXT5_VOCAB_NOT_FOUND',
      `the T5 SentencePiece vocabulary (spiece.model) was not found (looked in: ${candidates.join(', ') || 'EXT5_T5_VOCAB unset, no --data-dir'})`,
      'put the public T5 spiece.model (from any t5 / t5-v1_1 model directory) at <data-dir>/vocab/t5/spiece.model, or set EXT5_T5_VOCAB=/path/to/spiece.model',
    );
  }
  return name;
}

/** Loads a vocabulary by name or path (the SentencePiece addon loads on first use). */
export function loadVocabulary(name: string, dataDir?: string) {
  const { SentencePieceVocabulary } = require('./vocabulary') as typeof import('./vocabulary');
  return SentencePieceVocabulary.load(vocabularyPath(name, dataDir));
}
