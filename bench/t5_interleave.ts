/**
 * Drives a Python baseline process line by line so that its runs interleave with ours: on a
 * shared machine both sides then meet the same background load (used by train_step.ts and
 * generate.ts).
 */
import { type ChildProcessWithoutNullStreams, spawn } from 'node:child_process';
import * as os from 'node:os';
import * as readline from 'node:readline';
import { arg } from './args';

export class Baseline {
  private readonly child: ChildProcessWithoutNullStreams;
  private readonly lines: AsyncIterableIterator<string>;
  private stderr = '';

  constructor(python: string, args: string[]) {
    this.child = spawn(python, args);
    this.child.stderr.on('data', (d) => {
      this.stderr += String(d);
    });
    this.lines = readline.createInterface({ input: this.child.stdout })[Symbol.asyncIterator]();
  }

  private async line(): Promise<string> {
    const r = await this.lines.next();
    if (r.done) throw new Error(`baseline exited early:\n${this.stderr}`);
    return r.value;
  }

  /** Resolves once the baseline has warmed up. */
  async ready(): Promise<void> {
    const l = await this.line();
    if (l !== 'ready') throw new Error(`baseline said '${l}' instead of 'ready':\n${this.stderr}`);
  }

  /** Runs one measured iteration; returns the numbers of its output line. */
  async run(): Promise<number[]> {
    this.child.stdin.write('go\n');
    return (await this.line()).split(' ').map(Number);
  }

  close(): void {
    this.child.stdin.end();
  }
}

/** Best of N: on a shared machine the minimum is the least disturbed by other processes. */
export function best(xs: number[]): number {
  return Math.min(...xs);
}

/** The options bench/train_step.ts and bench/generate.ts share (read from the command line). */
export interface T5BenchOptions {
  threads: number;
  /** Batch rows and input length. */
  B: number;
  S: number;
  configs: string[];
  dtypes: Array<'float32' | 'bfloat16'>;
  python: string;
}

export function t5BenchOptions(): T5BenchOptions {
  return {
    threads: Number(arg('threads', String(os.availableParallelism()))),
    B: Number(arg('batch', '4')),
    S: Number(arg('input', '128')),
    // The fast config first, so a figure appears within seconds.
    configs: arg('configs', 't5-tiny,t5-small').split(','),
    // bfloat16 on request only: where the CPU has no native bfloat16 matmul it is emulated, and
    // one t5-small step took 34 s (against 1 s in float32) on the 2-core development machine.
    dtypes: arg('dtypes', 'float32').split(',') as Array<'float32' | 'bfloat16'>,
    python: arg('python', '/usr/bin/python3'),
  };
}

/** Deterministic token ids in 2..vocab-1 (a 32-bit LCG), the same on every run and every side. */
export function randomIds(n: number, vocab: number, seed: number): Int32Array {
  let s = seed >>> 0;
  const out = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    out[i] = 2 + (s % (vocab - 2));
  }
  return out;
}

/** Largest |a - b| and the largest |b| (for relative reading). */
export function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): { diff: number; scale: number } {
  if (a.length !== b.length) throw new Error(`length mismatch ${a.length} vs ${b.length}`);
  let diff = 0;
  let scale = 0;
  for (let i = 0; i < a.length; i++) {
    diff = Math.max(diff, Math.abs((a[i] as number) - (b[i] as number)));
    scale = Math.max(scale, Math.abs(b[i] as number));
  }
  return { diff, scale };
}
