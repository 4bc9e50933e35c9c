/**
 * Closed-book QA in T5's formats and splits: google-research/google-research t5_closed_book_qa/t5_cbqa/
 * preprocessors.py (prefixes 'nq question: ', 'wq question: ', 'trivia_qa question: '; target the first
 * answer, all answers kept for the metric) and tasks.py (the ~90/10 train/validation cut of `train` that
 * matches ORQA, and the official validation split used as test).
 */
import { getTaskMetricSpec } from '../../eval/aggregate';
import { qa } from '../preprocessors';
import type { TaskOptions } from '../task';

const REF = 'google-research/google-research t5_closed_book_qa/t5_cbqa/{preprocessors,tasks}.py';

/** One declaration: the metrics the closed-book QA aggregation scores a task with. */
const metricsOf = (key: string): string[] => [...getTaskMetricSpec('cbqa', key).metrics];

/** natural_questions_open, web_questions_open, trivia_qa_open. */
export const CBQA_TASKS: TaskOptions[] = [
  {
    name: 'natural_questions_open',
    description: 'Natural Questions (open): answer from the parameters alone.',
    family: 'closed_book_qa',
    benchmark: 'cbqa',
    source: {
      hfId: 'google-research-datasets/nq_open',
      config: 'nq_open',
      splits: {
        train: { hfSplit: 'train', end: 79168 },
        validation: { hfSplit: 'train', start: 79168 },
        test: { hfSplit: 'validation' },
      },
      columns: ['question', 'answer'],
    },
    preprocessor: qa({ prefix: 'nq question:', question: 'question', answers: 'answer' }),
    postprocessor: 'qa',
    metrics: metricsOf('natural_questions'),
    numExamples: { train: 79168, validation: 8757, test: 3610 },
    inPaper: true,
    reference: REF,
    sampleRecord: { question: 'where is the eiffel tower', answer: ['Paris', 'in Paris'] },
    outputFeatures: { inputsLength: 128, targetsLength: 32 },
  },
  {
    name: 'web_questions_open',
    description: 'WebQuestions (open): Freebase questions, closed book.',
    family: 'closed_book_qa',
    benchmark: 'cbqa',
    source: {
      hfId: 'stanfordnlp/web_questions',
      config: 'default',
      splits: {
        train: { hfSplit: 'train', end: 3417 },
        validation: { hfSplit: 'train', start: 3417 },
        test: { hfSplit: 'test' },
      },
      columns: ['question', 'answers'],
    },
    preprocessor: qa({ prefix: 'wq question:', question: 'question', answers: 'answers' }),
    postprocessor: 'qa',
    metrics: metricsOf('web_questions'),
    numExamples: { train: 3417, validation: 361, test: 2032 },
    inPaper: true,
    reference: REF,
    sampleRecord: {
      url: 'http://www.freebase.com/view/en/justin_bieber',
      question: 'what is the name of justin bieber brother?',
      answers: ['Jazmyn Bieber', 'Jaxon Bieber'],
    },
    outputFeatures: { inputsLength: 128, targetsLength: 32 },
  },
  {
    name: 'trivia_qa_open',
    description: 'TriviaQA (unfiltered, no context): trivia questions, closed book.',
    family: 'closed_book_qa',
    benchmark: 'cbqa',
    source: {
      hfId: 'mandarjoshi/trivia_qa',
      config: 'unfiltered.nocontext',
      splits: {
        train: { hfSplit: 'train', end: 78785 },
        validation: { hfSplit: 'train', start: 78785 },
        test: { hfSplit: 'validation' },
      },
      columns: ['question', 'answer'],
    },
    preprocessor: (r, ctx) => {
      const ex = qa({ prefix: 'trivia_qa question:', question: 'question', answers: 'answer.aliases' })(
        r,
        ctx,
      );
      // T5 trains on answer.value and scores against the aliases.
      const answer = (r.answer ?? {}) as Record<string, unknown>;
      if (ex && !Array.isArray(ex) && typeof answer.value === 'string') ex.targets = answer.value;
      return ex;
    },
    postprocessor: 'qa',
    metrics: metricsOf('trivia_qa'),
    numExamples: { train: 78785, validation: 8837, test: 11313 },
    inPaper: true,
    reference: REF,
    sampleRecord: {
      question: 'Which Lloyd Webber musical premiered in the US on 10th December 1993?',
      question_id: 'tc_33',
      question_source: 'http://www.triviacountry.com/',
      answer: {
        aliases: ['Sunset Boulevard', 'Sunset Blvd'],
        normalized_aliases: ['sunset boulevard', 'sunset blvd'],
        matched_wiki_entity_name: '',
        normalized_matched_wiki_entity_name: '',
        normalized_value: 'sunset boulevard',
        type: 'WikipediaEntity',
        value: 'Sunset Boulevard',
      },
    },
    outputFeatures: { inputsLength: 128, targetsLength: 32 },
  },
];
