/**
 * ExMix (Aribandi et al. 2022): the supervised half of ExT5's pre-training mixture, here reconstructed
 * from public Hub datasets (the paper's exact 107-task list was never released as code or data; see
 * docs/tasks.md). This module registers the ExMix tasks, the benchmark tasks that are also members
 * (SuperGLUE, GEM, Rainbow, closed-book QA), the C4 span-corruption task, and the mixtures `exmix`,
 * `exmix_plus` (with the tasks published after the paper), `exmix_<family>`, `c4_span_corruption`
 * (as a task) and `ext5_pretrain`.
 */
import { CBQA_TASKS } from '../benchmarks/cbqa';
import { GEM_TASKS } from '../benchmarks/gem';
import { RAINBOW_TASKS } from '../benchmarks/rainbow';
import { SUPERGLUE_TASKS } from '../benchmarks/superglue';
import { examplesProportional, Mixture, registerMixtureVariant } from '../mixture';
import { textOnly } from '../preprocessors';
import { MixtureRegistry, TaskRegistry } from '../registry';
import { FAMILIES, type Family, type TaskOptions } from '../task';
import { withVerification } from '../verification';
import { CLASSIFICATION_TASKS } from './classification';
import { CLOSED_BOOK_QA_TASKS } from './closed_book_qa';
import { COMMONSENSE_TASKS } from './commonsense';
import { DIALOGUE_TASKS } from './dialogue';
import { LISTED_TASKS } from './listed';
import { NLI_TASKS } from './nli';
import { READING_COMPREHENSION_TASKS } from './reading_comprehension';
import { SEMANTIC_PARSING_TASKS } from './semantic_parsing';
import { SUMMARIZATION_TASKS } from './summarization';

/** The default cap K of examples-proportional mixing in ExMix (the paper: ~3e5). */
export const DEFAULT_K = 300_000;
/** The default number of C4 examples per ExMix example (the paper sweeps R; 2 is the default offered). */
export const DEFAULT_R = 2;

/**
 * Every ExMix task: the family modules, the members named by a public ExMix list, and the benchmark
 * tasks that the paper trains on. Those published after the paper (`afterPaper`) are registered too
 * but are no ExMix members: see {@link EXMIX_MEMBERS}.
 */
export const EXMIX_TASK_OPTIONS: TaskOptions[] = [
  ...SUMMARIZATION_TASKS,
  ...DIALOGUE_TASKS,
  ...NLI_TASKS,
  ...CLASSIFICATION_TASKS,
  ...SEMANTIC_PARSING_TASKS,
  ...COMMONSENSE_TASKS,
  ...CLOSED_BOOK_QA_TASKS,
  ...READING_COMPREHENSION_TASKS,
  ...SUPERGLUE_TASKS,
  ...GEM_TASKS,
  ...RAINBOW_TASKS,
  ...CBQA_TASKS,
  ...LISTED_TASKS,
].map(withVerification);

/** The members of `exmix` and `exmix_<family>`: every ExMix task not published after the paper. */
export const EXMIX_MEMBERS: TaskOptions[] = EXMIX_TASK_OPTIONS.filter((t) => t.afterPaper !== true);

/** The C4 span-corruption task: allenai/c4 `en` JSON-lines shards, field `text`; lib/text corrupts spans. */
export const C4_TASK: TaskOptions = withVerification({
  name: 'c4_span_corruption',
  description: 'C4 (English) for T5 span corruption; yields raw text, corrupted by lib/text.',
  source: {
    hfId: 'allenai/c4',
    config: 'en',
    layout: 'files',
    splits: { train: { hfSplit: 'train' }, validation: { hfSplit: 'validation' } },
    filePatterns: {
      train: 'en/c4-train.*-of-01024.json.gz',
      validation: 'en/c4-validation.*-of-00008.json.gz',
    },
    columns: ['text'],
  },
  preprocessor: textOnly('text'),
  spanCorruption: true,
  // The exact record counts of the `en` config (TFDS c4/en 2.2.x and the Hub card agree).
  numExamples: { train: 364_868_892, validation: 364_608 },
  inPaper: true,
  reference: 'Hub dataset card allenai/c4; T5 span corruption in t5/data/preprocessors.py',
  sampleRecord: {
    text: 'Beginners BBQ Class Taking Place in Missoula!',
    timestamp: '2019-04-25T12:57:54Z',
    url: 'https://example.org',
  },
});

export interface Ext5PretrainOptions {
  /** C4 examples per ExMix example (default 2). */
  R?: number;
  /** Examples-proportional cap per ExMix task (default 300000). */
  K?: number;
  /** Temperature of examples-proportional mixing (default 1). */
  temperature?: number;
  /** Name of the mixture object (default 'ext5_pretrain'). */
  name?: string;
}

/**
 * The ExMix mixture object: every ExMix member (tasks published after the paper left out),
 * examples-proportional with cap K. `plus: true` makes `exmix_plus`, which holds those too.
 */
