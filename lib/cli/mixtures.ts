/** `ext5 mixtures list|inspect`: the registered mixtures, their rates and each task's share. */
import * as path from 'node:path';
import type { Argv, CommandModule } from 'yargs';
import { Ext5Error } from '../util/errors';

interface ListArgs {
  json: boolean;
}
interface InspectArgs {
  name: string;
  json: boolean;
  R?: number;
  K?: number;
  temperature?: number;
  'data-dir'?: string;
}

async function list(args: ListArgs): Promise<void> {
  // Each subcommand's one lazy point: the task registry, which `ext5 --help` does not load.
  const { MixtureRegistry } = await import('../tasks');
  const rows = MixtureRegistry.values().map((m) => ({
    name: m.name,
    tasks: m.taskNames().length,
    description: m.description,
  }));
  if (args.json) {
    process.stdout.write(`${JSON.stringify(rows, null, 2)}\n`);
    return;
  }
  const w = Math.max(...rows.map((r) => r.name.length));
  process.stdout.write(
    rows.map((r) => `${r.name.padEnd(w)}  ${String(r.tasks).padStart(4)} tasks  ${r.description}\n`).join(''),
  );
}

async function inspect(args: InspectArgs): Promise<void> {
  const {
    MixtureRegistry,
    mixtureVariant,
    mixtureVariantNames,
    DEFAULT_K,
    DEFAULT_R,
    defaultDataDir,
    exampleCount,
    isShort,
    describePartial,
  } = await import('../tasks');
  const base = MixtureRegistry.get(args.name);
  for (const [k, v] of [
    ['R', args.R],
    ['K', args.K],
    ['temperature', args.temperature],
  ] as const) {
    if (v !== undefined && !(Number.isFinite(v) && v > 0))
      throw new Ext5Error('E_ARG', `--${k} must be a positive number, got ${v}`);
  }
  const custom = args.R !== undefined || args.K !== undefined || args.temperature !== undefined;
  // The same rule as `ext5 pretrain` (lib/train/assemble.ts trainingMixture): a mixture that takes
  // the knobs declares its variant; the others refuse them rather than ignore them.
  const m = custom
    ? mixtureVariant(args.name, {
        R: args.R ?? DEFAULT_R,
        K: args.K ?? DEFAULT_K,
        temperature: args.temperature ?? 1,
      })
    : base;
  if (!m) {
    throw new Ext5Error(
      'E_ARG',
      `mixture '${args.name}' takes no -R, -K or --temperature`,
      `mixtures that do: ${mixtureVariantNames().join(', ')}`,
    );
  }
  // The data a run with --data-dir would read: its download records give the rows present.
  const dataDir = args['data-dir'] ? path.resolve(args['data-dir']) : defaultDataDir();
  const rows = m.resolve({ dataDir }).map((r) => {
    const count = exampleCount(r.task, 'train', dataDir);
    return {
      task: r.task.name,
      family: r.task.family ?? null,
      rate: r.rate,
      share: r.share,
      declared: count.declared ?? null,
      rowsPresent: count.present ?? null,
      partialExport: count.partial,
      partial: isShort(count),
      count,
    };
  });
  if (args.json) {
    const tasks = rows.map(({ count: _, ...r }) => r);
    process.stdout.write(
      `${JSON.stringify({ name: m.name, description: m.description, dataDir, members: m.members.map(([n, r]) => ({ name: n, rate: typeof r === 'number' ? r : 'function' })), tasks }, null, 2)}\n`,
    );
    return;
  }
  const w = Math.max(...rows.map((r) => r.task.length), 4);
  const flagged = rows.filter((r) => r.partial);
  const lines = [
    `mixture ${m.name}: ${m.description}`,
    `members: ${m.members.map(([n, r]) => `${n} (${typeof r === 'number' ? r : 'rate function'})`).join(', ')}`,
    '',
    `${'task'.padEnd(w)}  ${'rate'.padStart(12)}  ${'share'.padStart(8)}`,
    ...[...rows]
      .sort((a, b) => b.share - a.share)
      .map(
        (r) =>
          `${r.task.padEnd(w)}  ${r.rate.toPrecision(6).padStart(12)}  ${`${(100 * r.share).toFixed(3)}%`.padStart(8)}${r.partial ? ' *' : ''}`,
      ),
    `${rows.length} tasks`,
    ...(flagged.length > 0
      ? [
          '',
          `* partial data in ${dataDir}; examples-proportional rates take the rows present when fewer than declared (docs/data.md):`,
          ...flagged.map((r) => `  ${describePartial({ task: r.task, ...r.count })}`),
        ]
      : []),
  ];
  // One write: a closed pipe (| head) then costs one EPIPE at most.
  process.stdout.write(`${lines.join('\n')}\n`);
}

export const mixturesCommand: CommandModule<object, object> = {
  command: 'mixtures <action>',
  describe: 'List the registered mixtures, or inspect one (rates and per-task share)',
  builder: (y: Argv) =>
    y
      .command<ListArgs>(
        'list',
        'List mixtures',
        (a) => a.option('json', { type: 'boolean', default: false, describe: 'print JSON' }),
        list,
      )
      .command<InspectArgs>(
        'inspect <name>',
        'Show each task of a mixture with its rate and share',
        (a) =>
          a
            .positional('name', { type: 'string', demandOption: true, describe: 'mixture name' })
            .option('R', {
              type: 'number',
              describe: 'C4 examples per ExMix example (default 2; mixtures that take it)',
            })
            .option('K', {
              type: 'number',
              describe: 'Examples-proportional cap (default 300000; mixtures that take it)',
            })
            .option('temperature', {
              type: 'number',
              describe: 'Mixing temperature (default 1; mixtures that take it)',
            })
            .option('data-dir', {
              type: 'string',
              describe:
                'where the task data lives (default $EXT5_DATA or ~/.cache/ext5/data): rows present there count',
            })
            .option('json', { type: 'boolean', default: false, describe: 'print JSON' })
            .example('$0 mixtures inspect ext5_pretrain --R 4', 'C4 at 4 per ExMix example'),
        inspect,
      )
      .demandCommand(1, 'Name an action: list or inspect'),
  handler: () => undefined,
};
