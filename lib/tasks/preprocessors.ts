/**
 * Preprocessor builders: most tasks are data (a few column names and a prefix), not code. Each builder
 * returns a Preprocessor (record → {inputs, targets}). The benchmark-specific formats of T5 (glue, record,
 * wsc_simple) follow google-research/text-to-text-transfer-transformer t5/data/preprocessors.py; the
 * closed-book QA ones google-research/google-research t5_closed_book_qa/t5_cbqa/preprocessors.py; the
 * Rainbow one allenai/rainbow src/rainbow/preparation/rainbow.py.
 */
import { Ext5Error } from '../util/errors';
import { type DataRecord, type Example, getField, type Preprocessor, toJson } from './task';

/** A value taken from a record: a (dotted) column name, or a function of the record. */
export type Getter = string | ((r: DataRecord) => unknown);

/** Reads a Getter. */
export function get(r: DataRecord, g: Getter): unknown {
  return typeof g === 'function' ? g(r) : getField(r, g);
}

/** Renders a value as text: strings as-is, lists joined with ", ", numbers and booleans with String(). */
export function asText(v: unknown): string {
  if (v === null || v === undefined) return '';
  if (typeof v === 'string') return v;
  if (Array.isArray(v)) return v.map(asText).join(', ');
  if (typeof v === 'bigint' || typeof v === 'number' || typeof v === 'boolean') return String(v);
  return toJson(v);
}

/** A list of strings from a value (a list, or a single string). */
export function asList(v: unknown): string[] {
  if (v === null || v === undefined) return [];
  if (Array.isArray(v)) return v.map(asText);
  return [asText(v)];
}

/**
 * How a label becomes target text: a list of class names indexed by the label (-1 → "<unk>", as T5's glue),
 * or a map from the label's string form, or nothing (the value itself).
 */
export type Labels = readonly string[] | Readonly<Record<string, string>>;

/** Maps a label value through `labels`. Throws on a label outside the list (that is a layout error). */
export function labelText(value: unknown, labels?: Labels, where = ''): string {
  if (labels === undefined) return asText(value);
  if (Array.isArray(labels)) {
    // An index: an integer, or its decimal text (CSV/TSV fields are text). Booleans, fractions,
    // null and other types are wrong, not coerced (Number(true) would be class 1).
    const i =
      typeof value === 'number'
        ? value
        : typeof value === 'bigint'
          ? Number(value)
          : typeof value === 'string' && /^\s*-?\d+\s*$/.test(value)
            ? Number(value)
            : Number.NaN;
    if (i === -1) return '<unk>';
    const name = Number.isInteger(i) && i >= 0 ? labels[i] : undefined;
    if (name === undefined) {
      throw new Ext5Error(
        'BAD_LABEL',
        `label ${toJson(value)}${where} is not an index into [${labels.join(', ')}] (0 to ${labels.length - 1}, or -1 for none)`,
      );
    }
    return name;
  }
  const key = asText(value);
  const name = Object.hasOwn(labels, key) ? (labels as Record<string, string>)[key] : undefined;
  if (name === undefined) {
    throw new Ext5Error(
      'BAD_LABEL',
      `label ${toJson(value)}${where} is not one of ${Object.keys(labels).join(', ')}`,
    );
  }
  return name;
}

export interface TargetSpec {
  /** The target column (or getter). */
  column: Getter;
  labels?: Labels;
}

export interface KeyedFieldsOptions {
  /** The task prefix, e.g. "anli". */
  prefix: string;
  /** Fields in order: a column (used as key), or [key, getter]. */
  fields: Array<string | [string, Getter]>;
  target: TargetSpec | Getter;
  /** Extra keys copied into the example (e.g. answers for a metric). */
  extra?: Record<string, Getter>;
  /** Drop records whose target is empty or missing (unlabelled test rows). */
  dropEmptyTarget?: boolean;
}

function targetOf(r: DataRecord, t: TargetSpec | Getter): string {
  if (typeof t === 'string' || typeof t === 'function') return asText(get(r, t));
  return labelText(get(r, t.column), t.labels);
}