export function exmixMixture(
  opts: { K?: number; temperature?: number; name?: string; plus?: boolean } = {},
): Mixture {
  const tasks = opts.plus ? EXMIX_TASK_OPTIONS : EXMIX_MEMBERS;
  const what = opts.plus ? 'ExMix plus later tasks' : 'ExMix (reconstruction)';
  return new Mixture({
    name: opts.name ?? (opts.plus ? 'exmix_plus' : 'exmix'),
    description: `${what}: ${tasks.length} supervised tasks, examples-proportional, K=${opts.K ?? DEFAULT_K}${opts.temperature ? `, T=${opts.temperature}` : ''}`,
    members: tasks.map((t) => t.name),
    defaultRate: examplesProportional({ maximum: opts.K ?? DEFAULT_K, temperature: opts.temperature ?? 1 }),
  });
}

/**
 * The ExT5 pre-training mixture: C4 span corruption at rate R per ExMix example, plus ExMix
 * (examples-proportional, cap K). The returned mixture is not registered; an ExMix with a non-default K or
 * temperature is registered once as the sub-mixture `exmix_k<K>[_t<T>]`.
 * @example
 * const m = ext5PretrainMixture({ R: 4, K: 100_000, name: 'ext5_r4_k100k' });
 * m.resolve().find((r) => r.task.name === 'c4_span_corruption')!.share; // 0.8
 * MixtureRegistry.add(m); // to refer to it by name
 */
export function ext5PretrainMixture(opts: Ext5PretrainOptions = {}): Mixture {
  const R = opts.R ?? DEFAULT_R;
  const K = opts.K ?? DEFAULT_K;
  const sameExmix = K === DEFAULT_K && (opts.temperature ?? 1) === 1;
  let exmixName = 'exmix';
  if (!sameExmix) {
    // A differently-capped ExMix is a different sub-mixture: register it once under a derived name.
    exmixName = `exmix_k${K}${opts.temperature ? `_t${String(opts.temperature).replace('.', 'p')}` : ''}`;
    if (!MixtureRegistry.has(exmixName)) {
      MixtureRegistry.add(exmixMixture({ K, temperature: opts.temperature, name: exmixName }));
    }
  }
  return new Mixture({
    name: opts.name ?? 'ext5_pretrain',
    description: `ExT5 pre-training: C4 span corruption (R=${R} per ExMix example) + ExMix (K=${K})`,
    members: [
      ['c4_span_corruption', R],
      [exmixName, 1],
    ],
  });
}

let registered = false;

/** Registers every ExMix task, the benchmarks, C4 and the ExMix/ExT5 mixtures (idempotent). */
export function registerExmix(): void {
  if (registered) return;
  registered = true;
  for (const t of EXMIX_TASK_OPTIONS) TaskRegistry.add(t);
  TaskRegistry.add(C4_TASK);
  MixtureRegistry.add(exmixMixture());
  MixtureRegistry.add(exmixMixture({ plus: true }));
  for (const family of FAMILIES) {
    const members = EXMIX_MEMBERS.filter((t) => t.family === family).map((t) => t.name);
    MixtureRegistry.add(
      new Mixture({
        name: `exmix_${family}`,
        description: `ExMix ${family} family (${members.length} tasks), examples-proportional, K=${DEFAULT_K}`,
        members,
        defaultRate: examplesProportional({ maximum: DEFAULT_K }),
      }),
    );
  }
  MixtureRegistry.add(ext5PretrainMixture());
  registerMixtureVariant('ext5_pretrain', ({ R, K, temperature }) =>
    ext5PretrainMixture({ R, K, temperature }),
  );
  registerMixtureVariant('exmix', ({ K, temperature }) =>
    exmixMixture({ K, temperature, name: `exmix_k${K}` }),
  );
  for (const { mixture, tasks } of Object.values(BENCHMARK_MIXTURES)) {
    MixtureRegistry.add(
      new Mixture({
        name: mixture,
        description: `The ${mixture} benchmark tasks, examples-proportional (for fine-tuning)`,
        members: tasks.map((t) => t.name),
        defaultRate: examplesProportional(),
      }),
    );
  }
}

/**
 * Each benchmark (the keys of lib/eval/aggregate.ts BENCHMARKS) and the mixture of its tasks, so a
 * benchmark name such as `cbqa` can stand for `closed_book_qa_benchmark` in eval.tasks.
 */
export const BENCHMARK_MIXTURES = {
  superglue: { mixture: 'superglue', tasks: SUPERGLUE_TASKS },
  gem: { mixture: 'gem', tasks: GEM_TASKS },
  rainbow: { mixture: 'rainbow', tasks: RAINBOW_TASKS },
  cbqa: { mixture: 'closed_book_qa_benchmark', tasks: CBQA_TASKS },
} as const;

/** The mixture of a benchmark's tasks, or undefined when `name` is no benchmark. */
export function benchmarkMixtureName(name: string): string | undefined {
  return Object.hasOwn(BENCHMARK_MIXTURES, name)
    ? BENCHMARK_MIXTURES[name as keyof typeof BENCHMARK_MIXTURES].mixture
    : undefined;
}

/** The families and their task counts. */
export function familyCounts(): Record<Family, number> {
  const out = Object.fromEntries(FAMILIES.map((f) => [f, 0])) as Record<Family, number>;
  for (const t of EXMIX_TASK_OPTIONS) if (t.family) out[t.family] += 1;
  return out;
}
