/**
 * SuperGLUE in T5's exact text-to-text formats.
 * Sources: google-research/text-to-text-transfer-transformer t5/data/glue_utils.py (label classes, feature
 * orders: MultiRC question/answer/paragraph, WiC sentence1/sentence2/word; the rest sorted alphabetically),
 * t5/data/preprocessors.py (glue, record, wsc_simple, _wsc_inputs), t5/data/tasks.py (metrics; WSC trains on
 * correct referents only). Data: the Hub's aps/super_glue (the former `super_glue`), same columns as TFDS.
 */
import { getTaskMetricSpec } from '../../eval/aggregate';
import { Ext5Error } from '../../util/errors';
import { asList, asText, glue } from '../preprocessors';
import type { DataRecord, Example, Preprocessor, TaskOptions } from '../task';

const HF = 'aps/super_glue';
const REF = 'google-research/text-to-text-transfer-transformer t5/data/preprocessors.py, glue_utils.py';
const SPLITS = {
  train: { hfSplit: 'train' },
  validation: { hfSplit: 'validation' },
  test: { hfSplit: 'test' },
};

/** T5's `record`: @highlight lines joined; one example per answer when training, one per query otherwise. */
export function recordPreprocessor(): Preprocessor {
  return (r, ctx) => {
    let passage = asText(r.passage);
    passage = passage.replace(/(\.|\?|!|"|')\n@highlight\n/g, '$1 ');
    passage = passage.replace(/\n@highlight\n/g, '. ');
    const entities = asList(r.entities);
    const inputs = [
      'record query:',
      asText(r.query),
      'entities:',
      entities.join(', '),
      'passage:',
      passage,
    ].join(' ');
    const answers = asList(r.answers);
    const idx = (r.idx ?? {}) as Record<string, unknown>;
    const base = { inputs, answers, 'idx/passage': idx.passage, 'idx/query': idx.query };
    if (answers.length === 0) return { ...base, targets: '<unk>' };
    if (!ctx.training) return { ...base, targets: answers[0]! };
    return answers.map((a): Example => ({ ...base, targets: a }));
  };
}

const WSC_SPECIAL: Record<string, string> = {
  'The boy continued to whip the pony , and eventually the pony threw him over. John laughed out quite loud. "Good for him," he said. ':
    'The boy continued to whip the pony , and eventually the pony threw him over. John laughed out quite loud. "Good for X ," he said.',
  'When they had eventually calmed down a bit , and had gotten home, Mr. Farley put the magic pebble in an iron safe . Some day they might want to use it , but really for now, what more could they wish for?':
    'When they had eventually calmed down a bit , and had gotten home, Mr. Farley put the magic pebble in an iron safe . Some day they might want to use X , but really for now, what more could they wish for?',
};

/** T5's `_wsc_inputs`: the text with the pronoun (word span2_index, split on ' ') replaced by X. */
export function wscBlank(r: DataRecord): string {
  const text = asText(r.text);
  const special = WSC_SPECIAL[text];
  if (special !== undefined) return special;
  const words = text.split(' ');
  const i = Number(r.span2_index);
  if (!(i > 0 && i < words.length)) {
    throw new Ext5Error(
      'BAD_RECORD',
      `wsc: span2_index ${r.span2_index} is outside the text's ${words.length} words`,
    );
  }
  if (words[i] !== r.span2_text) {
    throw new Ext5Error(
      'BAD_RECORD',
      `wsc: word ${i} of the text is '${words[i]}', not the pronoun '${asText(r.span2_text)}' (span2_text)`,
    );
  }
  return [words.slice(0, i).join(' '), 'X', words.slice(i + 1).join(' ')].join(' ');
}

/** T5's `wsc_simple`: `"wsc: … *pronoun* …"` → the candidate referent; training keeps true referents only. */
export function wscSimplePreprocessor(): Preprocessor {
  return (r, ctx) => {
    if (ctx.training && !(r.label === true || Number(r.label) === 1)) return null;
    const marked = wscBlank(r).replace(/ X /g, () => ` *${asText(r.span2_text)}* `);
    return { inputs: `wsc: ${marked}`, targets: asText(r.span1_text), label: r.label ?? 0, idx: r.idx };
  };
}

function sg(
  config: string,
  name: string,
  pre: Preprocessor,
  n: { train: number; validation: number; test: number },
  sampleRecord: DataRecord,
  extra: Partial<TaskOptions> = {},
): TaskOptions {
  return {
    name: `super_glue_${name}`,
    benchmark: 'superglue',
    source: { hfId: HF, config, splits: SPLITS, columns: Object.keys(sampleRecord) },
    preprocessor: pre,
    // One declaration: the metrics the SuperGLUE aggregation scores the task with.
    metrics: [...getTaskMetricSpec('superglue', name).metrics],
    numExamples: n,
    inPaper: true,
    reference: REF,
    sampleRecord,
    outputFeatures: { targetsLength: 62 },
    ...extra,
  };
}

/** The eight SuperGLUE tasks, with T5's names (super_glue_<task>). */
export const SUPERGLUE_TASKS: TaskOptions[] = [
  sg(
    'boolq',
    'boolq',
    glue({ benchmark: 'boolq', labelNames: ['False', 'True'], featureNames: ['passage', 'question'] }),
    { train: 9427, validation: 3270, test: 3245 },
    { question: 'is the sky blue', passage: 'The sky is blue on a clear day.', idx: 0, label: 1 },
    { family: 'reading_comprehension', description: 'BoolQ: yes/no questions about a passage.' },
  ),
  sg(
    'cb',
    'cb',
    glue({
      benchmark: 'cb',
      labelNames: ['entailment', 'contradiction', 'neutral'],
      featureNames: ['hypothesis', 'premise'],
    }),
    { train: 250, validation: 56, test: 250 },
    { premise: 'It rained all day.', hypothesis: 'It was dry.', idx: 0, label: 1 },
    { family: 'nli', description: 'CommitmentBank: three-way entailment.' },
  ),
  sg(
    'copa',
    'copa',
    glue({
      benchmark: 'copa',
      labelNames: ['choice1', 'choice2'],
      featureNames: ['choice1', 'choice2', 'premise', 'question'],
    }),
    { train: 400, validation: 100, test: 500 },
    {
      premise: 'The man broke his toe.',
      choice1: 'He dropped a hammer on his foot.',
      choice2: 'He got a hole in his sock.',
      question: 'cause',
      idx: 0,
      label: 0,
    },
    { family: 'commonsense', description: 'Choice of Plausible Alternatives.' },
  ),
  sg(
    'multirc',
    'multirc',
    glue({
      benchmark: 'multirc',
      labelNames: ['False', 'True'],
      featureNames: ['question', 'answer', 'paragraph'],
    }),
    { train: 27243, validation: 4848, test: 9693 },
    {
      paragraph: '<b>Sent 1: </b>Ann ran.<br><b>Sent 2: </b>Bob sat.<br>',
      question: 'Who ran?',
      answer: 'Ann',
      idx: { paragraph: 0, question: 0, answer: 0 },
      label: 1,
    },
    {
      family: 'reading_comprehension',
      postprocessor: 'multirc',
      description: 'MultiRC: is this answer to the question right?',
    },
  ),
  sg(
    'record',
    'record',
    recordPreprocessor(),
    { train: 100730, validation: 10000, test: 10000 },
    {
      passage: 'Ann met Bob in Paris.\n@highlight\nThey talked',
      query: '@placeholder met Bob.',
      entities: ['Ann', 'Bob', 'Paris'],
      entity_spans: { text: ['Ann', 'Bob', 'Paris'], start: [0, 8, 15], end: [3, 11, 20] },
      answers: ['Ann'],
      idx: { passage: 0, query: 0 },
    },
    {
      family: 'reading_comprehension',
      postprocessor: 'record',
      description: 'ReCoRD: cloze-style entity answers.',
    },
  ),
  sg(
    'rte',
    'rte',
    glue({
      benchmark: 'rte',
      labelNames: ['entailment', 'not_entailment'],
      featureNames: ['hypothesis', 'premise'],
    }),
    { train: 2490, validation: 277, test: 3000 },
    { premise: 'A cat sat on the mat.', hypothesis: 'An animal sat.', idx: 0, label: 0 },
    { family: 'nli', description: 'Recognizing Textual Entailment.' },
  ),
  sg(
    'wic',
    'wic',
    glue({
      benchmark: 'wic',
      labelNames: ['False', 'True'],
      featureNames: ['sentence1', 'sentence2', 'word'],
    }),
    { train: 5428, validation: 638, test: 1400 },
    {
      word: 'bank',
      sentence1: 'He sat on the bank.',
      sentence2: 'The bank was closed.',
      start1: 14,
      start2: 4,
      end1: 18,
      end2: 8,
      idx: 0,
      label: 0,
    },
    { family: 'classification', description: 'Word in Context: same sense or not.' },
  ),
  sg(
    'wsc.fixed',
    'wsc',
    wscSimplePreprocessor(),
    { train: 554, validation: 104, test: 146 },
    {
      text: 'Mitchell asked Tom if he could lend some money.',
      span1_index: 2,
      span2_index: 4,
      span1_text: 'Tom',
      span2_text: 'he',
      idx: 0,
      label: 1,
    },
    {
      family: 'commonsense',
      postprocessor: 'wsc_simple',
      description: 'Winograd Schema: the referent of the *pronoun*.',
    },
  ),
];
