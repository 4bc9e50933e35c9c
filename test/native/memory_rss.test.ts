// Memory of tensors that loops create: with tidy() RSS stays flat; tensors forgotten
// in a loop that yields to the event loop are freed by the finalizer safety net (every CPU tensor
// is reported to V8 as external memory, so collection keeps up), and freed memory goes back to the
// system instead of staying at its peak. Measured in a child process, with generous bounds.
import { spawnSync } from 'node:child_process';
import * as path from 'node:path';
import { tsHookSource } from './helpers/ts_hook';

jest.setTimeout(180_000);

test('RSS stays bounded for 20,000 iterations with tidy(), and for forgotten tensors in synchronous and yielding loops', () => {
  const r = spawnSync(
    process.execPath,
    ['--expose-gc', '-e', tsHookSource(), path.join(__dirname, 'memory_rss_child.ts'), '20000'],
    {
      cwd: path.join(__dirname, '..', '..'),
      encoding: 'utf8',
      env: { ...process.env, EXT5_NUM_THREADS: '1' },
    },
  );
  expect(r.stderr).toBe('');
  expect(r.status).toBe(0);
  const m = JSON.parse(r.stdout.trim()) as {
    base: number;
    afterTidy: number;
    peakSync: number;
    peakForgotten: number;
    afterForgotten: number;
  };
  // 60,000 intermediates of 16 KB each would be ~1 GB if none were freed.
  expect(m.afterTidy - m.base).toBeLessThan(100);
  expect(m.peakSync - m.base).toBeLessThan(400);
  expect(m.peakForgotten - m.base).toBeLessThan(400);
  expect(m.afterForgotten - m.base).toBeLessThan(250);
});
