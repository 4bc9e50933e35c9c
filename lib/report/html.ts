/**
 * The report page: one self-contained HTML file (inline CSS and SVG, no JavaScript, no network) with a
 * summary of each run, a chart per metric (runs overlaid, splits as line styles), final/best tables and
 * the resolved configuration, differences between runs first. Also a plain SVG of the charts alone.
 */

import { MEMORY_SPLIT, METRIC_NAMES } from '../run/metrics_log';
import { CONFIG_KEYS } from '../run/run_config';
import { formatDuration } from '../util/progress';
import { type ChartSeries, escapeXml, formatNumber, renderChart } from './chart';
import type { MetricSeries, ReportRun } from './runs';
import { type RunSummary, smoothEma, summarizeRun } from './summary';

/** Report options. */
export interface ReportOptions {
  /** EMA weight for training curves, in [0, 1); 0 = no smoothing (default 0.6, as TensorBoard). */
  smoothing?: number;
  /** Start with loss charts on a log scale (a checkbox on the page switches). */
  logLoss?: boolean;
  /** Page title (default from the run labels). */
  title?: string;
  /** Shown in the footer, e.g. the ext5 version. */
  generator?: string;
  /** Date shown in the footer (default now). */
  now?: Date;
}

/** Distinct colours, readable on white (Tableau 10). */
export const PALETTE = [
  '#1f77b4',
  '#d62728',
  '#2ca02c',
  '#ff7f0e',
  '#9467bd',
  '#8c564b',
  '#e377c2',
  '#17becf',
  '#bcbd22',
  '#7f7f7f',
];
const SPLIT_DASH: Record<string, string | undefined> = { train: undefined, validation: '7 4', eval: '2 3' };
const SPLIT_ORDER = ['train', 'validation', 'eval'];

const TITLES: Record<string, string> = {
  [METRIC_NAMES.loss]: 'Loss (cross-entropy per target token)',
  [METRIC_NAMES.lr]: 'Learning rate',
  [METRIC_NAMES.tokensPerSecond]: 'Throughput (tokens/s)',
  [METRIC_NAMES.examplesPerSecond]: 'Throughput (examples/s)',
  [METRIC_NAMES.gradNorm]: 'Gradient norm',
  [METRIC_NAMES.stepTime]: 'Seconds per step',
};
const FIRST = [
  METRIC_NAMES.loss,
  METRIC_NAMES.lr,
  METRIC_NAMES.tokensPerSecond,
  METRIC_NAMES.examplesPerSecond,
  METRIC_NAMES.gradNorm,
  METRIC_NAMES.stepTime,
] as string[];

/** One chart of the report: a metric name, every run and split that logged it. */
export interface ChartGroup {
  name: string;
  title: string;
  entries: { run: ReportRun; runIndex: number; series: MetricSeries }[];
}

/** Groups the runs' series into charts: standard metrics first, then the rest by name. */
export function chartGroups(runs: readonly ReportRun[]): ChartGroup[] {
  const groups = new Map<string, ChartGroup>();
  runs.forEach((run, runIndex) => {
    for (const series of run.series) {
      if (series.split === MEMORY_SPLIT) continue;
      let g = groups.get(series.name);
      if (!g) {
        g = { name: series.name, title: TITLES[series.name] ?? series.name, entries: [] };
        groups.set(series.name, g);
      }
      g.entries.push({ run, runIndex, series });
    }
  });
  const rank = (n: string) => {
    const i = FIRST.indexOf(n);
    return i < 0 ? FIRST.length : i;
  };
  const splitRank = (s: string) => {
    const i = SPLIT_ORDER.indexOf(s);
    return i < 0 ? SPLIT_ORDER.length : i;
  };
  for (const g of groups.values()) {
    g.entries.sort(
      (a, b) => a.runIndex - b.runIndex || splitRank(a.series.split) - splitRank(b.series.split),
    );
  }
  return [...groups.values()].sort((a, b) => rank(a.name) - rank(b.name) || a.name.localeCompare(b.name));
}

