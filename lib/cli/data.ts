/** `ext5 data download`: fetch what a task or a mixture needs from the Hugging Face Hub into --data-dir. */
import * as path from 'node:path';
import type { Argv, CommandModule } from 'yargs';
import { didYouMean, Ext5Error } from '../util/errors';

interface DownloadArgs {
  name?: string;
  benchmark?: string;
  mixture?: string;
  offline?: boolean;
  'data-dir'?: string;
  split?: string[];
  'max-files'?: number;
  'dry-run': boolean;
  endpoint?: string;
  progress: boolean;
  json: boolean;
}

type Tasks = typeof import('../tasks');

/** What to download: one of a task/mixture name, --benchmark or --mixture. */
function pickProvider(args: DownloadArgs, t: Tasks) {
  const given = [args.name, args.benchmark, args.mixture].filter((x) => x !== undefined);
  if (given.length !== 1) {
    throw new Ext5Error(
      'E_ARG',
      given.length === 0
        ? 'name a task or mixture, or pass --benchmark or --mixture'
        : 'give only one of <name>, --benchmark, --mixture',
      'e.g. `ext5 data download super_glue_cb`, `ext5 data download --benchmark superglue`, `ext5 data download --mixture exmix`',
    );
  }
  if (args.mixture !== undefined) return t.MixtureRegistry.get(args.mixture);
  if (args.benchmark !== undefined) {
    // A benchmark is the tasks that name it (Task.benchmark), the same set `ext5 eval --benchmark` scores.
    const tasks = t.TaskRegistry.values().filter((x) => x.benchmark === args.benchmark);
    if (tasks.length === 0) {
      const known = [
        ...new Set(
          t.TaskRegistry.values()
            .map((x) => x.benchmark)
            .filter((b): b is string => !!b),
        ),
      ].sort();
      throw new Ext5Error(
        'E_UNKNOWN_BENCHMARK',
        `unknown benchmark '${args.benchmark}'${didYouMean(args.benchmark!, known)}`,
        `known benchmarks: ${known.join(', ')}`,
      );
    }
    return tasks;
  }
  return t.getProvider(args.name!);
}

async function download(args: DownloadArgs): Promise<void> {
  // The command's one lazy point: the task registry and the download planner, which `ext5 --help` does not load.
  const [t, { downloadProvider }] = await Promise.all([import('../tasks'), import('../tasks/download_plan')]);
  const provider = pickProvider(args, t);
  const defaultDataDir = t.defaultDataDir;
  const dataDir = args['data-dir'] ? path.resolve(args['data-dir']) : defaultDataDir();
  if (args['max-files'] !== undefined && !(Number.isInteger(args['max-files']) && args['max-files'] > 0)) {
    throw new Ext5Error('E_ARG', `--max-files must be a positive integer, got ${args['max-files']}`);
  }
  const report = await downloadProvider(provider, {
    dataDir,
    ...(args.split ? { splits: args.split } : {}),
    ...(args['max-files'] !== undefined ? { maxFiles: args['max-files'] } : {}),
    ...(args.endpoint ? { endpoint: args.endpoint } : {}),
    ...(args.offline ? { offline: true } : {}),
    dryRun: args['dry-run'],
    progress: args.progress && !args.json ? 'auto' : 'silent',
    log: args.json ? undefined : (line) => process.stderr.write(`${line}\n`),
  });
  if (args.json) {
    process.stdout.write(
      `${JSON.stringify(
        {
          dataDir,
          totalBytes: report.totalBytes,
          plan: report.plan.map((p) => ({
            ...p.unit,
            commit: p.commit ?? null,
            partial: p.partial,
            rows: p.rows ?? null,
            fromDisk: p.fromDisk,
            files: p.files.map((f) => ({ path: f.path, name: f.name, url: f.url, size: f.size ?? null })),
          })),
          files: report.files,
          manual: report.manual,
        },
        null,
        2,
      )}\n`,
    );
  } else {
    if (args['dry-run']) {
      for (const p of report.plan) {
        process.stdout.write(
          `${p.unit.hfId} ${p.unit.config}/${p.unit.hfSplit}${p.commit ? `@${p.commit.slice(0, 12)}` : ''}${p.partial ? ' (partial export)' : ''} -> ${p.unit.dir}\n`,
        );
        for (const f of p.files)
          process.stdout.write(`  ${f.url}${f.size !== undefined ? ` (${f.size} bytes)` : ''}\n`);
      }
    }
    const bytes = report.files.reduce((s, f) => s + f.bytes, 0);
    if (!args['dry-run'])
      process.stdout.write(`${report.files.length} files (${bytes} bytes) in ${dataDir}\n`);
    for (const u of report.manual) {
      process.stdout.write(
        `manual download needed for ${u.hfId} ${u.config}/${u.hfSplit} (${u.tasks.join(', ')}): ${u.manual}\n  put the files in ${u.dir}\n`,
      );
    }
  }
  if (report.manual.length > 0) process.exitCode = 3;
}

export const dataCommand: CommandModule<object, object> = {
  command: 'data <action>',
  describe: 'Get the data files of tasks and mixtures',
  builder: (y: Argv) =>
    y
      .command<DownloadArgs>(
        'download [name]',
        'Download the Hub Parquet exports (or repo files) a task, mixture or benchmark needs, resumably, into <data-dir>/<dataset>/<config>/<split>/',
        (a) =>
          a
            .positional('name', { type: 'string', describe: 'task or mixture name' })
            .option('benchmark', {
              type: 'string',
              describe: 'all tasks of a benchmark (superglue, gem, rainbow, cbqa)',
            })
            .option('mixture', { type: 'string', describe: 'all tasks of a mixture (e.g. exmix)' })
            .option('offline', {
              type: 'boolean',
              describe: 'no network: verify what is on disk (as HF_HUB_OFFLINE=1)',
            })
            .option('data-dir', {
              type: 'string',
              describe: 'where tasks read their files (default $EXT5_DATA or ~/.cache/ext5/data)',
            })
            .option('split', {
              type: 'string',
              array: true,
              describe: 'only these task splits (default: all)',
            })
            .option('max-files', {
              type: 'number',
              describe: 'at most this many files per dataset split (C4 has 1024)',
            })
            .option('dry-run', { type: 'boolean', default: false, describe: 'list what would be downloaded' })
            .option('endpoint', {
              type: 'string',
              describe: 'Hub endpoint (default $HF_ENDPOINT or https://huggingface.co)',
            })
            .option('progress', {
              type: 'boolean',
              default: true,
              describe: 'show a progress bar (--no-progress to hide)',
            })
            .option('json', { type: 'boolean', default: false, describe: 'print a JSON report' })
            .example(
              '$0 data download super_glue_cb --data-dir ./data',
              'CB train/validation/test Parquet files',
            )
            .example('$0 data download --benchmark superglue', 'every SuperGLUE task')
            .example(
              '$0 data download c4_span_corruption --split validation --max-files 1',
              'one C4 validation shard',
            )
            .epilogue(
              'The token is HF_TOKEN, HUGGING_FACE_HUB_TOKEN or the file `huggingface-cli login` writes; HF_HUB_OFFLINE=1 works from disk; HF_HUB_DOWNLOAD_TIMEOUT / HF_HUB_ETAG_TIMEOUT set timeouts (docs/hub.md). Exit status 3: some datasets need a manual download (listed).',
            ),
        download,
      )
      .demandCommand(1, 'Name an action: download'),
  handler: () => undefined,
};
