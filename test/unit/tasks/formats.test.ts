// Worked examples: literal record in -> literal text out, for every preprocessor builder and every
// benchmark format (T5's t5/data/glue_utils.py and preprocessors.py, allenai/rainbow; docs/tasks.md).

import { TaskRegistry } from '../../../lib/tasks';
import { CBQA_TASKS } from '../../../lib/tasks/benchmarks/cbqa';
import { GEM_TASKS } from '../../../lib/tasks/benchmarks/gem';
import { RAINBOW_TASKS } from '../../../lib/tasks/benchmarks/rainbow';
import {
  recordPreprocessor,
  SUPERGLUE_TASKS,
  wscSimplePreprocessor,
} from '../../../lib/tasks/benchmarks/superglue';
import { stsb } from '../../../lib/tasks/exmix/classification';
import {
  dialogue,
  glue,
  keyedFields,
  labelText,
  multipleChoice,
  padPunctuation,
  qa,
  rainbow,
  summarize,
  textOnly,
} from '../../../lib/tasks/preprocessors';
import { type PreprocessContext, Task, type TaskOptions } from '../../../lib/tasks/task';

const train: PreprocessContext = { task: 't', split: 'train', training: true };
const val: PreprocessContext = { task: 't', split: 'validation', training: false };

function task(list: TaskOptions[], name: string): Task {
  const opts = list.find((t) => t.name === name);
  if (!opts) throw new Error(`no ${name}`);
  return new Task(opts);
}

