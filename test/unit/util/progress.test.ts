import { formatBytes, formatDuration, Progress } from '../../../lib/util/progress';

function sink(isTTY: boolean) {
  const out: string[] = [];
  return { out, stream: { isTTY, columns: 100, write: (s: string) => out.push(s) } };
}

describe('Progress', () => {
  it('formats bytes and durations', () => {
    expect(formatBytes(999)).toBe('999 B');
    expect(formatBytes(1500)).toBe('1.50 kB');
    expect(formatBytes(12_300_000)).toBe('12.3 MB');
    expect(formatDuration(5)).toBe('5s');
    expect(formatDuration(65)).toBe('1m05s');
    expect(formatDuration(7380)).toBe('2h03m');
  });

  it('draws a bar with rate and ETA on a TTY, redrawing in place', () => {
    let t = 0;
    const { out, stream } = sink(true);
    const p = new Progress({ label: 'dl', total: 4_000_000, unit: 'bytes', stream, now: () => t });
    t = 1000;
    p.tick(1_000_000);
    expect(out.at(-1)).toMatch(/^\r\x1b\[2Kdl \[#+\.+\]\s+25% 1.00 MB \/ 4.00 MB {2}1.00 MB\/s {2}ETA 3s$/);
    t = 1050;
    p.tick(1); // within the redraw interval: no new line
    expect(out).toHaveLength(1);
    t = 4000;
    p.update(4_000_000);
    p.done();
    expect(out.at(-1)).toMatch(/100% .*\n$/);
  });

  it('prints plain periodic lines when not a TTY, and a final line', () => {
    let t = 0;
    const { out, stream } = sink(false);
    const p = new Progress({
      label: 'steps',
      total: 100,
      unitName: 'steps',
      stream,
      now: () => t,
      intervalMs: 10_000,
    });
    t = 5000;
    p.update(10);
    expect(out).toHaveLength(0);
    t = 10_000;
    p.update(20);
    expect(out).toEqual(['steps 20 / 100  2.00 steps/s  ETA 40s 20.0%\n']);
    t = 20_000;
    p.update(100);
    p.done();
    expect(out.at(-1)).toMatch(/^steps 100 \/ 100 .* done in 20s\n$/);
    p.done();
    expect(out).toHaveLength(3);
  });

  it('is silent when disabled, and counts the rate from the resume point', () => {
    let t = 0;
    const { out, stream } = sink(true);
    const p = new Progress({ total: 10, stream, mode: 'silent', now: () => t, start: 5 });
    t = 1000;
    p.update(7);
    p.done();
    expect(out).toHaveLength(0);
    expect(p.rate()).toBe(2);
    expect(p.eta()).toBeCloseTo(1.5);
  });
});
