/**
 * sacreBLEU's tokenizers: `13a` (mteval-v13a, sacreBLEU's default), `intl` (mteval-v14
 * international, what T5 uses), `char` and `none`.
 * Ported from mjpost/sacrebleu `sacrebleu/tokenizers/tokenizer_13a.py`, `tokenizer_re.py`,
 * `tokenizer_intl.py`, `tokenizer_char.py`, `tokenizer_none.py` (sacreBLEU 2.6.0).
 * The `intl` rules use Unicode general categories, written here as `\p{...}` with the `u` flag so that
 * they match whole code points as Python's `regex` module does.
 */
import { didYouMean, Ext5Error } from '../../util/errors';
import { codePoints, pyCollapseWhitespace } from './pytext';

/** A sacreBLEU tokenizer: one line in, a space-separated token string out. */
export type BleuTokenizer = (line: string) => string;

/** The tokenizer names sacreBLEU's `--tokenize` accepts that ext5 implements. */
export const BLEU_TOKENIZERS = ['13a', 'intl', 'char', 'none'] as const;
export type BleuTokenizerName = (typeof BLEU_TOKENIZERS)[number];

// mteval-v13a's "language-dependent part": ASCII symbols and punctuation other than . , - and '.
const RE_13A_SYMBOLS = /([{-~[-` -&(-+:-@/])/gu;
const RE_13A_PERIOD_COMMA_BEFORE = /([^0-9])([.,])/gu;
const RE_13A_PERIOD_COMMA_AFTER = /([.,])([^0-9])/gu;
const RE_13A_DASH_AFTER_DIGIT = /([0-9])(-)/gu;

/**
 * mteval-v13a tokenization (sacreBLEU `13a`).
 * @example tokenize13a('Hello, world!') // 'Hello , world !'
 */
export function tokenize13a(line: string): string {
  let s = line.replaceAll('<skipped>', '').replaceAll('-\n', '').replaceAll('\n', ' ');
  if (s.includes('&')) {
    s = s.replaceAll('&quot;', '"').replaceAll('&amp;', '&').replaceAll('&lt;', '<').replaceAll('&gt;', '>');
  }
  // 13a pads with spaces so that a final period is split off even after a digit.
  s = ` ${s} `;
  s = s.replace(RE_13A_SYMBOLS, ' $1 ');
  s = s.replace(RE_13A_PERIOD_COMMA_BEFORE, '$1 $2 ');
  s = s.replace(RE_13A_PERIOD_COMMA_AFTER, ' $1 $2');
  s = s.replace(RE_13A_DASH_AFTER_DIGIT, '$1 $2 ');
  return pyCollapseWhitespace(s);
}

const RE_INTL_PUNCT_AFTER_NONDIGIT = /(\P{N})(\p{P})/gu;
const RE_INTL_PUNCT_BEFORE_NONDIGIT = /(\p{P})(\P{N})/gu;
const RE_INTL_SYMBOL = /(\p{S})/gu;

/**
 * mteval-v14 international tokenization (sacreBLEU `intl`): splits off Unicode punctuation unless it
 * sits between digits, and every Unicode symbol. Like mteval-v14 (and unlike 13a) it does not pad the
 * line, so a number followed by a sentence-final period keeps the period.
 * @example tokenizeIntl('Bonjour, «monde» 3.5€') // 'Bonjour , « monde » 3.5 €'
 */
export function tokenizeIntl(line: string): string {
  let s = line.replace(RE_INTL_PUNCT_AFTER_NONDIGIT, '$1 $2 ');
  s = s.replace(RE_INTL_PUNCT_BEFORE_NONDIGIT, ' $1 $2');
  s = s.replace(RE_INTL_SYMBOL, ' $1 ');
  return pyCollapseWhitespace(s);
}

/** Every character (code point) is a token (sacreBLEU `char`), whitespace included as sacreBLEU does. */
export function tokenizeChar(line: string): string {
  return codePoints(line).join(' ');
}

/** No tokenization (sacreBLEU `none`). */
export function tokenizeNone(line: string): string {
  return line;
}

/** The tokenizer function for a sacreBLEU tokenizer name; unknown names get a clear error. */
export function getBleuTokenizer(name: string): BleuTokenizer {
  switch (name) {
    case '13a':
      return tokenize13a;
    case 'intl':
      return tokenizeIntl;
    case 'char':
      return tokenizeChar;
    case 'none':
      return tokenizeNone;
    default:
      throw new Ext5Error(
        'E_METRIC_OPTION',
        `unknown BLEU tokenizer '${name}'${didYouMean(name, BLEU_TOKENIZERS)}`,
        `use one of: ${BLEU_TOKENIZERS.join(', ')} (sacreBLEU's zh, ja-mecab, ko-mecab and spm tokenizers are not implemented).`,
      );
  }
}
