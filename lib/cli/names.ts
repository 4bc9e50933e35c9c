/**
 * Names a user types on the command line (a mixture, tasks, a benchmark), checked before any
 * expensive step (vocabulary, model, run directory), each with one "did you mean" over every name
 * that could have been meant. The registries and the run config own the names; this module only
 * asks them, so that a typo reads "unknown mixture" and not whatever step first tripped on it.
 */
import { presetNames } from '../model/t5_presets';
import type { RunConfig } from '../run/config_keys';
import { runPresetNames } from '../run/run_presets';
import { didYouMean, Ext5Error } from '../util/errors';

// The one lazy point of this module: importing the tasks registers every built-in task (40-115 ms
// on the 2-core development machine), which `--help` and the commands that take no task name do
// not need; lib/cli/main.ts imports this module (shell completions), so it is on every command's
// start-up path.
function tasks() {
  return require('../tasks') as typeof import('../tasks');
}

/** Benchmark names (`superglue`, `gem`, `rainbow`, `cbqa`). */
export function benchmarkNames(): string[] {
  return Object.keys(tasks().BENCHMARK_MIXTURES);
}

/**
 * Checks that `name` is a registered mixture or task (what data.mixtureOrTask may hold).
 * @throws Ext5Error UNKNOWN_NAME with the closest mixture or task name.
 */
export function checkMixtureOrTask(name: string, flag = 'data.mixtureOrTask'): void {
  const { TaskRegistry, MixtureRegistry } = tasks();
  if (TaskRegistry.has(name) || MixtureRegistry.has(name)) return;
  throw new Ext5Error(
    'UNKNOWN_NAME',
    `${flag}: no mixture or task named '${name}'${didYouMean(name, [...MixtureRegistry.names(), ...TaskRegistry.names()])}`,
    'list them with `ext5 mixtures list` and `ext5 tasks list`',
  );
}

/**
 * Checks each evaluation name: a benchmark, a mixture or a task (what eval.tasks and
 * `ext5 eval --benchmark` take).
 * @throws Ext5Error UNKNOWN_NAME with the closest benchmark, mixture or task name.
 */
export function checkEvalNames(names: readonly string[], flag = 'eval.tasks'): void {
  const { TaskRegistry, MixtureRegistry } = tasks();
  const bench = benchmarkNames();
  for (const n of names) {
    if (bench.includes(n) || MixtureRegistry.has(n) || TaskRegistry.has(n)) continue;
    throw new Ext5Error(
      'UNKNOWN_NAME',
      `${flag}: no benchmark, mixture or task named '${n}'${didYouMean(n, [...bench, ...MixtureRegistry.names(), ...TaskRegistry.names()])}`,
      `benchmarks: ${bench.join(', ')}; list the rest with \`ext5 mixtures list\` and \`ext5 tasks list\``,
    );
  }
}

/**
 * Checks a benchmark name (`tasks list --benchmark`).
 * @throws Ext5Error E_ARG with the closest benchmark and the list.
 */
export function checkBenchmark(name: string): void {
  const bench = benchmarkNames();
  if (bench.includes(name)) return;
  throw new Ext5Error(
    'E_ARG',
    `unknown benchmark '${name}'${didYouMean(name, bench)}`,
    `benchmarks: ${bench.join(', ')}`,
  );
}

/** Checks every name a training config uses, before the run builds anything. */
export function checkRunNames(c: RunConfig): void {
  checkMixtureOrTask(c.data.mixtureOrTask);
  checkEvalNames(c.eval.tasks);
}

/**
 * Shell completion of option values: the names `--preset`, `--model`, `--mixture`, `--task`,
 * `--benchmark` and `--eval` take, when `words` (the command line so far, the word being completed
 * last) ends in one of them; undefined otherwise (yargs then completes commands and flags).
 */
export function valueCompletions(words: readonly string[]): string[] | undefined {
  const prev = words.length >= 2 ? words[words.length - 2] : undefined;
  const cur = words[words.length - 1] ?? '';
  let names: string[] | undefined;
  switch (prev) {
    case '--preset': {
      names = runPresetNames();
      break;
    }
    case '--model': {
      names = presetNames();
      break;
    }
    case '--mixture':
      names = tasks().MixtureRegistry.names();
      break;
    case '--task':
      names = tasks().TaskRegistry.names();
      break;
    case '--benchmark':
    case '--eval':
      // A benchmark and its mixture may share a name (superglue): offer it once.
      names = [
        ...new Set([
          ...benchmarkNames(),
          ...tasks().MixtureRegistry.names(),
          ...tasks().TaskRegistry.names(),
        ]),
      ];
      break;
    default:
      return undefined;
  }
  return names.filter((n) => n.startsWith(cur));
}