function extras(r: DataRecord, extra?: Record<string, Getter>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  if (extra) for (const [k, g] of Object.entries(extra)) out[k] = get(r, g);
  return out;
}

/**
 * The generic T5 format `"<prefix> key1: v1 key2: v2"` (T5's glue preprocessor without the GLUE specifics).
 * @example
 * keyedFields({ prefix: 'snli', fields: ['premise', 'hypothesis'], target: { column: 'label', labels: ['entailment', 'neutral', 'contradiction'] } })
 *   ({ premise: 'A man sleeps.', hypothesis: 'A person rests.', label: 0 }, ctx)
 * // → { inputs: 'snli premise: A man sleeps. hypothesis: A person rests.', targets: 'entailment' }
 */
export function keyedFields(opts: KeyedFieldsOptions): Preprocessor {
  return (r) => {
    const parts = [opts.prefix];
    for (const f of opts.fields) {
      const [key, g] = typeof f === 'string' ? [f, f] : f;
      parts.push(`${key}:`, asText(get(r, g)));
    }
    const targets = targetOf(r, opts.target);
    if (opts.dropEmptyTarget && (targets === '' || targets === '<unk>')) return null;
    return { inputs: parts.join(' '), targets, ...extras(r, opts.extra) };
  };
}

export interface GlueOptions {
  benchmark: string;
  labelNames: readonly string[];
  /** Feature order; T5 sorts the keys alphabetically when this is not given. */
  featureNames?: readonly string[];
}

/**
 * T5's `glue` preprocessor: `"<benchmark> k1: v1 k2: v2"` with the keys sorted alphabetically unless
 * `featureNames` orders them, label index → label name (-1 → "<unk>"); for MultiRC, `<br>` becomes a space
 * and `<b>`/`</b>` are removed from the joined inputs.
 * @example
 * glue({ benchmark: 'cb', labelNames: ['entailment', 'contradiction', 'neutral'] })
 *   ({ premise: 'P.', hypothesis: 'H.', label: 1, idx: 0 }, ctx)
 * // → { inputs: 'cb hypothesis: H. premise: P.', targets: 'contradiction', idx: 0 }
 */
export function glue(opts: GlueOptions): Preprocessor {
  return (r) => {
    const keys =
      opts.featureNames ??
      Object.keys(r)
        .filter((k) => k !== 'label' && k !== 'idx')
        .sort();
    const parts = [opts.benchmark];
    for (const k of keys) parts.push(`${k}:`, asText(r[k]));
    let inputs = parts.join(' ');
    const ex: Example = { inputs, targets: labelText(r.label, opts.labelNames, ` (in ${opts.benchmark})`) };
    if (opts.benchmark === 'multirc') {
      inputs = inputs.replace(/<br>/g, ' ').replace(/<(\/)?b>/g, '');
      ex.inputs = inputs;
      const idx = (r.idx ?? {}) as Record<string, unknown>;
      ex['idx/paragraph'] = idx.paragraph;
      ex['idx/question'] = idx.question;
      ex['idx/answer'] = idx.answer;
    } else {
      ex.idx = r.idx;
    }
    return ex;
  };
}

/**
 * T5's `_pad_punctuation` (t5/data/preprocessors.py, used by its `squad` preprocessor): a space
 * on each side of every ASCII punctuation character (RE2's `[[:punct:]]`), then runs of whitespace
 * (RE2's `\s`: tab, newline, form feed, carriage return, space) collapsed to one space. Nothing is
 * trimmed, so `'Some context.'` becomes `'Some context . '`, exactly as T5 writes it.
 */
