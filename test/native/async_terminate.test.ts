// Terminating a worker_thread while one of its async native calls runs must not take the process
// down: the call completes during the worker's teardown, when its promise can no longer be
// settled, and the addon must swallow that instead of throwing out of the completion callback
// (which aborted the process with "terminate called after throwing an instance of
// 'Napi::Error'"). Runs in a child process so an abort fails this test instead of killing jest.
import { spawn } from 'node:child_process';
import * as path from 'node:path';
import { tsHookSource } from './helpers/ts_hook';

jest.setTimeout(300_000);

test('a worker_thread terminated or exiting mid-call (every async call) leaves the process alive', async () => {
  const child = spawn(
    process.execPath,
    ['-e', tsHookSource(), path.join(__dirname, 'async_terminate_child.ts')],
    {
      cwd: path.join(__dirname, '..', '..'),
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d) => {
    stdout += String(d);
  });
  child.stderr.on('data', (d) => {
    stderr += String(d);
  });
  const [code, signal] = await new Promise<[number | null, NodeJS.Signals | null]>((resolve) =>
    child.on('exit', (c, s) => resolve([c, s])),
  );
  expect(stderr).not.toMatch(/terminate called/);
  expect({ code, signal }).toEqual({ code: 0, signal: null });
  const report = JSON.parse(stdout.trim()) as { survived: boolean; runs: number; inFlight: number };
  expect(report.survived).toBe(true);
  // matmulAsync, forwardAsync, forwardBackwardAsync, generateAsync, scoreAsync, stepAsync, each
  // ended by worker.terminate() and by process.exit() inside the worker.
  expect(report.runs).toBe(12);
  // The calls must really have been running when their workers ended.
  expect(report.inFlight).toBeGreaterThanOrEqual(6);
});
