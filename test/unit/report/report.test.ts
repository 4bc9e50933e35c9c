import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import {
  chartGroups,
  loadReportRun,
  loadReportRuns,
  renderReportHtml,
  renderReportSvg,
  summarizeRun,
  toSeries,
} from '../../../lib/report';
import { MetricsWriter } from '../../../lib/run/metrics_log';
import { loadRunConfig } from '../../../lib/run/run_config';
import { createRunDir } from '../../../lib/run/run_dir';
import { writeSyntheticRun } from './synthetic';

let dir: string;
beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ext5-report-'));
  writeSyntheticRun(path.join(dir, 'ext5'), {
    name: 'ext5-tiny',
    finalLoss: 1.6,
    finalAccuracy: 0.85,
    seed: 1,
  });
  writeSyntheticRun(path.join(dir, 't5'), {
    name: 't5-tiny',
    preset: 'tiny-demo-t5',
    finalLoss: 2,
    finalAccuracy: 0.7,
    seed: 2,
  });
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

/** The series drawn in an SVG, by their data-series attribute. */
function drawnSeries(html: string): string[] {
  return [...html.matchAll(/data-series="([^"]*)"/g)].map((m) => m[1]!);
}

test('toSeries groups by split and name, sorts by step, the last write of a step wins', () => {
  const s = toSeries([
    { step: 20, time: 2, split: 'train', values: { loss: 2 } },
    { step: 10, time: 1, split: 'train', values: { loss: 3, lr: 0.1 } },
    { step: 20, time: 3, split: 'train', values: { loss: 1.5 } },
    { step: 20, time: 3, split: 'validation', values: { loss: 2.5 } },
  ]);
  expect(s).toEqual([
    {
      split: 'train',
      name: 'loss',
      points: [
        { step: 10, value: 3, time: 1 },
        { step: 20, value: 1.5, time: 3 },
      ],
    },
    { split: 'train', name: 'lr', points: [{ step: 10, value: 0.1, time: 1 }] },
    { split: 'validation', name: 'loss', points: [{ step: 20, value: 2.5, time: 3 }] },
  ]);
});

test('one run: charts for loss, lr, throughput and the eval metric; tables with final and best', () => {
  const run = loadReportRun(path.join(dir, 'ext5'));
  expect(run.label).toBe('ext5-tiny');
  expect(chartGroups([run]).map((g) => g.name)).toEqual([
    'loss',
    'lr',
    'tokens_per_s',
    'mini_nli_counts/accuracy',
  ]);
  const html = renderReportHtml([run], { now: new Date('2026-11-26T00:00:00Z') });
  expect(html.startsWith('<!doctype html>')).toBe(true);
  // Self-contained: no scripts, no external resources.
  expect(html).not.toMatch(/<script|<link|src="http|href="http/);
  expect(drawnSeries(html)).toEqual([
    // loss, linear then log scale: smoothed train over its raw values, then validation
    'train (smoothed 0.6) (raw)',
    'train (smoothed 0.6)',
    'validation',
    'train (smoothed 0.6) (raw)',
    'train (smoothed 0.6)',
    'validation',
    'train', // lr: never smoothed
    'train (smoothed 0.6) (raw)',
    'train (smoothed 0.6)',
    'eval',
  ]);
  expect(html).toContain('Loss (cross-entropy per target token)');
  expect(html).toContain('Learning rate');
  expect(html).toContain('Throughput (tokens/s)');
  expect(html).toContain('mini_nli_counts/accuracy');
  // The summary numbers are the logged ones.
  const sum = summarizeRun(run);
  const acc = sum.metrics.find((m) => m.name === 'mini_nli_counts/accuracy')!;
  expect(acc.final!.step).toBe(400);
  const expectedAcc = 0.85 * (1 - Math.exp(-400 / (400 / 3)));
  expect(acc.final!.value).toBeCloseTo(expectedAcc, 12);
  expect(html).toContain('<code>eval/mini_nli_counts/accuracy</code>');
  expect(html).toContain(`${Number(expectedAcc.toPrecision(4))} <span class="dim">@ 400</span>`);
  const vloss = sum.metrics.find((m) => m.split === 'validation' && m.name === 'loss')!;
  expect(vloss.best).toEqual(vloss.final); // a decaying loss is best at the end
  expect(sum.steps).toBe(400);
  expect(sum.plannedSteps).toBe(400);
  expect(sum.wallSeconds).toBe(100); // 0.25 s per step from the recorded start
  expect(sum.model).toBe('t5-v1_1-tiny');
  // Config: keys not at their default are listed with their values.
  expect(html).toContain('Keys not at their default');
  expect(html).toMatch(
    /<code>data\.mixtureOrTask<\/code><\/td><td><code>&quot;mini_ext5_pretrain&quot;<\/code>/,
  );
});

