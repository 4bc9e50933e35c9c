/**
 * Counts how the native layer answers misuse: runs every case of
 * bench/misuse_cases.ts in its own child process and sorts the outcomes into clean (a coded
 * Ext5Error where one is expected, a computed value where one is expected, a surviving process)
 * and the failures: crash (signal or a non-zero exit without a report), hang (timeout), silent
 * (returned where an error was expected) and uncoded (an error without an EXT5_ code).
 * Run: node -e "<ts hook>" bench/misuse.ts, or `npx ts-node`-free: see test/native/helpers/ts_hook.ts.
 *   node -e "$(node -p "require('./dist/test/native/helpers/ts_hook').tsHookSource()")" bench/misuse.ts [--timeout 60]
 */
import { spawnSync } from 'node:child_process';
import * as path from 'node:path';
import { tsHookSource } from '../test/native/helpers/ts_hook';
import { arg } from './args';
import { CASES } from './misuse_cases';

function main(): void {
  const timeout = Number(arg('timeout', '60')) * 1000;
  const only = arg('only', '');
  const counts: Record<string, number> = { clean: 0, crash: 0, hang: 0, silent: 0, uncoded: 0, wrong: 0 };
  const source = tsHookSource();
  CASES.forEach((c, i) => {
    if (only && !c.name.includes(only)) return;
    const t0 = Date.now();
    const r = spawnSync(
      process.execPath,
      ['-e', source, path.join(__dirname, 'misuse_child.ts'), String(i)],
      {
        cwd: path.join(__dirname, '..'),
        encoding: 'utf8',
        timeout,
        env: { ...process.env, EXT5_NUM_THREADS: '1' },
      },
    );
    const m = /@@(.*)/.exec(r.stdout ?? '');
    let verdict: string;
    let detail = '';
    if (r.error && (r.error as NodeJS.ErrnoException).code === 'ETIMEDOUT') verdict = 'hang';
    else if (r.signal || !m) {
      verdict = 'crash';
      detail = `${r.signal ?? `exit ${r.status}`} ${(r.stderr ?? '').trim().split('\n').slice(-2).join(' | ')}`;
    } else {
      const line = JSON.parse(m[1]!) as { outcome: string; code?: string; message?: string; value?: unknown };
      detail =
        line.outcome === 'returned' ? `returned ${String(line.value)}` : `${line.code}: ${line.message}`;
      if (r.status !== 0) verdict = 'crash';
      else if (c.expect === 'error')
        verdict = line.outcome === 'coded' ? 'clean' : line.outcome === 'uncoded' ? 'uncoded' : 'silent';
      else if (c.expect === 'value')
        verdict = line.outcome === 'returned' ? (line.value === true ? 'clean' : 'wrong') : line.outcome;
      else verdict = line.outcome === 'returned' ? 'clean' : line.outcome;
    }
    counts[verdict] = (counts[verdict] ?? 0) + 1;
    const ms = Date.now() - t0;
    process.stdout.write(
      `${verdict.padEnd(8)} ${c.name.padEnd(44)} ${String(ms).padStart(6)} ms  ${detail}\n`,
    );
  });
  process.stdout.write(`${JSON.stringify(counts)}\n`);
}

main();
