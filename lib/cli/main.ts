import yargs, { type Argv, type CommandModule } from 'yargs';
import { reportError } from '../util/report_error';
import { commands } from './index';
import { valueCompletions } from './names';
import { checkRepeatedFlags, flagSuggestions, knownFlags, type ParsedOptions, UsageError } from './usage';

/**
 * `ext5 … | head` closes stdout early; that is the reader's choice, not an error. Exit quietly
 * instead of crashing with an unhandled EPIPE.
 */
let pipeHandled = false;
function quietOnClosedPipe(): void {
  // Once per process: main() may run more than once in one process (tests, embedding).
  if (pipeHandled) return;
  pipeHandled = true;
  for (const stream of [process.stdout, process.stderr]) {
    stream.on('error', (err: NodeJS.ErrnoException) => {
      if (err.code === 'EPIPE') process.exit(process.exitCode ?? 0);
      throw err;
    });
  }
}

/**
 * A command whose help leaves out `--version`: the version belongs to `ext5 --version`, not to
 * every subcommand's option list.
 */
// biome-ignore lint/suspicious/noExplicitAny: yargs command modules differ in their argument types.
function withoutVersion(cmd: CommandModule<any, any>): CommandModule<any, any> {
  const build = cmd.builder;
  return {
    ...cmd,
    builder: (y: Argv) => {
      const built = typeof build === 'function' ? build(y) : build ? y.options(build) : y;
      return (built as Argv).version(false);
    },
  };
}

export async function main(argv: string[]): Promise<number> {
  quietOnClosedPipe();
  const parser: Argv = yargs(argv)
    .scriptName('ext5')
    .usage('$0 <command> [options]\n\nExT5 extreme multi-task pre-training of T5 models, on libtorch.')
    .command(commands.map(withoutVersion))
    .completion(
      'completion',
      'Print a bash/zsh completion script: `ext5 completion >> ~/.bashrc` (or ~/.zshrc)',
      // Commands and flags as yargs completes them; the values of name options from the registries.
      (
        _current: string,
        _argv: unknown,
        completionFilter: (onCompleted?: (err: Error | null, c: string[] | undefined) => void) => unknown,
        done: (completions: string[]) => unknown,
      ) => {
        const values = argv[0] === '--get-yargs-completions' ? valueCompletions(argv.slice(1)) : undefined;
        if (values) done(values);
        else completionFilter();
      },
    )
    // Before validation and every command's coerce functions, which would see the array yargs makes.
    // `parser` is the instance each command's builder configures, so its options are the command's.
    // (getOptions() is public yargs API that its type declarations leave out.)
    .middleware(
      (args) => checkRepeatedFlags(args, (parser as unknown as { getOptions(): ParsedOptions }).getOptions()),
      true,
    )
    .demandCommand(1, 'Name a command.')
    .strict()
    .recommendCommands()
    .help()
    .alias('h', 'help')
    .version()
    .wrap(Math.min(110, process.stdout.columns || 100))
    .epilogue('Docs: README.md and docs/ in the ext5 package. `ext5 <command> --help` for each command.')
    .fail((msg, err, usage) => {
      if (err) throw err;
      const near = flagSuggestions(msg ?? '', knownFlags(usage));
      // yargs goes on to run the handler unless the fail callback throws: stop here.
      throw new UsageError([msg, ...near.map((s) => `  ${s}`)].join('\n'));
    });
  try {
    await parser.parseAsync();
  } catch (err) {
    if (err instanceof UsageError) {
      process.stderr.write(
        `ext5: ${err.message}\n  hint: run \`ext5 --help\` or \`ext5 <command> --help\`.\n`,
      );
      return 2;
    }
    return reportError(err);
  }
  if (typeof process.exitCode === 'number' && process.exitCode !== 0) return process.exitCode;
  return 0;
}
