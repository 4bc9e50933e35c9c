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
