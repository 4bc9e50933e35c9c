/**
 * ExMix family: commonsense (plus super_glue_copa, super_glue_wsc, gem_common_gen and the six rainbow_*
 * tasks from benchmarks/).
 */
import { asText, keyedFields, multipleChoice } from '../preprocessors';
import type { TaskOptions } from '../task';
import { exmixTask } from './spec';

const MC_METRICS = ['accuracy'];

/** The AI2 multiple-choice layout: `choices: {text, label}` and `answerKey` (a label such as 'B'). */
function lettered(prefix: string, fields: Array<string | [string, string]>) {
  return multipleChoice({
    prefix,
    fields,
    choices: 'choices.text',
    answer: 'answerKey',
    answerKeys: 'choices.label',
  });
}

function arc(config: 'ARC-Easy' | 'ARC-Challenge', name: string, n: number): TaskOptions {
  return exmixTask('commonsense', {
    name,
    description: `AI2 Reasoning Challenge (${config}).`,
    hf: 'allenai/ai2_arc',
    config,
    splits: { train: 'train', validation: 'validation', test: 'test' },
    n,
    inPaper: 'likely',
    pre: lettered(name, ['question']),
    metrics: MC_METRICS,
    sample: {
      id: 'Mercury_1',
      question: 'Which is a source of light?',
      choices: { text: ['the Sun', 'a rock'], label: ['A', 'B'] },
      answerKey: 'A',
    },
  });
}

