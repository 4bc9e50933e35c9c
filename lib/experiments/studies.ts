/**
 * The studies of `ext5 experiment`, after the analyses of the ExT5 paper (Aribandi et al., ICLR 2022,
 * arXiv 2111.10952): co-training transfer between task families, downstream quality against the
 * number of pre-training tasks, the C4 : ExMix ratio R (and K, temperature), sample efficiency
 * along pre-training, and multi-task pre-training against pre-finetuning. Each study turns its
 * parameters into cells (training runs); lib/experiments/analysis.ts turns their results into tables
 * and charts.
 */

import { MixtureRegistry } from '../tasks';
import { MINI_HELD_OUT } from '../tasks/mini/skills';
import { Ext5Error } from '../util/errors';
import { Rng } from '../util/rng';
import { type CellSpec, checkpointPath, expPaths, type MixtureSpec } from './cell';

/** The studies of `ext5 experiment`. */
export const STUDIES = ['transfer', 'scaling', 'mix', 'efficiency', 'prefinetune'] as const;
/** Those and `demo`, the study behind `ext5 demo` (lib/experiments/demo.ts). */
export type StudyName = (typeof STUDIES)[number] | 'demo';

/** Everything a study's plan depends on. */
export interface StudyParams {
  preset: string;
  /** Run presets the cells start from (model, lengths, optimizer). */
  runPresets: { pretrain: string; finetune: string };
  /** Extra `--set` strings for every fine-tuning cell (e.g. the model config of a base preset). */
  finetuneSets: string[];
  c4Task: string;
  /** The mixture whose tasks (minus the held-out ones) are the pre-training task pool. */
  pool: string;
  /** Downstream tasks, kept out of every pre-training mixture. */
  heldOut: string[];
  seeds: number;
  pretrainSteps: number;
  finetuneSteps: number;
  /** Validation examples per task and evaluation; null = all. */
  evalExamples: number | null;
  lossBatches: number;
  R: number;
  K: number | null;
  temperature: number;
  /** transfer: the families crossed. */
  families: string[];
  /** scaling: numbers of pre-training tasks. */
  points: number[];
  /** mix: which mixing knob is swept, and its values. */
  sweep: 'R' | 'K' | 'temperature';
  values: number[];
  /** efficiency: checkpoints along pre-training that are fine-tuned. */
  checkpoints: number;
  /** prefinetune: share of the step budget spent pre-finetuning on the pool. */
  prefinetuneFraction: number;
}

const MINI: StudyParams = {
  preset: 'mini',
  runPresets: { pretrain: 'tiny-demo', finetune: 'tiny-demo-finetune' },
  finetuneSets: [],
  c4Task: 'mini_c4_span_corruption',
  pool: 'mini_exmix',
  heldOut: [...MINI_HELD_OUT],
  seeds: 3,
  pretrainSteps: 200,
  finetuneSteps: 100,
  evalExamples: 50,
  lossBatches: 4,
  R: 2,
  K: null,
  temperature: 1,
  families: ['classification', 'commonsense', 'closed_book_qa', 'nli'],
  points: [0, 2, 6, 14],
  sweep: 'R',
  values: [1, 2, 4, 8],
  checkpoints: 4,
  prefinetuneFraction: 0.5,
};

const ALL_FAMILIES = [
  'classification',
  'closed_book_qa',
  'commonsense',
  'dialogue',
  'nli',
  'reading_comprehension',
  'semantic_parsing',
  'summarization',
];

const SMALL: StudyParams = {
  preset: 'small',
  runPresets: { pretrain: 't5-pretrain-small', finetune: 'finetune-small' },
  finetuneSets: [],
  c4Task: 'c4_span_corruption',
  pool: 'exmix',
  heldOut: ['super_glue_boolq', 'super_glue_cb', 'super_glue_copa', 'super_glue_rte'],
  seeds: 3,
  pretrainSteps: 100_000,
  finetuneSteps: 20_000,
  evalExamples: null,
  lossBatches: 20,
  R: 2,
  K: 300_000,
  temperature: 1,
  families: ALL_FAMILIES,
  points: [0, 15, 30, 60, 100],
  sweep: 'R',
  values: [1, 2, 4, 10, 20],
  checkpoints: 5,
  prefinetuneFraction: 0.5,
};

