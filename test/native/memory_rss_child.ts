// Child process of memory_rss.test.ts (run with --expose-gc): measures RSS around loops that
// create 60,000 intermediate tensors, and prints one JSON line of figures in MB.
import { randn, tidy } from '../../lib/tensor/tensor';

const MB = 1024 * 1024;
const rss = () => process.memoryUsage.rss() / MB;
const gc = (globalThis as { gc?: () => void }).gc;

async function settle(): Promise<void> {
  // Collect, then let FinalizationRegistry callbacks run (they need turns of the event loop).
  for (let i = 0; i < 5; i++) {
    gc?.();
    await new Promise((r) => setTimeout(r, 20));
  }
}

async function main(): Promise<void> {
  const iters = Number(process.argv[2] ?? '20000');
  const a = randn([64, 64]);
  // Warm up allocator and thread pools so the base figure includes them.
  for (let i = 0; i < 200; i++)
    tidy(() => {
      a.matmul(a).softmax(-1).add(1); // returns nothing: tidy() keeps what it returns
    });
  await settle();
  const base = rss();

  for (let i = 0; i < iters; i++)
    tidy(() => {
      a.matmul(a).softmax(-1).add(1); // returns nothing: tidy() keeps what it returns
    });
  const afterTidy = rss();
  await settle();

  // Never disposed, in a synchronous loop: finalizers cannot run, the native sweep of collected
  // Tensors must keep up.
  let peakSync = 0;
  for (let i = 0; i < iters; i++) {
    a.matmul(a).softmax(-1).add(1);
    if (i % 500 === 499) peakSync = Math.max(peakSync, rss());
  }
  await settle();

  // Never disposed, but the loop yields to the event loop now and then: finalizers free them.
  let peakForgotten = 0;
  for (let i = 0; i < iters; i++) {
    a.matmul(a).softmax(-1).add(1);
    if (i % 500 === 499) {
      await new Promise((r) => setImmediate(r));
      peakForgotten = Math.max(peakForgotten, rss());
    }
  }
  await settle();
  const afterForgotten = rss();
  process.stdout.write(`${JSON.stringify({ base, afterTidy, peakSync, peakForgotten, afterForgotten })}\n`);
}

void main();
