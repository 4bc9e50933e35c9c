import {
  decimate,
  escapeXml,
  formatNumber,
  logTicks,
  niceTicks,
  renderChart,
} from '../../../lib/report/chart';
import { bestDirection, smoothEma } from '../../../lib/report/summary';
import { cpuClock } from '../../helpers/cpu_clock';

test('nice ticks: 1, 2 or 5 times a power of ten, covering the data', () => {
  expect(niceTicks(0, 97, 5)).toEqual({ lo: 0, hi: 100, ticks: [0, 20, 40, 60, 80, 100] });
  // Heckbert: range nice(5.28) = 10, step nice(10 / 5) = 2.
  expect(niceTicks(1.62, 6.9, 6)).toEqual({ lo: 0, hi: 8, ticks: [0, 2, 4, 6, 8] });
  const t = niceTicks(0.0093, 0.0107, 5);
  expect(t.ticks.map((x) => Number(x.toFixed(6)))).toEqual([0.009, 0.0095, 0.01, 0.0105, 0.011]);
  // A constant series still gets a range.
  expect(niceTicks(5, 5).lo).toBeLessThan(5);
  expect(niceTicks(5, 5).hi).toBeGreaterThan(5);
});

test('log ticks', () => {
  expect(logTicks(1.6, 6.5)).toEqual({ lo: 1, hi: 10, ticks: [1, 2, 5, 10] });
  expect(logTicks(0.002, 30).ticks).toEqual([0.001, 0.01, 0.1, 1, 10, 100]);
});

test('formatNumber', () => {
  expect(formatNumber(100)).toBe('100');
  expect(formatNumber(400)).toBe('400');
  expect(formatNumber(5234)).toBe('5230');
  expect(formatNumber(5234, 4)).toBe('5234');
  expect(formatNumber(12500)).toBe('12.5k');
  expect(formatNumber(1_000_000)).toBe('1M');
  expect(formatNumber(0.01)).toBe('0.01');
  expect(formatNumber(1.5)).toBe('1.5');
  expect(formatNumber(0.000032)).toBe('3.2e-5');
  expect(formatNumber(-2.5)).toBe('-2.5');
  expect(formatNumber(0)).toBe('0');
  expect(formatNumber(Number.NaN)).toBe('NaN');
});

test('smoothEma is TensorBoard-style debiased and skips non-finite values', () => {
  expect(smoothEma([1, 1, 1], 0.9)).toEqual([1, 1, 1].map(() => expect.closeTo(1, 12)));
  const s = smoothEma([0, 10], 0.5);
  expect(s[0]).toBe(0);
  expect(s[1]).toBeCloseTo((0.5 * 0 * 0.5 + 0.5 * 10) / (1 - 0.25), 12); // (0.25*0 + 0.5*10)/0.75
  const n = smoothEma([2, Number.NaN, 2], 0.6);
  expect(n[1]).toBeNaN();
  expect(n[2]).toBeCloseTo(2, 12);
  expect(smoothEma([3, 4], 0)).toEqual([3, 4]);
});

test('best direction', () => {
  expect(bestDirection('loss')).toBe('min');
  expect(bestDirection('super_glue_cb/accuracy')).toBe('max');
  expect(bestDirection('lr')).toBeNull();
  expect(bestDirection('grad_norm')).toBeNull();
});

test('escapeXml', () => {
  expect(escapeXml(`<a href="x">&'</a>`)).toBe('&lt;a href=&quot;x&quot;&gt;&amp;&#39;&lt;/a&gt;');
});