/** The built-in study presets: `mini` runs on a CPU in minutes; `small` and `base` are for a GPU. */
export const STUDY_PRESETS: Readonly<Record<string, { description: string; params: StudyParams }>> = {
  mini: {
    description: 'Tiny T5.1.1 on the built-in mini data (assets/mini): minutes on 2 CPU cores',
    params: MINI,
  },
  small: {
    description: 'T5.1.1 small on ExMix and C4 (download the data first: ext5 data); for a GPU',
    params: SMALL,
  },
  base: {
    description: 'T5.1.1 base on ExMix and C4; for a GPU (or several)',
    params: {
      ...SMALL,
      preset: 'base',
      runPresets: { pretrain: 't5-pretrain-base', finetune: 'finetune-small' },
      finetuneSets: ['model.config=t5-v1_1-base'],
    },
  },
};

/** The pool's tasks minus the held-out ones, with their families. */
export interface PoolTask {
  name: string;
  family: string;
}

export function poolTasks(p: StudyParams): PoolTask[] {
  return MixtureRegistry.get(p.pool)
    .tasks()
    .filter((t) => !p.heldOut.includes(t.name))
    .map((t) => ({ name: t.name, family: t.family ?? 'other' }));
}

export const safe = (s: string) => s.replace(/[^a-z0-9]+/gi, '_').toLowerCase();

function evalSets(p: StudyParams, tasks: readonly string[], steps: number): string[] {
  return [
    `eval.tasks=${JSON.stringify(tasks)}`,
    `eval.every=${steps}`,
    ...(p.evalExamples === null ? [] : [`eval.maxExamples=${p.evalExamples}`]),
  ];
}

/** The pre-training mixture: C4 at R per pool example + the given tasks (examples-proportional). */
export function pretrainData(
  p: StudyParams,
  name: string,
  tasks: readonly string[],
  mix: { R: number; K: number | null; temperature: number },
): { data: string; mixtures: MixtureSpec[] } {
  if (tasks.length === 0) return { data: p.c4Task, mixtures: [] };
  const rate = { proportional: { ...(mix.K === null ? {} : { K: mix.K }), temperature: mix.temperature } };
  const inner: MixtureSpec = { name: `${name}_tasks`, members: tasks.map((t) => [t, rate]) };
  return {
    data: name,
    mixtures: [
      inner,
      {
        name,
        members: [
          [p.c4Task, mix.R],
          [inner.name, 1],
        ],
      },
    ],
  };
}

export function pretrainCell(
  p: StudyParams,
  id: string,
  label: string,
  data: { data: string; mixtures: MixtureSpec[] },
  seed: number,
  opts: {
    steps?: number;
    checkpointEvery?: number;
    evalEvery?: number;
    from?: { dep: string; dir: string };
  } = {},
): CellSpec {
  const steps = opts.steps ?? p.pretrainSteps;
  return {
    id,
    label,
    deps: opts.from ? [opts.from.dep] : [],
    preset: p.runPresets.pretrain,
    mixtures: data.mixtures,
    sets: [
      'run.kind=pretrain',
      `data.mixtureOrTask=${data.data}`,
      `training.steps=${steps}`,
      `training.seed=${seed}`,
      `checkpoint.every=${opts.checkpointEvery ?? steps}`,
      'checkpoint.keepLast=0',
      `eval.every=${opts.evalEvery ?? steps}`,
      `eval.lossBatches=${p.lossBatches}`,
      'eval.tasks=[]',
      ...(opts.from ? [`model.checkpoint=${opts.from.dir}`] : []),
    ],
  };
}

export function finetuneCell(
  p: StudyParams,
  id: string,
  label: string,
  from: { dep: string; dir: string },
  train: { data: string; mixtures?: MixtureSpec[] },
  evalTasks: readonly string[],
  seed: number,
  steps = p.finetuneSteps,
): CellSpec {
  return {
    id,
    label,
    deps: [from.dep],
    preset: p.runPresets.finetune,
    mixtures: train.mixtures ?? [],
    sets: [
      ...p.finetuneSets,
      'run.kind=finetune',
      `data.mixtureOrTask=${train.data}`,
      `model.checkpoint=${from.dir}`,
      `training.steps=${steps}`,
      `training.seed=${seed}`,
      'checkpoint.every=0',
      'eval.lossBatches=0',
      ...evalSets(p, evalTasks, steps),
    ],
  };
}

/** A pre-training cell's final checkpoint, for cells that start from it. */
function finalOf(dir: string, id: string, steps: number) {
  return { dep: id, dir: checkpointPath(expPaths.cellDir(dir, id), steps) };
}

