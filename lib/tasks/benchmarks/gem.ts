/**
 * GEM (Gehrmann et al. 2021) generation tasks, from the Hub's GEM/* datasets (the same data as TFDS gem/*).
 * Neither T5 nor the ExT5 paper published a GEM input format, so these use T5's keyed-field convention
 * (`"<task> key: value …"`) over each dataset's input columns; `references` are kept for BLEU/ROUGE.
 * Evaluation follows the ExT5 paper (arXiv 2111.10952, Experimental setup): test sets, validation for
 * CommonGen and ToTTo.
 */
import { asList, asText, type Getter, keyedFields } from '../preprocessors';
import type { DataRecord, Family, Preprocessor, TaskOptions } from '../task';

const REF = 'Hub dataset cards GEM/*; format: T5 keyed fields (project choice, see docs/tasks.md)';

/** DART triples: [[s, p, o], …] → "s | p | o ; s | p | o". */
function triples(r: DataRecord): string {
  const t = r.tripleset;
  return Array.isArray(t) ? t.map((x) => asList(x).join(' | ')).join(' ; ') : asText(t);
}

/** SGD dialogue acts: [{act, slot, values}] → "INFORM(price=cheap) REQUEST(time)". */
function acts(r: DataRecord): string {
  const a = r.dialog_acts;
  if (!Array.isArray(a)) return asText(a);
  return a
    .map((x) => {
      const d = (x ?? {}) as Record<string, unknown>;
      const vals = asList(d.values);
      const slot = asText(d.slot);
      return `${asText(d.act)}(${slot}${vals.length ? `=${vals.join('|')}` : ''})`;
    })
    .join(' ');
}

function gem(
  name: string,
  hfId: string,
  config: string,
  family: Family,
  fields: Array<string | [string, Getter]>,
  columns: string[],
  n: { train: number; validation: number; test: number },
  sampleRecord: DataRecord,
  description: string,
  inPaper: true | 'likely' = true,
): TaskOptions {
  const pre: Preprocessor = keyedFields({
    prefix: name,
    fields,
    target: 'target',
    extra: {
      answers: (r) => (Array.isArray(r.references) && r.references.length ? r.references : [r.target]),
    },
  });
  return {
    name: `gem_${name}`,
    description,
    family,
    benchmark: 'gem',
    source: {
      hfId,
      config,
      splits: {
        train: { hfSplit: 'train' },
        validation: { hfSplit: 'validation' },
        test: { hfSplit: 'test' },
      },
      columns: [...columns, 'target'],
    },
    preprocessor: pre,
    metrics: ['bleu', 'rouge'],
    numExamples: n,
    inPaper,
    reference: REF,
    sampleRecord,
    outputFeatures: { targetsLength: 128 },
  };
}