test('two runs: same-named curves overlaid, colour by run, config differences first', () => {
  const runs = loadReportRuns([path.join(dir, 'ext5'), path.join(dir, 't5')]);
  const html = renderReportHtml(runs, { logLoss: true });
  expect(html).toContain('<title>ext5 report: ext5-tiny vs t5-tiny</title>');
  const series = drawnSeries(html);
  for (const s of [
    'ext5-tiny · train (smoothed 0.6)',
    't5-tiny · train (smoothed 0.6)',
    'ext5-tiny · validation',
    't5-tiny · validation',
    'ext5-tiny · eval',
    't5-tiny · eval',
  ]) {
    expect(series).toContain(s);
  }
  // Both runs' validation loss lines are in the same chart, dashed, one blue and one red.
  expect(html).toMatch(
    /stroke="#1f77b4" stroke-width="2" stroke-dasharray="7 4" data-series="ext5-tiny · validation"/,
  );
  expect(html).toMatch(
    /stroke="#d62728" stroke-width="2" stroke-dasharray="7 4" data-series="t5-tiny · validation"/,
  );
  expect(html).toContain('id="logloss" checked');
  expect(html).toContain('Keys that differ between the runs');
  expect(html).toMatch(
    /<tr class="diff"><td><code>data\.mixtureOrTask<\/code><\/td><td><code>&quot;mini_ext5_pretrain&quot;<\/code><\/td><td><code>&quot;mini_c4_span_corruption&quot;<\/code>/,
  );
  // Final values of both runs appear in the table.
  const [a, b] = runs.map(summarizeRun);
  const fa = a!.metrics.find((m) => m.split === 'validation')!.final!.value;
  const fb = b!.metrics.find((m) => m.split === 'validation')!.final!.value;
  expect(fa).toBeLessThan(fb);
  expect(html).toContain(`${Number(fa.toPrecision(4))} <span class="dim">@ 400</span>`);
  expect(html).toContain(`${Number(fb.toPrecision(4))} <span class="dim">@ 400</span>`);
});

test('the same run twice gets distinct labels', () => {
  const runs = loadReportRuns([path.join(dir, 'ext5'), path.join(dir, 'ext5')]);
  expect(runs.map((r) => r.label)).toEqual(['ext5-tiny (ext5)', 'ext5-tiny (ext5) #2']);
});

test('SVG export holds every chart', () => {
  const svg = renderReportSvg(loadReportRuns([path.join(dir, 'ext5')]));
  expect(svg.startsWith('<svg xmlns="http://www.w3.org/2000/svg"')).toBe(true);
  expect(svg.match(/<svg /g)).toHaveLength(5); // the root + 4 charts
  expect(svg.match(/xmlns=/g)).toHaveLength(1);
});

test('a killed run: partial last line is reported as a warning on the page', () => {
  const root = path.join(dir, 'killed');
  const run = createRunDir(root, loadRunConfig({ preset: 'tiny-test' }));
  const w = MetricsWriter.open(run.metricsPath, { now: () => 1 });
  w.write(1, 'train', { loss: 3 });
  w.close();
  fs.appendFileSync(run.metricsPath, '{"step":2,"ti');
  const r = loadReportRun(root);
  expect(r.series[0]!.points).toHaveLength(1);
  expect(renderReportHtml([r])).toMatch(/class="warn">tiny-test: .*metrics\.jsonl:2: partial last line/);
});

test('empty and missing run directories are clear errors', () => {
  const root = path.join(dir, 'fresh');
  createRunDir(root, loadRunConfig({ preset: 'tiny-test' }));
  expect(() => loadReportRun(root)).toThrow(/cannot read '.*metrics\.jsonl': no such file/);
  fs.writeFileSync(path.join(root, 'metrics.jsonl'), '');
  expect(() => loadReportRun(root)).toThrow(/has no metrics yet/);
  expect(() => loadReportRun(path.join(dir, 'nope'))).toThrow(/does not exist/);
  expect(() => loadReportRuns([])).toThrow(/no run directory given/);
});