/** Fine-tunes a checkpoint on each held-out task (one cell per task, as T5 does). */
function heldOutCells(p: StudyParams, prefix: string, from: { dep: string; dir: string }, seed: number) {
  return p.heldOut.map((t) =>
    finetuneCell(p, `${prefix}-ft-${safe(t)}`, `fine-tune ${t}`, from, { data: t }, [t], seed),
  );
}

export function seeds(p: StudyParams): number[] {
  return Array.from({ length: p.seeds }, (_, i) => i);
}

/** transfer: fine-tune on family A alone vs co-train A with B, from one T5 checkpoint. */
export function planTransfer(p: StudyParams, dir: string): CellSpec[] {
  const pool = poolTasks(p);
  for (const f of p.families) {
    if (!pool.some((t) => t.family === f)) {
      throw new Ext5Error(
        'E_EXPERIMENT',
        `no task of family '${f}' in ${p.pool}`,
        `families with tasks: ${[...new Set(pool.map((t) => t.family))].join(', ')}`,
      );
    }
  }
  if (p.families.length < 2) throw new Ext5Error('E_EXPERIMENT', 'transfer needs at least two families');
  const tasksOf = (fs: string[]) => pool.filter((t) => fs.includes(t.family)).map((t) => t.name);
  const base = pretrainCell(p, 'base-t5', 'pre-train T5 (C4 only)', { data: p.c4Task, mixtures: [] }, 0);
  const from = finalOf(dir, base.id, p.pretrainSteps);
  const cells: CellSpec[] = [base];
  const co = (fs: string[], seed: number) => {
    const name = `x_${fs.map(safe).join('_x_')}`;
    const tasks = tasksOf(fs);
    const mix: MixtureSpec = { name, members: tasks.map((t) => [t, { proportional: {} }]) };
    cells.push(
      finetuneCell(
        p,
        `co-${fs.join('.')}-s${seed}`,
        `co-train ${fs.join(' + ')}`,
        from,
        {
          data: name,
          mixtures: [mix],
        },
        tasks,
        seed,
      ),
    );
  };
  for (const s of seeds(p)) {
    for (const a of p.families) co([a], s);
    p.families.forEach((a, i) => {
      for (const b of p.families.slice(i + 1)) co([a, b], s);
    });
  }
  return cells;
}

/** The random task subset of a scaling point (the same for a given size, seed and pool). */
export function scalingSubset(p: StudyParams, k: number, seed: number): string[] {
  const names = poolTasks(p).map((t) => t.name);
  if (k > names.length) {
    throw new Ext5Error(
      'E_EXPERIMENT',
      `${k} tasks asked for, but ${p.pool} has ${names.length} outside the held-out ones`,
    );
  }
  const rng = new Rng(`scaling-${k}-${seed}`);
  const a = [...names];
  for (let i = a.length - 1; i > 0; i--) {
    const j = Math.floor(rng.nextFloat() * (i + 1));
    [a[i], a[j]] = [a[j]!, a[i]!];
  }
  return a.slice(0, k).sort();
}

/** scaling: pre-train on C4 + k random pool tasks, fine-tune on the held-out tasks. */
export function planScaling(p: StudyParams, dir: string): CellSpec[] {
  const cells: CellSpec[] = [];
  for (const k of p.points) {
    for (const s of seeds(p)) {
      const id = `pre-k${k}-s${s}`;
      const data = pretrainData(p, `x_k${k}_s${s}`, scalingSubset(p, k, s), p);
      cells.push(pretrainCell(p, id, `pre-train with ${k} tasks`, data, s));
      cells.push(...heldOutCells(p, `k${k}-s${s}`, finalOf(dir, id, p.pretrainSteps), s));
    }
  }
  return cells;
}

/** A one-step run at a negligible learning rate whose validation pass measures the C4 loss. */
function c4LossCell(p: StudyParams, id: string, from: { dep: string; dir: string }): CellSpec {
  return {
    id,
    label: 'C4 validation loss',
    deps: [from.dep],
    preset: p.runPresets.pretrain,
    sets: [
      'run.kind=pretrain',
      `data.mixtureOrTask=${p.c4Task}`,
      `model.checkpoint=${from.dir}`,
      'training.steps=1',
      'training.seed=0',
      'optimizer.schedule=constant',
      'optimizer.lr=1e-30',
      'checkpoint.every=0',
      'eval.every=1',
      `eval.lossBatches=${p.lossBatches}`,
      'eval.tasks=[]',
    ],
  };
}

