// Worker-thread side of async_terminate_child.ts (and bench/misuse.ts): starts one async native
// call named by workerData.call, posts 'started', then either waits to be terminated
// (how: 'terminate') or calls process.exit() while the call runs (how: 'exit'; inside a worker
// this ends the worker's environment only).
import { parentPort, workerData } from 'node:worker_threads';

import type { AsyncCall } from './helpers/async_calls';

const CONFIG = { vocab_size: 512, d_model: 256, d_kv: 64, d_ff: 1024, num_layers: 4, num_heads: 4 };

// The call's promise comes back boxed: an async function would otherwise await it.
async function start(call: AsyncCall): Promise<{ p: Promise<unknown> }> {
  const { randn } = await import('../../lib/tensor/tensor');
  if (call === 'matmulAsync') {
    const a = randn([1600, 1600]);
    return { p: a.matmulAsync(a) };
  }
  if (call === 'stepAsync') {
    const { Adafactor } = await import('../../lib/optim/adafactor');
    const p = randn([2048, 2048]);
    p.requiresGrad = true;
    p.sum().backward();
    return { p: new Adafactor([p]).stepAsync() };
  }
  const { T5ForConditionalGeneration } = await import('../../lib/model/t5');
  const model = T5ForConditionalGeneration.fromConfig(CONFIG);
  const ids = { data: new Int32Array(8 * 128).fill(5), shape: [8, 128] };
  switch (call) {
    case 'forwardAsync':
      return { p: model.forwardAsync({ inputIds: ids, labels: ids }) };
    case 'forwardBackwardAsync':
      return { p: model.forwardBackwardAsync({ inputIds: ids, labels: ids }) };
    case 'generateAsync':
      return { p: model.generateAsync(ids, null, { maxNewTokens: 64, numBeams: 4 }) };
    default:
      return { p: model.scoreAsync(ids, null, ids) };
  }
}

async function main(): Promise<void> {
  const port = parentPort;
  if (port === null) throw new Error('not in a worker');
  const { call, how } = workerData as { call: AsyncCall; how: 'terminate' | 'exit' };
  const { p: pending } = await start(call);
  void pending.then(
    () => port.postMessage('done'),
    () => port.postMessage('done'),
  );
  port.postMessage('started');
  if (how === 'exit') setImmediate(() => process.exit(0));
}

void main();
