/**
 * Rainbow (Lourie et al. 2021) in its own text-to-text format, from allenai/rainbow
 * src/rainbow/preparation/rainbow.py: inputs `"[<dataset>]:\n<field>value</field>\n…"` with the leaderboard
 * field names (list fields as `<name i>…</name i>`), target the label as written in the leaderboard's
 * label files. The Hub copies have renamed columns; each task maps them back to Rainbow's field names.
 */
import { rainbow } from '../preprocessors';
import type { TaskOptions } from '../task';

const REF = 'allenai/rainbow src/rainbow/preparation/rainbow.py';

function rb(
  dataset: string,
  hfId: string,
  config: string,
  fields: Array<[string, string]>,
  label: string,
  n: { train: number; validation: number },
  sampleRecord: Record<string, unknown>,
  description: string,
): TaskOptions {
  return {
    name: `rainbow_${dataset}`,
    description,
    family: 'commonsense',
    benchmark: 'rainbow',
    source: {
      hfId,
      config,
      splits: { train: { hfSplit: 'train' }, validation: { hfSplit: 'validation' } },
      columns: [...fields.map((f) => f[1]), label],
    },
    preprocessor: rainbow({ dataset, fields, label }),
    metrics: ['accuracy'],
    numExamples: n,
    inPaper: true,
    reference: REF,
    sampleRecord,
    outputFeatures: { targetsLength: 8 },
  };
}

/** αNLI, CosmosQA, HellaSwag, PIQA, SocialIQa, WinoGrande. */
export const RAINBOW_TASKS: TaskOptions[] = [
  rb(
    'anli',
    'allenai/art',
    'anli',
    [
      ['obs1', 'observation_1'],
      ['obs2', 'observation_2'],
      ['hyp1', 'hypothesis_1'],
      ['hyp2', 'hypothesis_2'],
    ],
    'label',
    { train: 169654, validation: 1532 },
    {
      observation_1: 'Ann went hiking.',
      observation_2: 'She came home soaked.',
      hypothesis_1: 'It rained on the trail.',
      hypothesis_2: 'She stayed indoors.',
      label: 1,
    },
    'αNLI: the more plausible explanation of two observations.',
  ),
  rb(
    'cosmosqa',
    'allenai/cosmos_qa',
    'default',
    [
      ['context', 'context'],
      ['question', 'question'],
      ['answer0', 'answer0'],
      ['answer1', 'answer1'],
      ['answer2', 'answer2'],
      ['answer3', 'answer3'],
    ],
    'label',
    { train: 25262, validation: 2985 },
    {
      id: '3Q9',
      context: 'I missed the bus.',
      question: 'Why was I late?',
      answer0: 'I missed the bus.',
      answer1: 'I woke early.',
      answer2: 'It was sunny.',
      answer3: 'None of the above choices.',
      label: 0,
    },
    'CosmosQA: commonsense reading comprehension.',
  ),
  rb(
    'hellaswag',
    'Rowan/hellaswag',
    'default',
    [
      ['ctx', 'ctx'],
      ['ending_options', 'endings'],
    ],
    'label',
    { train: 39905, validation: 10042 },
    {
      ind: 4,
      activity_label: 'Removing ice from car',
      ctx_a: 'A man scrapes ice.',
      ctx_b: 'he',
      ctx: 'A man scrapes ice. he',
      endings: ['drives off.', 'eats ice.', 'sings.', 'flies.'],
      source_id: 'activitynet~v_-1IBHYS3L-Y',
      split: 'train',
      split_type: 'indomain',
      label: '0',
    },
    'HellaSwag: the most plausible continuation.',
  ),
  rb(
    'physicaliqa',
    'ybisk/piqa',
    'plain_text',
    [
      ['goal', 'goal'],
      ['sol1', 'sol1'],
      ['sol2', 'sol2'],
    ],
    'label',
    { train: 16113, validation: 1838 },
    { goal: 'Dry wet hair.', sol1: 'Rub it with a towel.', sol2: 'Rub it with water.', label: 0 },
    'PIQA: physical commonsense, two solutions.',
  ),
  rb(
    'socialiqa',
    'allenai/social_i_qa',
    'default',
    [
      ['context', 'context'],
      ['question', 'question'],
      ['answerA', 'answerA'],
      ['answerB', 'answerB'],
      ['answerC', 'answerC'],
    ],
    'label',
    { train: 33410, validation: 1954 },
    {
      context: 'Tracy helped a friend move.',
      question: 'How would Tracy feel?',
      answerA: 'tired',
      answerB: 'bored',
      answerC: 'angry',
      label: '1',
    },
    'SocialIQa: social commonsense, three answers.',
  ),
  rb(
    'winogrande',
    'allenai/winogrande',
    'winogrande_xl',
    [
      ['sentence', 'sentence'],
      ['option1', 'option1'],
      ['option2', 'option2'],
    ],
    'answer',
    { train: 40398, validation: 1267 },
    {
      sentence: 'The trophy did not fit in the case because _ was too big.',
      option1: 'trophy',
      option2: 'case',
      answer: '1',
    },
    'WinoGrande: fill the blank with one of two options.',
  ),
];
