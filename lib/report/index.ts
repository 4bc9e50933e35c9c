/**
 * Run reports: charts and tables from run directories (metrics.jsonl, config.json, env.json), as one
 * self-contained HTML page or an SVG image. Used by `ext5 report`.
 * @example
 * import { report } from 'ext5'; const { loadReportRuns, renderReportHtml } = report;
 * fs.writeFileSync('report.html', renderReportHtml(loadReportRuns(['runs/ext5', 'runs/t5'])));
 */
export {
  type ChartPoint,
  type ChartSeries,
  type ChartSpec,
  formatNumber,
  logTicks,
  niceTicks,
  renderChart,
} from './chart';
export {
  type PageChart,
  type PageSpec,
  type PageTable,
  renderExperimentPage,
} from './experiment_page';
export {
  chartGroups,
  PALETTE,
  type ReportOptions,
  renderCharts,
  renderReportHtml,
  renderReportSvg,
} from './html';
export {
  loadReportRun,
  loadReportRuns,
  type MetricPoint,
  type MetricSeries,
  type ReportRun,
  toSeries,
} from './runs';
export {
  type BarSpec,
  divergingColor,
  type HeatmapSpec,
  type IntervalChartSpec,
  type IntervalPoint,
  type IntervalSeries,
  renderBarChart,
  renderHeatmap,
  renderIntervalChart,
} from './stat_charts';
export { bestDirection, type MetricSummary, type RunSummary, smoothEma, summarizeRun } from './summary';
