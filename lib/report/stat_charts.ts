/**
 * Charts for experiments, as standalone SVG strings (no JavaScript): a heatmap with a diverging
 * colour scale centred on 0, curves of means with shaded 95% intervals, and bars with error bars.
 * Axes and ticks come from chart.ts, so these look like the run report's line charts.
 */
import { escapeXml, formatNumber, logTicks, niceTicks, valueTicks } from './chart';

const FONT = "system-ui, -apple-system, 'Segoe UI', Roboto, sans-serif";

/** A mean with the bounds of its interval (NaN bounds: no interval, e.g. one seed). */
export interface IntervalPoint {
  x: number;
  mean: number;
  lo: number;
  hi: number;
  n: number;
}

export interface IntervalSeries {
  label: string;
  color: string;
  points: IntervalPoint[];
  dash?: string;
}

export interface IntervalChartSpec {
  id: string;
  title: string;
  xLabel: string;
  yLabel: string;
  series: IntervalSeries[];
  logX?: boolean;
  logY?: boolean;
  /**
   * Ticks of the x axis at these values (e.g. the swept values), instead of round numbers; the axis
   * spans them and the data with a small margin.
   */
  xTicks?: number[];
  /** A grey line under the title, e.g. that intervals were clipped. */
  note?: string;
  /** The range the values can take (e.g. [0, 100] for a score): the y axis does not run past it. */
  yRange?: readonly [number, number];
  width?: number;
  height?: number;
}

export interface HeatmapSpec {
  id: string;
  title: string;
  /** What the rows and the columns are, e.g. 'evaluated family' / 'co-trained with'. */
  rowLabel: string;
  colLabel: string;
  rows: string[];
  cols: string[];
  /** values[r][c]; null or NaN = no value (drawn grey). */
  values: (number | null)[][];
  /** Text in each cell (default the value); a trailing '*' is drawn bold. */
  text?: (string | null)[][];
  /** The unit of the colour legend, e.g. '% change'. */
  unit: string;
}

export interface BarSpec {
  id: string;
  title: string;
  yLabel: string;
  bars: { label: string; mean: number; lo: number; hi: number; n: number; color: string }[];
  /** A grey line under the title, e.g. that intervals were clipped. */
  note?: string;
  width?: number;
  height?: number;
}

const f1 = (v: number) => v.toFixed(1);
/** The baseline of a chart's note, under the title; a note pushes what follows down by NOTE_H. */
const NOTE_Y = 38;
const NOTE_H = 16;

