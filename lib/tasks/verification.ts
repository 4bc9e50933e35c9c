/**
 * How each registered task's source metadata was checked (the `verified` field of TaskOptions/Task).
 * Task metadata is written from memory unless checked; this table records, per task, the document its Hub id, config,
 * split names, required columns and split sizes were compared against. A task absent from the table was not
 * checked. Method and counts: docs/tasks.md, "How the registry was checked".
 *
 * The main source is the last huggingface/datasets commit that still held the canonical datasets' loading
 * scripts (d7dfbc83d68e87ba002c5eb2555f7a932e59038a, 2022-10-03): datasets/<name>/dataset_infos.json lists
 * every config's features and per-split num_examples. The Hub keeps those config, split and column names
 * (its refs/convert/parquet branch is generated from the same builders). The owner/name of each id (the
 * Hub's 2024 renames of the canonical datasets) was confirmed separately, on a stored Hub page or in public
 * code that loads it by that id (which is where ibm-research/duorc and
 * google-research-datasets/taskmaster1 get their owners). Nothing here was downloaded: see docs/tasks.md for what this
 * cannot catch.
 */
import type { TaskOptions } from './task';

const LEGACY_COMMIT = 'huggingface/datasets@d7dfbc8';

/**
 * Checked against the 2022 loading script's dataset_infos.json (config, splits, columns and sizes agree), and
 * the Hub id seen in use.
 */
function legacy(dir: string, note = ''): string {
  return `${LEGACY_COMMIT} datasets/${dir}/dataset_infos.json: config, splits, columns, sizes; Hub id confirmed${note ? `; ${note}` : ''}`;
}

/** A GEM benchmark task: the layout of the GEM v1 builder (datasets/gem config `config`), plus a Hub page. */
function gem(config: string, note: string): string {
  return `${LEGACY_COMMIT} datasets/gem/dataset_infos.json (config ${config}): columns, sizes; ${note}`;
}

/**
 * For datasets whose Hub repo was a loading script (or still is) when the Parquet export ext5 reads was
 * made: the export is the Hub's conversion of that script's output, which may lag the repo or lack configs
 * or splits; a missing one is reported by `ext5 data download` with what to do.
 */
const SCRIPT_EXPORT =
  'reads the refs/convert/parquet export the Hub made while the dataset used a loading script (it may lag the repo or lack configs/splits)';

