/**
 * Line charts as standalone SVG strings: axes with "nice" ticks, grid, title, axis labels, a legend,
 * optional log-scale y axis, faint raw lines under smoothed ones, markers for sparse series, and native
 * tooltips (`<title>`), so the page needs no JavaScript.
 *
 * Tick placement follows Heckbert's "nice numbers" (Graphics Gems, 1990): steps of 1, 2 or 5 times a
 * power of ten.
 */

/** One point of a series. */
export interface ChartPoint {
  x: number;
  y: number;
}

/** One line of a chart. */
export interface ChartSeries {
  label: string;
  color: string;
  points: ChartPoint[];
  /** SVG stroke-dasharray, e.g. '6 3'. */
  dash?: string;
  /** A faint copy drawn under the line (the raw values of a smoothed series). */
  raw?: ChartPoint[];
  /** Draw a marker at every point (sparse series such as evaluations). */
  markers?: boolean;
}

/** What to draw. */
export interface ChartSpec {
  title: string;
  xLabel: string;
  yLabel?: string;
  series: ChartSeries[];
  logY?: boolean;
  width?: number;
  height?: number;
  /** An id prefix, unique in the page (clip paths). */
  id: string;
}

/** Escapes text for HTML and SVG (element content and attribute values). */
export function escapeXml(s: string): string {
  return s
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&#39;');
}

/** The nice number closest to (round) or above (ceil) `x`: 1, 2, 5 or 10 times a power of ten. */
function niceNum(x: number, round: boolean): number {
  const exp = Math.floor(Math.log10(x));
  const f = x / 10 ** exp;
  let nf: number;
  if (round) nf = f < 1.5 ? 1 : f < 3 ? 2 : f < 7 ? 5 : 10;
  else nf = f <= 1 ? 1 : f <= 2 ? 2 : f <= 5 ? 5 : 10;
  return nf * 10 ** exp;
}

/**
 * About `count` evenly spaced round tick values covering [lo, hi], and the widened range.
 * @example
 * niceTicks(0, 97, 5); // { lo: 0, hi: 100, ticks: [0, 20, 40, 60, 80, 100] }
 */
export function niceTicks(lo: number, hi: number, count = 5): { lo: number; hi: number; ticks: number[] } {
  if (!(hi > lo)) {
    const pad = lo === 0 ? 1 : Math.abs(lo) * 0.1;
    lo -= pad;
    hi += pad;
  }
  const step = niceNum(niceNum(hi - lo, false) / Math.max(1, count - 1), true);
  const nlo = Math.floor(lo / step) * step;
  const nhi = Math.ceil(hi / step) * step;
  const ticks: number[] = [];
  for (let v = nlo; v <= nhi + step * 1e-9; v += step) ticks.push(Math.abs(v) < step * 1e-9 ? 0 : v);
  return { lo: nlo, hi: nhi, ticks };
}

/**
 * Ticks for a log axis over positive [lo, hi]: powers of ten, with 2 and 5 in between when the range
 * spans fewer than three decades.
 */
export function logTicks(lo: number, hi: number): { lo: number; hi: number; ticks: number[] } {
  const e0 = Math.floor(Math.log10(lo));
  let e1 = Math.ceil(Math.log10(hi));
  if (e1 === e0) e1 += 1;
  const mult = e1 - e0 <= 2 ? [1, 2, 5] : [1];
  const ticks: number[] = [];
  for (let e = e0; e <= e1; e++) for (const m of mult) ticks.push(m * 10 ** e);
  // Tighten the range to the ticks that bracket the data, so curves are not squashed.
  const below = ticks.filter((t) => t <= lo);
  const above = ticks.filter((t) => t >= hi);
  const nlo = below.length ? below[below.length - 1]! : 10 ** e0;
  const nhi = above.length ? above[0]! : 10 ** e1;
  return { lo: nlo, hi: nhi, ticks: ticks.filter((t) => t >= nlo * (1 - 1e-9) && t <= nhi * (1 + 1e-9)) };
}