/** The frame shared by line and bar charts: title, plot area, y ticks and grid, axis labels. */
function frame(
  id: string,
  title: string,
  W: number,
  H: number,
  top: number,
  yLabel: string,
  xLabel: string,
  bottom = 48,
  note?: string,
): { out: string[]; M: { left: number; right: number; top: number; bottom: number } } {
  const M = { left: 66, right: 20, top, bottom };
  const out = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="${FONT}" role="img" aria-label="${escapeXml(title)}" data-chart="${escapeXml(id)}">`,
    `<rect width="${W}" height="${H}" fill="#fff"/>`,
    `<text x="${M.left}" y="22" font-size="15" font-weight="600" fill="#1f2933">${escapeXml(title)}</text>`,
    ...(note
      ? [
          `<text x="${M.left}" y="${NOTE_Y}" font-size="11" fill="#7b8794" data-note="1">${escapeXml(note)}</text>`,
        ]
      : []),
    `<text transform="translate(16 ${top + (H - top - M.bottom) / 2}) rotate(-90)" font-size="12" fill="#3e4c59" text-anchor="middle">${escapeXml(yLabel)}</text>`,
    `<text x="${M.left + (W - M.left - M.right) / 2}" y="${H - 8}" font-size="12" fill="#3e4c59" text-anchor="middle">${escapeXml(xLabel)}</text>`,
  ];
  return { out, M };
}

/** Legend rows that wrap inside the chart width (so long labels never spill out). */
function legend(
  items: { label: string; color: string; dash?: string }[],
  W: number,
  x0: number,
  y0 = 42,
): {
  svg: string[];
  height: number;
} {
  const svg: string[] = [];
  let x = x0;
  let row = 0;
  for (const it of items) {
    const w = 34 + it.label.length * 6.6 + 14;
    if (x + w > W - 10 && x > x0) {
      row++;
      x = x0;
    }
    const y = y0 + row * 18;
    svg.push(
      `<line x1="${x}" y1="${y - 4}" x2="${x + 22}" y2="${y - 4}" stroke="${it.color}" stroke-width="2.5"${it.dash ? ` stroke-dasharray="${it.dash}"` : ''}/>`,
      `<text x="${x + 28}" y="${y}" font-size="12" fill="#3e4c59">${escapeXml(it.label)}</text>`,
    );
    x += w;
  }
  return { svg, height: items.length ? (row + 1) * 18 : 0 };
}

/** An axis cut to the range its values can take (a score axis that never shows −1). */
function withinRange(
  t: { lo: number; hi: number; ticks: number[] },
  range?: readonly [number, number],
): { lo: number; hi: number; ticks: number[] } {
  if (!range) return t;
  const lo = Math.max(t.lo, range[0]);
  const hi = Math.min(t.hi, range[1]);
  if (!(hi > lo)) return t;
  return { lo, hi, ticks: t.ticks.filter((v) => v >= lo && v <= hi) };
}

/** One series of an interval chart: its band, whiskers, line and markers (with tooltips). */
function intervalSeries(s: IntervalSeries, sx: (v: number) => number, sy: (v: number) => number): string[] {
  const out: string[] = [];
  const ok = s.points.filter((p) => Number.isFinite(p.mean)).sort((a, b) => a.x - b.x);
  const band = ok.filter((p) => Number.isFinite(p.lo) && Number.isFinite(p.hi));
  if (band.length >= 2) {
    const upper = band.map((p) => `${f1(sx(p.x))} ${f1(sy(p.hi))}`);
    const lower = band.map((p) => `${f1(sx(p.x))} ${f1(sy(p.lo))}`).reverse();
    out.push(
      `<path d="M${upper.join('L')}L${lower.join('L')}Z" fill="${s.color}" fill-opacity="0.15" stroke="none"/>`,
    );
  }
  for (const p of band) {
    const x = f1(sx(p.x));
    out.push(
      `<path d="M${x} ${f1(sy(p.lo))}V${f1(sy(p.hi))}M${f1(sx(p.x) - 4)} ${f1(sy(p.lo))}h8M${f1(sx(p.x) - 4)} ${f1(sy(p.hi))}h8" stroke="${s.color}" stroke-width="1.2"/>`,
    );
  }
  if (ok.length >= 2) {
    out.push(
      `<path d="M${ok.map((p) => `${f1(sx(p.x))} ${f1(sy(p.mean))}`).join('L')}" fill="none" stroke="${s.color}" stroke-width="2"${s.dash ? ` stroke-dasharray="${s.dash}"` : ''}/>`,
    );
  }
  for (const p of ok) {
    const iv = Number.isFinite(p.lo) ? ` [${formatNumber(p.lo, 3)}, ${formatNumber(p.hi, 3)}]` : '';
    out.push(
      `<circle cx="${f1(sx(p.x))}" cy="${f1(sy(p.mean))}" r="3.5" fill="#fff" stroke="${s.color}" stroke-width="2"><title>${escapeXml(`${s.label} at ${formatNumber(p.x)}: ${formatNumber(p.mean, 4)}${iv} (n=${p.n})`)}</title></circle>`,
    );
  }
  return out;
}

/** Means as lines with markers, their 95% intervals as a shaded band and whiskers. */
export function renderIntervalChart(spec: IntervalChartSpec): string {
  const W = spec.width ?? 560;
  const H = spec.height ?? 340;
  const shift = spec.note ? NOTE_H : 0;
  const lg = legend(spec.series, W, 66, 42 + shift);
  const top = 40 + shift + lg.height;
  const { out, M } = frame(spec.id, spec.title, W, H, top, spec.yLabel, spec.xLabel, 48, spec.note);
  out.push(...lg.svg);
  const pts = spec.series.flatMap((s) => s.points).filter((p) => Number.isFinite(p.mean));
  if (pts.length === 0) {
    out.push(
      `<text x="${W / 2}" y="${H / 2}" font-size="13" fill="#7b8794" text-anchor="middle">no results yet</text></svg>`,
    );
    return out.join('\n');
  }
  const ys = pts
    .flatMap((p) => [p.mean, p.lo, p.hi])
    .filter((v) => Number.isFinite(v) && (!spec.logY || v > 0));
  const xs = pts.map((p) => p.x).filter((v) => !spec.logX || v > 0);
  const logX = spec.logX === true && xs.length > 0;
  const logY = spec.logY === true && ys.length > 0;
  const xt = spec.xTicks?.length
    ? valueTicks(xs, spec.xTicks, logX)
    : logX
      ? logTicks(Math.min(...xs), Math.max(...xs))
      : niceTicks(Math.min(...xs), Math.max(...xs), 6);
  const yt = withinRange(
    logY ? logTicks(Math.min(...ys), Math.max(...ys)) : niceTicks(Math.min(...ys), Math.max(...ys), 6),
    spec.yRange,
  );
  const pw = W - M.left - M.right;
  const ph = H - M.top - M.bottom;
  const tx = (v: number) => (logX ? Math.log10(v) : v);
  const ty = (v: number) => (logY ? Math.log10(v) : v);
  const sx = (v: number) => M.left + ((tx(v) - tx(xt.lo)) / (tx(xt.hi) - tx(xt.lo) || 1)) * pw;
  const sy = (v: number) => M.top + ph - ((ty(v) - ty(yt.lo)) / (ty(yt.hi) - ty(yt.lo) || 1)) * ph;
  out.push('<g font-size="11" fill="#616e7c">');
  for (const t of yt.ticks) {
    out.push(
      `<line x1="${M.left}" y1="${f1(sy(t))}" x2="${M.left + pw}" y2="${f1(sy(t))}" stroke="#e4e7eb"/>`,
      `<text x="${M.left - 6}" y="${f1(sy(t) + 4)}" text-anchor="end">${escapeXml(formatNumber(t))}</text>`,
    );
  }
  let lastLabel = Number.NEGATIVE_INFINITY;
  for (const t of xt.ticks) {
    const x = sx(t);
    out.push(
      `<line x1="${f1(x)}" y1="${M.top + ph}" x2="${f1(x)}" y2="${M.top + ph + 4}" stroke="#9aa5b1"/>`,
    );
    // Labels of ticks closer than a label's width apart would overlap: the later one keeps only its mark.
    if (x - lastLabel < 28) continue;
    lastLabel = x;
    out.push(
      `<text x="${f1(x)}" y="${M.top + ph + 17}" text-anchor="middle" data-tick="x">${escapeXml(formatNumber(t))}</text>`,
    );
  }
  out.push(
    '</g>',
    `<rect x="${M.left}" y="${M.top}" width="${pw}" height="${ph}" fill="none" stroke="#cbd2d9"/>`,
  );
  for (const s of spec.series) out.push(...intervalSeries(s, sx, sy));
  out.push('</svg>');
  return out.join('\n');
}

/** Blue for negative, red for positive, white at 0; `scale` is the magnitude of full colour. */
export function divergingColor(v: number, scale: number): string {
  if (!Number.isFinite(v)) return '#e4e7eb';
  const t = Math.max(-1, Math.min(1, v / (scale || 1)));
  const mix = (a: number, b: number, w: number) => Math.round(a + (b - a) * w);
  const [r, g, b] = t >= 0 ? [214, 39, 40] : [31, 119, 180];
  const w = Math.abs(t);
  const hex = (n: number) => n.toString(16).padStart(2, '0');
  return `#${hex(mix(255, r, w))}${hex(mix(255, g, w))}${hex(mix(255, b, w))}`;
}

