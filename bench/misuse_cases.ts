/**
 * The misuse cases of bench/misuse.ts, one function each. A case either expects a
 * coded error ('error'), expects the call to compute and return ('value'), or only expects the
 * process to live on ('survive'). Each runs alone in a child process (bench/misuse_child.ts), so
 * a crash or hang is counted, not suffered.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { ASYNC_CALLS } from '../test/native/helpers/async_calls';

export type Expect = 'error' | 'value' | 'survive';

export interface MisuseCase {
  name: string;
  expect: Expect;
  /** Returns a value to check (for 'value': true means the computed value is right). */
  run: () => unknown | Promise<unknown>;
}

// biome-ignore lint/suspicious/noExplicitAny: misuse passes wrong types on purpose.
type Any = any;

const tensorMod = () => require('../lib/tensor/tensor') as typeof import('../lib/tensor/tensor');
const t5Mod = () => require('../lib/model/t5') as typeof import('../lib/model/t5');
const optimMod = () => require('../lib/optim/adafactor') as typeof import('../lib/optim/adafactor');
const ckptMod = () => require('../lib/model/hf_checkpoint') as typeof import('../lib/model/hf_checkpoint');
const raw = (): Any => (require('../lib/native/torch') as typeof import('../lib/native/torch')).torch();

const TINY = { vocab_size: 64, d_model: 16, d_kv: 4, d_ff: 32, num_layers: 1, num_heads: 2 };
const tiny = () => t5Mod().T5ForConditionalGeneration.fromConfig(TINY, { seed: 1 });

/** Temporary directories the cases made; misuse_child.ts removes them before it exits. */
export const TEMP_DIRS: string[] = [];

function tempDir(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ext5-misuse-'));
  TEMP_DIRS.push(dir);
  return dir;
}

/** A saved tiny checkpoint in a fresh temporary directory, config edited by `edit`. */
async function savedCheckpoint(edit?: (cfg: Record<string, unknown>) => void): Promise<string> {
  const dir = tempDir();
  const ck = path.join(dir, 'ck');
  await tiny().savePretrained(ck);
  if (edit) {
    const file = path.join(ck, 'config.json');
    const cfg = JSON.parse(fs.readFileSync(file, 'utf8'));
    edit(cfg);
    fs.writeFileSync(file, JSON.stringify(cfg));
  }
  return ck;
}

/** Starts `call` in a worker thread and ends the worker while it runs. */
async function endWorkerMidCall(call: string, how: 'terminate' | 'exit'): Promise<unknown> {
  const { Worker } = require('node:worker_threads') as typeof import('node:worker_threads');
  const { tsHookSource } =
    require('../test/native/helpers/ts_hook') as typeof import('../test/native/helpers/ts_hook');
  const src = tsHookSource(path.join(__dirname, '..', 'test', 'native', 'async_terminate_worker.ts'));
  const w = new Worker(src, { eval: true, workerData: { call, how } });
  await new Promise<void>((resolve, reject) => {
    w.on('message', (m) => m === 'started' && resolve());
    w.on('error', reject);
    w.on('exit', () => resolve());
  });
  if (how === 'terminate') await w.terminate();
  else await new Promise((r) => w.on('exit', r));
  return true;
}