function isLossLike(name: string): boolean {
  return /loss/i.test(name);
}

function chartSeries(g: ChartGroup, runs: readonly ReportRun[], smoothing: number): ChartSeries[] {
  const multi = runs.length > 1;
  const splitsInChart = [...new Set(g.entries.map((e) => e.series.split))];
  return g.entries.map((e) => {
    const s = e.series;
    const color = multi
      ? PALETTE[e.runIndex % PALETTE.length]!
      : PALETTE[
          Math.max(
            0,
            SPLIT_ORDER.indexOf(s.split) < 0 ? splitsInChart.indexOf(s.split) : SPLIT_ORDER.indexOf(s.split),
          ) % PALETTE.length
        ]!;
    const points = s.points.map((p) => ({ x: p.step, y: p.value }));
    const smooth = s.split === 'train' && s.name !== METRIC_NAMES.lr && smoothing > 0 && points.length > 5;
    const label = `${multi ? `${e.run.label} · ` : ''}${s.split}${smooth ? ` (smoothed ${smoothing})` : ''}`;
    if (!smooth) {
      return {
        label,
        color,
        points,
        dash: multi ? SPLIT_DASH[s.split] : undefined,
        markers: s.split !== 'train' && points.length <= 60,
      };
    }
    const ys = smoothEma(
      points.map((p) => p.y),
      smoothing,
    );
    return {
      label,
      color,
      points: points.map((p, i) => ({ x: p.x, y: ys[i]! })),
      raw: points,
      dash: multi ? SPLIT_DASH[s.split] : undefined,
    };
  });
}

function slug(s: string): string {
  return s.replace(/[^A-Za-z0-9_-]+/g, '-');
}

/** The charts of the report as SVG strings (`log` only for loss charts with positive values). */
export function renderCharts(
  runs: readonly ReportRun[],
  opts: ReportOptions = {},
): { group: ChartGroup; linear: string; log: string | null }[] {
  const smoothing = opts.smoothing ?? 0.6;
  return chartGroups(runs).map((g, i) => {
    const series = chartSeries(g, runs, smoothing);
    const base = { title: g.title, xLabel: 'step', series };
    const linear = renderChart({ ...base, id: `c${i}-${slug(g.name)}` });
    const positive = g.entries.some((e) => e.series.points.some((p) => p.value > 0));
    const log =
      isLossLike(g.name) && positive
        ? renderChart({ ...base, logY: true, id: `c${i}-${slug(g.name)}-log` })
        : null;
    return { group: g, linear, log };
  });
}

const CSS = `
:root { color-scheme: light; }
* { box-sizing: border-box; }
body { margin: 0; background: #f5f7fa; color: #1f2933; font: 14px/1.45 system-ui, -apple-system, 'Segoe UI', Roboto, sans-serif; }
header { background: #1f2933; color: #f5f7fa; padding: 18px 28px; }
header h1 { margin: 0 0 4px; font-size: 20px; font-weight: 600; }
header p { margin: 0; color: #cbd2d9; }
header .runs span { display: inline-block; margin-right: 16px; }
header .swatch { display: inline-block; width: 12px; height: 12px; border-radius: 2px; margin-right: 6px; vertical-align: -1px; }
main { padding: 20px 28px 40px; max-width: 1500px; margin: 0 auto; }
section { margin-bottom: 28px; }
h2 { font-size: 16px; margin: 0 0 10px; color: #323f4b; }
.card { background: #fff; border: 1px solid #e4e7eb; border-radius: 8px; padding: 14px 16px; }
table { border-collapse: collapse; width: 100%; font-variant-numeric: tabular-nums; }
th, td { text-align: left; padding: 5px 10px; border-bottom: 1px solid #e4e7eb; vertical-align: top; }
th { color: #52606d; font-weight: 600; font-size: 12px; text-transform: uppercase; letter-spacing: .03em; }
td.num, th.num { text-align: right; white-space: nowrap; }
td.best { color: #127fbf; }
tr.diff td { background: #fffbea; }
td .dim, .dim { color: #9aa5b1; }
code { font: 12px ui-monospace, SFMono-Regular, Menlo, monospace; }
td code, td.nowrap { white-space: nowrap; }
.charts { display: grid; grid-template-columns: repeat(auto-fill, minmax(520px, 1fr)); gap: 16px; }
.chart { background: #fff; border: 1px solid #e4e7eb; border-radius: 8px; padding: 6px; }
.chart svg { width: 100%; height: auto; display: block; }
.toolbar { margin: 0 0 12px; color: #52606d; }
.toolbar label { cursor: pointer; user-select: none; }
#logloss { margin: 0 6px 0 0; vertical-align: -2px; }
.log { display: none; }
body:has(#logloss:checked) .log { display: block; }
body:has(#logloss:checked) .lin.has-log { display: none; }
.warn { background: #fffbea; border: 1px solid #f7d070; border-radius: 6px; padding: 8px 12px; margin-bottom: 16px; }
details summary { cursor: pointer; color: #52606d; margin: 8px 0; }
footer { color: #9aa5b1; font-size: 12px; margin-top: 24px; }
`;

