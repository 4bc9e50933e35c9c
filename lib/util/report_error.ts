/**
 * How ext5 prints an error for its user, in one place for every process that reports one: the CLI
 * (lib/cli/main.ts) and the experiment workers it starts (lib/experiments/worker.ts).
 */
import { Ext5Error } from './errors';

/** Prints an error the way every ext5 command does: message, then the fix, no stack unless EXT5_DEBUG. */
export function reportError(err: unknown): number {
  const debug = process.env.EXT5_DEBUG === '1';
  if (err instanceof Ext5Error) {
    process.stderr.write(`ext5: error [${err.code}]: ${err.message}\n`);
    if (err.hint) process.stderr.write(`  hint: ${err.hint}\n`);
  } else if (err instanceof Error) {
    const code = (err as { code?: unknown }).code;
    process.stderr.write(`ext5: error${typeof code === 'string' ? ` [${code}]` : ''}: ${err.message}\n`);
  } else {
    process.stderr.write(`ext5: error: ${String(err)}\n`);
  }
  if (debug && err instanceof Error && err.stack) process.stderr.write(`${err.stack}\n`);
  return 1;
}
