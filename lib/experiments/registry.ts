/**
 * Every study declared once: its title, the parameters (knobs) it reads, how it plans its cells and
 * how it analyses their results. `ext5 experiment` and `ext5 demo` go through these, and the
 * report's parameter table lists a study's own knobs only.
 */
import { Ext5Error } from '../util/errors';
import {
  analyzeEfficiency,
  analyzeMix,
  analyzePrefinetune,
  analyzeScaling,
  analyzeTransfer,
  type StudyAnalysis,
} from './analysis';
import type { CellSpec } from './cell';
import { analyzeDemo, DEMO_MIXTURE, planDemo } from './demo';
import type { Results } from './scores';
import {
  planEfficiency,
  planMix,
  planPrefinetune,
  planScaling,
  planTransfer,
  type StudyName,
  type StudyParams,
} from './studies';

type Knob = keyof StudyParams;

export interface StudyDef {
  title: string;
  /** The command that runs it (the demo has its own). */
  command: string;
  /** The parameters the study's cells or analysis read, in the order the report lists them. */
  knobs: readonly Knob[];
  plan: (p: StudyParams, dir: string) => CellSpec[];
  /** `dir` lets an analysis read the cells' run directories (the demo's loss curves). */
  analyze: (p: StudyParams, results: Results, dir?: string) => StudyAnalysis;
  /** Settings the study fixes, listed after its knobs (name, value). */
  fixed?: readonly [string, string][];
}

const RUN: Knob[] = ['runPresets', 'finetuneSets', 'seeds', 'pretrainSteps', 'finetuneSteps', 'evalExamples'];
/** Pre-training on C4 + the pool, fine-tuning on the held-out tasks. */
const POOL: Knob[] = [...RUN, 'c4Task', 'pool', 'heldOut', 'R', 'K', 'temperature'];

export const STUDY_DEFS: Readonly<Record<StudyName, StudyDef>> = {
  transfer: {
    title: 'Co-training transfer between task families',
    command: 'ext5 experiment transfer',
    knobs: [...RUN, 'c4Task', 'pool', 'heldOut', 'families'],
    plan: planTransfer,
    analyze: analyzeTransfer,
  },
  scaling: {
    title: 'Downstream quality vs number of pre-training tasks',
    command: 'ext5 experiment scaling',
    knobs: [...POOL, 'points'],
    plan: planScaling,
    analyze: analyzeScaling,
  },
  mix: {
    title: 'Mixing C4 and ExMix',
    command: 'ext5 experiment mix',
    knobs: [...POOL, 'sweep', 'values', 'lossBatches'],
    plan: planMix,
    analyze: analyzeMix,
  },
  efficiency: {
    title: 'Sample efficiency along pre-training: ExT5 vs T5',
    command: 'ext5 experiment efficiency',
    knobs: [...POOL, 'checkpoints'],
    plan: planEfficiency,
    analyze: analyzeEfficiency,
  },
  prefinetune: {
    title: 'Multi-task pre-training vs pre-finetuning',
    command: 'ext5 experiment prefinetune',
    knobs: [...POOL, 'prefinetuneFraction'],
    plan: planPrefinetune,
    analyze: analyzePrefinetune,
  },
  demo: {
    title: 'ExT5 vs T5 in miniature (mini data)',
    command: 'ext5 demo',
    knobs: [...RUN, 'c4Task', 'heldOut', 'lossBatches'],
    plan: planDemo,
    analyze: analyzeDemo,
    fixed: [['ExT5 pre-training mixture', DEMO_MIXTURE]],
  },
};

const positiveInt = (v: number) => Number.isInteger(v) && v >= 1;

/** The cells of a study. */
export function planStudy(study: StudyName, p: StudyParams, dir: string): CellSpec[] {
  if (!positiveInt(p.seeds)) {
    throw new Ext5Error('E_EXPERIMENT', `--seeds must be a positive integer, got ${p.seeds}`);
  }
  if (!positiveInt(p.pretrainSteps) || !positiveInt(p.finetuneSteps)) {
    throw new Ext5Error(
      'E_EXPERIMENT',
      `pre-training and fine-tuning steps must be positive integers, got ${p.pretrainSteps} and ${p.finetuneSteps}`,
    );
  }
  return STUDY_DEFS[study].plan(p, dir);
}

/** The analysis of a study from whatever results exist (missing cells leave gaps, not errors). */
export function analyzeStudy(
  study: StudyName,
  p: StudyParams,
  results: Results,
  dir?: string,
): StudyAnalysis {
  return STUDY_DEFS[study].analyze(p, results, dir);
}

function showValue(v: unknown): string {
  if (v === null) return 'none';
  if (Array.isArray(v)) return v.join(', ') || '(none)';
  if (typeof v === 'object') {
    return Object.entries(v as object)
      .map(([a, b]) => `${a}: ${b}`)
      .join(', ');
  }
  return String(v);
}

/**
 * The report's parameter rows: the study's own knobs, no others. A swept knob shows as its sweep
 * ("sweep: R = 1, 8"), never with its single default beside it; an empty `finetuneSets` is left out.
 */
export function parameterRows(study: StudyName, p: StudyParams): string[][] {
  const { knobs, fixed = [] } = STUDY_DEFS[study];
  const rows: string[][] = [['preset', p.preset]];
  for (const k of knobs) {
    if (k === 'values' || (knobs.includes('sweep') && k === p.sweep)) continue;
    if (k === 'finetuneSets' && p.finetuneSets.length === 0) continue;
    if (k === 'sweep') rows.push(['sweep', `${p.sweep} = ${showValue(p.values)}`]);
    else rows.push([k, showValue(p[k])]);
  }
  return [...rows, ...fixed.map(([k, v]) => [k, v])];
}