describe('preprocessor builders', () => {
  it('keyedFields: "<prefix> key: value …" with a label map', () => {
    const p = keyedFields({
      prefix: 'snli',
      fields: ['premise', ['hypo', 'hypothesis']],
      target: { column: 'label', labels: ['entailment', 'neutral', 'contradiction'] },
    });
    expect(p({ premise: 'A man sleeps.', hypothesis: 'A person rests.', label: 0 }, train)).toEqual({
      inputs: 'snli premise: A man sleeps. hypo: A person rests.',
      targets: 'entailment',
    });
    const drop = keyedFields({
      prefix: 'x',
      fields: ['a'],
      target: { column: 'label', labels: ['n', 'p'] },
      dropEmptyTarget: true,
    });
    expect(drop({ a: 'b', label: -1 }, train)).toBeNull();
  });

  it('labelText: index lists, -1 as <unk>, maps, and a clear error outside them', () => {
    expect(labelText(1, ['False', 'True'])).toBe('True');
    expect(labelText(-1, ['False', 'True'])).toBe('<unk>');
    expect(labelText('4', { '0': 'negative', '4': 'positive' })).toBe('positive');
    expect(() => labelText(5, ['a', 'b'])).toThrow(/label 5 is not an index into \[a, b\]/);
    expect(() => labelText('x', { y: 'z' })).toThrow(/not one of y/);
  });

  it('qa: closed book, reading comprehension, no answer', () => {
    expect(
      qa({ prefix: 'nq question:', question: 'question', answers: 'answer' })(
        { question: 'who?', answer: ['me', 'I'] },
        train,
      ),
    ).toEqual({
      inputs: 'nq question: who?',
      targets: 'me',
      answers: ['me', 'I'],
    });
    const squad = qa({ prefix: '', question: 'question', answers: 'answers.text', context: 'context' });
    expect(
      squad(
        {
          question: 'Capital?',
          context: 'Paris is the capital.',
          answers: { text: ['Paris'], answer_start: [0] },
        },
        train,
      ),
    ).toEqual({
      inputs: 'question: Capital? context: Paris is the capital.',
      targets: 'Paris',
      answers: ['Paris'],
    });
    const v2 = qa({
      prefix: 'squad_v2',
      question: 'q',
      answers: 'a.text',
      context: 'c',
      noAnswer: 'unanswerable',
    });
    expect(v2({ q: 'Q?', c: 'C.', a: { text: [] } }, train)).toEqual({
      inputs: 'squad_v2 question: Q? context: C.',
      targets: 'unanswerable',
      answers: ['unanswerable'],
    });
    expect(squad({ question: 'Q', context: 'C', answers: { text: [] } }, train)).toBeNull();
  });

  it("SQuAD tasks pad punctuation as T5's squad preprocessor (preprocessors_test.py test_squad)", () => {
    // google-research/text-to-text-transfer-transformer t5/data/preprocessors_test.py, test_squad.
    const record = {
      id: 'testid',
      title: 't',
      context: 'Some context.',
      question: 'A question?',
      answers: { text: ['The answer.', 'Another answer.'], answer_start: [0, 0] },
    };
    expect(TaskRegistry.get('squad_v1').preprocessor(record, train)).toEqual({
      inputs: 'question: A question ? context: Some context . ',
      targets: 'The answer . ',
      answers: ['The answer . ', 'Another answer . '],
    });
    for (const name of ['squad_v2', 'quoref', 'adversarial_qa']) {
      const ex = TaskRegistry.get(name).preprocessor(record, train) as { inputs: string; targets: string };
      expect(ex.inputs).toBe(`${name} question: A question ? context: Some context . `);
      expect(ex.targets).toBe('The answer . ');
    }
  });

  it('padPunctuation: every ASCII punctuation mark (RE2 [[:punct:]]) spaced, whitespace collapsed, nothing trimmed', () => {
    expect(padPunctuation("Hello, world! It's 3.5%.")).toBe("Hello , world ! It ' s 3 . 5 % . ");
    expect(padPunctuation('(a)\t\n[b]{c}~`|^_\\')).toBe(' ( a ) [ b ] { c } ~ ` | ^ _ \\ ');
    // Non-ASCII punctuation is not in RE2's [[:punct:]], and \v is not in RE2's \s.
    expect(padPunctuation('“quoted”  ¿sí?\u000b')).toBe('“quoted” ¿sí ? \u000b');
  });

  it('multipleChoice: lettered options, answer by key or index', () => {
    const p = multipleChoice({
      prefix: 'openbookqa',
      fields: [['question', 'question_stem']],
      choices: 'choices.text',
      answer: 'answerKey',
      answerKeys: 'choices.label',
    });
    expect(
      p(
        { question_stem: 'Sun is a', choices: { text: ['star', 'moon'], label: ['A', 'B'] }, answerKey: 'A' },
        train,
      ),
    ).toEqual({
      inputs: 'openbookqa question: Sun is a options: (A) star (B) moon',
      targets: 'star',
    });
    const byIndex = multipleChoice({ prefix: 'tool', fields: ['goal'], choices: 'choices', answer: 'label' });
    expect(byIndex({ goal: 'Cut.', choices: ['pen', 'scissors'], label: 1 }, train)?.valueOf()).toEqual({
      inputs: 'tool goal: Cut. options: (A) pen (B) scissors',
      targets: 'scissors',
    });
  });

  it('dialogue: history joined with " | ", the last turn as target', () => {
    expect(
      dialogue({ prefix: 'daily_dialog', turns: 'dialog' })(
        { dialog: ['Hi.', 'Hello!', 'How are you?'] },
        train,
      ),
    ).toEqual({
      inputs: 'daily_dialog history: Hi. | Hello!',
      targets: 'How are you?',
    });
    expect(dialogue({ prefix: 'd', turns: 't' })({ t: ['only one'] }, train)).toBeNull();
  });

  it('summarize and textOnly', () => {
    expect(
      summarize({ prefix: 'summarize:', document: 'article', summary: 'highlights' })(
        { article: 'Long.', highlights: 'Short.' },
        train,
      ),
    ).toEqual({
      inputs: 'summarize: Long.',
      targets: 'Short.',
    });
    expect(textOnly()({ text: 'Some text.' }, train)).toEqual({
      inputs: '',
      targets: 'Some text.',
      text: 'Some text.',
    });
  });

  it('rainbow: "[<dataset>]:\\n<field>value</field>" with list fields numbered', () => {
    const p = rainbow({
      dataset: 'hellaswag',
      fields: [
        ['ctx', 'ctx'],
        ['ending_options', 'endings'],
      ],
      label: 'label',
    });
    expect(
      p({ ctx: 'He opens the door', endings: ['and walks in.', 'and flies.'], label: '0' }, train),
    ).toEqual({
      inputs:
        '[hellaswag]:\n<ctx>He opens the door</ctx>\n<ending_options 0>and walks in.</ending_options 0>\n<ending_options 1>and flies.</ending_options 1>',
      targets: '0',
    });
  });

  it("glue: T5's format, keys sorted unless ordered, <unk> for -1", () => {
    const copa = glue({ benchmark: 'copa', labelNames: ['choice1', 'choice2'] });
    expect(
      copa({ premise: 'P.', choice1: 'A.', choice2: 'B.', question: 'cause', idx: 3, label: 1 }, train),
    ).toEqual({
      inputs: 'copa choice1: A. choice2: B. premise: P. question: cause',
      targets: 'choice2',
      idx: 3,
    });
    expect(
      copa({ premise: 'P.', choice1: 'A.', choice2: 'B.', question: 'effect', idx: 4, label: -1 }, val),
    ).toMatchObject({ targets: '<unk>' });
  });

  it('stsb: rounded to the nearest 0.2, one decimal, half to even like tf.round', () => {
    const p = stsb();
    expect(
      p({ sentence1: 'A plane takes off.', sentence2: 'A jet takes off.', label: 3.81, idx: 0 }, train),
    ).toEqual({
      inputs: 'stsb sentence1: A plane takes off. sentence2: A jet takes off.',
      targets: '3.8',
      idx: 0,
    });
    expect(p({ sentence1: 'a', sentence2: 'b', label: 2.5, idx: 0 }, train)).toMatchObject({
      targets: '2.4',
    });
    expect(p({ sentence1: 'a', sentence2: 'b', label: 5, idx: 0 }, train)).toMatchObject({ targets: '5.0' });
  });
});

