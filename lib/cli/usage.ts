/**
 * Usage mistakes caught by yargs (unknown flags, missing arguments), made as helpful as the
 * rest of ext5's errors: an unknown flag gets the closest flag the command takes, with the same
 * did-you-mean rule that commands, tasks and `--set` keys use.
 */
import { closestName } from '../util/errors';

/** A command-line usage mistake (unknown flag, missing argument): exit code 2. */
export class UsageError extends Error {}

/**
 * The flags named by yargs' "Unknown argument(s): a, b" message; [] for any other message.
 * @example
 * unknownArguments('Unknown arguments: step, lr'); // ['step', 'lr']
 */
export function unknownArguments(msg: string): string[] {
  const m = /^Unknown arguments?: (.+)$/.exec(msg.trim());
  if (!m) return [];
  return m[1]!
    .split(', ')
    .map((s) => s.trim())
    .filter((s) => s.length > 0);
}

/**
 * "did you mean" lines for each unknown flag of `msg` that is close to one of `known` (the
 * command's own options, without dashes).
 * @example
 * flagSuggestions('Unknown argument: step', ['steps', 'help']); // ['--step: did you mean --steps?']
 */
export function flagSuggestions(msg: string, known: Iterable<string>): string[] {
  const flags = [...known].filter((k) => k.length > 1 || /^[A-Za-z]$/.test(k));
  const out: string[] = [];
  for (const u of unknownArguments(msg)) {
    const bare = u.replace(/^-+/, '');
    const near = closestName(bare, flags);
    if (near !== undefined)
      out.push(
        `${near.length === 1 ? '-' : '--'}${bare}: did you mean ${near.length === 1 ? '-' : '--'}${near}?`,
      );
  }
  return out;
}

/**
 * The option names of the (sub)command yargs was parsing when it failed. yargs passes its usage
 * object as the fail callback's third argument; its getDescriptions() lists the current
 * command's options. Read defensively: without it, there is simply no suggestion.
 */
export function knownFlags(usage: unknown): string[] {
  const get = (usage as { getDescriptions?: () => unknown } | undefined)?.getDescriptions;
  if (typeof get !== 'function') return [];
  const d = get.call(usage);
  return d !== null && typeof d === 'object' ? Object.keys(d) : [];
}
