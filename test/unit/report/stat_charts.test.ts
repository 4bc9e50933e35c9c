import { renderExperimentPage } from '../../../lib/report/experiment_page';
import {
  divergingColor,
  renderBarChart,
  renderHeatmap,
  renderIntervalChart,
} from '../../../lib/report/stat_charts';

test('diverging colours: white at 0, red up, blue down, grey for no value', () => {
  expect(divergingColor(0, 10)).toBe('#ffffff');
  expect(divergingColor(10, 10)).toBe('#d62728');
  expect(divergingColor(-10, 10)).toBe('#1f77b4');
  expect(divergingColor(Number.NaN, 10)).toBe('#e4e7eb');
});

test('interval chart draws a band, whiskers and one marker per mean', () => {
  const svg = renderIntervalChart({
    id: 'c',
    title: 'T',
    xLabel: 'x',
    yLabel: 'y',
    series: [
      {
        label: 'A',
        color: '#123456',
        points: [
          { x: 0, mean: 1, lo: 0.5, hi: 1.5, n: 3 },
          { x: 4, mean: 2, lo: 1.5, hi: 2.5, n: 3 },
        ],
      },
    ],
  });
  expect(svg).toMatch(/fill-opacity="0.15"/);
  expect(svg.match(/<circle/g)).toHaveLength(2);
  expect(svg).toContain('A at 4: 2 [1.5, 2.5] (n=3)');
});

test('heatmap: one rect per cell, grey diagonal, a title wide enough not to be cut', () => {
  const title = 'Co-training transfer: % change of the row family';
  const svg = renderHeatmap({
    id: 'h',
    title,
    rowLabel: 'r',
    colLabel: 'c',
    rows: ['a', 'b'],
    cols: ['a', 'b'],
    values: [
      [null, 5],
      [-5, null],
    ],
    unit: '%',
  });
  expect(svg.match(/<rect x="\d+(\.\d+)?" y="\d+(\.\d+)?" width="64"/g)).toHaveLength(4);
  const width = Number(/width="(\d+(\.\d+)?)"/.exec(svg)![1]);
  expect(width).toBeGreaterThan(title.length * 8);
});

test('bars: error bars only where there is an interval; all-zero bars sit on a 0..1 axis', () => {
  const svg = renderBarChart({
    id: 'b',
    title: 'B',
    yLabel: 'acc',
    bars: [
      { label: 'T5', mean: 0, lo: Number.NaN, hi: Number.NaN, n: 1, color: '#111' },
      { label: 'ExT5', mean: 0, lo: 0, hi: 0, n: 2, color: '#222' },
    ],
  });
  expect(svg).toContain('>1</text>');
  expect(svg).not.toContain('>-1</text>');
});

test('the page escapes text and lists verdicts first', () => {
  const html = renderExperimentPage({ title: 'a <b>', verdicts: ['x & y'], tables: [], charts: [] });
  expect(html).toContain('a &lt;b&gt;');
  expect(html.indexOf('Conclusions')).toBeLessThan(html.indexOf('<footer>'));
  expect(html).not.toMatch(/<script/);
});

test('a log x axis has ticks at the swept values (1 and 8), not only at powers of ten', () => {
  const svg = renderIntervalChart({
    id: 'mix',
    title: 'Downstream score vs R',
    xLabel: 'R',
    yLabel: 'score',
    logX: true,
    xTicks: [1, 8],
    series: [
      {
        label: 'mean',
        color: '#123456',
        points: [
          { x: 1, mean: 20, lo: 10, hi: 30, n: 2 },
          { x: 8, mean: 29, lo: 0, hi: 92.5, n: 2 },
        ],
      },
    ],
  });
  const ticks = [...svg.matchAll(/data-tick="x">([^<]+)</g)].map((m) => m[1]);
  expect(ticks).toEqual(['1', '8']);
  // Both swept values sit inside the plot, not on its frame.
  const xs = [...svg.matchAll(/<circle cx="([\d.]+)"/g)].map((m) => Number(m[1]));
  expect(xs[0]).toBeGreaterThan(66);
  expect(xs[1]).toBeLessThan(560 - 20);
  // Crowded ticks keep their marks but not overlapping labels.
  const dense = renderIntervalChart({
    id: 'd',
    title: 'T',
    xLabel: 'x',
    yLabel: 'y',
    xTicks: [100, 101, 200],
    series: [
      { label: 'a', color: '#000', points: [100, 101, 200].map((x) => ({ x, mean: 1, lo: 0, hi: 2, n: 2 })) },
    ],
  });
  expect([...dense.matchAll(/data-tick="x">([^<]+)</g)].map((m) => m[1])).toEqual(['100', '200']);
});

test('a chart note (clipped intervals) sits under the title of bars and curves', () => {
  const bars = renderBarChart({
    id: 'b',
    title: 'B',
    yLabel: 'acc',
    note: '95% intervals clipped to 0–100',
    bars: [{ label: 'T5', mean: 3, lo: 0, hi: 41, n: 2, color: '#111' }],
  });
  expect(bars).toContain('data-note="1">95% intervals clipped to 0–100</text>');
  const page = renderExperimentPage({ title: 't', verdicts: [], tables: [], charts: [] });
  expect(page).toMatch(/shown clipped to the range of their metric \(scores 0–100/);
  expect(page).toMatch(/results\.json keeps the raw bounds/);
});

test('a score axis stays within the score range: all-zero scores do not draw a −1 tick', () => {
  const spec = {
    id: 's',
    title: 'Downstream score vs R',
    xLabel: 'R',
    yLabel: 'score',
    series: [
      {
        label: 'mean',
        color: '#000',
        points: [1, 8].map((x) => ({ x, mean: 0, lo: 0, hi: 0, n: 2 })),
      },
    ],
  };
  const yTicks = (svg: string) => [...svg.matchAll(/text-anchor="end">([^<]+)</g)].map((m) => m[1]);
  expect(yTicks(renderIntervalChart(spec))).toContain('-1'); // without a range: padded around 0
  expect(yTicks(renderIntervalChart({ ...spec, yRange: [0, 100] }))).toEqual(['0', '0.5', '1']);
});