export const COMMONSENSE_TASKS: TaskOptions[] = [
  exmixTask('commonsense', {
    name: 'commonsense_qa',
    description: 'CommonsenseQA: five-way multiple choice.',
    hf: 'tau/commonsense_qa',
    n: 9741,
    inPaper: 'likely',
    pre: lettered('commonsense_qa', ['question']),
    metrics: MC_METRICS,
    sample: {
      id: 'q1',
      question: 'Where do you keep milk cold?',
      question_concept: 'milk',
      choices: { label: ['A', 'B'], text: ['fridge', 'oven'] },
      answerKey: 'A',
    },
  }),
  exmixTask('commonsense', {
    name: 'openbookqa',
    description: 'OpenBookQA: elementary science multiple choice.',
    hf: 'allenai/openbookqa',
    config: 'main',
    splits: { train: 'train', validation: 'validation', test: 'test' },
    n: 4957,
    inPaper: 'likely',
    pre: lettered('openbookqa', [['question', 'question_stem']]),
    metrics: MC_METRICS,
    sample: {
      id: '7-980',
      question_stem: 'The sun is responsible for',
      choices: { text: ['puppies learning tricks', 'plants sprouting'], label: ['A', 'B'] },
      answerKey: 'B',
    },
  }),
  arc('ARC-Easy', 'arc_easy', 2251),
  arc('ARC-Challenge', 'arc_challenge', 1119),
  exmixTask('commonsense', {
    name: 'swag',
    description: 'SWAG: grounded situation continuation.',
    hf: 'allenai/swag',
    config: 'regular',
    n: 73546,
    inPaper: 'likely',
    pre: multipleChoice({
      prefix: 'swag',
      fields: [['context', 'startphrase']],
      choices: (r) => [r.ending0, r.ending1, r.ending2, r.ending3].map(asText),
      answer: 'label',
    }),
    metrics: MC_METRICS,
    sample: {
      'video-id': 'anetv_1',
      'fold-ind': '0',
      startphrase: 'Members of the band are playing. They',
      sent1: 'Members of the band are playing.',
      sent2: 'They',
      'gold-source': 'gold',
      ending0: 'bow.',
      ending1: 'eat.',
      ending2: 'fly.',
      ending3: 'sleep.',
      label: 0,
    },
  }),
  exmixTask('commonsense', {
    name: 'qasc',
    description: 'QASC: question answering via sentence composition.',
    hf: 'allenai/qasc',
    n: 8134,
    inPaper: 'likely',
    pre: lettered('qasc', ['question']),
    metrics: MC_METRICS,
    sample: {
      id: 'q1',
      question: 'What do plants need to grow?',
      choices: { text: ['light', 'noise'], label: ['A', 'B'] },
      answerKey: 'A',
      fact1: '',
      fact2: '',
      combinedfact: '',
      formatted_question: '',
    },
  }),
  exmixTask('commonsense', {
    name: 'quartz',
    description: 'QuaRTz: qualitative relationship questions with a paragraph.',
    hf: 'allenai/quartz',
    splits: { train: 'train', validation: 'validation', test: 'test' },
    n: 2696,
    inPaper: 'likely',
    pre: lettered('quartz', [['paragraph', 'para'], 'question']),
    metrics: MC_METRICS,
    sample: {
      id: 'q1',
      question: 'If the ice is warmer it will melt',
      choices: { text: ['faster', 'slower'], label: ['A', 'B'] },
      answerKey: 'A',
      para: 'Warmer ice melts faster.',
    },
  }),
  exmixTask('commonsense', {
    name: 'sciq',
    description:
      'SciQ: science questions (options sorted alphabetically so the answer position carries no signal).',
    hf: 'allenai/sciq',
    splits: { train: 'train', validation: 'validation', test: 'test' },
    n: 11679,
    inPaper: 'likely',
    pre: (r, ctx) => {
      const options = [r.correct_answer, r.distractor1, r.distractor2, r.distractor3].map(asText).sort();
      const index = options.indexOf(asText(r.correct_answer));
      return multipleChoice({
        prefix: 'sciq',
        fields: ['question'],
        choices: () => options,
        answer: () => index,
      })(r, ctx);
    },
    metrics: MC_METRICS,
    sample: {
      question: 'What gas do plants absorb?',
      distractor3: 'helium',
      distractor1: 'oxygen',
      distractor2: 'neon',
      correct_answer: 'carbon dioxide',
      support: '',
    },
  }),
  exmixTask('commonsense', {
    name: 'riddle_sense',
    description: 'RiddleSense: riddles, five-way multiple choice.',
    hf: 'INK-USC/riddle_sense',
    n: 3510,
    inPaper: false,
    pre: lettered('riddle_sense', ['question']),
    metrics: MC_METRICS,
    sample: {
      answerKey: 'B',
      question: 'What has keys but cannot open locks?',
      choices: { label: ['A', 'B'], text: ['a door', 'a piano'] },
    },
  }),
  exmixTask('commonsense', {
    name: 'wiqa',
    description: 'WIQA: what-if questions about a process.',
    hf: 'allenai/wiqa',
    splits: { train: 'train', validation: 'validation', test: 'test' },
    n: 29808,
    inPaper: 'likely',
    pre: keyedFields({
      prefix: 'wiqa',
      fields: [
        ['process', (r) => asText(r.question_para_step).replace(/, /g, ' ')],
        ['question', 'question_stem'],
      ],
      target: 'answer_label',
    }),
    metrics: MC_METRICS,
    sample: {
      question_stem: 'suppose more rain falls, how will it affect more erosion?',
      question_para_step: ['Rain falls.', 'Soil washes away.'],
      answer_label: 'more',
      answer_label_as_choice: 'A',
      choices: { text: ['more', 'less', 'no effect'], label: ['A', 'B', 'C'] },
      metadata_question_id: 'q1',
    },
  }),
  exmixTask('commonsense', {
    name: 'quarel',
    description: 'QuaRel: qualitative relations, answer A or B.',
    hf: 'community-datasets/quarel',
    splits: { train: 'train', validation: 'validation', test: 'test' },
    n: 1941,
    inPaper: 'likely',
    pre: keyedFields({
      prefix: 'quarel',
      fields: ['question'],
      target: (r) => (Number(r.answer_index) === 0 ? 'A' : 'B'),
    }),
    metrics: MC_METRICS,
    sample: {
      id: 'q1',
      answer_index: 1,
      logical_forms: [''],
      logical_form_pretty: '',
      world_literals: { world1: ['rough'], world2: ['smooth'] },
      question: 'A ball rolls farther on (A) rough carpet (B) smooth floor',
    },
  }),
];
