/**
 * A progress reporter for long loops (downloads, data preparation, training steps).
 * - On a TTY: one bar redrawn in place, with count, rate and ETA.
 * - Not a TTY (CI logs, pipes): a plain line every `intervalMs` (default 10 s) and one at the end.
 * - Disabled: nothing at all.
 * The clock and the output stream are injectable so that tests are exact.
 */

/** How a progress reporter writes. 'auto' picks 'tty' when the stream is a TTY, else 'plain'. */
export type ProgressMode = 'auto' | 'tty' | 'plain' | 'silent';

export interface ProgressOptions {
  /** Shown before the bar, e.g. "download aps/super_glue boolq/train". */
  label?: string;
  /** The total, when known (the bar and the ETA need it). */
  total?: number;
  /** 'bytes' prints 1.2 MB and MB/s; 'items' prints counts (and `unitName`/s). */
  unit?: 'bytes' | 'items';
  /** The name of one item, e.g. 'steps' or 'examples' (default 'it'). */
  unitName?: string;
  mode?: ProgressMode;
  /** Where to write (default process.stderr). */
  stream?: { write(s: string): unknown; isTTY?: boolean; columns?: number };
  /** Minimum time between redraws on a TTY (default 100 ms) and between plain lines (default 10 s). */
  intervalMs?: number;
  /** Milliseconds clock (default Date.now), for tests. */
  now?: () => number;
  /** Value to start from, e.g. the bytes already on disk when a download resumes. */
  start?: number;
}

/** Formats a byte count as B / kB / MB / GB (powers of 1000, like `ls --si`). */
export function formatBytes(n: number): string {
  const units = ['B', 'kB', 'MB', 'GB', 'TB'];
  let v = n;
  let i = 0;
  while (Math.abs(v) >= 1000 && i < units.length - 1) {
    v /= 1000;
    i++;
  }
  return i === 0 ? `${Math.round(v)} ${units[0]}` : `${v.toFixed(v < 10 ? 2 : v < 100 ? 1 : 0)} ${units[i]}`;
}

/** Formats seconds as 59s, 1m05s, 2h03m. */
export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) return '?';
  const s = Math.round(seconds);
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
  return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
}

/**
 * A running progress report. Call `tick(n)` or `update(value)` as work advances and `done()` at the end.
 * @example
 * const p = new Progress({ label: 'download', total: size, unit: 'bytes' });
 * stream.on('data', (chunk) => p.tick(chunk.length));
 * p.done();
 */
export class Progress {
  readonly label: string;
  total: number | undefined;
  value: number;
  private readonly unit: 'bytes' | 'items';
  private readonly unitName: string;
  private readonly mode: 'tty' | 'plain' | 'silent';
  private readonly stream: NonNullable<ProgressOptions['stream']>;
  private readonly intervalMs: number;
  private readonly now: () => number;
  private readonly startTime: number;
  private readonly startValue: number;
  private lastDraw = Number.NEGATIVE_INFINITY;
  private finished = false;
  /** Extra status shown after the rate, e.g. "loss 2.31  lr 1.0e-2" (set it before update()). */
  suffix = '';

  constructor(opts: ProgressOptions = {}) {
    this.label = opts.label ?? '';
    this.total = opts.total;
    this.value = opts.start ?? 0;
    this.startValue = this.value;
    this.unit = opts.unit ?? 'items';
    this.unitName = opts.unitName ?? 'it';
    this.stream = opts.stream ?? process.stderr;
    const mode = opts.mode ?? 'auto';
    this.mode = mode === 'auto' ? (this.stream.isTTY ? 'tty' : 'plain') : mode;
    this.intervalMs = opts.intervalMs ?? (this.mode === 'tty' ? 100 : 10_000);
    this.now = opts.now ?? Date.now;
    this.startTime = this.now();
    // Plain mode waits one interval before its first line, so short jobs print only the final one.
    if (this.mode === 'plain') this.lastDraw = this.startTime;
  }

  /** Advances by `n` (default 1). */
  tick(n = 1): void {
    this.update(this.value + n);
  }

  /** Sets the current value. */
  update(value: number): void {
    this.value = value;
    if (this.mode === 'silent' || this.finished) return;
    const t = this.now();
    if (t - this.lastDraw >= this.intervalMs) {
      this.lastDraw = t;
      this.draw(false);
    }
  }

  /** Items (or bytes) per second since the start, counting only this session's work. */
  rate(): number {
    const dt = (this.now() - this.startTime) / 1000;
    return dt > 0 ? (this.value - this.startValue) / dt : 0;
  }

  /** Seconds left at the current rate, or undefined when unknown. */
  eta(): number | undefined {
    const r = this.rate();
    if (this.total === undefined || r <= 0) return undefined;
    return Math.max(0, (this.total - this.value) / r);
  }

  /** The status text without the bar, e.g. "12.0 MB / 40.0 MB  3.00 MB/s  ETA 9s". */
  status(): string {
    const fmt = (v: number) => (this.unit === 'bytes' ? formatBytes(v) : String(Math.round(v)));
    const count = this.total === undefined ? fmt(this.value) : `${fmt(this.value)} / ${fmt(this.total)}`;
    const r = this.rate();
    const rate =
      this.unit === 'bytes' ? `${formatBytes(r)}/s` : `${r.toFixed(r < 10 ? 2 : 1)} ${this.unitName}/s`;
    const eta = this.eta();
    const extra = this.suffix ? `  ${this.suffix}` : '';
    return `${count}  ${rate}${extra}${eta === undefined ? '' : `  ETA ${formatDuration(eta)}`}`;
  }

  /** Ends the report: a final line (plain) or the completed bar and a newline (TTY). Idempotent. */
  done(message?: string): void {
    if (this.finished) return;
    this.finished = true;
    if (this.mode === 'silent') return;
    this.draw(true, message);
  }

  private draw(final: boolean, message?: string): void {
    const prefix = this.label ? `${this.label} ` : '';
    const elapsed = formatDuration((this.now() - this.startTime) / 1000);
    if (this.mode === 'plain') {
      const pct = this.total ? ` ${((100 * this.value) / this.total).toFixed(1)}%` : '';
      const tail = final ? ` done in ${elapsed}${message ? ` ${message}` : ''}` : '';
      this.stream.write(`${prefix}${this.status()}${pct}${tail}\n`);
      return;
    }
    const status = final ? `${this.status()}  ${elapsed}${message ? ` ${message}` : ''}` : this.status();
    let bar = '';
    if (this.total) {
      const columns = this.stream.columns ?? 80;
      const width = Math.max(10, Math.min(40, columns - prefix.length - status.length - 10));
      const frac = Math.min(1, Math.max(0, this.value / this.total));
      const filled = Math.round(frac * width);
      bar = `[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${(100 * frac).toFixed(0).padStart(3)}% `;
    }
    this.stream.write(`\r\x1b[2K${prefix}${bar}${status}${final ? '\n' : ''}`);
  }
}
