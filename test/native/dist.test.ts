// c10d process groups across real processes (Gloo over 127.0.0.1, ports chosen free at run
// time): each test spawns test/native/dist_worker.ts once per rank with torchrun's variables and
// checks what every rank reports. Every child has a deadline and is killed in afterAll.
import * as net from 'node:net';
import * as path from 'node:path';
import { initFromEnv, ProcessGroup } from '../../lib/ddp';
import { freePort } from '../../lib/ddp/launcher';
import { distAddon } from '../../lib/native/dist';
import { killRankProcesses, type RankRun, runRankJob, runRankProcess } from './helpers/rank_process';

jest.setTimeout(60_000);

afterAll(killRankProcesses);

type Ran = RankRun;

function runRank(scenario: string, env: NodeJS.ProcessEnv, deadlineMs = 30_000): Promise<Ran> {
  return runRankProcess(path.join(__dirname, 'dist_worker.ts'), [scenario], env, deadlineMs);
}

function runJob(scenario: string, worldSize = 2, extra: NodeJS.ProcessEnv[] = []): Promise<Ran[]> {
  return runRankJob(path.join(__dirname, 'dist_worker.ts'), [scenario], worldSize, {
    deadlineMs: 30_000,
    timeoutS: 20,
    extra,
  });
}

describe('two processes', () => {
  let ranks: Ran[];
  beforeAll(async () => {
    ranks = await runJob('collectives');
  });

  test('both ranks finish cleanly', () => {
    for (const r of ranks) {
      expect(r.stderr).toBe('');
      expect(r.code).toBe(0);
      expect(r.json.init.ok).toBe(true);
    }
  });

  test('all-reduce sum, avg, max, min over lists of tensors of several dtypes', () => {
    for (const { json } of ranks) {
      expect(json.sum).toEqual([
        [3, 5, 7],
        [1.5, 10],
        [1, 201],
      ]);
      // float32+float64+int64 in one call: one bucket per dtype.
      expect(json.sumTraffic).toEqual({ buckets: 3, bytes: 12 + 16 + 16 });
      expect(json.avg[0]).toEqual([0.5, -0.5, 1]);
      expect(json.avg[1]).toEqual([2.25, -2]); // bfloat16 travels as float32
      expect(json.perTensorTraffic.buckets).toBe(2);
      expect(json.max).toEqual([1, 5, 7]);
      expect(json.min).toEqual([0, 4, 7]);
    }
  });

  test('broadcast from a non-zero root writes into a non-contiguous view', () => {
    for (const { json } of ranks) expect(json.broadcast).toEqual([1, 2, 3, 4]);
  });

  test('all-gather of objects of different sizes, in rank order', () => {
    for (const { json } of ranks) {
      expect(json.gathered).toEqual([
        { rank: 0, pad: '' },
        { rank: 1, pad: 'x'.repeat(37) },
      ]);
    }
  });

  test('gradient all-reduce equals the average of both ranks’ local gradients, bit for bit', () => {
    const [a, b] = ranks.map((r) => r.json) as [
      { localGrads: number[][]; reducedGrads: number[][]; gradTraffic: { buckets: number } },
      { localGrads: number[][]; reducedGrads: number[][] },
    ];
    expect(a.gradTraffic.buckets).toBeGreaterThanOrEqual(4); // 256-byte buckets
    // The two ranks saw different data.
    expect(a.localGrads[0]).not.toEqual(b.localGrads[0]);
    const want = a.localGrads.map((g, i) =>
      g.map((v, j) => Math.fround(Math.fround(v + b.localGrads[i]![j]!) / 2)),
    );
    expect(a.reducedGrads).toEqual(want);
    expect(b.reducedGrads).toEqual(want);
  });

  test('gradient all-reduce: an unused parameter gets zeros, a frozen one is skipped', () => {
    for (const { json } of ranks) {
      expect(json.unusedGrad).toEqual(new Array(8).fill(0));
      expect(json.frozenGrad).toBeNull();
      expect(json.unusedTraffic).toEqual({ buckets: 1, bytes: 32 });
    }
  });

  test('misuse: concurrent collectives, bad op/root/dtype, destroyed group', () => {
    for (const { json } of ranks) {
      expect(json.busy).toMatchObject({ ok: false, code: 'EXT5_BUSY' });
      expect(json.badOp).toMatchObject({ ok: false, code: 'EXT5_INVALID_ARG' });
      expect(json.badOp.message).toContain("op must be 'sum', 'avg', 'max' or 'min'");
      expect(json.badRoot.message).toContain('root must be a rank in 0..1, got 7');
      expect(json.boolDtype).toMatchObject({ ok: false, code: 'EXT5_DTYPE' });
      expect(json.intAvg.message).toContain("op 'avg' needs floating-point tensors");
      expect(json.stillUsable.ok).toBe(true);
      expect(json.destroyed).toBe(true);
      expect(json.afterDestroy).toMatchObject({ ok: false, code: 'EXT5_DIST_DESTROYED' });
      expect(json.afterDestroy.message).toContain('allReduce on a destroyed process group');
      expect(json.destroyTwice).toBe(false);
    }
  });
});