/**
 * An axis with ticks at given values (the values a study swept) rather than round numbers: it spans
 * the ticks and the data with a margin of 4% of the span on each side (of the log span on a log axis).
 * @example
 * valueTicks([1, 8], [1, 8], true).ticks; // [1, 8]
 */
export function valueTicks(
  data: readonly number[],
  ticks: readonly number[],
  log: boolean,
): { lo: number; hi: number; ticks: number[] } {
  const ok = (v: number) => Number.isFinite(v) && (!log || v > 0);
  const t = [...new Set(ticks.filter(ok))].sort((a, b) => a - b);
  const all = [...data.filter(ok), ...t];
  const lo = Math.min(...all);
  const hi = Math.max(...all);
  if (log) {
    const m = lo === hi ? 2 : (hi / lo) ** 0.04;
    return { lo: lo / m, hi: hi * m, ticks: t };
  }
  const m = lo === hi ? Math.max(1, Math.abs(lo) * 0.1) : (hi - lo) * 0.04;
  return { lo: lo - m, hi: hi + m, ticks: t };
}

/**
 * Short, readable numbers for ticks and tables: 12.5k, 1.2M, 0.0123, 3.2e-5.
 * @example
 * formatNumber(12500); // '12.5k'
 * formatNumber(0.000032); // '3.2e-5'
 */
export function formatNumber(v: number, digits = 3): string {
  if (!Number.isFinite(v)) return String(v);
  if (v === 0) return '0';
  const a = Math.abs(v);
  // Drop trailing zeros of a fraction only: '1.50' -> '1.5', but '100' stays '100'.
  const trim = (s: string) => (s.includes('.') && !s.includes('e') ? s.replace(/\.?0+$/, '') : s);
  if (a >= 1e9) return `${trim((v / 1e9).toPrecision(digits))}G`;
  if (a >= 1e6) return `${trim((v / 1e6).toPrecision(digits))}M`;
  if (a >= 1e4) return `${trim((v / 1e3).toPrecision(digits))}k`;
  if (a >= 1e-3) return trim(Number(v.toPrecision(digits)).toString());
  const [m, e] = v.toExponential(digits - 1).split('e');
  return `${trim(m!)}e${Number(e)}`;
}

/**
 * Keeps a long series drawable: above two points per pixel column, each column keeps its first,
 * lowest, highest and last points (in order), so spikes and the envelope survive. Non-finite points
 * are kept so that gaps stay gaps.
 */
export function decimate(points: readonly ChartPoint[], columns: number): ChartPoint[] {
  if (points.length <= 2 * columns || points.length < 3) return [...points];
  const x0 = points[0]!.x;
  const span = points[points.length - 1]!.x - x0 || 1;
  const out: ChartPoint[] = [];
  let bucket: ChartPoint[] = [];
  let current = -1;
  const flush = () => {
    if (bucket.length === 0) return;
    const finite = bucket.filter((p) => Number.isFinite(p.y));
    const keep = new Set<ChartPoint>([bucket[0]!, bucket[bucket.length - 1]!]);
    if (finite.length > 0) {
      let lo = finite[0]!;
      let hi = finite[0]!;
      for (const p of finite) {
        if (p.y < lo.y) lo = p;
        if (p.y > hi.y) hi = p;
      }
      keep.add(lo).add(hi);
    }
    for (const p of bucket) if (keep.has(p) || !Number.isFinite(p.y)) out.push(p);
    bucket = [];
  };
  for (const p of points) {
    const col = Math.min(columns - 1, Math.floor(((p.x - x0) / span) * columns));
    if (col !== current) {
      flush();
      current = col;
    }
    bucket.push(p);
  }
  flush();
  return out;
}

const FONT = "system-ui, -apple-system, 'Segoe UI', Roboto, sans-serif";