describe('SuperGLUE (T5 formats)', () => {
  const one = (name: string, rec: Record<string, unknown>, split = 'train') =>
    task(SUPERGLUE_TASKS, name).preprocess(rec, split);

  it('BoolQ, CB, RTE, WiC', () => {
    expect(
      one('super_glue_boolq', { question: 'is the sky blue', passage: 'The sky is blue.', idx: 0, label: 1 }),
    ).toEqual([
      { inputs: 'boolq passage: The sky is blue. question: is the sky blue', targets: 'True', idx: 0 },
    ]);
    expect(
      one('super_glue_cb', { premise: 'It rained.', hypothesis: 'It was dry.', idx: 1, label: 1 })[0],
    ).toMatchObject({
      inputs: 'cb hypothesis: It was dry. premise: It rained.',
      targets: 'contradiction',
    });
    expect(
      one('super_glue_rte', { premise: 'A cat sat.', hypothesis: 'An animal sat.', idx: 2, label: 1 })[0],
    ).toMatchObject({
      inputs: 'rte hypothesis: An animal sat. premise: A cat sat.',
      targets: 'not_entailment',
    });
    expect(
      one('super_glue_wic', {
        word: 'bank',
        sentence1: 'On the bank.',
        sentence2: 'The bank closed.',
        start1: 7,
        start2: 4,
        end1: 11,
        end2: 8,
        idx: 0,
        label: 0,
      })[0],
    ).toMatchObject({
      inputs: 'wic sentence1: On the bank. sentence2: The bank closed. word: bank',
      targets: 'False',
    });
  });

  it('COPA: choice1 choice2 premise question', () => {
    expect(
      one('super_glue_copa', {
        premise: 'The man broke his toe.',
        choice1: 'He dropped a hammer.',
        choice2: 'He got a hole in his sock.',
        question: 'cause',
        idx: 0,
        label: 0,
      })[0],
    ).toMatchObject({
      inputs:
        'copa choice1: He dropped a hammer. choice2: He got a hole in his sock. premise: The man broke his toe. question: cause',
      targets: 'choice1',
    });
  });

  it('MultiRC: question answer paragraph, <br> to space and <b> removed', () => {
    expect(
      one('super_glue_multirc', {
        paragraph: '<b>Sent 1: </b>Ann ran.<br><b>Sent 2: </b>Bob sat.<br>',
        question: 'Who ran?',
        answer: 'Ann',
        idx: { paragraph: 5, question: 6, answer: 7 },
        label: 1,
      }),
    ).toEqual([
      {
        inputs: 'multirc question: Who ran? answer: Ann paragraph: Sent 1: Ann ran. Sent 2: Bob sat. ',
        targets: 'True',
        'idx/paragraph': 5,
        'idx/question': 6,
        'idx/answer': 7,
      },
    ]);
  });

  const recordRec = {
    passage: 'Ann met Bob in Paris.\n@highlight\nThey talked\n@highlight\nIt rained',
    query: '@placeholder met Bob.',
    entities: ['Ann', 'Bob', 'Paris'],
    answers: ['Ann', 'Anne'],
    idx: { passage: 1, query: 2 },
  };
  const recordInputs =
    'record query: @placeholder met Bob. entities: Ann, Bob, Paris passage: Ann met Bob in Paris. They talked. It rained';

  it('ReCoRD: @highlight joined, one training example per answer, one per query at eval', () => {
    const out = recordPreprocessor()(recordRec, train) as Array<Record<string, unknown>>;
    expect(out.map((e) => [e.inputs, e.targets])).toEqual([
      [recordInputs, 'Ann'],
      [recordInputs, 'Anne'],
    ]);
    expect(out[0]).toMatchObject({ answers: ['Ann', 'Anne'], 'idx/passage': 1, 'idx/query': 2 });
    expect(recordPreprocessor()(recordRec, val)).toMatchObject({
      inputs: recordInputs,
      targets: 'Ann',
      answers: ['Ann', 'Anne'],
    });
    expect(recordPreprocessor()({ ...recordRec, answers: [] }, val)).toMatchObject({ targets: '<unk>' });
  });

  it('WSC: "wsc:" with the pronoun as *he*; training keeps true referents only', () => {
    const rec = {
      text: 'Mitchell asked Tom if he could lend some money.',
      span1_index: 2,
      span2_index: 4,
      span1_text: 'Tom',
      span2_text: 'he',
      idx: 0,
      label: 1,
    };
    expect(wscSimplePreprocessor()(rec, train)).toEqual({
      inputs: 'wsc: Mitchell asked Tom if *he* could lend some money.',
      targets: 'Tom',
      label: 1,
      idx: 0,
    });
    expect(wscSimplePreprocessor()({ ...rec, span1_text: 'Mitchell', label: 0 }, train)).toBeNull();
    expect(wscSimplePreprocessor()({ ...rec, span1_text: 'Mitchell', label: 0 }, val)).toMatchObject({
      targets: 'Mitchell',
      label: 0,
    });
    expect(() => wscSimplePreprocessor()({ ...rec, span2_index: 3 }, val)).toThrow(/not the pronoun 'he'/);
  });

  it("WSC: T5's special case where the pronoun index points past the pronoun", () => {
    const text =
      'When they had eventually calmed down a bit , and had gotten home, Mr. Farley put the magic pebble in an iron safe . Some day they might want to use it , but really for now, what more could they wish for?';
    expect(
      wscSimplePreprocessor()(
        { text, span1_text: 'the magic pebble', span2_text: 'it', span2_index: 1, idx: 0, label: 1 },
        val,
      ),
    ).toMatchObject({
      inputs:
        'wsc: When they had eventually calmed down a bit , and had gotten home, Mr. Farley put the magic pebble in an iron safe . Some day they might want to use *it* , but really for now, what more could they wish for?',
    });
  });
});

