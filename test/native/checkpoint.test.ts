// Hugging Face checkpoint directories (lib/model/hf_checkpoint.ts) with real tiny T5 models:
// round trips, sharding, tied-weight aliases, optimizer state, and every kind of bad checkpoint.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { SafetensorsReader, writeSafetensors } from '../../lib/io/safetensors';
import {
  CheckpointWeights,
  fromPretrained,
  loadOptimizerState,
  savePretrained,
} from '../../lib/model/hf_checkpoint';
import { T5ForConditionalGeneration } from '../../lib/model/t5';
import { Adafactor } from '../../lib/optim/adafactor';
import { held } from './helpers/held';

let root: string;
beforeAll(() => {
  root = fs.mkdtempSync(path.join(os.tmpdir(), 'ext5-ckpt-'));
});
afterAll(() => fs.rmSync(root, { recursive: true, force: true }));
let n = 0;
const fresh = () => path.join(root, `c${n++}`);

function paramsOf(model: T5ForConditionalGeneration): Map<string, Float32Array> {
  const out = new Map<string, Float32Array>();
  for (const [name, t] of model.namedParameters()) {
    out.set(name, t.data() as Float32Array);
    t.dispose();
  }
  return out;
}

function expectSameParams(a: T5ForConditionalGeneration, b: T5ForConditionalGeneration): void {
  const pa = paramsOf(a);
  const pb = paramsOf(b);
  expect([...pb.keys()]).toEqual([...pa.keys()]);
  for (const [k, v] of pa) expect(Buffer.from(pb.get(k)!.buffer).equals(Buffer.from(v.buffer))).toBe(true);
}

async function errorOf(fn: () => unknown): Promise<{ code: string; message: string; hint?: string }> {
  try {
    await fn();
  } catch (e) {
    return e as { code: string; message: string };
  }
  throw new Error('expected an error');
}

/** Copies a saved checkpoint and lets the test rewrite its tensors or config. */
function rewrite(
  src: string,
  edit: {
    config?: (c: Record<string, unknown>) => void;
    tensors?: (t: Map<string, { dtype: 'F32'; shape: number[]; data: Uint8Array }>) => void;
  },
): string {
  const dst = fresh();
  fs.mkdirSync(dst);
  const config = JSON.parse(fs.readFileSync(path.join(src, 'config.json'), 'utf8'));
  edit.config?.(config);
  fs.writeFileSync(path.join(dst, 'config.json'), JSON.stringify(config));
  using r = SafetensorsReader.open(path.join(src, 'model.safetensors'));
  const tensors = new Map(
    r.names().map((k) => [k, { dtype: 'F32' as const, shape: r.info(k).shape, data: r.read(k) }] as const),
  );
  edit.tensors?.(tensors);
  writeSafetensors(
    path.join(dst, 'model.safetensors'),
    [...tensors].map(([name, t]) => ({ name, ...t })),
    { format: 'pt' },
  );
  return dst;
}

