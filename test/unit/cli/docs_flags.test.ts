// The docs say which commands take the run-config flags; the commands must take them.
import * as fs from 'node:fs';
import * as path from 'node:path';
import yargs, { type Argv } from 'yargs';
import { commands } from '../../../lib/cli/index';

/** The option names a command's builder declares. */
function commandFlags(name: string): string[] {
  const cmd = commands.find((c) => String(c.command).split(' ')[0] === name);
  if (!cmd) throw new Error(`no command ${name}`);
  const builder = cmd.builder as unknown as (y: Argv) => Argv;
  const y = builder(yargs([])) as unknown as { getOptions(): { key: Record<string, unknown> } };
  return Object.keys(y.getOptions().key);
}

const conf = fs.readFileSync(path.join(__dirname, '..', '..', '..', 'docs', 'configuration.md'), 'utf8');

test('the commands docs/configuration.md says take --preset/--config/--set take them; eval is not said to', () => {
  const m = /The training commands \(`ext5 ([^`]+)`\) take `--preset`, `--config` and `--set`/.exec(conf);
  expect(m).not.toBeNull();
  const named = m![1]!.split('|').map((s) => s.trim());
  expect(named).toEqual(['pretrain', 'finetune']);
  for (const c of named)
    expect(commandFlags(c)).toEqual(expect.arrayContaining(['preset', 'config', 'set', 'print-config']));
  // eval has no run config: the docs must not say it takes --set.
  expect(commandFlags('eval')).not.toContain('set');
  expect(conf).not.toMatch(/ext5 pretrain \| finetune \| eval`?\)? take `--preset`/);
  expect(conf).toMatch(/`ext5 eval` evaluates a finished checkpoint and takes its settings as flags/);
  for (const flag of ['benchmark', 'split', 'decoding', 'max-examples'])
    expect(commandFlags('eval')).toContain(flag);
});