function flatten(obj: unknown, prefix = '', out: Map<string, unknown> = new Map()): Map<string, unknown> {
  if (obj !== null && typeof obj === 'object' && !Array.isArray(obj)) {
    for (const [k, v] of Object.entries(obj as Record<string, unknown>))
      flatten(v, prefix ? `${prefix}.${k}` : k, out);
  } else out.set(prefix, obj);
  return out;
}

const DEFAULTS = new Map(CONFIG_KEYS.map((k) => [k.path, JSON.stringify(k.default)]));

function configSection(runs: readonly ReportRun[]): string {
  const flats = runs.map((r) => (r.config ? flatten(r.config) : new Map<string, unknown>()));
  const order = CONFIG_KEYS.map((k) => k.path);
  const keys = [...new Set([...order, ...flats.flatMap((f) => [...f.keys()])])].filter((k) =>
    flats.some((f) => f.has(k)),
  );
  if (keys.length === 0) return '<p class="dim">No config.json in the run directories.</p>';
  const cell = (v: unknown, key: string) => {
    if (v === undefined) return '<td class="dim">—</td>';
    const text = JSON.stringify(v);
    const isDefault = DEFAULTS.get(key) === text;
    return `<td><code${isDefault ? ' class="dim"' : ''}>${escapeXml(text)}</code></td>`;
  };
  const row = (k: string, diff: boolean) =>
    `<tr${diff ? ' class="diff"' : ''}><td><code>${escapeXml(k)}</code></td>${flats.map((f) => cell(f.get(k), k)).join('')}</tr>`;
  const head = `<tr><th>key</th>${runs.map((r) => `<th>${escapeXml(r.label)}</th>`).join('')}</tr>`;
  const differs = (k: string) => new Set(flats.map((f) => JSON.stringify(f.get(k)))).size > 1;
  const notDefault = (k: string) =>
    flats.some((f) => f.has(k) && JSON.stringify(f.get(k)) !== DEFAULTS.get(k));
  const parts: string[] = [];
  if (runs.length > 1) {
    const diffKeys = keys.filter(differs);
    parts.push(
      diffKeys.length > 0
        ? `<h3 class="dim">Keys that differ between the runs</h3><table>${head}${diffKeys.map((k) => row(k, true)).join('')}</table>`
        : '<p>The runs have the same configuration.</p>',
    );
  } else {
    const changed = keys.filter(notDefault);
    parts.push(
      `<h3 class="dim">Keys not at their default</h3><table>${head}${changed.map((k) => row(k, false)).join('')}</table>`,
    );
  }
  parts.push(
    `<details><summary>All ${keys.length} keys (defaults in grey)</summary><table>${head}${keys.map((k) => row(k, runs.length > 1 && differs(k))).join('')}</table></details>`,
  );
  return parts.join('\n');
}

