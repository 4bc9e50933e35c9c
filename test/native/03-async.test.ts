// Heavy native calls run off the JS thread: timers keep firing while a big matmul computes.
import { randn } from '../../lib/tensor/tensor';

test('matmulAsync leaves the event loop free', async () => {
  const a = randn([1200, 1200]);
  // Calibrate: how long does one synchronous matmul block the thread?
  const t0 = performance.now();
  a.matmul(a).dispose();
  const syncMs = performance.now() - t0;

  let ticks = 0;
  const timer = setInterval(() => ticks++, 1);
  const start = performance.now();
  const jobs = [];
  for (let i = 0; i < 4; i++) jobs.push(a.matmulAsync(a));
  const results = await Promise.all(jobs);
  const elapsed = performance.now() - start;
  clearInterval(timer);
  for (const r of results) {
    expect(r.shape).toEqual([1200, 1200]);
    r.dispose();
  }
  a.dispose();
  // A blocked thread would fire ~0 ticks during the computation. Expect the timer to have run
  // for a good share of the elapsed time (at least a quarter of the 1 ms ticks it could have).
  expect(elapsed).toBeGreaterThan(syncMs * 0.5);
  expect(ticks).toBeGreaterThan(Math.min(20, elapsed / 4));
});
