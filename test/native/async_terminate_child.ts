// Child process of async_terminate.test.ts. Its main thread starts worker_threads
// (async_terminate_worker.ts) that each begin one async native call and end while the call runs:
// terminated from here, or by process.exit() inside the worker. If this process outlives all of
// them it prints {"survived": true, ...} and exits 0. (Node still completes the call during the
// worker's teardown, when no JS can run any more: settling the promise then must not throw.)
import * as path from 'node:path';
import { Worker } from 'node:worker_threads';
import { ASYNC_CALLS } from './helpers/async_calls';
import { tsHookSource } from './helpers/ts_hook';

async function main(): Promise<void> {
  const source = tsHookSource(path.join(__dirname, 'async_terminate_worker.ts'));
  let runs = 0;
  let inFlight = 0;
  for (const how of ['terminate', 'exit'] as const) {
    for (const call of ASYNC_CALLS) {
      const worker = new Worker(source, { eval: true, workerData: { call, how } });
      let done = false;
      const exited = new Promise<void>((resolve) => worker.on('exit', () => resolve()));
      await new Promise<void>((resolve, reject) => {
        worker.on('message', (m) => {
          if (m === 'done') done = true;
          if (m === 'started') resolve();
        });
        worker.on('error', reject);
      });
      if (!done) inFlight++;
      if (how === 'terminate') await worker.terminate();
      await exited;
      runs++;
    }
  }
  process.stdout.write(`${JSON.stringify({ survived: true, runs, inFlight })}\n`);
}

main().catch((e) => {
  process.stderr.write(`${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
  process.exit(1);
});