function fmtPoint(p: { value: number; step: number } | null, withStep: boolean): string {
  if (!p) return '<span class="dim">—</span>';
  return `${escapeXml(formatNumber(p.value, 4))}${withStep ? ` <span class="dim">@ ${escapeXml(formatNumber(p.step))}</span>` : ''}`;
}

function runsTable(runs: readonly ReportRun[], sums: readonly RunSummary[]): string {
  const rows = runs.map((r, i) => {
    const s = sums[i]!;
    const env = r.env;
    const commit = env?.gitCommit ? `${env.gitCommit.slice(0, 10)}${env.gitDirty ? '+' : ''}` : '—';
    const progress = s.plannedSteps
      ? `${formatNumber(s.steps)} / ${formatNumber(s.plannedSteps)}`
      : formatNumber(s.steps);
    const colour =
      runs.length > 1 ? `<span class="swatch" style="background:${PALETTE[i % PALETTE.length]}"></span>` : '';
    return `<tr><td>${colour}<b>${escapeXml(r.label)}</b><br><code class="dim">${escapeXml(r.dir)}</code></td><td>${escapeXml(s.kind ?? '—')}</td><td><code>${escapeXml(s.model ?? '—')}</code></td><td><code>${escapeXml(s.data ?? '—')}</code></td><td class="num">${progress}</td><td class="num">${s.wallSeconds === null ? '—' : escapeXml(formatDuration(s.wallSeconds))}</td><td class="nowrap">${escapeXml(s.startTime ? s.startTime.replace('T', ' ').replace(/\.\d+Z$/, 'Z') : '—')}</td><td><span class="dim">ext5</span> ${escapeXml(env?.ext5Version ?? '—')} <code>${escapeXml(commit)}</code><br><span class="dim">node</span> ${escapeXml(env?.node ?? '—')} <span class="dim">libtorch</span> ${escapeXml(env?.libtorchVersion ?? '—')}<br><span class="dim">${escapeXml(env ? `${env.hostname}, ${env.cpuModel}, ${env.threads ?? '?'} threads` : '')}</span></td></tr>`;
  });
  return `<table><tr><th>run</th><th>kind</th><th>model</th><th>data</th><th class="num">steps</th><th class="num">time</th><th>started (UTC)</th><th>environment</th></tr>${rows.join('')}</table>`;
}

function metricsTable(runs: readonly ReportRun[], sums: readonly RunSummary[]): string {
  const keys: { split: string; name: string }[] = [];
  const seen = new Set<string>();
  for (const g of chartGroups(runs)) {
    for (const e of g.entries) {
      const k = `${e.series.split}/${e.series.name}`;
      if (!seen.has(k)) {
        seen.add(k);
        keys.push({ split: e.series.split, name: e.series.name });
      }
    }
  }
  const head = `<tr><th>metric</th>${runs
    .map(
      (r) =>
        `<th class="num">${runs.length > 1 ? `${escapeXml(r.label)} · ` : ''}final</th><th class="num">best</th>`,
    )
    .join('')}</tr>`;
  const rows = keys.map(({ split, name }) => {
    const cells = sums.map((s) => {
      const m = s.metrics.find((x) => x.split === split && x.name === name);
      if (!m) return '<td class="num dim">—</td><td class="num dim">—</td>';
      const dir = m.direction ? ` <span class="dim">(${m.direction})</span>` : '';
      return `<td class="num">${fmtPoint(m.final, true)}</td><td class="num best">${m.best ? `${fmtPoint(m.best, true)}${dir}` : '<span class="dim">—</span>'}</td>`;
    });
    return `<tr><td><code>${escapeXml(split)}/${escapeXml(name)}</code></td>${cells.join('')}</tr>`;
  });
  return `<table>${head}${rows.join('')}</table>`;
}

