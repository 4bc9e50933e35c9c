/**
 * Evaluation metrics faithful to the reference scorers T5 uses: sacreBLEU (BLEU, chrF), Google's
 * rouge_score (ROUGE-N/L/Lsum, bootstrap intervals), SQuAD/TriviaQA EM and F1, and the SuperGLUE
 * classification metrics. Pure TypeScript; nothing here loads libtorch.
 */
export {
  type BleuOptions,
  type BleuScore,
  bleuSignature,
  computeBleu,
  corpusBleu,
  formatBleu,
  type SmoothMethod,
  sentenceBleu,
  T5_BLEU_OPTIONS,
} from './bleu';
export {
  BLEU_TOKENIZERS,
  type BleuTokenizer,
  type BleuTokenizerName,
  getBleuTokenizer,
  tokenize13a,
  tokenizeChar,
  tokenizeIntl,
  tokenizeNone,
} from './bleu_tokenizers';
export { type AggregateScore, BootstrapAggregator, MersenneTwister, percentile } from './bootstrap';
export {
  type ChrfOptions,
  type ChrfScore,
  chrfFromStats,
  chrfSignature,
  corpusChrf,
  formatChrf,
  sentenceChrf,
} from './chrf';
export {
  accuracy,
  allMatch,
  deduplicateMetric,
  f1ScoreWithInvalid,
  type Grouped,
  matthewsCorrcoef,
  meanGroupMetric,
  meanMulticlassF1,
  sequenceAccuracy,
} from './classification';
export { type PorterMode, PorterStemmer } from './porter';
export { codePoints, pyFixed, pyRstrip, pySplit, pyStrip } from './pytext';
export { normalizeSquad, normalizeTriviaQa, qaMetrics, squad, tokenF1, triviaQa } from './qa';
export {
  computeMetricSet,
  computeMetrics,
  getMetric,
  listMetrics,
  listScoreMetrics,
  type MetricOptions,
  type MetricReport,
  type MetricReportOptions,
  type MetricSpec,
} from './registry';
export {
  corpusRouge,
  fmeasure,
  lcsIndices,
  lcsLength,
  prepareSummaryRouge,
  type RougeCorpusResult,
  type RougeOptions,
  type RougeScore,
  RougeScorer,
  rougeTokenize,
  T5_ROUGE_TYPES,
} from './rouge';
export { SIGNATURE_VERSION } from './signature';
