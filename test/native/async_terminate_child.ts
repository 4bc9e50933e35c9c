// Child process of async_terminate.test.ts. Its main thread starts worker_threads that each begin
// one async native call and are terminated while the call runs; if this process outlives all of
// them it prints {"survived": true, ...} and exits 0. (Node still completes the call during the
// worker's teardown, when no JS can run any more: settling the promise then must not throw.)
import { isMainThread, parentPort, Worker, workerData } from 'node:worker_threads';
import { tsHookSource } from './helpers/ts_hook';

type Mode = 'matmul' | 'forward';

async function inWorker(mode: Mode): Promise<void> {
  const port = parentPort;
  if (port === null) throw new Error('not in a worker');
  let call: Promise<unknown>;
  if (mode === 'matmul') {
    const { randn } = await import('../../lib/tensor/tensor');
    const a = randn([1600, 1600]);
    call = a.matmulAsync(a);
  } else {
    const { T5ForConditionalGeneration } = await import('../../lib/model/t5');
    const model = T5ForConditionalGeneration.fromConfig({
      vocab_size: 512,
      d_model: 256,
      d_kv: 64,
      d_ff: 1024,
      num_layers: 4,
      num_heads: 4,
    });
    const ids = { data: new Int32Array(8 * 128).fill(5), shape: [8, 128] };
    call = model.forwardBackwardAsync({ inputIds: ids, labels: ids });
  }
  void call.then(() => port.postMessage('done'));
  port.postMessage('started');
}

async function main(): Promise<void> {
  const source = tsHookSource(__filename);
  let runs = 0;
  let inFlight = 0;
  for (const mode of ['matmul', 'forward', 'matmul', 'forward'] as Mode[]) {
    const worker = new Worker(source, { eval: true, workerData: mode });
    let done = false;
    await new Promise<void>((resolve, reject) => {
      worker.on('message', (m) => {
        if (m === 'done') done = true;
        if (m === 'started') resolve();
      });
      worker.on('error', reject);
    });
    if (!done) inFlight++;
    await worker.terminate();
    runs++;
  }
  process.stdout.write(`${JSON.stringify({ survived: true, runs, inFlight })}\n`);
}

if (isMainThread) {
  main().catch((e) => {
    process.stderr.write(`${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
    process.exit(1);
  });
} else {
  void inWorker(workerData as Mode);
}