/** CommonGen, DART, E2E NLG, ToTTo, WebNLG (en), XSum, WikiLingua (en), Schema-Guided Dialog. */
export const GEM_TASKS: TaskOptions[] = [
  gem(
    'common_gen',
    'GEM/common_gen',
    'default',
    'commonsense',
    ['concepts'],
    ['concepts'],
    { train: 67389, validation: 993, test: 1497 },
    {
      gem_id: 'common_gen-train-0',
      gem_parent_id: 'common_gen-train-0',
      concept_set_id: 0,
      concepts: ['dog', 'frisbee', 'catch', 'throw'],
      target: 'A dog leaps to catch a thrown frisbee.',
      references: [],
    },
    'CommonGen: a sentence that uses all the given concepts.',
  ),
  gem(
    'dart',
    'GEM/dart',
    'default',
    'semantic_parsing',
    [['triples', triples]],
    ['tripleset'],
    { train: 62659, validation: 2768, test: 5097 },
    {
      gem_id: 'dart-train-0',
      gem_parent_id: 'dart-train-0',
      dart_id: 0,
      tripleset: [
        ['Mars Hill College', 'JOINED', '1973'],
        ['Mars Hill College', 'LOCATION', 'Mars Hill, North Carolina'],
      ],
      subtree_was_extended: false,
      target_sources: ['WikiSQL_decl_sents'],
      target: 'A school from Mars Hill, North Carolina, joined in 1973.',
      references: ['A school from Mars Hill, North Carolina, joined in 1973.'],
    },
    'DART: open-domain data (RDF triples) to text.',
  ),
  gem(
    'e2e_nlg',
    'GEM/e2e_nlg',
    'default',
    'semantic_parsing',
    ['meaning_representation'],
    ['meaning_representation'],
    { train: 33525, validation: 4299, test: 4693 },
    {
      gem_id: 'e2e_nlg-train-0',
      gem_parent_id: 'e2e_nlg-train-0',
      meaning_representation: 'name[The Eagle], eatType[coffee shop], food[French]',
      target: 'The Eagle is a French coffee shop.',
      references: [],
    },
    'E2E NLG: restaurant meaning representations to text.',
  ),
  gem(
    'totto',
    'GEM/totto',
    'default',
    'semantic_parsing',
    [['table', 'linearized_input']],
    ['linearized_input'],
    { train: 121153, validation: 7700, test: 7700 },
    {
      gem_id: 'totto-train-0',
      gem_parent_id: 'totto-train-0',
      totto_id: 0,
      table_page_title: 'Ann Smith',
      table_section_title: 'Career',
      linearized_input:
        '<page_title> Ann Smith </page_title> <section_title> Career </section_title> <table> <cell> 1990 <col_header> Year </col_header> </cell> </table>',
      target: 'Ann Smith began her career in 1990.',
      references: ['Ann Smith began her career in 1990.'],
    },
    'ToTTo: a one-sentence description of highlighted table cells.',
  ),
  gem(
    'web_nlg_en',
    'GEM/web_nlg',
    'en',
    'semantic_parsing',
    [['triples', (r) => asList(r.input).join(' ; ')]],
    ['input'],
    { train: 35426, validation: 1667, test: 1779 },
    {
      gem_id: 'web_nlg_en-train-0',
      gem_parent_id: 'web_nlg_en-train-0',
      input: ['Aarhus | leader | Jacob_Bundsgaard'],
      target: 'The leader of Aarhus is Jacob Bundsgaard.',
      references: [],
      category: 'City',
      webnlg_id: 'City/1/Id1',
    },
    'WebNLG (English): DBpedia triples to text.',
  ),
  gem(
    'xsum',
    'GEM/xsum',
    'default',
    'summarization',
    [['document', 'document']],
    ['document'],
    { train: 23206, validation: 1117, test: 1166 },
    {
      gem_id: 'xsum-train-0',
      gem_parent_id: 'xsum-train-0',
      xsum_id: '29750031',
      document: 'The town council met on Monday and voted to close the old bridge for repairs.',
      target: 'A town bridge will close for repairs.',
      references: ['A town bridge will close for repairs.'],
    },
    'XSum (GEM subset): one-sentence news summaries.',
    'likely',
  ),
  gem(
    'wiki_lingua_en',
    'GEM/wiki_lingua',
    'en',
    'summarization',
    [['source', 'source']],
    ['source'],
    { train: 99020, validation: 13823, test: 28614 },
    {
      gem_id: 'en-train-0',
      gem_parent_id: 'en-train-0',
      source_language: 'en',
      target_language: 'en',
      source: 'Fill the pot with water. Put it on the stove. Wait until it boils.',
      target: 'Boil water in a pot.',
      references: ['Boil water in a pot.'],
    },
    'WikiLingua (English): WikiHow article summaries.',
    'likely',
  ),
  gem(
    'schema_guided_dialog',
    'GEM/schema_guided_dialog',
    'default',
    'dialogue',
    [
      ['acts', acts],
      ['context', (r) => asList(r.context).join(' | ')],
    ],
    ['dialog_acts', 'context'],
    { train: 164982, validation: 10000, test: 10000 },
    {
      gem_id: 'schema_guided_dialog-train-0',
      gem_parent_id: 'schema_guided_dialog-train-0',
      dialog_acts: [{ act: 2, slot: 'city', values: ['Paris'] }],
      context: ['I need a hotel.'],
      dialog_id: '1_00000',
      service: 'Hotels_1',
      turn_id: 1,
      prompt: 'I need a hotel.',
      target: 'Which city are you staying in? Paris?',
      references: ['Which city are you staying in? Paris?'],
    },
    'Schema-Guided Dialog: system turn from dialogue acts and context.',
    'likely',
  ),
];
