/**
 * `ext5 launch` (start the workers of a data-parallel job, torchrun style) and
 * `ext5 dist-selftest` (a worker that checks the process group inside such a job). The launcher
 * never loads libtorch; the self-test loads it in each worker.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { CommandModule } from 'yargs';
import { Ext5Error } from '../util/errors';

interface LaunchArgs {
  nproc: number;
  nnodes: number;
  'node-rank': number;
  'master-addr'?: string;
  'master-port'?: number;
  timeout?: number;
  grace: number;
  _: (string | number)[];
}

/** The ext5 entry script the workers run: dist/bin/ext5.js beside this file, else our own argv[1]. */
function ext5Script(): string {
  const built = path.resolve(__dirname, '..', '..', 'bin', 'ext5.js');
  if (fs.existsSync(built)) return built;
  const self = process.argv[1];
  if (self && fs.existsSync(self)) return self;
  throw new Ext5Error(
    'EXT5_LAYOUT',
    `cannot find ext5's entry script (looked for ${built})`,
    'run `npm run build:ts`',
  );
}

/**
 * The worker command after `--`. torchrun users write the program too (`-- ext5 pretrain …`);
 * the workers already run ext5, so a leading `ext5` (or `npx ext5`) is the same command, not a
 * command named "ext5".
 */
export function workerCommand(rest: readonly string[]): string[] {
  let out = [...rest];
  if (out[0] === 'npx' && out[1] === 'ext5') out = out.slice(1);
  if (out[0] !== undefined && /(^|[\\/])ext5(\.js)?$/.test(out[0])) out = out.slice(1);
  if (out.length === 0) {
    throw new Ext5Error(
      'EXT5_INVALID_ARG',
      'no worker command: give the ext5 command to run after `--`',
      'e.g. `ext5 launch --nproc 2 -- dist-selftest` or `ext5 launch --nproc 2 -- pretrain --preset tiny-demo`',
    );
  }
  return out;
}

export const launchCommand: CommandModule<object, LaunchArgs> = {
  command: 'launch',
  describe: 'Run an ext5 command as N data-parallel worker processes (torchrun-style env)',
  builder: (y) =>
    y
      .usage(
        'ext5 launch --nproc N [options] -- <ext5 command and its options>\n\n' +
          'Starts N workers running `ext5 <command>` with RANK, LOCAL_RANK, WORLD_SIZE, LOCAL_WORLD_SIZE,\n' +
          'MASTER_ADDR and MASTER_PORT set, prefixes their output with [rank i], and stops the whole job\n' +
          '(SIGTERM, then SIGKILL after --grace) as soon as one worker fails. A leading `ext5` after `--`\n' +
          '(the torchrun habit) is accepted. See docs/distributed.md.',
      )
      .option('nproc', { type: 'number', demandOption: true, describe: 'Worker processes on this machine' })
      .option('nnodes', { type: 'number', default: 1, describe: 'Machines in the job' })
      .option('node-rank', { type: 'number', default: 0, describe: "This machine's index, 0..nnodes-1" })
      .option('master-addr', {
        type: 'string',
        describe: 'Address of the machine with node rank 0 (default 127.0.0.1; required with --nnodes > 1)',
      })
      .option('master-port', {
        type: 'number',
        describe: 'Rendezvous port (default: a free port on one machine, 29500 on several)',
      })
      .option('timeout', {
        type: 'number',
        describe:
          'Seconds a rendezvous or collective may wait for peers before failing (EXT5_DIST_TIMEOUT; default 300)',
      })
      .option('grace', {
        type: 'number',
        default: 5,
        describe: 'Seconds between SIGTERM and SIGKILL when stopping workers',
      })
      .example('ext5 launch --nproc 2 -- dist-selftest', 'check a 2-process job on this machine')
      .example(
        'ext5 launch --nnodes 2 --node-rank 0 --master-addr 10.0.0.1 --master-port 29500 --nproc 4 -- <command>',
        'machine 0 of a 2-machine job (run the same with --node-rank 1 on the other)',
      ),
  handler: async (argv) => {
    const { launch, describeExit } = await import('../ddp/launcher');
    const rest = workerCommand(argv._.slice(1).map(String));
    if (!(argv.grace >= 0))
      throw new Ext5Error('EXT5_INVALID_ARG', `--grace must be >= 0 seconds, got ${argv.grace}`);
    const handle = await launch({
      nproc: argv.nproc,
      nnodes: argv.nnodes,
      nodeRank: argv['node-rank'],
      ...(argv['master-addr'] !== undefined ? { masterAddr: argv['master-addr'] } : {}),
      ...(argv['master-port'] !== undefined ? { masterPort: argv['master-port'] } : {}),
      ...(argv.timeout !== undefined ? { timeoutS: argv.timeout } : {}),
      graceMs: Math.round(argv.grace * 1000),
      argv: [process.execPath, ext5Script(), ...rest],
    });
    const onSignal = (sig: NodeJS.Signals) => handle.stop(sig);
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
    let result: Awaited<typeof handle.done>;
    try {
      result = await handle.done;
    } finally {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
    }
    if (result.failed) {
      const f = result.failed;
      throw new Ext5Error(
        'EXT5_LAUNCH_WORKER_FAILED',
        `rank ${f.rank} (pid ${f.pid}) ${describeExit(f)}; all ${result.workers.length} worker(s) of this machine were stopped`,
        'its own error is in the [rank ' +
          f.rank +
          '] lines above; other ranks usually fail after it (lost peer or timeout)',
      );
    }
    if (result.interrupted) {
      process.stderr.write(`ext5 launch: stopped by ${result.interrupted}\n`);
      process.exitCode = result.exitCode;
    }
  },
};