/** Renders one chart as a standalone `<svg>` element. */
export function renderChart(spec: ChartSpec): string {
  const W = spec.width ?? 560;
  const H = spec.height ?? 320;
  const all = spec.series.flatMap((s) => [...s.points, ...(s.raw ?? [])]);
  const finite = all.filter((p) => Number.isFinite(p.x) && Number.isFinite(p.y) && (!spec.logY || p.y > 0));
  const logY = spec.logY === true && finite.length > 0;

  // Legend rows under the title: measure roughly (7 px per character at 12 px).
  const legendItems = spec.series.map((s) => ({ s, w: 30 + s.label.length * 6.6 + 14 }));
  const rows: (typeof legendItems)[] = [[]];
  let rowW = 0;
  const maxRow = W - 80;
  for (const it of legendItems) {
    if (rowW + it.w > maxRow && rows[rows.length - 1]!.length > 0) {
      rows.push([]);
      rowW = 0;
    }
    rows[rows.length - 1]!.push(it);
    rowW += it.w;
  }
  const top = 34 + rows.length * 18;
  const M = { left: 62, right: 18, top, bottom: 46 };
  const pw = W - M.left - M.right;
  const ph = H - M.top - M.bottom;

  const out: string[] = [];
  out.push(
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="${FONT}" role="img" aria-label="${escapeXml(spec.title)}">`,
    `<rect width="${W}" height="${H}" fill="#fff"/>`,
    `<text x="${M.left}" y="22" font-size="15" font-weight="600" fill="#1f2933">${escapeXml(spec.title)}${logY ? ' <tspan font-size="11" font-weight="400" fill="#7b8794">(log scale)</tspan>' : ''}</text>`,
  );
  rows.forEach((row, r) => {
    let x = M.left;
    const y = 40 + r * 18;
    for (const { s, w } of row) {
      out.push(
        `<line x1="${x}" y1="${y - 4}" x2="${x + 22}" y2="${y - 4}" stroke="${s.color}" stroke-width="2.5"${s.dash ? ` stroke-dasharray="${s.dash}"` : ''}/>`,
        `<text x="${x + 28}" y="${y}" font-size="12" fill="#3e4c59">${escapeXml(s.label)}</text>`,
      );
      x += w;
    }
  });

  if (finite.length === 0) {
    out.push(
      `<text x="${W / 2}" y="${M.top + ph / 2}" font-size="13" fill="#7b8794" text-anchor="middle">${spec.logY ? 'no positive values to show on a log scale' : 'no finite values'}</text>`,
      '</svg>',
    );
    return out.join('\n');
  }

  // Loops, not Math.min(...xs): a million-step run would overflow the argument stack.
  let [xMin, xMax, yMin, yMax] = [Infinity, -Infinity, Infinity, -Infinity];
  for (const p of finite) {
    if (p.x < xMin) xMin = p.x;
    if (p.x > xMax) xMax = p.x;
    if (p.y < yMin) yMin = p.y;
    if (p.y > yMax) yMax = p.y;
  }
  if (xMin === xMax) {
    xMin -= 1;
    xMax += 1;
  }
  // Steps that start near zero are drawn from zero; otherwise the x range is the data's own.
  const xLo = xMin > 0 && xMin <= 0.1 * (xMax - xMin) ? 0 : xMin;
  const xHi = xMax;
  const xTicks = niceTicks(xLo, xHi, 6).ticks.filter((t) => t >= xLo - 1e-9 && t <= xHi + 1e-9);
  const yt = logY ? logTicks(yMin, yMax) : niceTicks(yMin, yMax, 6);
  const yLo = yt.lo;
  const yHi = yt.hi;
  const sx = (x: number) => M.left + ((x - xLo) / (xHi - xLo || 1)) * pw;
  const sy = (y: number) =>
    logY
      ? M.top + ph - ((Math.log10(y) - Math.log10(yLo)) / (Math.log10(yHi) - Math.log10(yLo) || 1)) * ph
      : M.top + ph - ((y - yLo) / (yHi - yLo || 1)) * ph;
  const f = (v: number) => v.toFixed(1);

  // Grid and ticks.
  out.push(`<g font-size="11" fill="#616e7c">`);
  for (const t of yt.ticks) {
    const y = sy(t);
    out.push(
      `<line x1="${M.left}" y1="${f(y)}" x2="${M.left + pw}" y2="${f(y)}" stroke="#e4e7eb"/>`,
      `<text x="${M.left - 6}" y="${f(y + 4)}" text-anchor="end">${escapeXml(formatNumber(t))}</text>`,
    );
  }
  for (const t of xTicks) {
    const x = sx(t);
    out.push(
      `<line x1="${f(x)}" y1="${M.top}" x2="${f(x)}" y2="${M.top + ph}" stroke="#f0f2f5"/>`,
      `<line x1="${f(x)}" y1="${M.top + ph}" x2="${f(x)}" y2="${M.top + ph + 4}" stroke="#9aa5b1"/>`,
      `<text x="${f(x)}" y="${M.top + ph + 17}" text-anchor="middle">${escapeXml(formatNumber(t))}</text>`,
    );
  }
  out.push('</g>');
  out.push(
    `<rect x="${M.left}" y="${M.top}" width="${pw}" height="${ph}" fill="none" stroke="#cbd2d9"/>`,
    `<text x="${M.left + pw / 2}" y="${H - 8}" font-size="12" fill="#3e4c59" text-anchor="middle">${escapeXml(spec.xLabel)}</text>`,
  );
  if (spec.yLabel) {
    out.push(
      `<text transform="translate(14 ${M.top + ph / 2}) rotate(-90)" font-size="12" fill="#3e4c59" text-anchor="middle">${escapeXml(spec.yLabel)}</text>`,
    );
  }

  // Lines, clipped to the plot area.
  const clip = `${spec.id}-clip`;
  out.push(
    `<defs><clipPath id="${escapeXml(clip)}"><rect x="${M.left}" y="${M.top - 2}" width="${pw}" height="${ph + 4}"/></clipPath></defs>`,
    `<g clip-path="url(#${escapeXml(clip)})" fill="none" stroke-linejoin="round" stroke-linecap="round">`,
  );
  const pathOf = (all: ChartPoint[]): string => {
    const pts = decimate(all, Math.ceil(pw));
    let d = '';
    let pen = false;
    for (const p of pts) {
      const ok = Number.isFinite(p.y) && Number.isFinite(p.x) && (!logY || p.y > 0);
      if (!ok) {
        pen = false; // a gap where a value is missing (NaN loss) rather than a misleading line
        continue;
      }
      d += `${pen ? 'L' : 'M'}${f(sx(p.x))} ${f(sy(p.y))}`;
      pen = true;
    }
    return d;
  };
  for (const s of spec.series) {
    if (s.raw && s.raw.length > 0) {
      out.push(
        `<path d="${pathOf(s.raw)}" stroke="${s.color}" stroke-opacity="0.25" stroke-width="1" data-series="${escapeXml(s.label)} (raw)"/>`,
      );
    }
  }
  for (const s of spec.series) {
    const d = pathOf(s.points);
    out.push(
      `<path d="${d}" stroke="${s.color}" stroke-width="2"${s.dash ? ` stroke-dasharray="${s.dash}"` : ''} data-series="${escapeXml(s.label)}"><title>${escapeXml(s.label)}</title></path>`,
    );
    if (s.markers || s.points.length === 1) {
      for (const p of s.points) {
        if (!Number.isFinite(p.y) || (logY && p.y <= 0)) continue;
        out.push(
          `<circle cx="${f(sx(p.x))}" cy="${f(sy(p.y))}" r="3" fill="#fff" stroke="${s.color}" stroke-width="2"><title>${escapeXml(`${s.label}: step ${p.x}, ${formatNumber(p.y, 4)}`)}</title></circle>`,
        );
      }
    }
  }
  out.push('</g>', '</svg>');
  return out.join('\n');
}