export function padPunctuation(text: string): string {
  return collapseWhitespace(text.replace(/[!-/:-@[-`{-~]/g, ' $& '));
}

/** Runs of RE2 `\s` whitespace to one space (T5's `_string_join` after joining on spaces). */
function collapseWhitespace(text: string): string {
  return text.replace(/[\t\n\f\r ]+/g, ' ');
}

export interface QaOptions {
  /** e.g. 'nq question:' or 'squad'. */
  prefix: string;
  question: Getter;
  /** The gold answers (a list or one string); the first is the target. */
  answers: Getter;
  /** For reading comprehension: the passage, keyed as `contextKey` (default 'context'). */
  context?: Getter;
  contextKey?: string;
  /** Target when there is no answer (SQuAD 2.0); without it such records are dropped. */
  noAnswer?: string;
  /**
   * T5's SQuAD format: question, context and every answer go through {@link padPunctuation} and
   * the joined inputs have their whitespace collapsed (t5/data/preprocessors.py `squad`).
   */
  padPunctuation?: boolean;
}

/**
 * Question answering: `"<prefix> <question>"` (closed book, T5 CBQA: prefix 'nq question:') or
 * `"<prefix> question: q context: c"` (reading comprehension); target the first answer, `answers` all.
 * @example
 * qa({ prefix: 'nq question:', question: 'question', answers: 'answer' })({ question: 'who?', answer: ['me', 'I'] }, ctx)
 * // → { inputs: 'nq question: who?', targets: 'me', answers: ['me', 'I'] }
 */
export function qa(opts: QaOptions): Preprocessor {
  const pad = opts.padPunctuation ? padPunctuation : (t: string) => t;
  return (r) => {
    const answers = asList(get(r, opts.answers))
      .filter((a) => a !== '')
      .map(pad);
    if (answers.length === 0 && opts.noAnswer === undefined) return null;
    const q = pad(asText(get(r, opts.question)));
    const body =
      opts.context === undefined
        ? q
        : `question: ${q} ${opts.contextKey ?? 'context'}: ${pad(asText(get(r, opts.context)))}`;
    // T5's SQuAD format has no task prefix ("question: … context: …").
    const joined = opts.prefix ? `${opts.prefix} ${body}` : body;
    const inputs = opts.padPunctuation ? collapseWhitespace(joined) : joined;
    const targets = answers[0] ?? opts.noAnswer!;
    return { inputs, targets, answers: answers.length ? answers : [targets] };
  };
}

export interface MultipleChoiceOptions {
  prefix: string;
  /** Fields shown before the options (as in keyedFields). */
  fields: Array<string | [string, Getter]>;
  /** The options' texts. */
  choices: Getter;
  /** The answer: an index into choices, or a key mapped through `answerKeys` (e.g. 'B' with ['A','B','C']). */
  answer: Getter;
  answerKeys?: Getter | readonly string[];
  /** Index base when `answer` is a number (1 for datasets that count from 1). */
  indexBase?: number;
}

/**
 * Multiple choice as generation: `"<prefix> k: v … options: (A) x (B) y"`, target the text of the right option.
 * @example
 * multipleChoice({ prefix: 'openbookqa', fields: [['question', 'question_stem']], choices: 'choices.text',
 *   answer: 'answerKey', answerKeys: 'choices.label' })
 *   ({ question_stem: 'Sun is a', choices: { text: ['star', 'moon'], label: ['A', 'B'] }, answerKey: 'A' }, ctx)
 * // → { inputs: 'openbookqa question: Sun is a options: (A) star (B) moon', targets: 'star' }
 */
export function multipleChoice(opts: MultipleChoiceOptions): Preprocessor {
  return (r) => {
    const choices = asList(get(r, opts.choices));
    const parts = [opts.prefix];
    for (const f of opts.fields) {
      const [key, g] = typeof f === 'string' ? [f, f] : f;
      parts.push(`${key}:`, asText(get(r, g)));
    }
    parts.push('options:', choices.map((c, i) => `(${String.fromCharCode(65 + i)}) ${c}`).join(' '));
    const a = get(r, opts.answer);
    let index: number;
    if (opts.answerKeys !== undefined) {
      const keys = Array.isArray(opts.answerKeys)
        ? (opts.answerKeys as string[])
        : asList(get(r, opts.answerKeys as Getter));
      index = keys.indexOf(asText(a));
    } else {
      index = Number(a) - (opts.indexBase ?? 0);
    }
    const target = choices[index];
    if (target === undefined) return null; // unlabelled (test) rows
    return { inputs: parts.join(' '), targets: target };
  };
}

export interface DialogueOptions {
  prefix: string;
  /** The turns; the last one is the target, the rest the history. */
  turns: Getter;
  /** Extra fields shown before the history (persona, situation…). */
  fields?: Array<string | [string, Getter]>;
  /** When set, the target is this column instead of the last turn (the whole list is the history). */
  response?: Getter;
}

/**
 * Next-turn generation: `"<prefix> k: v … history: t1 | t2 | t3"`, target the next turn.
 * @example
 * dialogue({ prefix: 'daily_dialog', turns: 'dialog' })({ dialog: ['Hi.', 'Hello!', 'How are you?'] }, ctx)
 * // → { inputs: 'daily_dialog history: Hi. | Hello!', targets: 'How are you?' }
 */
export function dialogue(opts: DialogueOptions): Preprocessor {
  return (r) => {
    const turns = asList(get(r, opts.turns)).map((t) => t.trim());
    const history = opts.response === undefined ? turns.slice(0, -1) : turns;
    const target = opts.response === undefined ? turns[turns.length - 1] : asText(get(r, opts.response));
    if (!target || history.length === 0) return null;
    const parts = [opts.prefix];
    for (const f of opts.fields ?? []) {
      const [key, g] = typeof f === 'string' ? [f, f] : f;
      parts.push(`${key}:`, asText(get(r, g)));
    }
    parts.push('history:', history.join(' | '));
    return { inputs: parts.join(' '), targets: target };
  };
}

/**
 * Summarization: `"<prefix> <document>"` → summary (T5's `summarize:` style with a per-task prefix).
 * @example
 * summarize({ prefix: 'summarize:', document: 'article', summary: 'highlights' })({ article: 'Long.', highlights: 'Short.' }, ctx)
 * // → { inputs: 'summarize: Long.', targets: 'Short.' }
 */
export function summarize(opts: { prefix: string; document: Getter; summary: Getter }): Preprocessor {
  return (r) => {
    const doc = asText(get(r, opts.document));
    const summary = asText(get(r, opts.summary));
    if (!doc || !summary) return null;
    return { inputs: `${opts.prefix} ${doc}`, targets: summary };
  };
}

/**
 * The Rainbow format (allenai/rainbow): `"[<dataset>]:\n<f1>v1</f1>\n<f2>v2</f2>"`; a list field becomes
 * `<f 0>a</f 0>\n<f 1>b</f 1>`; the target is the label as a string (as in the leaderboard label files).
 * @example
 * rainbow({ dataset: 'physicaliqa', fields: [['goal', 'goal'], ['sol1', 'sol1'], ['sol2', 'sol2']], label: 'label' })
 *   ({ goal: 'Dry hair', sol1: 'Use a towel.', sol2: 'Use water.', label: 0 }, ctx)
 * // → { inputs: '[physicaliqa]:\n<goal>Dry hair</goal>\n<sol1>Use a towel.</sol1>\n<sol2>Use water.</sol2>', targets: '0' }
 */
export function rainbow(opts: {
  dataset: string;
  fields: Array<[string, Getter]>;
  label: Getter;
}): Preprocessor {
  return (r) => {
    const strings: string[] = [];
    for (const [name, g] of opts.fields) {
      const v = get(r, g);
      if (Array.isArray(v)) {
        v.forEach((o, i) => {
          strings.push(`<${name} ${i}>${asText(o)}</${name} ${i}>`);
        });
      } else if (typeof v === 'string') strings.push(`<${name}>${v}</${name}>`);
      else
        throw new Ext5Error('BAD_FIELD', `rainbow ${opts.dataset}: field ${name} is not a string or a list`);
    }
    const label = asText(get(r, opts.label));
    if (label === '' || label === '-1') return null;
    return { inputs: `[${opts.dataset}]:\n${strings.join('\n')}`, targets: label };
  };
}

/** Yields the text field as the targets with empty inputs: the C4 span-corruption source (lib/text corrupts it). */
export function textOnly(column = 'text'): Preprocessor {
  return (r) => {
    const text = asText(getField(r, column));
    return text ? { inputs: '', targets: text, text } : null;
  };
}