describe('failures', () => {
  test('tensors of different sizes on two ranks: the same clear error on both, nothing sent, group still usable', async () => {
    // Unchecked, Gloo would abort the process of the rank that receives more bytes than it expects.
    const ranks = await runJob('mismatch');
    for (const { json, code, stderr } of ranks) {
      expect(stderr).toBe('');
      expect(code).toBe(0);
      expect(json.result).toMatchObject({ ok: false, code: 'EXT5_DIST_MISMATCH' });
      expect(json.result.message).toContain(
        'allReduce: the ranks disagree on what to reduce: rank 0 has 10 element(s) in 1 bucket(s), rank 1 has 1000 element(s) in 1 bucket(s)',
      );
      expect(json.status.broken).toBeNull();
      expect(json.after.ok).toBe(true);
      expect(json.shapes).toMatchObject({ ok: false, code: 'EXT5_DIST_MISMATCH' });
      expect(json.shapes.message).toContain('same sizes, but different shapes, dtypes, op or root');
    }
  });

  test('a peer that never joins a collective: EXT5_DIST_TIMEOUT after the deadline, naming op and peers', async () => {
    const [r0] = await runJob('timeout');
    const res = r0!.json.result;
    expect(res).toMatchObject({ ok: false, code: 'EXT5_DIST_TIMEOUT' });
    expect(res.message).toContain('barrier timed out after 700 ms waiting for 1 peer (rank 0 of 2)');
    expect(res.ms).toBeGreaterThanOrEqual(650);
    expect(res.ms).toBeLessThan(1500);
  });

  test('a peer that crashes: the survivor gets EXT5_DIST_PEER_LOST well before its deadline', async () => {
    const [r0, r1] = await runJob('dead-peer');
    expect(r1!.signal).toBe('SIGKILL');
    const res = r0!.json.result;
    expect(res.ok).toBe(false);
    expect(res.code).toBe('EXT5_DIST_PEER_LOST');
    expect(res.message).toContain('allReduce failed on rank 0 of 2: a peer process closed its connection');
    expect(res.ms).toBeLessThan(2500);
  });

  test('rendezvous with nobody at MASTER_PORT times out with the address and the fix', async () => {
    const port = await freePort();
    const r = await runRank('collectives', {
      RANK: '1',
      WORLD_SIZE: '2',
      MASTER_ADDR: '127.0.0.1',
      MASTER_PORT: String(port),
      EXT5_DIST_TIMEOUT: '1.5',
    });
    expect(r.json.init).toMatchObject({ ok: false, code: 'EXT5_DIST_TIMEOUT' });
    expect(r.json.init.message).toContain(
      `rendezvous of 2 ranks at 127.0.0.1:${port} timed out after 1500 ms`,
    );
    expect(r.json.init.message).toContain('same MASTER_ADDR, MASTER_PORT and WORLD_SIZE');
    expect(r.json.init.ms).toBeLessThan(6000);
  });

  test('MASTER_PORT in use on rank 0', async () => {
    const srv = net.createServer();
    await new Promise<void>((res) => srv.listen(0, '0.0.0.0', () => res()));
    const port = (srv.address() as net.AddressInfo).port;
    try {
      const r = await runRank('collectives', {
        RANK: '0',
        WORLD_SIZE: '2',
        MASTER_ADDR: '127.0.0.1',
        MASTER_PORT: String(port),
        EXT5_DIST_TIMEOUT: '3',
      });
      expect(r.json.init).toMatchObject({ ok: false, code: 'EXT5_DIST_PORT_IN_USE' });
      expect(r.json.init.message).toContain(`cannot listen on port ${port} (MASTER_PORT)`);
    } finally {
      srv.close();
    }
  });

  test('ranks that disagree on WORLD_SIZE', async () => {
    const ranks = await runJob('collectives', 2, [
      { EXT5_DIST_TIMEOUT: '2' },
      { WORLD_SIZE: '3', EXT5_DIST_TIMEOUT: '2' },
    ]);
    const r1 = ranks[1]!.json.init;
    expect(r1).toMatchObject({ ok: false, code: 'EXT5_DIST_CONFIG' });
    expect(r1.message).toContain('rank 1 has WORLD_SIZE=3 but rank 0 has WORLD_SIZE=2');
    expect(ranks[0]!.json.init.ok).toBe(false); // rank 0 waits for its missing peer until the deadline
  });
});

