// Model and dataset repos for the local Hub, made by ext5 itself: a tiny T5 saved with savePretrained
// (config.json, model.safetensors and the tokenizer files of the built-in mini vocabulary, which stands in
// for the 32k T5 spiece.model), and SuperGLUE Parquet exports in the Hub's refs/convert/parquet layout.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { savePretrained } from '../../lib/model/hf_checkpoint';
import { T5ForConditionalGeneration } from '../../lib/model/t5';
import { preset } from '../../lib/model/t5_presets';
import { writeParquet } from '../unit/data/sources/parquet_writer';
import type { RepoFile } from './hub_server';

/** The files of a folder as local-Hub repo files. */
export function repoFiles(dir: string): RepoFile[] {
  return fs
    .readdirSync(dir)
    .sort()
    .map((name) => ({ path: name, body: fs.readFileSync(path.join(dir, name)) }));
}

/** A tiny T5 (t5-tiny with a vocabulary that fits the mini SentencePiece model and its 100 sentinels). */
export async function tinyT5Repo(dir: string, seed = 0): Promise<RepoFile[]> {
  const model = new T5ForConditionalGeneration({ ...preset('t5-tiny'), vocab_size: 2048 }, { seed });
  try {
    await savePretrained(model, dir, { vocabulary: 'mini' });
  } finally {
    model.dispose();
  }
  return repoFiles(dir);
}

const SUPERGLUE_CONFIGS = ['boolq', 'cb', 'copa', 'multirc', 'record', 'rte', 'wic', 'wsc.fixed'];

/**
 * aps/super_glue's Parquet export: BoolQ with real rows (train and validation), the other configs with a
 * one-row placeholder each, so that `ext5 data download --benchmark superglue` finds every file it plans.
 */
export function superGlueExport(trainRows = 16, validationRows = 8): RepoFile[] {
  const boolq = (n: number, offset: number) =>
    writeParquet(
      [
        { name: 'question', type: 'string' },
        { name: 'passage', type: 'string' },
        { name: 'idx', type: 'int32' },
        { name: 'label', type: 'int64' },
      ],
      Array.from({ length: n }, (_, i) => ({
        question: i % 2 === 0 ? 'is the sky blue' : 'is the sea dry',
        passage: `Example ${offset + i}: the sky is blue and the sea is wet.`,
        idx: i,
        label: i % 2 === 0 ? 1 : 0,
      })),
    );
  const placeholder = writeParquet([{ name: 'idx', type: 'int32' }], [{ idx: 0 }]);
  return SUPERGLUE_CONFIGS.flatMap((c) =>
    ['train', 'validation'].map((split) => ({
      path: `${c}/${split}/0000.parquet`,
      body:
        c === 'boolq'
          ? boolq(split === 'train' ? trainRows : validationRows, split === 'train' ? 0 : 1000)
          : placeholder,
    })),
  );
}
