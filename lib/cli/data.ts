/** `ext5 data download`: fetch what a task or a mixture needs from the Hugging Face Hub into --data-dir. */
import * as path from 'node:path';
import type { Argv, CommandModule } from 'yargs';
import { Ext5Error } from '../util/errors';

interface DownloadArgs {
  name: string;
  'data-dir'?: string;
  split?: string[];
  'max-files'?: number;
  'dry-run': boolean;
  endpoint?: string;
  progress: boolean;
  json: boolean;
}

async function download(args: DownloadArgs): Promise<void> {
  const { getProvider, defaultDataDir } = require('../tasks') as typeof import('../tasks');
  const { downloadProvider } = require('../data/download') as typeof import('../data/download');
  const provider = getProvider(args.name);
  const dataDir = args['data-dir'] ? path.resolve(args['data-dir']) : defaultDataDir();
  if (args['max-files'] !== undefined && !(Number.isInteger(args['max-files']) && args['max-files'] > 0)) {
    throw new Ext5Error('E_ARG', `--max-files must be a positive integer, got ${args['max-files']}`);
  }
  const report = await downloadProvider(provider, {
    dataDir,
    ...(args.split ? { splits: args.split } : {}),
    ...(args['max-files'] !== undefined ? { maxFiles: args['max-files'] } : {}),
    ...(args.endpoint ? { endpoint: args.endpoint } : {}),
    dryRun: args['dry-run'],
    progress: args.progress && !args.json ? 'auto' : 'silent',
    log: args.json ? undefined : (line) => process.stderr.write(`${line}\n`),
  });
  if (args.json) {
    process.stdout.write(
      `${JSON.stringify(
        {
          dataDir,
          plan: report.plan.map((p) => ({
            ...p.unit,
            files: p.files.map((f) => ({ path: f.path, url: f.url, size: f.size ?? null })),
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
        process.stdout.write(`${p.unit.hfId} ${p.unit.config}/${p.unit.hfSplit} -> ${p.unit.dir}\n`);
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
        'download <name>',
        'Download the Hub Parquet exports (or repo files) a task or mixture needs, resumably, into <data-dir>/<dataset>/<config>/<split>/',
        (a) =>
          a
            .positional('name', { type: 'string', demandOption: true, describe: 'task or mixture name' })
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
            .example(
              '$0 data download c4_span_corruption --split validation --max-files 1',
              'one C4 validation shard',
            )
            .epilogue(
              'HF_TOKEN is sent for gated datasets. Exit status 3: some datasets need a manual download (listed).',
            ),
        download,
      )
      .demandCommand(1, 'Name an action: download'),
  handler: () => undefined,
};