describe('savePretrained / fromPretrained', () => {
  let untied: T5ForConditionalGeneration;
  let tied: T5ForConditionalGeneration;
  let untiedDir: string;
  let tiedDir: string;
  beforeAll(async () => {
    untied = T5ForConditionalGeneration.fromConfig('t5-v1_1-tiny', { seed: 3 });
    tied = T5ForConditionalGeneration.fromConfig('t5-tiny', { seed: 4 });
    untiedDir = fresh();
    tiedDir = fresh();
    await savePretrained(untied, untiedDir);
    await savePretrained(tied, tiedDir);
  });
  afterAll(() => {
    untied.dispose();
    tied.dispose();
  });

  test('writes a Hugging Face layout: config.json with the class markers, one safetensors file', () => {
    expect(fs.readdirSync(untiedDir).sort()).toEqual(['config.json', 'model.safetensors']);
    const config = JSON.parse(fs.readFileSync(path.join(untiedDir, 'config.json'), 'utf8'));
    expect(config).toMatchObject({
      architectures: ['T5ForConditionalGeneration'],
      model_type: 't5',
      d_model: 32,
      feed_forward_proj: 'gated-gelu',
      tie_word_embeddings: false,
      torch_dtype: 'float32',
    });
    using r = SafetensorsReader.open(path.join(untiedDir, 'model.safetensors'));
    expect(r.metadata).toEqual({ format: 'pt' });
    expect(r.info('shared.weight')).toMatchObject({ dtype: 'F32', shape: [128, 32] });
    expect(r.info('lm_head.weight')).toMatchObject({ dtype: 'F32', shape: [128, 32] });
    expect(r.has('encoder.block.0.layer.1.DenseReluDense.wi_0.weight')).toBe(true);
    expect(r.has('encoder.embed_tokens.weight')).toBe(false);
  });

  test('round-trips T5.1.1 (untied) and T5 (tied, no lm_head.weight stored) exactly', () => {
    const a = fromPretrained(untiedDir);
    expectSameParams(untied, a);
    expect(a.config).toMatchObject({ feed_forward_proj: 'gated-gelu', tie_word_embeddings: false });
    a.dispose();
    using r = SafetensorsReader.open(path.join(tiedDir, 'model.safetensors'));
    expect(r.has('lm_head.weight')).toBe(false);
    const b = fromPretrained(tiedDir);
    expectSameParams(tied, b);
    b.dispose();
  });

  test('saving and loading leave no tensors behind', async () => {
    const dir = fresh();
    await savePretrained(untied, dir);
    fromPretrained(dir).dispose();
    const before = held();
    for (let i = 0; i < 5; i++) {
      await savePretrained(untied, dir, { dtype: 'bfloat16' });
      fromPretrained(dir).dispose();
    }
    expect(held()).toEqual(before);
  });

  test('shards above maxShardSize with a transformers-style index, and loads them back', async () => {
    const dir = fresh();
    await savePretrained(untied, dir, { maxShardSize: '40KB' });
    const files = fs.readdirSync(dir).sort();
    const shards = files.filter((f) => /^model-\d{5}-of-\d{5}\.safetensors$/.test(f));
    expect(shards.length).toBeGreaterThan(2);
    expect(files).toContain('model.safetensors.index.json');
    expect(files).not.toContain('model.safetensors');
    const index = JSON.parse(fs.readFileSync(path.join(dir, 'model.safetensors.index.json'), 'utf8'));
    const names = [...paramsOf(untied).keys()];
    expect(Object.keys(index.weight_map).sort()).toEqual([...names].sort());
    expect(index.metadata.total_size).toBe(names.length > 0 ? sizeOf(untied) : 0);
    for (const s of shards) expect(fs.statSync(path.join(dir, s)).size).toBeLessThan(40_000 + 65_536);
    const back = fromPretrained(dir);
    expectSameParams(untied, back);
    back.dispose();
  });

  test('stores bfloat16 when asked and loads it into float32 parameters', async () => {
    const dir = fresh();
    await savePretrained(untied, dir, { dtype: 'bfloat16' });
    using r = SafetensorsReader.open(path.join(dir, 'model.safetensors'));
    expect(r.info('shared.weight').dtype).toBe('BF16');
    expect(JSON.parse(fs.readFileSync(path.join(dir, 'config.json'), 'utf8')).torch_dtype).toBe('bfloat16');
    const back = fromPretrained(dir);
    const a = paramsOf(untied).get('shared.weight')!;
    const b = paramsOf(back).get('shared.weight')!;
    for (let i = 0; i < a.length; i++)
      expect(Math.abs(a[i]! - b[i]!)).toBeLessThanOrEqual(Math.abs(a[i]!) / 128 + 1e-30);
    back.dispose();
  });

  test('accepts the tied aliases Hugging Face files carry, when they equal shared.weight', () => {
    const dir = rewrite(tiedDir, {
      tensors: (t) => {
        const shared = t.get('shared.weight')!;
        t.set('encoder.embed_tokens.weight', shared);
        t.set('decoder.embed_tokens.weight', shared);
        t.set('lm_head.weight', shared);
      },
    });
    const m = fromPretrained(dir);
    expectSameParams(tied, m);
    m.dispose();
    // shared.weight itself may be absent when an alias holds it.
    const onlyAlias = rewrite(tiedDir, {
      tensors: (t) => {
        t.set('encoder.embed_tokens.weight', t.get('shared.weight')!);
        t.delete('shared.weight');
      },
    });
    const m2 = fromPretrained(onlyAlias);
    expectSameParams(tied, m2);
    m2.dispose();
  });

  test('a legacy class name and extra keys in a loaded config are saved the transformers way', async () => {
    const src = rewrite(tiedDir, {
      config: (c) => {
        c.architectures = ['T5WithLMHeadModel'];
        c.n_positions = 512;
      },
    });
    const m = fromPretrained(src);
    const dir = fresh();
    await savePretrained(m, dir);
    const config = JSON.parse(fs.readFileSync(path.join(dir, 'config.json'), 'utf8'));
    expect(config.architectures).toEqual(['T5ForConditionalGeneration']);
    expect(config.n_positions).toBe(512);
    m.dispose();
  });

  test('keeps optimizer state in the same atomic write', async () => {
    const model = T5ForConditionalGeneration.fromConfig('t5-v1_1-tiny', { seed: 9 });
    const opt = new Adafactor(model.namedParameters());
    model.forwardBackward({ inputIds: [[5, 6, 7, 1]], labels: [[8, 9, 1]] });
    opt.step();
    opt.zeroGrad();
    const dir = fresh();
    await savePretrained(model, dir, {
      optimizer: opt,
      extra: (tmp) => fs.writeFileSync(path.join(tmp, 'trainer_state.json'), '{}'),
    });
    expect(fs.readdirSync(dir).sort()).toEqual([
      'config.json',
      'model.safetensors',
      'optimizer.safetensors',
      'trainer_state.json',
    ]);
    const model2 = fromPretrained(dir);
    const opt2 = new Adafactor(model2.namedParameters());
    loadOptimizerState(dir, opt2);
    expect(opt2.stepCount).toBe(1);
    // The same next step on both gives the same parameters.
    model.forwardBackward({ inputIds: [[5, 6, 7, 1]], labels: [[8, 9, 1]] });
    model2.forwardBackward({ inputIds: [[5, 6, 7, 1]], labels: [[8, 9, 1]] });
    opt.step();
    opt2.step();
    expectSameParams(model, model2);
    // A state saved for another model is refused.
    const other = T5ForConditionalGeneration.fromConfig('t5-tiny', { seed: 1 });
    const optOther = new Adafactor(other.namedParameters());
    const err = await errorOf(() => loadOptimizerState(dir, optOther));
    expect(err.code).toBe('EXT5_OPTIMIZER_STATE');
    const noOpt = await errorOf(() => loadOptimizerState(untiedDir, optOther));
    expect(noOpt.message).toMatch(/no optimizer.safetensors/);
    for (const m of [model, model2, other]) m.dispose();
  });

  describe('bad checkpoints get clear errors', () => {
    test('missing directory, missing config.json, no weights, pickle only', async () => {
      expect((await errorOf(() => fromPretrained(path.join(root, 'nope')))).code).toBe('EXT5_NOT_FOUND');
      const noConfig = fresh();
      fs.mkdirSync(noConfig);
      expect((await errorOf(() => fromPretrained(noConfig))).message).toMatch(/no config.json/);
      const noWeights = rewrite(tiedDir, {});
      fs.rmSync(path.join(noWeights, 'model.safetensors'));
      fs.writeFileSync(path.join(noWeights, 'pytorch_model.bin'), 'x');
      const err = await errorOf(() => fromPretrained(noWeights));
      expect(err.message).toMatch(/no model.safetensors .*found pytorch_model.bin/);
      expect(err.hint).toMatch(/safetensors only \(never pickle\)/);
    });

    test.each<[string, (c: Record<string, unknown>) => void, RegExp, string]>([
      ['a missing required key', (c) => delete c.d_model, /missing required key 'd_model'/, 'EXT5_CONFIG'],
      [
        'another architecture',
        (c) => (c.model_type = 'bert'),
        /"model_type" is "bert"; ext5 loads T5/,
        'EXT5_CHECKPOINT',
      ],
      [
        'a non-T5 class',
        (c) => (c.architectures = ['BartForConditionalGeneration']),
        /"architectures" lists "BartForConditionalGeneration"/,
        'EXT5_CHECKPOINT',
      ],
      [
        'no model_type nor T5 class',
        (c) => {
          delete c.model_type;
          c.architectures = [];
        },
        /no "model_type"/,
        'EXT5_CHECKPOINT',
      ],
      [
        'a config of another size (shape mismatch)',
        (c) => (c.d_ff = 48),
        /tensor 'encoder.block.0.layer.1.DenseReluDense.wi.weight' has shape \[64, 32\] but the model built from config.json needs \[48, 32\]/,
        'EXT5_CHECKPOINT',
      ],
      [
        'a config of another variant (missing and unexpected tensors)',
        (c) => (c.feed_forward_proj = 'gated-gelu'),
        /missing 8 tensor\(s\): encoder.block.0.layer.1.DenseReluDense.wi_0.weight.*unexpected 4 tensor\(s\)/,
        'EXT5_CHECKPOINT',
      ],
      [
        'untied config for tied weights',
        (c) => (c.tie_word_embeddings = false),
        /missing 1 tensor\(s\): lm_head.weight/,
        'EXT5_CHECKPOINT',
      ],
    ])('config with %s', async (_name, edit, message, code) => {
      const dir = rewrite(tiedDir, { config: edit });
      const err = await errorOf(() => fromPretrained(dir));
      expect(err.code).toBe(code);
      expect(err.message).toMatch(message);
    });

    test('invalid JSON in config.json names the file', async () => {
      const dir = rewrite(tiedDir, {});
      fs.writeFileSync(path.join(dir, 'config.json'), '{"d_model": 32,');
      const err = await errorOf(() => fromPretrained(dir));
      expect(err.message).toMatch(/config.json: not valid JSON/);
    });

    test('a truncated or corrupt model.safetensors', async () => {
      const dir = rewrite(tiedDir, {});
      const file = path.join(dir, 'model.safetensors');
      const size = fs.statSync(file).size;
      fs.truncateSync(file, size - 100);
      const err = await errorOf(() => fromPretrained(dir));
      expect(err.code).toBe('EXT5_SAFETENSORS');
      expect(err.message).toMatch(/model.safetensors: .*truncated/);
      fs.writeFileSync(file, Buffer.from('this is not a safetensors file at all'));
      expect((await errorOf(() => fromPretrained(dir))).code).toBe('EXT5_SAFETENSORS');
    });

    test('a tied alias that differs from shared.weight (4.x layout: no scale_decoder_outputs)', async () => {
      const differing = (t: Map<string, { dtype: 'F32'; shape: number[]; data: Uint8Array }>) => {
        const shared = t.get('shared.weight')!;
        t.set('lm_head.weight', { ...shared, data: new Uint8Array(shared.data.length) });
      };
      const dir = rewrite(tiedDir, { config: (c) => delete c.scale_decoder_outputs, tensors: differing });
      const err = await errorOf(() => fromPretrained(dir));
      expect(err.message).toMatch(/'lm_head.weight' differs from 'shared.weight'/);
      expect(err.hint).toMatch(/tie_word_embeddings/);
      // In the layout transformers 5 writes, the same files are an untied head of its own.
      const v5 = fromPretrained(rewrite(tiedDir, { tensors: differing }));
      expect([v5.config.tie_word_embeddings, v5.config.scale_decoder_outputs]).toEqual([false, true]);
      v5.dispose();
    });

    test('an integer tensor where a weight belongs', async () => {
      const dir = rewrite(tiedDir, {});
      const file = path.join(dir, 'model.safetensors');
      using r = SafetensorsReader.open(file);
      const entries = r.names().map((k) => ({
        name: k,
        dtype: k === 'encoder.final_layer_norm.weight' ? ('I32' as const) : ('F32' as const),
        shape: r.info(k).shape,
        data: r.read(k),
      }));
      r.close();
      writeSafetensors(file, entries, { format: 'pt' });
      const err = await errorOf(() => fromPretrained(dir));
      expect(err.message).toMatch(/'encoder.final_layer_norm.weight' has dtype I32/);
    });

    test('a sharded index that points at a missing shard or a tensor not in it', async () => {
      const dir = fresh();
      await savePretrained(tied, dir, { maxShardSize: 30_000 });
      const indexFile = path.join(dir, 'model.safetensors.index.json');
      const index = JSON.parse(fs.readFileSync(indexFile, 'utf8'));
      const first = Object.keys(index.weight_map)[0]!;
      const firstShard = index.weight_map[first];
      index.weight_map[first] = 'model-00099-of-00099.safetensors';
      fs.writeFileSync(indexFile, JSON.stringify(index));
      expect((await errorOf(() => CheckpointWeights.open(dir))).message).toMatch(
        /shard model-00099-of-00099.safetensors is missing/,
      );
      index.weight_map[first] = '../escape.safetensors';
      fs.writeFileSync(indexFile, JSON.stringify(index));
      expect((await errorOf(() => CheckpointWeights.open(dir))).message).toMatch(
        /must be a file name in the same directory/,
      );
      index.weight_map[first] = firstShard;
      index.weight_map['not.a.tensor'] = firstShard;
      fs.writeFileSync(indexFile, JSON.stringify(index));
      expect((await errorOf(() => CheckpointWeights.open(dir))).message).toMatch(/has no such tensor/);
    });

    test('unknown options', async () => {
      expect((await errorOf(() => fromPretrained(tiedDir, { devcie: 'cpu' } as never))).message).toMatch(
        /did you mean 'device'/,
      );
      expect(
        (await errorOf(() => savePretrained(tied, fresh(), { maxShardSze: 1 } as never))).message,
      ).toMatch(/did you mean 'maxShardSize'/);
    });
  });
});

function sizeOf(model: T5ForConditionalGeneration): number {
  let total = 0;
  for (const v of paramsOf(model).values()) total += v.byteLength;
  return total;
}