/** mix: sweep R, K or the temperature; downstream score and C4 loss per value. */
export function planMix(p: StudyParams, dir: string): CellSpec[] {
  const tasks = poolTasks(p).map((t) => t.name);
  const cells: CellSpec[] = [];
  for (const v of p.values) {
    const mix = { R: p.R, K: p.K, temperature: p.temperature, [p.sweep]: v };
    const tag = `${p.sweep}${String(v).replace('.', 'p')}`;
    for (const s of seeds(p)) {
      const id = `pre-${tag}-s${s}`;
      cells.push(
        pretrainCell(p, id, `pre-train ${p.sweep}=${v}`, pretrainData(p, `x_${safe(tag)}`, tasks, mix), s),
      );
      const from = finalOf(dir, id, p.pretrainSteps);
      cells.push(c4LossCell(p, `${tag}-s${s}-c4loss`, from));
      cells.push(...heldOutCells(p, `${tag}-s${s}`, from, s));
    }
  }
  return cells;
}

/** The steps at which efficiency fine-tunes a checkpoint. */
export function efficiencySteps(p: StudyParams): number[] {
  const every = Math.max(1, Math.floor(p.pretrainSteps / p.checkpoints));
  const steps: number[] = [];
  for (let i = 1; i <= p.checkpoints; i++) steps.push(i === p.checkpoints ? p.pretrainSteps : i * every);
  return [...new Set(steps)];
}

/** efficiency: fine-tune checkpoints along ExT5 and T5 pre-training. */
export function planEfficiency(p: StudyParams, dir: string): CellSpec[] {
  const tasks = poolTasks(p).map((t) => t.name);
  const steps = efficiencySteps(p);
  const every = steps[0]!;
  const cells: CellSpec[] = [];
  for (const arm of ['ext5', 't5'] as const) {
    for (const s of seeds(p)) {
      const id = `pre-${arm}-s${s}`;
      const data = arm === 'ext5' ? pretrainData(p, 'x_ext5', tasks, p) : { data: p.c4Task, mixtures: [] };
      cells.push(pretrainCell(p, id, `pre-train ${arm}`, data, s, { checkpointEvery: every }));
      for (const step of steps) {
        const from = { dep: id, dir: checkpointPath(expPaths.cellDir(dir, id), step) };
        cells.push(...heldOutCells(p, `${arm}-s${s}-at${step}`, from, s));
      }
    }
  }
  return cells;
}

/** prefinetune: ExT5 (multi-task from scratch) vs T5 then pre-finetuning on the pool, same steps. */
export function planPrefinetune(p: StudyParams, dir: string): CellSpec[] {
  const tasks = poolTasks(p).map((t) => t.name);
  const total = p.pretrainSteps;
  const t5Steps = Math.max(1, Math.round(total * (1 - p.prefinetuneFraction)));
  const pftSteps = total - t5Steps;
  if (pftSteps < 1) throw new Ext5Error('E_EXPERIMENT', 'prefinetune needs a pre-finetuning share above 0');
  const cells: CellSpec[] = [];
  for (const s of seeds(p)) {
    const ext5 = `pre-ext5-s${s}`;
    cells.push(pretrainCell(p, ext5, 'pre-train ExT5', pretrainData(p, 'x_ext5', tasks, p), s));
    cells.push(...heldOutCells(p, `ext5-s${s}`, finalOf(dir, ext5, total), s));
    // T5 for the whole budget, with a checkpoint where pre-finetuning branches off.
    const t5 = `pre-t5-s${s}`;
    cells.push(
      pretrainCell(p, t5, 'pre-train T5', { data: p.c4Task, mixtures: [] }, s, {
        checkpointEvery: t5Steps,
      }),
    );
    cells.push(...heldOutCells(p, `t5-s${s}`, finalOf(dir, t5, total), s));
    const pft = `pft-s${s}`;
    const pool = pretrainData(p, 'x_pool', tasks, { R: 0, K: p.K, temperature: p.temperature });
    const poolOnly = { data: pool.mixtures[0]!.name, mixtures: [pool.mixtures[0]!] };
    cells.push(
      pretrainCell(p, pft, 'pre-finetune T5 on the pool', poolOnly, s, {
        steps: pftSteps,
        from: { dep: t5, dir: checkpointPath(expPaths.cellDir(dir, t5), t5Steps) },
      }),
    );
    cells.push(...heldOutCells(p, `pft-s${s}`, finalOf(dir, pft, pftSteps), s));
  }
  return cells;
}