export const CASES: MisuseCase[] = [
  // ---- silent changes of values ----
  { name: 'int32 from 3e9', expect: 'error', run: () => tensorMod().tensor([3e9], { dtype: 'int32' }) },
  { name: 'int64 from 1e20', expect: 'error', run: () => tensorMod().tensor([1e20], { dtype: 'int64' }) },
  {
    name: 'int64 from NaN',
    expect: 'error',
    run: () => tensorMod().tensor([Number.NaN], { dtype: 'int64' }),
  },
  {
    name: 'int32 from Infinity',
    expect: 'error',
    run: () => tensorMod().tensor([Infinity], { dtype: 'int32' }),
  },
  { name: 'int32 from 1.5', expect: 'error', run: () => tensorMod().tensor([1.5], { dtype: 'int32' }) },
  {
    name: 'int32 from Float64Array 3e9',
    expect: 'error',
    run: () => tensorMod().fromTypedArray(new Float64Array([3e9]), [1], { dtype: 'int32' }),
  },
  {
    name: 'int32 from BigInt64Array 2^40',
    expect: 'error',
    run: () => tensorMod().fromTypedArray(new BigInt64Array([2n ** 40n]), [1], { dtype: 'int32' }),
  },
  {
    name: 'int64 from BigInt 2^70',
    expect: 'error',
    run: () => tensorMod().tensor([2n ** 70n] as Any, { dtype: 'int64' }),
  },
  {
    name: 'forward inputIds 2^32+5',
    expect: 'error',
    run: () => tiny().forward({ inputIds: [[2 ** 32 + 5]], labels: [[1]] }),
  },
  {
    name: 'forward label 2^32-100',
    expect: 'error',
    run: () => tiny().forward({ inputIds: [[3]], labels: [[2 ** 32 - 100]] }),
  },
  { name: 'generate inputIds 2^31', expect: 'error', run: () => tiny().generate([[2 ** 31]]) },
  { name: 'score target 2^32+1', expect: 'error', run: () => tiny().score([[3]], null, [[2 ** 32 + 1]]) },
  { name: 'unsqueeze(NaN)', expect: 'error', run: () => tensorMod().zeros([2]).unsqueeze(Number.NaN) },
  { name: 'unsqueeze(0.5)', expect: 'error', run: () => tensorMod().zeros([2]).unsqueeze(0.5) },
  {
    name: "unsqueeze('1')",
    expect: 'error',
    run: () =>
      tensorMod()
        .zeros([2])
        .unsqueeze('1' as Any),
  },
  {
    name: "gelu('fast')",
    expect: 'error',
    run: () =>
      tensorMod()
        .zeros([2])
        .gelu('fast' as Any),
  },
  {
    name: 'int tensor ** -1',
    expect: 'error',
    run: () => tensorMod().tensor([2, 3]).pow(-1),
  },
  {
    name: 'Adafactor clipThreshold -1',
    expect: 'error',
    run: () => new (optimMod().Adafactor)([tensorMod().zeros([2])], { clipThreshold: -1 }),
  },
  {
    name: 'Adafactor eps1=0, zero gradient',
    expect: 'error',
    run: () => {
      const { zeros, tensor } = tensorMod();
      const p = tensor([1, 2]).to('float32');
      p.requiresGrad = true;
      p.mul(0).sum().backward();
      const opt = new (optimMod().Adafactor)([p], { eps1: 0 });
      opt.step();
      void zeros;
      return p.data();
    },
  },
  {
    name: 'loadStateDict entry of the wrong shape',
    expect: 'error',
    run: () => {
      const { ones, tensor } = tensorMod();
      const p = ones([4]);
      p.requiresGrad = true;
      p.sum().backward();
      const opt = new (optimMod().Adafactor)([p]);
      opt.step();
      const sd = opt.stateDict();
      const entries = sd.entries.map(([k, v]) =>
        k.endsWith('.step') ? ([k, tensor([1])] as [string, Any]) : ([k, v] as [string, Any]),
      );
      opt.loadStateDict(entries, sd.metadata);
    },
  },
  { name: 'forged handle to clone', expect: 'error', run: () => raw().clone(2 ** 24 * 7 + 3) },
  { name: 'forged {_h} object to clone', expect: 'error', run: () => raw().clone({ _h: -1 }) },
  // ---- errors that do not help ----
  {
    name: 'matmul(null)',
    expect: 'error',
    run: () =>
      tensorMod()
        .zeros([2, 2])
        .matmul(null as Any),
  },
  {
    name: 'to(null)',
    expect: 'error',
    run: () =>
      tensorMod()
        .zeros([2])
        .to(null as Any),
  },
  {
    name: 'T5 options null',
    expect: 'error',
    run: () => t5Mod().T5ForConditionalGeneration.fromConfig(TINY, null as Any),
  },
  { name: 'generate options null', expect: 'error', run: () => tiny().generate([[3]], null, null as Any) },
  {
    name: 'Adafactor namedParameters() null',
    expect: 'error',
    run: () => new (optimMod().Adafactor)({ namedParameters: () => null } as Any),
  },
  {
    name: '100000-deep nested array',
    expect: 'error',
    run: () => {
      let a: Any = [1];
      for (let i = 0; i < 100_000; i++) a = [a];
      return tensorMod().tensor(a);
    },
  },
  {
    name: 'SharedArrayBuffer-backed Float32Array',
    expect: 'value',
    run: () => {
      const f = new Float32Array(new SharedArrayBuffer(8));
      f[0] = 1.5;
      f[1] = 2.5;
      const d = tensorMod().tensor(f).data();
      return d[0] === 1.5 && d[1] === 2.5;
    },
  },
  {
    name: 'add(NaN) computes NaN',
    expect: 'value',
    run: () => Number.isNaN(tensorMod().zeros([1]).add(Number.NaN).item()),
  },
  {
    name: 'Adafactor step on a NaN gradient',
    expect: 'value',
    run: () => {
      const { ones } = tensorMod();
      const p = ones([2]);
      p.requiresGrad = true;
      p.mul(Number.NaN).sum().backward();
      new (optimMod().Adafactor)([p]).step();
      return true;
    },
  },
  // ---- crashes and hangs ----
  {
    name: 'fromPretrained on a FIFO model.safetensors',
    expect: 'error',
    run: async () => {
      const ck = await savedCheckpoint();
      const w = path.join(ck, 'model.safetensors');
      fs.rmSync(w);
      require('node:child_process').execFileSync('mkfifo', [w]);
      return ckptMod().fromPretrained(ck);
    },
  },
  {
    name: 'fromPretrained num_decoder_layers 100000',
    expect: 'error',
    run: async () => ckptMod().fromPretrained(await savedCheckpoint((c) => (c.num_decoder_layers = 100000))),
  },
  {
    name: 'fromPretrained num_layers 2^31',
    expect: 'error',
    run: async () => ckptMod().fromPretrained(await savedCheckpoint((c) => (c.num_layers = 2 ** 31))),
  },
  {
    name: 'fromPretrained d_ff 2^30',
    expect: 'error',
    run: async () => ckptMod().fromPretrained(await savedCheckpoint((c) => (c.d_ff = 2 ** 30))),
  },
  {
    name: 'fromPretrained with a NaN weight',
    expect: 'error',
    run: async () => {
      const m = tiny();
      const [, w] = m.namedParameters().find(([n]) => n.endsWith('layer_norm.weight'))!;
      w.requiresGrad = false;
      const { tensor } = tensorMod();
      const nan = tensor([Number.NaN]).to('float32');
      m.loadParameters(
        m.namedParameters().map(([n, t]) => [n, n === 'encoder.final_layer_norm.weight' ? t.mul(nan) : t]),
      );
      const dir = tempDir();
      await m.savePretrained(path.join(dir, 'ck'));
      return ckptMod().fromPretrained(path.join(dir, 'ck'));
    },
  },
  ...ASYNC_CALLS.flatMap((call) =>
    (['terminate', 'exit'] as const).map((how) => ({
      name: `worker ${how} during ${call}`,
      expect: 'survive' as Expect,
      run: () => endWorkerMidCall(call, how),
    })),
  ),
];