describe('renderChart', () => {
  const base = {
    id: 't',
    title: 'Loss <train>',
    xLabel: 'step',
    series: [
      {
        label: 'train',
        color: '#1f77b4',
        points: [
          { x: 0, y: 4 },
          { x: 10, y: 2 },
          { x: 20, y: Number.NaN },
          { x: 30, y: 1 },
        ],
      },
      { label: 'validation', color: '#d62728', points: [{ x: 10, y: 3 }], dash: '7 4' },
    ],
  };

  test('axes, legend, escaped title, a gap at NaN, markers for single points', () => {
    const svg = renderChart(base);
    expect(svg.startsWith('<svg xmlns="http://www.w3.org/2000/svg" width="560" height="320"')).toBe(true);
    expect(svg).toContain('Loss &lt;train&gt;');
    expect(svg).toMatch(/<text[^>]*>train<\/text>/);
    expect(svg).toMatch(/<text[^>]*>validation<\/text>/);
    // The train path has two pieces: M...L... then a new M after the NaN.
    const d = /<path d="([^"]*)" stroke="#1f77b4" stroke-width="2"/.exec(svg)![1]!;
    expect(d.match(/M/g)).toHaveLength(2);
    expect(d.match(/L/g)).toHaveLength(1);
    // Plot area x: 62..542 for steps 0..30; y: ticks 1..4 (nice).
    expect(d.startsWith('M62.0 ')).toBe(true);
    expect(d).toContain('M542.0 ');
    expect(svg).toContain('stroke-dasharray="7 4"');
    expect(svg).toMatch(/<circle [^>]*stroke="#d62728"[^>]*><title>validation: step 10, 3<\/title>/);
    for (const tick of ['>0<', '>10<', '>20<', '>30<']) expect(svg).toContain(tick);
    expect(svg).toContain('>step</text>');
  });

  test('log scale labels itself and drops non-positive values', () => {
    const svg = renderChart({
      ...base,
      logY: true,
      series: [
        {
          label: 'a',
          color: '#000',
          points: [
            { x: 1, y: 0 },
            { x: 2, y: 10 },
            { x: 3, y: 1 },
          ],
        },
      ],
    });
    expect(svg).toContain('(log scale)');
    const d = /<path d="([^"]*)" stroke="#000" stroke-width="2"/.exec(svg)![1]!;
    expect(d.match(/[ML]/g)).toEqual(['M', 'L']);
  });

  test('nothing to draw says so', () => {
    expect(renderChart({ ...base, series: [{ label: 'a', color: '#000', points: [] }] })).toContain(
      'no finite values',
    );
  });
});

describe('long runs', () => {
  test('decimate keeps order, extremes, ends and gaps, at most ~4 points per column', () => {
    const pts = Array.from({ length: 10_000 }, (_, i) => ({ x: i, y: Math.sin(i / 50) }));
    pts[5000] = { x: 5000, y: 9 }; // a spike
    pts[7000] = { x: 7000, y: Number.NaN }; // a diverged value
    const d = decimate(pts, 100);
    expect(d.length).toBeLessThanOrEqual(4 * 100 + 1);
    expect(d[0]).toEqual(pts[0]);
    expect(d[d.length - 1]).toEqual(pts[pts.length - 1]);
    expect(d.some((p) => p.y === 9)).toBe(true);
    expect(d.some((p) => Number.isNaN(p.y))).toBe(true);
    for (let i = 1; i < d.length; i++) expect(d[i]!.x).toBeGreaterThan(d[i - 1]!.x);
    expect(decimate(pts.slice(0, 150), 100)).toHaveLength(150);
  });

  test('a million-step series renders without overflowing and with a bounded path', () => {
    const n = 1_000_000;
    const points = new Array(n);
    for (let i = 0; i < n; i++) points[i] = { x: i + 1, y: 7 * Math.exp(-i / 2e5) + 1 };
    const cpu = cpuClock();
    const svg = renderChart({
      id: 'big',
      title: 'loss',
      xLabel: 'step',
      series: [{ label: 'train', color: '#000', points }],
    });
    expect(cpu()).toBeLessThan(5000);
    expect(svg.length).toBeLessThan(100_000);
    expect(svg).toContain('>1M<');
  });
});
