import { shardFor } from '../../../lib/ddp';
import { checkSameWorldSize } from '../../../lib/ddp/data_parallel';
import { readDistEnv } from '../../../lib/ddp/env';
import { describeExit, freePort, workerEnv } from '../../../lib/ddp/launcher';

const base = { RANK: '1', WORLD_SIZE: '2', MASTER_ADDR: '127.0.0.1', MASTER_PORT: '29500' };

function codeOf(fn: () => unknown): { code: string; message: string } {
  try {
    fn();
  } catch (e) {
    const err = e as { code: string; message: string };
    return { code: err.code, message: err.message };
  }
  throw new Error('expected a throw');
}

describe('readDistEnv', () => {
  test('single-process runs need no group', () => {
    expect(readDistEnv({})).toBeNull();
    expect(readDistEnv({ WORLD_SIZE: '1', RANK: '0' })).toBeNull();
  });

  test('reads torchrun variables, defaulting the local ones to one machine', () => {
    expect(readDistEnv(base)).toEqual({
      rank: 1,
      worldSize: 2,
      localRank: 1,
      localWorldSize: 2,
      masterAddr: '127.0.0.1',
      masterPort: 29500,
    });
    const multi = readDistEnv({
      ...base,
      RANK: '5',
      WORLD_SIZE: '8',
      LOCAL_RANK: '1',
      LOCAL_WORLD_SIZE: '4',
    });
    expect(multi).toMatchObject({ rank: 5, worldSize: 8, localRank: 1, localWorldSize: 4 });
    expect(readDistEnv({ ...base, EXT5_DIST_TIMEOUT: '2.5', GLOO_SOCKET_IFNAME: 'eth0' })).toMatchObject({
      timeoutMs: 2500,
      ifname: 'eth0',
    });
  });

  test.each([
    [{ ...base, RANK: undefined }, 'RANK is not set'],
    [{ ...base, MASTER_ADDR: undefined }, 'MASTER_ADDR is not set'],
    [{ ...base, MASTER_ADDR: '  ' }, 'MASTER_ADDR is not set'],
    [{ ...base, MASTER_PORT: undefined }, 'MASTER_PORT is not set'],
    [{ ...base, MASTER_PORT: '70000' }, 'MASTER_PORT=70000 is out of range'],
    [{ ...base, MASTER_PORT: 'http' }, "MASTER_PORT='http' is not a non-negative integer"],
    [{ ...base, RANK: '2' }, 'RANK=2 is out of range: expected 0..1'],
    [{ ...base, RANK: '-1' }, "RANK='-1' is not a non-negative integer"],
    [{ ...base, WORLD_SIZE: '0' }, 'WORLD_SIZE=0 is out of range'],
    [{ ...base, WORLD_SIZE: '4', LOCAL_WORLD_SIZE: '2' }, 'LOCAL_RANK is not set'],
    [{ ...base, LOCAL_RANK: '3' }, 'LOCAL_RANK=3 is out of range'],
    [{ ...base, EXT5_DIST_TIMEOUT: '0' }, "EXT5_DIST_TIMEOUT='0' is not a positive number"],
  ])('bad environment %#: %s', (env, message) => {
    const e = codeOf(() => readDistEnv(env as NodeJS.ProcessEnv));
    expect(e.code).toBe('EXT5_DIST_ENV');
    expect(e.message).toContain(message);
  });
});

describe('shards', () => {
  test('shares are disjoint, cover everything, and differ in size by at most one', () => {
    for (const n of [0, 1, 7, 10, 64]) {
      const items = Array.from({ length: n }, (_, i) => i);
      for (const ws of [1, 2, 3, 8]) {
        const shares = Array.from({ length: ws }, (_, r) => [...shardFor(r, ws).take(items)]);
        expect(shares.flat().sort((a, b) => a - b)).toEqual(items);
        const sizes = shares.map((s) => s.length);
        expect(Math.max(...sizes) - Math.min(...sizes)).toBeLessThanOrEqual(1);
        for (const [r, share] of shares.entries())
          for (const i of share) expect(shardFor(r, ws).owns(i)).toBe(true);
      }
    }
  });

  test('round robin over a stream: every item goes to exactly one rank, in order', async () => {
    const items = Array.from({ length: 11 }, (_, i) => `x${i}`);
    const parts = [0, 1, 2].map((r) => [...shardFor(r, 3).take(items)]);
    expect(parts[1]).toEqual(['x1', 'x4', 'x7', 'x10']);
    expect(parts.flat().sort()).toEqual([...items].sort());
    expect(shardFor(2, 3).owns(5)).toBe(true);
    expect(shardFor(2, 3).owns(6)).toBe(false);
    async function* gen() {
      yield* items;
    }
    const got: string[] = [];
    for await (const x of shardFor(0, 3).takeAsync(gen())) got.push(x);
    expect(got).toEqual(['x0', 'x3', 'x6', 'x9']);
  });

  test('bad ranks are named', () => {
    expect(codeOf(() => shardFor(2, 2)).message).toContain('rank must be an integer in 0..1, got 2');
    expect(codeOf(() => shardFor(0, 0)).message).toContain('worldSize must be a positive integer');
    expect(codeOf(() => shardFor(-1, 1)).message).toContain('rank must be an integer in 0..0, got -1');
  });
});

describe('resume checks', () => {
  test('same world size passes; a different one names both sizes and the fix', () => {
    expect(() => checkSameWorldSize(2, 2)).not.toThrow();
    expect(() => checkSameWorldSize(undefined, 1)).not.toThrow();
    const e = codeOf(() => checkSameWorldSize(4, 2)) as { code: string; message: string; hint?: string };
    expect(e.code).toBe('EXT5_DIST_WORLD_SIZE');
    expect(e.message).toContain('saved by a run with 4 processes');
    expect(e.message).toContain('this run has 2');
  });
});

describe('launcher pieces', () => {
  test('worker environment follows torchrun: global rank from node rank and local rank', () => {
    const env = workerEnv(
      { nproc: 4, nnodes: 2, nodeRank: 1, masterAddr: '10.0.0.1', masterPort: 29500, timeoutS: 30 },
      2,
      {},
    );
    expect(env).toMatchObject({
      RANK: '6',
      LOCAL_RANK: '2',
      WORLD_SIZE: '8',
      LOCAL_WORLD_SIZE: '4',
      GROUP_RANK: '1',
      MASTER_ADDR: '10.0.0.1',
      MASTER_PORT: '29500',
      EXT5_DIST_TIMEOUT: '30',
    });
    expect(Number(env.EXT5_NUM_THREADS)).toBeGreaterThanOrEqual(1);
    // A user's own thread setting wins.
    const mine = workerEnv({ nproc: 2, nnodes: 1, nodeRank: 0, masterAddr: 'a', masterPort: 1 }, 0, {
      EXT5_NUM_THREADS: '7',
    });
    expect(mine.EXT5_NUM_THREADS).toBe('7');
    expect(readDistEnv(env)).toMatchObject({ rank: 6, worldSize: 8, localRank: 2, localWorldSize: 4 });
  });

  test('exit descriptions and free ports', async () => {
    expect(describeExit({ code: 3, signal: null })).toBe('exited with code 3');
    expect(describeExit({ code: null, signal: 'SIGKILL' })).toBe('was killed by SIGKILL');
    const p = await freePort();
    expect(p).toBeGreaterThan(0);
    expect(p).toBeLessThan(65536);
  });
});