describe('in this process', () => {
  test('missing or bad environment names the variable before anything starts', async () => {
    await expect(
      initFromEnv({ env: { WORLD_SIZE: '2', RANK: '0', MASTER_PORT: '1234' } }),
    ).rejects.toMatchObject({
      code: 'EXT5_DIST_ENV',
      message: expect.stringContaining('MASTER_ADDR is not set'),
    });
    await expect(initFromEnv({ env: {} })).resolves.toBeNull();
  });

  test('bad options are refused before any network activity', async () => {
    const bad = { rank: 0, worldSize: 2, masterAddr: '127.0.0.1', masterPort: 1234, timeoutMs: 1000 };
    await expect(ProcessGroup.create({ ...bad, rank: 2 })).rejects.toMatchObject({
      code: 'EXT5_INVALID_ARG',
      message: expect.stringContaining('rank must be in 0..1'),
    });
    await expect(ProcessGroup.create({ ...bad, masterPort: 0 })).rejects.toThrow(
      'masterPort must be in 1..65535',
    );
    await expect(ProcessGroup.create({ ...bad, timeoutMs: -5 })).rejects.toThrow(
      'positive integer number of milliseconds',
    );
    await expect(ProcessGroup.create({ ...bad, backend: 'mpi' as 'gloo' })).rejects.toThrow(
      "backend must be 'gloo' or 'nccl'",
    );
    if (!distAddon().distBackends().nccl) {
      await expect(ProcessGroup.create({ ...bad, backend: 'nccl' })).rejects.toMatchObject({
        code: 'EXT5_DIST_UNAVAILABLE',
      });
    }
    expect(() => distAddon().distStatus(987654)).toThrow('no process group with id 987654');
  });

  test('a world of one works without peers', async () => {
    expect(distAddon().distBackends().gloo).toBe(true);
    const pg = await ProcessGroup.create({
      rank: 0,
      worldSize: 1,
      masterAddr: '127.0.0.1',
      masterPort: await freePort(),
      timeoutMs: 5000,
    });
    const { tensor } = await import('../../lib/tensor/tensor');
    const t = tensor([1, 2], { dtype: 'float32' });
    await pg.allReduce([t], { op: 'avg' });
    await pg.barrier();
    expect(Array.from(t.data() as Float32Array)).toEqual([1, 2]);
    expect(pg.status()).toMatchObject({ rank: 0, worldSize: 1, backend: 'gloo', busy: false, broken: null });
    expect(await pg.destroy()).toBe(true);
  });

  test('waiting happens off the JS thread: timers keep firing during a rendezvous that times out', async () => {
    let ticks = 0;
    const timer = setInterval(() => ticks++, 20);
    const pending = ProcessGroup.create({
      rank: 0,
      worldSize: 2,
      masterAddr: '127.0.0.1',
      masterPort: await freePort(),
      timeoutMs: 800,
    });
    await expect(pending).rejects.toMatchObject({ code: 'EXT5_DIST_TIMEOUT' });
    clearInterval(timer);
    expect(ticks).toBeGreaterThanOrEqual(15);
  });
});
