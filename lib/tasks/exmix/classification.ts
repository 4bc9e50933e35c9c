/** ExMix family: classification (plus super_glue_wic from benchmarks/). */
import { Ext5Error } from '../../util/errors';
import { asText, glue, keyedFields, type Labels } from '../preprocessors';
import { type InPaper, type Preprocessor, type TaskOptions, toJson } from '../task';
import { exmixTask } from './spec';

/** Round half to even, as tf.round does. */
function roundHalfEven(x: number): number {
  const r = Math.round(x);
  return Math.abs(x % 1) === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

/**
 * T5's `stsb`: "stsb sentence1: … sentence2: …" → the score rounded to the nearest 0.2, one decimal ("3.8").
 * @example
 * stsb()({ sentence1: 'A', sentence2: 'B', label: 3.81, idx: 0 }, ctx).targets // '3.8'
 */
export function stsb(): Preprocessor {
  return (r) => {
    const label = Number(r.label);
    if (!Number.isFinite(label))
      throw new Ext5Error('BAD_LABEL', `stsb label ${toJson(r.label)} is not a number`);
    return {
      inputs: ['stsb sentence1:', asText(r.sentence1), 'sentence2:', asText(r.sentence2)].join(' '),
      targets: (roundHalfEven(label * 5) / 5).toFixed(1),
      idx: r.idx,
    };
  };
}

function text(
  name: string,
  hf: string,
  config: string | undefined,
  fields: Array<string | [string, string]>,
  labelColumn: string,
  labels: Labels,
  n: number,
  inPaper: InPaper,
  sample: Record<string, unknown>,
  description: string,
  splits?: Record<string, string>,
): TaskOptions {
  return exmixTask('classification', {
    name,
    description,
    hf,
    ...(config ? { config } : {}),
    ...(splits ? { splits } : {}),
    n,
    inPaper,
    pre: keyedFields({
      prefix: name,
      fields,
      target: { column: labelColumn, labels },
      dropEmptyTarget: true,
    }),
    metrics: ['accuracy'],
    sample,
    targetsLength: 16,
  });
}

const TRAIN_TEST = { train: 'train', test: 'test' };
const POLARITY = ['negative', 'positive'];

/**
 * The metrics T5 scores each GLUE classification task with, on class ids
 * (google-research/text-to-text-transfer-transformer t5/data/glue_utils.py, GLUE_METRICS).
 */
const GLUE_METRICS: Record<string, string[]> = {
  cola: ['matthews_corrcoef'],
  sst2: ['accuracy'],
  mrpc: ['f1_with_invalid', 'accuracy'],
  qqp: ['f1_with_invalid', 'accuracy'],
};

function glueTask(
  config: string,
  labelNames: string[],
  featureNames: string[],
  n: number,
  sample: Record<string, unknown>,
  description: string,
): TaskOptions {
  return {
    ...exmixTask('classification', {
      name: `glue_${config}`,
      description,
      hf: 'nyu-mll/glue',
      config,
      n,
      inPaper: 'likely',
      pre: glue({ benchmark: config, labelNames, featureNames }),
      metrics: GLUE_METRICS[config] ?? ['accuracy'],
      sample,
      targetsLength: 16,
    }),
    // T5 maps labels to class ids (string_label_to_class_id) before these metrics.
    labelClasses: labelNames,
  };
}

export const CLASSIFICATION_TASKS: TaskOptions[] = [
  glueTask(
    'sst2',
    POLARITY,
    ['sentence'],
    67349,
    { sentence: 'a gorgeous, witty film', label: 1, idx: 0 },
    'SST-2 sentiment (GLUE), T5 format.',
  ),
  glueTask(
    'cola',
    ['unacceptable', 'acceptable'],
    ['sentence'],
    8551,
    { sentence: 'The book was read by Ann.', label: 1, idx: 0 },
    'CoLA acceptability (GLUE), T5 format.',
  ),
  glueTask(
    'mrpc',
    ['not_equivalent', 'equivalent'],
    ['sentence1', 'sentence2'],
    3668,
    { sentence1: 'He left.', sentence2: 'He went away.', label: 1, idx: 0 },
    'MRPC paraphrase (GLUE), T5 format.',
  ),
  glueTask(
    'qqp',
    ['not_duplicate', 'duplicate'],
    ['question1', 'question2'],
    363846,
    { question1: 'How do I cook rice?', question2: 'What is the way to cook rice?', label: 1, idx: 0 },
    'Quora Question Pairs (GLUE), T5 format.',
  ),
  exmixTask('classification', {
    name: 'glue_stsb',
    description: 'STS-B similarity as a 26-way string target (GLUE), T5 format.',
    hf: 'nyu-mll/glue',
    config: 'stsb',
    n: 5749,
    inPaper: 'likely',
    pre: stsb(),
    metrics: ['pearson_corrcoef', 'spearman_corrcoef'],
    postprocessor: 'string_to_float',
    sample: {
      sentence1: 'A plane is taking off.',
      sentence2: 'An air plane is taking off.',
      label: 5.0,
      idx: 0,
    },
    targetsLength: 8,
  }),
  text(
    'paws',
    'google-research-datasets/paws',
    'labeled_final',
    ['sentence1', 'sentence2'],
    'label',
    ['not_paraphrase', 'paraphrase'],
    49401,
    'likely',
    { id: 1, sentence1: 'Ann met Bob in 1990.', sentence2: 'In 1990 Bob met Ann.', label: 1 },
    'PAWS: paraphrase adversaries from word scrambling.',
  ),
  text(
    'imdb',
    'stanfordnlp/imdb',
    'plain_text',
    ['text'],
    'label',
    POLARITY,
    25000,
    'likely',
    { text: 'A wonderful, moving film.', label: 1 },
    'IMDB movie-review sentiment.',
    TRAIN_TEST,
  ),
  text(
    'ag_news',
    'fancyzhx/ag_news',
    undefined,
    ['text'],
    'label',
    ['World', 'Sports', 'Business', 'Sci/Tech'],
    120000,
    'likely',
    { text: 'The team won the final on Sunday.', label: 1 },
    'AG News topic.',
    TRAIN_TEST,
  ),
  text(
    'yelp_polarity',
    'fancyzhx/yelp_polarity',
    'plain_text',
    ['text'],
    'label',
    POLARITY,
    560000,
    'likely',
    { text: 'Terrible service, cold food.', label: 0 },
    'Yelp review polarity.',
    TRAIN_TEST,
  ),
  text(
    'dbpedia_14',
    'fancyzhx/dbpedia_14',
    'dbpedia_14',
    ['title', 'content'],
    'label',
    [
      'Company',
      'EducationalInstitution',
      'Artist',
      'Athlete',
      'OfficeHolder',
      'MeanOfTransportation',
      'Building',
      'NaturalPlace',
      'Village',
      'Animal',
      'Plant',
      'Album',
      'Film',
      'WrittenWork',
    ],
    560000,
    'likely',
    { label: 9, title: 'Red fox', content: 'The red fox is a small mammal.' },
    'DBpedia ontology, 14 classes.',
    TRAIN_TEST,
  ),
  text(
    'yahoo_answers_topics',
    'community-datasets/yahoo_answers_topics',
    'yahoo_answers_topics',
    ['question_title', 'question_content', 'best_answer'],
    'topic',
    [
      'Society & Culture',
      'Science & Mathematics',
      'Health',
      'Education & Reference',
      'Computers & Internet',
      'Sports',
      'Business & Finance',
      'Entertainment & Music',
      'Family & Relationships',
      'Politics & Government',
    ],
    1400000,
    false,
    {
      id: 0,
      topic: 5,
      question_title: 'Who won?',
      question_content: 'The match last night.',
      best_answer: 'The home team.',
    },
    'Yahoo! Answers topic, 10 classes.',
    TRAIN_TEST,
  ),
  text(
    'trec',
    'CogComp/trec',
    undefined,
    ['text'],
    'coarse_label',
    ['ABBR', 'ENTY', 'DESC', 'HUM', 'LOC', 'NUM'],
    5452,
    'likely',
    { text: 'Who wrote Hamlet ?', coarse_label: 3, fine_label: 29 },
    'TREC question type (coarse).',
    TRAIN_TEST,
  ),
  text(
    'emotion',
    'dair-ai/emotion',
    'split',
    ['text'],
    'label',
    ['sadness', 'joy', 'love', 'anger', 'fear', 'surprise'],
    16000,
    false,
    { text: 'i feel so happy today', label: 1 },
    'Emotion of English tweets, 6 classes.',
    { train: 'train', validation: 'validation', test: 'test' },
  ),
  text(
    'tweet_eval_sentiment',
    'cardiffnlp/tweet_eval',
    'sentiment',
    ['text'],
    'label',
    ['negative', 'neutral', 'positive'],
    45615,
    false,
    { text: 'loving the sunshine', label: 2 },
    'TweetEval sentiment.',
    { train: 'train', validation: 'validation', test: 'test' },
  ),
  text(
    'rotten_tomatoes',
    'cornell-movie-review-data/rotten_tomatoes',
    undefined,
    ['text'],
    'label',
    POLARITY,
    8530,
    'likely',
    { text: 'a dull, lifeless film', label: 0 },
    'Rotten Tomatoes sentence polarity.',
    { train: 'train', validation: 'validation', test: 'test' },
  ),
  text(
    'amazon_polarity',
    'fancyzhx/amazon_polarity',
    'amazon_polarity',
    ['title', 'content'],
    'label',
    POLARITY,
    3600000,
    false,
    { label: 1, title: 'Great', content: 'Works as described.' },
    'Amazon review polarity.',
    TRAIN_TEST,
  ),
];