/** A rows × columns heatmap with the value in each cell and a colour legend. */
export function renderHeatmap(spec: HeatmapSpec): string {
  const cell = 64;
  const labelW = 16 + Math.max(...spec.rows.map((r) => r.length), 4) * 7;
  const colLabelH = 16 + Math.max(...spec.cols.map((c) => c.length), 4) * 5.2;
  const top = 44 + colLabelH;
  // Wide enough for the title (about 8.5 px per character at 15 px bold) and the colour legend.
  const W = Math.max(
    420,
    24 + spec.title.length * 8.5,
    labelW + spec.cols.length * cell + 40 + spec.unit.length * 6,
  );
  const H = top + spec.rows.length * cell + 56;
  const finite = spec.values.flat().filter((v): v is number => v !== null && Number.isFinite(v));
  const scale = finite.length ? Math.max(...finite.map(Math.abs)) || 1 : 1;
  const out = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="${FONT}" role="img" aria-label="${escapeXml(spec.title)}" data-chart="${escapeXml(spec.id)}">`,
    `<rect width="${W}" height="${H}" fill="#fff"/>`,
    `<text x="12" y="22" font-size="15" font-weight="600" fill="#1f2933">${escapeXml(spec.title)}</text>`,
    `<text x="${labelW + (spec.cols.length * cell) / 2}" y="38" font-size="12" fill="#3e4c59" text-anchor="middle">${escapeXml(spec.colLabel)} →</text>`,
    `<text transform="translate(12 ${top + (spec.rows.length * cell) / 2}) rotate(-90)" font-size="12" fill="#3e4c59" text-anchor="middle">${escapeXml(spec.rowLabel)} →</text>`,
  ];
  spec.cols.forEach((c, j) => {
    const x = labelW + j * cell + cell / 2;
    out.push(
      `<text transform="translate(${f1(x)} ${top - 6}) rotate(-40)" font-size="11" fill="#3e4c59">${escapeXml(c)}</text>`,
    );
  });
  spec.rows.forEach((r, i) => {
    const y = top + i * cell;
    out.push(
      `<text x="${labelW - 6}" y="${y + cell / 2 + 4}" font-size="11" fill="#3e4c59" text-anchor="end">${escapeXml(r)}</text>`,
    );
    spec.cols.forEach((_, j) => {
      const v = spec.values[i]?.[j] ?? null;
      const x = labelW + j * cell;
      const fill = v === null ? '#f5f7fa' : divergingColor(v, scale);
      const text = spec.text?.[i]?.[j] ?? (v === null || !Number.isFinite(v) ? '' : formatNumber(v, 3));
      const strong = text.endsWith('*');
      const dark = v !== null && Number.isFinite(v) && Math.abs(v) / (scale || 1) > 0.6;
      out.push(
        `<rect x="${x}" y="${y}" width="${cell}" height="${cell}" fill="${fill}" stroke="#fff" stroke-width="2"><title>${escapeXml(`${spec.rows[i]} × ${spec.cols[j]}: ${text || 'no value'}`)}</title></rect>`,
        `<text x="${x + cell / 2}" y="${y + cell / 2 + 4}" font-size="11" text-anchor="middle" fill="${dark ? '#fff' : '#1f2933'}"${strong ? ' font-weight="700"' : ''}>${escapeXml(text)}</text>`,
      );
    });
  });
  // Colour legend: −scale … 0 … +scale.
  const lx = labelW;
  const ly = top + spec.rows.length * cell + 16;
  const lw = Math.min(240, spec.cols.length * cell);
  for (let k = 0; k < 24; k++) {
    const v = -scale + (2 * scale * (k + 0.5)) / 24;
    out.push(
      `<rect x="${f1(lx + (k * lw) / 24)}" y="${ly}" width="${f1(lw / 24 + 0.5)}" height="10" fill="${divergingColor(v, scale)}"/>`,
    );
  }
  out.push(
    `<g font-size="10" fill="#616e7c"><text x="${lx}" y="${ly + 22}">${escapeXml(formatNumber(-scale, 2))}</text><text x="${lx + lw / 2}" y="${ly + 22}" text-anchor="middle">0</text><text x="${lx + lw}" y="${ly + 22}" text-anchor="end">${escapeXml(formatNumber(scale, 2))}</text><text x="${lx + lw + 10}" y="${ly + 9}">${escapeXml(spec.unit)}</text></g>`,
    '</svg>',
  );
  return out.join('\n');
}

/** Bars of means with 95% error bars, from a zero baseline when the values allow it. */
export function renderBarChart(spec: BarSpec): string {
  const W = spec.width ?? 560;
  const H = spec.height ?? 340;
  // Many bars: slanted labels, with room for the longest under the plot.
  const slant = spec.bars.length > 5;
  const longest = Math.max(...spec.bars.map((b) => b.label.length));
  const bottom = slant ? 20 + longest * 5 : 48;
  const plotTop = 44 + (spec.note ? NOTE_H : 0);
  const { out, M } = frame(spec.id, spec.title, W, H, plotTop, spec.yLabel, '', bottom, spec.note);
  const ok = spec.bars.filter((b) => Number.isFinite(b.mean));
  if (ok.length === 0) {
    out.push(
      `<text x="${W / 2}" y="${H / 2}" font-size="13" fill="#7b8794" text-anchor="middle">no results yet</text></svg>`,
    );
    return out.join('\n');
  }
  const vals = ok.flatMap((b) => [b.mean, b.lo, b.hi]).filter(Number.isFinite);
  // From zero; all-zero bars get a unit range rather than one centred on 0.
  const top = Math.max(0, ...vals);
  const yt = niceTicks(Math.min(0, ...vals), top === 0 && Math.min(0, ...vals) === 0 ? 1 : top, 6);
  const pw = W - M.left - M.right;
  const ph = H - M.top - M.bottom;
  const sy = (v: number) => M.top + ph - ((v - yt.lo) / (yt.hi - yt.lo || 1)) * ph;
  out.push('<g font-size="11" fill="#616e7c">');
  for (const t of yt.ticks) {
    out.push(
      `<line x1="${M.left}" y1="${f1(sy(t))}" x2="${M.left + pw}" y2="${f1(sy(t))}" stroke="#e4e7eb"/>`,
      `<text x="${M.left - 6}" y="${f1(sy(t) + 4)}" text-anchor="end">${escapeXml(formatNumber(t))}</text>`,
    );
  }
  out.push('</g>');
  const slot = pw / spec.bars.length;
  const bw = Math.min(80, slot * 0.6);
  spec.bars.forEach((b, i) => {
    const cx = M.left + slot * (i + 0.5);
    out.push(
      slant
        ? `<text transform="translate(${f1(cx + 3)} ${M.top + ph + 12}) rotate(-40)" font-size="11" fill="#3e4c59" text-anchor="end">${escapeXml(b.label)}</text>`
        : `<text x="${f1(cx)}" y="${M.top + ph + 18}" font-size="12" fill="#3e4c59" text-anchor="middle">${escapeXml(b.label)}</text>`,
    );
    if (!Number.isFinite(b.mean)) return;
    const y0 = sy(Math.max(yt.lo, 0));
    const y1 = sy(b.mean);
    out.push(
      `<rect x="${f1(cx - bw / 2)}" y="${f1(Math.min(y0, y1))}" width="${f1(bw)}" height="${f1(Math.abs(y1 - y0))}" fill="${b.color}" fill-opacity="0.8"><title>${escapeXml(`${b.label}: ${formatNumber(b.mean, 4)}${Number.isFinite(b.lo) ? ` [${formatNumber(b.lo, 3)}, ${formatNumber(b.hi, 3)}]` : ''} (n=${b.n})`)}</title></rect>`,
    );
    if (Number.isFinite(b.lo) && Number.isFinite(b.hi)) {
      out.push(
        `<path d="M${f1(cx)} ${f1(sy(b.lo))}V${f1(sy(b.hi))}M${f1(cx - 8)} ${f1(sy(b.lo))}h16M${f1(cx - 8)} ${f1(sy(b.hi))}h16" stroke="#1f2933" stroke-width="1.5"/>`,
      );
    }
  });
  out.push(
    `<rect x="${M.left}" y="${M.top}" width="${pw}" height="${ph}" fill="none" stroke="#cbd2d9"/>`,
    '</svg>',
  );
  return out.join('\n');
}