describe('closed-book QA (T5 CBQA)', () => {
  it('prefixes and first-answer targets', () => {
    expect(
      task(CBQA_TASKS, 'natural_questions_open').preprocess({
        question: 'where is the eiffel tower',
        answer: ['Paris', 'in Paris'],
      }),
    ).toEqual([
      { inputs: 'nq question: where is the eiffel tower', targets: 'Paris', answers: ['Paris', 'in Paris'] },
    ]);
    expect(
      task(CBQA_TASKS, 'web_questions_open').preprocess({
        url: 'u',
        question: 'who?',
        answers: ['A', 'B'],
      })[0],
    ).toMatchObject({
      inputs: 'wq question: who?',
      targets: 'A',
    });
    const tqa = task(CBQA_TASKS, 'trivia_qa_open').preprocess({
      question: 'Which musical?',
      answer: { value: 'Sunset Boulevard', aliases: ['Sunset Blvd', 'Sunset Boulevard'] },
    });
    expect(tqa).toEqual([
      {
        inputs: 'trivia_qa question: Which musical?',
        targets: 'Sunset Boulevard',
        answers: ['Sunset Blvd', 'Sunset Boulevard'],
      },
    ]);
  });

  it("uses T5's ~90/10 cut of train and the official validation as test", () => {
    expect(task(CBQA_TASKS, 'natural_questions_open').source.splits).toEqual({
      train: { hfSplit: 'train', end: 79168 },
      validation: { hfSplit: 'train', start: 79168 },
      test: { hfSplit: 'validation' },
    });
    expect(task(CBQA_TASKS, 'trivia_qa_open').source.splits.train).toEqual({ hfSplit: 'train', end: 78785 });
    expect(task(CBQA_TASKS, 'web_questions_open').source.splits.validation).toEqual({
      hfSplit: 'train',
      start: 3417,
    });
  });
});

