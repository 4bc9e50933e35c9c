// The async native calls that a worker thread can be ended in the middle of: one list for
// async_terminate_child.ts, async_terminate_worker.ts and bench/misuse_cases.ts. A module of its own
// because importing async_terminate_worker.ts runs the worker.
export const ASYNC_CALLS = [
  'matmulAsync',
  'forwardAsync',
  'forwardBackwardAsync',
  'generateAsync',
  'scoreAsync',
  'stepAsync',
] as const;

export type AsyncCall = (typeof ASYNC_CALLS)[number];
