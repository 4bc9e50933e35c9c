// The sharded model's native API (native/torch/t5_shard.cc) in one process, with a 1-rank Gloo
// group: bad arguments are refused with coded errors and change nothing; with gradients reduced
// inside each checkpointed block's backward (the path of training.sharding gradients/full), the
// gradients that reach `.grad` after finishShardedGrads equal those of an unsharded twin, over
// two micro-batches; a sharded model refuses to move or to load values. Several processes: test/e2e/sharding.test.ts.
import { freePort } from '../../lib/ddp/launcher';
import { ProcessGroup } from '../../lib/ddp/process_group';
import { T5ForConditionalGeneration } from '../../lib/model/t5';
import { preset } from '../../lib/model/t5_presets';
import { manualSeed } from '../../lib/tensor/tensor';

jest.setTimeout(120_000);

const CONFIG = { ...preset('t5-v1_1-tiny'), dropout_rate: 0.2, num_layers: 2, num_decoder_layers: 2 };
const BATCH = {
  inputIds: [
    [10, 11, 12, 13, 1],
    [14, 15, 1, 0, 0],
  ],
  attentionMask: [
    [1, 1, 1, 1, 1],
    [1, 1, 1, 0, 0],
  ],
  labels: [
    [30, 31, 1],
    [32, 1, -100],
  ],
};

let pg: ProcessGroup;
beforeAll(async () => {
  pg = await ProcessGroup.create({
    rank: 0,
    worldSize: 1,
    masterAddr: '127.0.0.1',
    masterPort: await freePort(),
    timeoutMs: 20_000,
  });
});
afterAll(async () => {
  await pg.destroy();
});

function model(): T5ForConditionalGeneration {
  const m = T5ForConditionalGeneration.fromConfig(CONFIG, { seed: 3 });
  m.train();
  m.gradientCheckpointing = true;
  return m;
}

function grads(m: T5ForConditionalGeneration): Map<string, Float32Array | null> {
  const out = new Map<string, Float32Array | null>();
  for (const [n, t] of m.namedParameters()) {
    const g = t.grad;
    out.set(n, g ? (g.data() as Float32Array).slice() : null);
    g?.dispose();
    t.dispose();
  }
  return out;
}

test('bad arguments are refused with a coded error, and the model stays unsharded', async () => {
  const m = model();
  try {
    const n = m.namedParameters().length;
    const names = m.namedParameters().map(([name]) => name);
    const zeros = new Array<number>(n).fill(0);
    const no = new Array<boolean>(n).fill(false);
    expect(() => m.setSharding(pg, zeros.slice(1), no, true)).toThrow(
      expect.objectContaining({ code: 'EXT5_INVALID_ARG', message: expect.stringContaining('one owner') }),
    );
    expect(() => m.setSharding(pg, [1, ...zeros.slice(1)], no, true)).toThrow(
      expect.objectContaining({ code: 'EXT5_INVALID_ARG', message: expect.stringContaining('not a rank') }),
    );
    const freeShared = no.map((_, i) => names[i] === 'shared.weight');
    expect(() => m.setSharding(pg, zeros, freeShared, true)).toThrow(
      /shared\.weight is used outside the blocks/,
    );
    m.gradientCheckpointing = false;
    expect(() => m.setSharding(pg, zeros, no, true)).toThrow(/needs gradientCheckpointing/);
    await expect(m.reduceShardedGradsAsync()).rejects.toMatchObject({ code: 'EXT5_SHARDING' });
    expect(() => m.finishShardedGrads()).toThrow(expect.objectContaining({ code: 'EXT5_SHARDING' }));
    m.to('cpu'); // still unsharded: moving works
  } finally {
    m.dispose();
  }
});

test('gradients reduced inside the checkpointed blocks equal an unsharded twin’s over two micro-batches', async () => {
  const plain = model();
  const sharded = model();
  try {
    const n = sharded.namedParameters().length;
    sharded.setSharding(pg, new Array<number>(n).fill(0), new Array<boolean>(n).fill(false), true);
    expect(() => sharded.to('cpu')).toThrow(expect.objectContaining({ code: 'EXT5_SHARDING' }));
    const [first] = plain.namedParameters();
    expect(() => sharded.loadParameters([first!], false)).toThrow(
      expect.objectContaining({
        code: 'EXT5_SHARDING',
        message: expect.stringContaining('load before setSharding'),
      }),
    );
    first![1].dispose();
    for (const [m, reduce] of [
      [plain, false],
      [sharded, true],
    ] as const) {
      manualSeed(11); // the same dropout masks on both sides
      for (let micro = 0; micro < 2; micro++) {
        await m.forwardBackwardAsync({ ...BATCH, gradScale: 0.5 });
        if (reduce) await m.reduceShardedGradsAsync();
      }
    }
    // Before finishing, the reduced sums are held aside: no parameter has a `.grad`.
    expect([...grads(sharded).values()].every((g) => g === null)).toBe(true);
    sharded.finishShardedGrads();
    const a = grads(plain);
    const b = grads(sharded);
    expect([...b.keys()]).toEqual([...a.keys()]);
    let worst = 0;
    for (const [name, ga] of a) {
      const gb = b.get(name)!;
      expect({ name, has: gb !== null }).toEqual({ name, has: ga !== null });
      if (!ga || !gb) continue;
      for (let i = 0; i < ga.length; i++)
        worst = Math.max(worst, Math.abs(ga[i]! - gb[i]!) / (1e-6 + Math.abs(ga[i]!)));
    }
    expect(worst).toBeLessThan(1e-5);
    // A second finish has nothing to put: every `.grad` is dropped.
    sharded.finishShardedGrads();
    expect([...grads(sharded).values()].every((g) => g === null)).toBe(true);
    sharded.setSharding(null);
    sharded.to('cpu');
  } finally {
    plain.dispose();
    sharded.dispose();
  }
});
