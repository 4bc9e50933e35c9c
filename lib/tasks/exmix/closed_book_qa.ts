/** ExMix family: closed-book QA (plus natural_questions_open, web_questions_open, trivia_qa_open from benchmarks/). */
import { asList, qa } from '../preprocessors';
import type { TaskOptions } from '../task';
import { exmixTask } from './spec';

function kilt(
  config: string,
  name: string,
  n: number,
  sample: Record<string, unknown>,
  description: string,
): TaskOptions {
  return exmixTask('closed_book_qa', {
    name,
    description,
    hf: 'facebook/kilt_tasks',
    config,
    n,
    inPaper: 'likely',
    pre: qa({
      prefix: `${name} question:`,
      question: 'input',
      answers: (r) =>
        asList((r.output as Array<Record<string, unknown>> | undefined)?.map((o) => o.answer)).filter(
          Boolean,
        ),
    }),
    postprocessor: 'qa',
    metrics: ['squad'],
    sample,
    targetsLength: 32,
  });
}

export const CLOSED_BOOK_QA_TASKS: TaskOptions[] = [
  exmixTask('closed_book_qa', {
    name: 'hotpot_qa_closed_book',
    description: 'HotpotQA questions answered without the paragraphs.',
    hf: 'hotpotqa/hotpot_qa',
    config: 'distractor',
    n: 90447,
    inPaper: 'likely',
    pre: qa({ prefix: 'hotpot_qa question:', question: 'question', answers: 'answer' }),
    postprocessor: 'qa',
    metrics: ['squad'],
    sample: {
      id: '5a8b',
      question: 'Which city hosts the Louvre?',
      answer: 'Paris',
      type: 'bridge',
      level: 'easy',
      supporting_facts: { title: [], sent_id: [] },
      context: { title: [], sentences: [] },
    },
    targetsLength: 32,
  }),
  kilt(
    'structured_zeroshot',
    'kilt_zsre',
    147909,
    {
      id: '1',
      input: 'Ann Smith [SEP] place of birth',
      meta: {},
      output: [{ answer: 'Paris', meta: {}, provenance: [] }],
    },
    'KILT Zero-shot RE: slot filling from entity and relation.',
  ),
  kilt(
    'trex',
    'kilt_trex',
    2284168,
    {
      id: '1',
      input: 'Rome [SEP] country',
      meta: {},
      output: [{ answer: 'Italy', meta: {}, provenance: [] }],
    },
    'KILT T-REx: slot filling from entity and relation.',
  ),
  exmixTask('closed_book_qa', {
    name: 'mkqa_en',
    description: 'MKQA (English queries and answers), closed book.',
    hf: 'apple/mkqa',
    config: 'mkqa',
    splits: { train: 'train' },
    n: 10000,
    inPaper: false,
    pre: qa({ prefix: 'mkqa question:', question: 'query', answers: 'answers.en.text' }),
    postprocessor: 'qa',
    metrics: ['squad'],
    sample: {
      example_id: 1,
      queries: { en: 'who wrote hamlet' },
      query: 'who wrote hamlet',
      answers: { en: [{ type: 0, entity: 'Q692', text: 'William Shakespeare', aliases: ['Shakespeare'] }] },
    },
    targetsLength: 32,
  }),
];
