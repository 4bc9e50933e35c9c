/**
 * What `ext5 experiment` and `ext5 demo` print while and after a sweep runs: a progress bar of the
 * cells (with the running ones and failures named) and the analysis tables as aligned text.
 */
import * as path from 'node:path';
import type { CellSpec } from '../experiments/cell';
import type { SweepEvents } from '../experiments/runner';
import type { PageTable } from '../report/experiment_page';
import { Progress } from '../util/progress';

export interface SweepProgress {
  events: SweepEvents;
  /** Ends the bar's line. */
  done(): void;
}

/**
 * Progress on stderr: a bar of `unit` labelled `label`, lines prefixed `[tag]`. `bar: false` keeps
 * only the lines (reuse, failures); `silent` prints nothing (--json).
 */
export function sweepProgress(o: {
  tag: string;
  label: string;
  unit: string;
  dir: string;
  bar: boolean;
  silent: boolean;
  /** lib/experiments' cellRunDir, from the caller's lazily loaded module. */
  cellRunDir: (dir: string, cell: CellSpec) => string;
}): SweepProgress {
  const say = (s: string) => {
    if (!o.silent) process.stderr.write(`${s}\n`);
  };
  let bar: Progress | undefined;
  const running = new Set<string>();
  const suffix = () => (running.size ? `running ${[...running].join(', ')}` : '');
  return {
    events: {
      begin: (toRun, reused) => {
        if (toRun === 0) {
          say(
            `[${o.tag}] already complete: all ${reused} ${o.unit} finished before; nothing to run (the results and report are written again from them)`,
          );
          return;
        }
        if (reused > 0) say(`[${o.tag}] ${reused} ${o.unit} finished before; running ${toRun}`);
        if (o.bar && !o.silent) bar = new Progress({ label: o.label, total: toRun, unitName: o.unit });
      },
      start: (c) => {
        running.add(c.id);
        if (!bar) return;
        bar.suffix = suffix();
        bar.update(bar.value);
      },
      end: (c, how) => {
        running.delete(c.id);
        if (how === 'failed') {
          say(
            `${bar ? '\n' : ''}[${o.tag}] ${c.id} failed: see ${path.join(o.cellRunDir(o.dir, c), 'worker.log')}`,
          );
        }
        if (!bar) return;
        bar.suffix = suffix();
        bar.tick();
      },
    },
    done: () => bar?.done(),
  };
}

/** A table as aligned text lines: its title, the head, the rows (numeric columns right-aligned). */
export function textTable(t: PageTable): string[] {
  const w = t.head.map((h, i) => Math.max(h.length, ...t.rows.map((r) => (r[i] ?? '').length)));
  const num = new Set(t.numeric ?? []);
  const line = (cells: string[]) =>
    `  ${cells.map((v, i) => (num.has(i) ? v.padStart(w[i]!) : v.padEnd(w[i]!))).join('  ')}`.trimEnd();
  return [t.title, line(t.head), ...t.rows.map(line)];
}
