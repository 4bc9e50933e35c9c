/**
 * Tasks and mixtures (SeqIO-style). Importing this module registers every built-in task and mixture:
 * the ExMix reconstruction, the benchmarks, C4, and the built-in mini tasks.
 * @example
 * import { TaskRegistry, MixtureRegistry, MixtureSampler } from 'ext5';
 * const sampler = new MixtureSampler(MixtureRegistry.get('mini_ext5_pretrain'), { seed: 1 });
 */
import { registerExmix } from './exmix';
import { registerMini } from './mini';

export {
  BENCHMARK_MIXTURES,
  DEFAULT_K,
  DEFAULT_R,
  EXMIX_MEMBERS,
  EXMIX_TASK_OPTIONS,
  exmixMixture,
  ext5PretrainMixture,
} from './exmix';
export { MINI_HELD_OUT } from './mini';
export * from './mixture';
export * as preprocessors from './preprocessors';
export { getProvider, MixtureRegistry, TaskRegistry } from './registry';
export * from './sampler';
export * from './task';

/** Registers all built-in tasks and mixtures (called on import; idempotent). */
export function registerBuiltins(): void {
  registerExmix();
  registerMini();
}

registerBuiltins();