interface SelftestArgs {
  'die-at-rank'?: number;
  'hang-at-rank'?: number;
  'bucket-bytes': number;
  timeout?: number;
  json: boolean;
}

/** A worker for `ext5 launch` that checks the collectives (see lib/ddp/selftest.ts). */
export const distSelftestCommand: CommandModule<object, SelftestArgs> = {
  command: 'dist-selftest',
  // Listed: `ext5 launch --help` and docs/distributed.md tell users to run it.
  describe: 'Check the process group of a data-parallel job (run it under `ext5 launch --nproc N --`)',
  builder: (y) =>
    y
      .option('die-at-rank', { type: 'number', describe: 'This rank SIGKILLs itself after the rendezvous' })
      .option('hang-at-rank', { type: 'number', describe: 'This rank stops responding after the rendezvous' })
      .option('bucket-bytes', {
        type: 'number',
        default: 4096,
        describe: 'Bucket size of the gradient check',
      })
      .option('timeout', {
        type: 'number',
        describe: 'Deadline in seconds (default EXT5_DIST_TIMEOUT or 300)',
      })
      .option('json', { type: 'boolean', default: false, describe: 'Print the report as one JSON line' }),
  handler: async (argv) => {
    const { runSelftest } = await import('../ddp/selftest');
    const report = await runSelftest({
      ...(argv['die-at-rank'] !== undefined ? { dieAtRank: argv['die-at-rank'] } : {}),
      ...(argv['hang-at-rank'] !== undefined ? { hangAtRank: argv['hang-at-rank'] } : {}),
      bucketBytes: argv['bucket-bytes'],
      ...(argv.timeout !== undefined ? { timeoutMs: Math.round(argv.timeout * 1000) } : {}),
      ...(argv.json ? { log: (s: string) => process.stderr.write(`${s}\n`) } : {}),
    });
    if (argv.json) process.stdout.write(`${JSON.stringify(report)}\n`);
    else
      process.stdout.write(
        `rank ${report.rank}: all ${report.checks.length} checks passed in ${report.ms} ms\n`,
      );
  },
};
