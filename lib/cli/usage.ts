/**
 * Usage mistakes caught by yargs (unknown flags, missing arguments), made as helpful as the
 * rest of ext5's errors: an unknown flag gets the closest flag the command takes, with the same
 * did-you-mean rule that commands, tasks and `--set` keys use.
 */
import { closestName, Ext5Error } from '../util/errors';

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

/** What yargs' `getOptions()` says about the flags of the command being parsed. */
export interface ParsedOptions {
  key: Record<string, unknown>;
  array: string[];
  alias: Record<string, string[] | undefined>;
}

/**
 * Refuses a single-valued flag given more than once. yargs collects the repeats into an array,
 * which a command reading one string or number then mishandles (`--preset a --preset b` reached
 * the preset lookup as ['a', 'b']). Flags declared `array: true` may repeat; boolean flags do not
 * collect, and the last of `--x` / `--no-x` wins. An alias counts as the same flag (`-o a --out b`).
 * Throws EXT5_FLAG_REPEATED naming every such flag and the values given.
 */
export function checkRepeatedFlags(argv: Record<string, unknown>, options: ParsedOptions): void {
  const covered = new Set<string>(options.array);
  for (const name of options.array) for (const a of options.alias[name] ?? []) covered.add(a);
  const repeated: string[] = [];
  for (const name of Object.keys(options.key)) {
    if (covered.has(name)) continue;
    const value = argv[name];
    if (!Array.isArray(value)) continue;
    covered.add(name);
    for (const a of options.alias[name] ?? []) covered.add(a);
    const flag = name.length === 1 ? `-${name}` : `--${name}`;
    repeated.push(`${flag} (${value.map((v) => JSON.stringify(v)).join(', ')})`);
  }
  if (repeated.length === 0) return;
  throw new Ext5Error(
    'EXT5_FLAG_REPEATED',
    `${repeated.join('; ')}: given more than once, but ${repeated.length === 1 ? 'it takes' : 'each takes'} one value`,
    'give each of these flags once (`ext5 <command> --help` marks the flags that take several values with [array])',
  );
}