/**
 * Renders the report page for one or more runs.
 * @example
 * const html = renderReportHtml(loadReportRuns(['runs/ext5', 'runs/t5']));
 * fs.writeFileSync('report.html', html);
 */
export function renderReportHtml(runs: readonly ReportRun[], opts: ReportOptions = {}): string {
  const sums = runs.map(summarizeRun);
  const charts = renderCharts(runs, opts);
  const title = opts.title ?? `ext5 report: ${runs.map((r) => r.label).join(' vs ')}`;
  const anyLog = charts.some((c) => c.log !== null);
  const warnings = runs.flatMap((r) => r.warnings.map((w) => `${r.label}: ${w}`));
  const chartHtml = charts
    .map(
      (c) =>
        `<div class="chart lin${c.log ? ' has-log' : ''}" data-metric="${escapeXml(c.group.name)}">${c.linear}</div>${c.log ? `<div class="chart log" data-metric="${escapeXml(c.group.name)}">${c.log}</div>` : ''}`,
    )
    .join('\n');
  const legend =
    runs.length > 1
      ? `<p class="runs">${runs.map((r, i) => `<span><span class="swatch" style="background:${PALETTE[i % PALETTE.length]}"></span>${escapeXml(r.label)}</span>`).join('')} <span class="dim">— line style: train solid, validation dashed, eval dotted</span></p>`
      : `<p>${escapeXml(runs[0]!.dir)}</p>`;
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeXml(title)}</title>
<style>${CSS}</style>
</head>
<body>
<header>
<h1>${escapeXml(title)}</h1>
${legend}
</header>
<main>
${warnings.length ? `<div class="warn">${warnings.map(escapeXml).join('<br>')}</div>` : ''}
<section><h2>Runs</h2><div class="card">${runsTable(runs, sums)}</div></section>
<section><h2>Curves</h2>
${anyLog ? `<p class="toolbar"><label><input type="checkbox" id="logloss"${opts.logLoss ? ' checked' : ''}>log-scale loss</label> <span class="dim">· training curves are smoothed (EMA ${opts.smoothing ?? 0.6}) over their faint raw values</span></p>` : ''}
<div class="charts">
${chartHtml}
</div></section>
<section><h2>Final and best values</h2><div class="card">${metricsTable(runs, sums)}</div></section>
<section><h2>Configuration</h2><div class="card">${configSection(runs)}</div></section>
<footer>Generated by ${escapeXml(opts.generator ?? 'ext5 report')} on ${escapeXml((opts.now ?? new Date()).toISOString())}. Self-contained: no scripts, no network.</footer>
</main>
</body>
</html>
`;
}

/** The charts alone as one SVG image (two columns), for slides and papers. */
export function renderReportSvg(runs: readonly ReportRun[], opts: ReportOptions = {}): string {
  const charts = renderCharts(runs, opts);
  const W = 560;
  const H = 320;
  const cols = charts.length > 1 ? 2 : 1;
  const rows = Math.ceil(charts.length / cols);
  const title = opts.title ?? `ext5 report: ${runs.map((r) => r.label).join(' vs ')}`;
  const top = 40;
  const parts = charts.map((c, i) => {
    const svg = opts.logLoss && c.log ? c.log : c.linear;
    const x = (i % cols) * (W + 10);
    const y = top + Math.floor(i / cols) * (H + 10);
    // A nested <svg> is positioned by x/y; strip the xmlns, which only the root needs.
    return svg.replace('<svg xmlns="http://www.w3.org/2000/svg" ', `<svg x="${x}" y="${y}" `);
  });
  const width = cols * W + (cols - 1) * 10;
  const height = top + rows * H + (rows - 1) * 10;
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}">
<rect width="${width}" height="${height}" fill="#f5f7fa"/>
<text x="8" y="26" font-family="system-ui, sans-serif" font-size="18" font-weight="600" fill="#1f2933">${escapeXml(title)}</text>
${parts.join('\n')}
</svg>
`;
}
