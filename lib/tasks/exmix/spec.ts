/**
 * The shape of one ExMix task as data, and the function that turns it into TaskOptions. ExMix's exact
 * 107-task list (Aribandi et al. 2022, appendix) was never released as code or data: the project's ExMix
 * is a reconstruction over public Hub datasets in the paper's eight families; `inPaper` says which members
 * the paper is known to include (true), which fit its description and era (likely), and which are ours (false).
 */
import type { DataRecord, Family, InPaper, Preprocessor, SplitSpec, TaskOptions } from '../task';

export interface ExmixSpec {
  name: string;
  description: string;
  hf: string;
  config?: string;
  /** Split name → Hub split (default train/validation). */
  splits?: Record<string, string | SplitSpec>;
  /** Train examples, from the dataset card (used by examples-proportional mixing). */
  n: number;
  inPaper: InPaper;
  /** See TaskOptions.inPaperSource. */
  inPaperSource?: string;
  /** See TaskOptions.afterPaper. */
  afterPaper?: boolean;
  pre: Preprocessor;
  metrics: string[];
  /** One record in the dataset's real column layout; its keys are the required columns. */
  sample: DataRecord;
  manual?: string;
  /** See DataSource.home. */
  home?: string;
  postprocessor?: string;
  targetsLength?: number;
}

/** Builds the TaskOptions of an ExMix task of `family`. */
export function exmixTask(family: Family, s: ExmixSpec): TaskOptions {
  const splits: Record<string, SplitSpec> = {};
  for (const [k, v] of Object.entries(s.splits ?? { train: 'train', validation: 'validation' })) {
    splits[k] = typeof v === 'string' ? { hfSplit: v } : v;
  }
  return {
    name: s.name,
    description: s.description,
    family,
    source: {
      hfId: s.hf,
      config: s.config ?? 'default',
      splits,
      columns: Object.keys(s.sample),
      ...(s.manual ? { manual: s.manual } : {}),
      ...(s.home ? { home: s.home } : {}),
    },
    preprocessor: s.pre,
    metrics: s.metrics,
    postprocessor: s.postprocessor,
    numExamples: { train: s.n },
    inPaper: s.inPaper,
    ...(s.inPaperSource !== undefined ? { inPaperSource: s.inPaperSource } : {}),
    ...(s.afterPaper ? { afterPaper: true } : {}),
    reference: `Hub dataset card ${s.hf}${s.config ? ` (${s.config})` : ''}`,
    sampleRecord: s.sample,
    outputFeatures: s.targetsLength ? { targetsLength: s.targetsLength } : {},
  };
}