/** Task name → how its metadata was checked. */
export const VERIFICATION: Readonly<Record<string, string>> = {
  adversarial_qa: legacy('adversarial_qa'),
  aeslc: legacy('aeslc'),
  ag_news: legacy('ag_news'),
  amazon_polarity: legacy('amazon_polarity'),
  anli_r1: legacy('anli'),
  anli_r2: legacy('anli'),
  anli_r3: legacy('anli'),
  arc_challenge: legacy('ai2_arc'),
  arc_easy: legacy('ai2_arc'),
  arxiv_summarization: legacy('scientific_papers'),
  big_patent: legacy('big_patent'),
  billsum: legacy('billsum'),
  blended_skill_talk: legacy('blended_skill_talk'),
  break_qdmr: legacy('break_data'),
  c4_span_corruption: legacy('c4', 'train size corrected to 364868892'),
  cfq_mcd1: legacy('cfq'),
  cnn_dailymail: legacy('cnn_dailymail'),
  commonsense_qa: legacy('commonsense_qa'),
  coqa: legacy('coqa', 'train size corrected to 7199 records (stories), not 108647 questions'),
  daily_dialog: legacy('daily_dialog'),
  dbpedia_14: legacy('dbpedia_14'),
  dream: legacy('dream'),
  drop: legacy('drop'),
  duorc_self: legacy(
    'duorc',
    'Hub id corrected to ibm-research/duorc (Hub pages; ibm/duorc was its previous name)',
  ),
  emotion: legacy(
    'emotion',
    "columns and sizes only: the script had one config; the Hub config name 'split' is unchecked",
  ),
  empathetic_dialogues_emotion: legacy('empathetic_dialogues', SCRIPT_EXPORT),
  gigaword: legacy('gigaword'),
  glue_cola: legacy('glue'),
  glue_mnli: legacy('glue'),
  glue_mrpc: legacy('glue'),
  glue_qnli: legacy('glue'),
  glue_qqp: legacy('glue'),
  glue_sst2: legacy('glue'),
  glue_stsb: legacy('glue'),
  glue_wnli: legacy('glue'),
  hans: legacy('hans'),
  hotpot_qa_closed_book: legacy('hotpot_qa'),
  imdb: legacy('imdb'),
  kilt_trex: legacy('kilt_tasks'),
  kilt_zsre: legacy('kilt_tasks'),
  meta_woz: legacy('meta_woz'),
  mkqa_en: legacy('mkqa'),
  multi_news: legacy('multi_news'),
  multi_woz_v22: legacy('multi_woz_v22'),
  natural_questions_open: legacy('nq_open', 'the train/validation slices add up to the 87925 train records'),
  newsroom: legacy('newsroom'),
  openbookqa: legacy('openbookqa'),
  paws: legacy('paws'),
  pubmed_qa: legacy('pubmed_qa'),
  pubmed_summarization: legacy('scientific_papers'),
  qasc: legacy('qasc'),
  quail: legacy('quail'),
  quarel: legacy(
    'quarel',
    'Hub id corrected to community-datasets/quarel (allenai/quarel does not hold it; public code and the tasksource task list load community-datasets/quarel, whose data/*.parquet files form the default config)',
  ),
  quartz: legacy('quartz'),
  quoref: legacy('quoref'),
  race: legacy('race'),
  rainbow_anli: legacy('art', 'Hub page allenai/art (parquet config anli)'),
  rainbow_cosmosqa: legacy('cosmos_qa'),
  rainbow_hellaswag: legacy('hellaswag'),
  rainbow_physicaliqa: legacy(
    'piqa',
    `Parquet export config plain_text, not default: public code reads hf://datasets/ybisk/piqa@refs/convert/parquet/plain_text/{split}/*.parquet (code search); ${SCRIPT_EXPORT}`,
  ),
  rainbow_socialiqa: legacy(
    'social_i_qa',
    `Hub page allenai/social_i_qa: still a loading script on main; ${SCRIPT_EXPORT}`,
  ),
  rainbow_winogrande: legacy('winogrande'),
  reddit_tifu_long: legacy('reddit_tifu', SCRIPT_EXPORT),
  riddle_sense: legacy('riddle_sense'),
  ropes: legacy('ropes'),
  rotten_tomatoes: legacy('rotten_tomatoes'),
  samsum: legacy('samsum'),
  scan_simple: legacy(
    'scan',
    'Hub page scan-tasks/scan-tasks (a loading script; the Hub has no parquet view of it), so a manual download from github.com/brendenlake/SCAN',
  ),
  sciq: legacy('sciq'),
  scitail: legacy('scitail'),
  sick: legacy('sick'),
  snli: legacy('snli'),
  spider: legacy('spider'),
  squad_v1: legacy('squad'),
  squad_v2: legacy('squad_v2'),
  super_glue_boolq: legacy('super_glue', 'Hub card aps/super_glue'),
  super_glue_cb: legacy('super_glue', 'Hub card aps/super_glue'),
  super_glue_copa: legacy('super_glue', 'Hub card aps/super_glue'),
  super_glue_multirc: legacy('super_glue', 'Hub card aps/super_glue'),
  super_glue_record: legacy('super_glue', 'Hub card aps/super_glue'),
  super_glue_rte: legacy('super_glue', 'Hub card aps/super_glue'),
  super_glue_wic: legacy('super_glue', 'Hub card aps/super_glue'),
  super_glue_wsc: legacy('super_glue', 'Hub card aps/super_glue'),
  swag: legacy('swag'),
  taskmaster1: legacy(
    'taskmaster1',
    'Hub id corrected to google-research-datasets/taskmaster1 (Hub card); still a loading script on the Hub',
  ),
  trec: legacy('trec'),
  trivia_qa_open: legacy('trivia_qa', 'the train/validation slices add up to the 87622 train records'),
  tweet_eval_sentiment: legacy('tweet_eval'),
  tweet_qa: legacy('tweet_qa'),
  web_questions_open: legacy('web_questions', 'the train/validation slices add up to the 3778 train records'),
  wikihow: `${LEGACY_COMMIT} datasets/wikihow/dataset_infos.json: config, splits, columns, sizes; a manual download (the id names the GitHub repository, not a Hub dataset)`,
  wikisql: legacy('wikisql', SCRIPT_EXPORT),
  wiqa: legacy('wiqa'),
  yahoo_answers_topics: legacy('yahoo_answers_topics'),
  yelp_polarity: legacy('yelp_polarity'),
  gem_common_gen: gem('common_gen', 'Hub page GEM/common_gen (config default)'),
  gem_dart: gem('dart', 'Hub page GEM/dart (config default)'),
  gem_e2e_nlg: gem('e2e_nlg', 'Hub id GEM/e2e_nlg (default config) seen in public code'),
  gem_schema_guided_dialog: gem('schema_guided_dialog', 'Hub page GEM/schema_guided_dialog (config default)'),
  gem_web_nlg_en: gem('web_nlg_en', "GEM/web_nlg with config 'en' seen in public code"),
  gem_xsum: gem('xsum', 'Hub discussion GEM/xsum#4 lists the same columns and 23206/1117/1166 rows'),
  gem_totto: gem(
    'totto',
    'linearized_input (GEM v2) is read from GEM/totto by public GEM tooling (code search); Hub card not seen',
  ),
  gem_wiki_lingua_en: gem(
    'wiki_lingua_english_en',
    "config 'en' and source/target columns from public code loading GEM/wiki_lingua 'en'; the sizes are GEM v1's",
  ),
  atis_slots:
    'Hub page tuetschek/atis: id, atis_train.csv/atis_test.csv (train/test); columns and size unchecked',
  conala: 'Hub viewer neulab/conala: config curated, train 2379 / test 500 rows; columns unchecked',
  dialogsum:
    'Hub id seen in public code; columns id/dialogue/summary/topic and 12460/500/1500 rows from two public copies of it (its own card not seen)',
  doc_nli:
    'Hub card tasksource/doc-nli: config default, columns premise/hypothesis/label (string), train corrected to 861708',
  personachat:
    'Hub viewer bavard/personachat_truecased: config full, columns, train ~131k / validation ~7.8k rows',
  prosocial_dialog:
    'Hub pages allenai/prosocial-dialog: id, config default, train/valid/test.json; columns and size unchecked',
  soda: 'Hub page allenai/soda (train/valid/test.parquet); columns and the 1191582 train rows from public derived copies',
  cogs: 'train 24155 matches the Punchwe/COGS Hub copy; the task reads the GitHub TSVs (manual download), whose layout is unchecked',
  wanli:
    'Hub pages alisawuffles/WANLI: id, config default, train.jsonl/test.jsonl (columns and size unchecked)',
  banking77:
    'huggingface/datasets datasets/banking77/dataset_infos.json (2022 loading script): config default, train/test, columns text/label (77 names), 10003/3080 rows; Hub id PolyAI/banking77 not confirmed here',
  clinc150:
    'huggingface/datasets datasets/clinc_oos/dataset_infos.json (2022 loading script): config plus, train/validation/test, columns text/intent (151 names), 15250/3100/5500 rows; Hub id clinc/clinc_oos not confirmed here',
  vitaminc:
    'Hub pages tals/vitaminc: id, config default, train/dev/test.jsonl; columns from a dataset_info.json of the same files',
};

/** `opts` with its `verified` entry from VERIFICATION (unchanged when there is none). */
export function withVerification(opts: TaskOptions): TaskOptions {
  const v = VERIFICATION[opts.name];
  return v === undefined || opts.verified !== undefined ? opts : { ...opts, verified: v };
}
