/**
 * The tokenizer files of a Hugging Face T5 model folder, so that `AutoTokenizer.from_pretrained(dir)` (and
 * T5Tokenizer / T5TokenizerFast) loads what ext5 trained with: the SentencePiece model as `spiece.model`
 * (T5Tokenizer's VOCAB_FILES_NAMES), and tokenizer_config.json + special_tokens_map.json with the keys
 * T5Tokenizer's __init__ takes (huggingface/transformers src/transformers/models/t5/tokenization_t5.py):
 * eos/unk/pad tokens, `extra_ids` and the matching `additional_special_tokens` <extra_id_0>…<extra_id_N-1>,
 * which T5Tokenizer requires to agree in number.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { writeFileDurable } from '../io/durable';
import { resolveModelPath, SentencePieceVocabulary } from '../text/vocabulary';
import { Ext5Error } from '../util/errors';

/** The files writeTokenizerFiles writes. */
export const TOKENIZER_FILES = ['spiece.model', 'tokenizer_config.json', 'special_tokens_map.json'] as const;

export interface TokenizerFilesOptions {
  /** Sentinels after the SentencePiece pieces (T5: 100). */
  extraIds?: number;
  /** transformers' model_max_length (T5: 512). */
  modelMaxLength?: number;
  /** The model's vocab_size: refused when the pieces and sentinels do not fit in it. */
  modelVocabSize?: number;
}

/**
 * Copies the SentencePiece model `spiece` into `dir` as spiece.model and writes tokenizer_config.json and
 * special_tokens_map.json for it.
 * @throws Ext5Error EXT5_VOCAB_SIZE when the model's vocab_size is smaller than pieces + sentinels.
 */
export function writeTokenizerFiles(dir: string, spiece: string, opts: TokenizerFilesOptions = {}): void {
  const extraIds = opts.extraIds ?? 100;
  const vocab = SentencePieceVocabulary.load(spiece, { extraIds });
  let specials: { eos_token: string; unk_token: string; pad_token: string };
  try {
    if (opts.modelVocabSize !== undefined && opts.modelVocabSize < vocab.vocabSize) {
      throw new Ext5Error(
        'EXT5_VOCAB_SIZE',
        `the vocabulary ${spiece} has ${vocab.vocabSize} ids with its ${extraIds} sentinels, more than the model's vocab_size ${opts.modelVocabSize}`,
        'save with the vocabulary the model was trained with',
      );
    }
    specials = {
      eos_token: vocab.idToPiece(vocab.eosId),
      unk_token: vocab.idToPiece(vocab.unkId),
      pad_token: vocab.idToPiece(vocab.padId),
    };
  } finally {
    vocab.dispose();
  }
  const sentinels = Array.from({ length: extraIds }, (_, i) => `<extra_id_${i}>`);
  const map = { ...specials, additional_special_tokens: sentinels };
  const config = {
    tokenizer_class: 'T5Tokenizer',
    ...map,
    extra_ids: extraIds,
    model_max_length: opts.modelMaxLength ?? 512,
    sp_model_kwargs: {},
    // The original T5 tokenization (plain SentencePiece, as SeqIO and ext5 encode), without transformers'
    // later change to the handling of text right after a special token.
    legacy: true,
  };
  writeFileDurable(path.join(dir, 'spiece.model'), fs.readFileSync(resolveModelPath(spiece)));
  writeFileDurable(path.join(dir, 'special_tokens_map.json'), `${JSON.stringify(map, null, 2)}\n`);
  writeFileDurable(path.join(dir, 'tokenizer_config.json'), `${JSON.stringify(config, null, 2)}\n`);
}
