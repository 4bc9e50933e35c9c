/**
 * `ext5 report RUN_DIR [RUN_DIR...]` (or a folder of runs): charts and tables of one or several runs as a self-contained HTML
 * page (or an SVG of the charts), from their metrics.jsonl, config.json and env.json. Needs no libtorch.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Argv, CommandModule } from 'yargs';
import { asWriteError, isDiskFull } from '../io/durable';
import { Ext5Error } from '../util/errors';

interface ReportArgs {
  runs: string[];
  out?: string;
  format: string;
  json: boolean;
  smoothing: number;
  'log-loss': boolean;
  title?: string;
}

/** Whether `dir` is a run directory itself (it holds a run's config or metrics). */
function isRunDir(dir: string, files: { config: string; metrics: string }): boolean {
  return fs.existsSync(path.join(dir, files.config)) || fs.existsSync(path.join(dir, files.metrics));
}

/**
 * The modules the command runs on, its one lazy point: the report and the run directory code read
 * the run configuration, a quarter of a second that `ext5 --help` and the other commands do not pay.
 */
function load() {
  return {
    report: require('../report') as typeof import('../report'),
    runDir: require('../run/run_dir') as typeof import('../run/run_dir'),
  };
}

/**
 * The run directories to report: each argument that is a run, and for an argument that is a
 * folder of runs (`ext5 report runs/`), the runs under it that have logged metrics, by name.
 * A folder with no runs is kept as given, so the loader reports it as not a run.
 */
export function expandRunDirs(dirs: readonly string[]): string[] {
  const { RUN_FILES } = load().runDir;
  const out: string[] = [];
  for (const d of dirs) {
    if (!fs.existsSync(d) || !fs.statSync(d).isDirectory() || isRunDir(d, RUN_FILES)) {
      out.push(d);
      continue;
    }
    const children = fs
      .readdirSync(d, { withFileTypes: true })
      .filter((e) => e.isDirectory())
      .map((e) => path.join(d, e.name))
      .filter((c) => {
        const m = path.join(c, RUN_FILES.metrics);
        return fs.existsSync(m) && fs.statSync(m).size > 0;
      })
      .sort();
    out.push(...(children.length > 0 ? children : [d]));
  }
  return out;
}

async function handler(args: ReportArgs): Promise<void> {
  const { report, runDir } = load();
  const { loadReportRuns, renderReportHtml, renderReportSvg, summarizeRun } = report;
  const { ext5Version } = runDir;
  const format = String(args.format).toLowerCase();
  if (format === 'png') {
    throw new Ext5Error(
      'EXT5_REPORT_FORMAT',
      'PNG output is not supported (ext5 draws SVG and has no rasterizer)',
      'use --format svg and convert it (e.g. `rsvg-convert -o report.png report.svg`), or screenshot the HTML page.',
    );
  }
  if (format !== 'html' && format !== 'svg') {
    throw new Ext5Error(
      'EXT5_REPORT_FORMAT',
      `unknown --format '${args.format}'`,
      'use html (default) or svg.',
    );
  }
  if (!(args.smoothing >= 0 && args.smoothing < 1)) {
    throw new Ext5Error(
      'EXT5_INVALID_ARG',
      `--smoothing must be in [0, 1), got ${args.smoothing}`,
      '0 = raw curves; 0.6 is the default; 0.9 smooths strongly.',
    );
  }
  const runs = loadReportRuns(expandRunDirs(args.runs));
  const opts = {
    smoothing: args.smoothing,
    logLoss: args['log-loss'],
    title: args.title,
    generator: `ext5 ${ext5Version()} report`,
  };
  // One run: beside its metrics. One folder of runs: in that folder. Several: here.
  const onlyArg = args.runs.length === 1 ? args.runs[0]! : undefined;
  const out =
    args.out ??
    (runs.length === 1
      ? path.join(runs[0]!.dir, `report.${format}`)
      : onlyArg !== undefined && runs.every((r) => path.dirname(r.dir) === path.resolve(onlyArg))
        ? path.join(onlyArg, `report.${format}`)
        : path.resolve(`report.${format}`));
  const text = format === 'svg' ? renderReportSvg(runs, opts) : renderReportHtml(runs, opts);
  try {
    fs.mkdirSync(path.dirname(path.resolve(out)), { recursive: true });
    fs.writeFileSync(out, text);
  } catch (err) {
    if (isDiskFull(err)) throw asWriteError(err, out);
    throw new Ext5Error(
      'EXT5_REPORT_WRITE',
      `cannot write '${out}': ${(err as Error).message}`,
      'choose a writable path with --out FILE.',
    );
  }
  if (args.json) {
    process.stdout.write(
      `${JSON.stringify({ out: path.resolve(out), format, runs: runs.map(summarizeRun) }, null, 2)}\n`,
    );
    return;
  }
  for (const r of runs) for (const w of r.warnings) process.stderr.write(`ext5: warning: ${r.label}: ${w}\n`);
  const sums = runs.map(summarizeRun);
  for (const s of sums) {
    const loss =
      s.metrics.find((m) => m.split === 'validation' && m.name === 'loss') ??
      s.metrics.find((m) => m.split === 'train' && m.name === 'loss');
    const lossText = loss?.final ? `, ${loss.split} loss ${loss.final.value.toPrecision(4)}` : '';
    process.stdout.write(`${s.label}: ${s.steps} steps, ${s.metrics.length} metrics${lossText}\n`);
  }
  process.stdout.write(`wrote ${out}\n`);
}

/** The `report` command. */
export const reportCommand: CommandModule<object, ReportArgs> = {
  command: 'report <runs..>',
  describe:
    'Charts and tables of one or more runs (loss, learning rate, throughput, eval metrics) as one HTML page',
  builder: (y: Argv) =>
    y
      .positional('runs', {
        describe:
          'run directories, or folders of runs (several are overlaid in one page, e.g. ExT5 vs a T5 baseline)',
        type: 'string',
        array: true,
        demandOption: true,
      })
      .option('out', {
        alias: 'o',
        type: 'string',
        describe: 'output file (default RUN_DIR/report.html for one run, ./report.html for several)',
      })
      .option('format', {
        type: 'string',
        default: 'html',
        describe: 'html (page with tables) or svg (charts only)',
      })
      .option('smoothing', {
        type: 'number',
        default: 0.6,
        describe: 'EMA weight for training curves in [0, 1), as TensorBoard; 0 = raw only',
      })
      .option('log-loss', {
        type: 'boolean',
        default: false,
        describe: 'start with loss charts on a log scale',
      })
      .option('title', { type: 'string', describe: 'page title (default: the run names)' })
      .option('json', {
        type: 'boolean',
        default: false,
        describe: 'print a JSON summary (steps, time, final/best of every metric) instead of text',
      })
      .example('$0 report runs/tiny-demo-20261126-020538', 'write runs/.../report.html')
      .example('$0 report runs/ext5 runs/t5 -o compare.html', 'overlay two runs in one page')
      .example('$0 report runs/', 'every run under runs/, overlaid in runs/report.html')
      .example('$0 report runs/ext5 --format svg -o curves.svg', 'the charts alone, as one SVG image')
      .epilogue(
        'Works offline: the page has inline CSS and SVG, no scripts. Docs: docs/observability.md.',
      ) as Argv<ReportArgs>,
  handler,
};