describe('Rainbow and GEM', () => {
  it('PIQA, WinoGrande, αNLI in the Rainbow format with the leaderboard field names', () => {
    expect(
      task(RAINBOW_TASKS, 'rainbow_physicaliqa').preprocess({
        goal: 'Dry hair.',
        sol1: 'Use a towel.',
        sol2: 'Use water.',
        label: 0,
      }),
    ).toEqual([
      {
        inputs: '[physicaliqa]:\n<goal>Dry hair.</goal>\n<sol1>Use a towel.</sol1>\n<sol2>Use water.</sol2>',
        targets: '0',
      },
    ]);
    expect(
      task(RAINBOW_TASKS, 'rainbow_winogrande').preprocess({
        sentence: 'A _ b.',
        option1: 'x',
        option2: 'y',
        answer: '2',
      })[0],
    ).toEqual({
      inputs: '[winogrande]:\n<sentence>A _ b.</sentence>\n<option1>x</option1>\n<option2>y</option2>',
      targets: '2',
    });
    expect(
      task(RAINBOW_TASKS, 'rainbow_anli').preprocess({
        observation_1: 'O1',
        observation_2: 'O2',
        hypothesis_1: 'H1',
        hypothesis_2: 'H2',
        label: 2,
      })[0]?.inputs,
    ).toBe('[anli]:\n<obs1>O1</obs1>\n<obs2>O2</obs2>\n<hyp1>H1</hyp1>\n<hyp2>H2</hyp2>');
  });

  it('GEM: keyed fields, references kept for the metrics', () => {
    expect(
      task(GEM_TASKS, 'gem_common_gen').preprocess({
        concepts: ['dog', 'frisbee'],
        target: 'A dog catches a frisbee.',
        references: [],
      }),
    ).toEqual([
      {
        inputs: 'common_gen concepts: dog, frisbee',
        targets: 'A dog catches a frisbee.',
        answers: ['A dog catches a frisbee.'],
      },
    ]);
    expect(
      task(GEM_TASKS, 'gem_dart').preprocess({
        tripleset: [
          ['A', 'B', 'C'],
          ['A', 'D', 'E'],
        ],
        target: 't',
        references: ['t', 'u'],
      })[0],
    ).toEqual({
      inputs: 'dart triples: A | B | C ; A | D | E',
      targets: 't',
      answers: ['t', 'u'],
    });
  });
});

describe('BigInt values (Parquet INT64)', () => {
  it('map through label lists and appear readably in errors', () => {
    expect(labelText(1n, ['False', 'True'])).toBe('True');
    expect(() => labelText(7n, ['a', 'b'])).toThrow('label 7 is not an index into [a, b]');
  });
});
