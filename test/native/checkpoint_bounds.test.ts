// fromPretrained bounds what config.json implies against the checkpoint before
// building anything, never blocks on a FIFO, and names a tensor holding NaN/Infinity.
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { SafetensorsReader } from '../../lib/io/safetensors';
import { fromPretrained } from '../../lib/model/hf_checkpoint';
import { T5ForConditionalGeneration } from '../../lib/model/t5';
import { cpuClock } from '../helpers/cpu_clock';

jest.setTimeout(60_000);

const TINY = { vocab_size: 64, d_model: 16, d_kv: 4, d_ff: 32, num_layers: 1, num_heads: 2 };
let root: string;
let ck: string;

beforeAll(async () => {
  root = fs.mkdtempSync(path.join(os.tmpdir(), 'ext5-bounds-'));
  ck = path.join(root, 'ck');
  const m = T5ForConditionalGeneration.fromConfig(TINY, { seed: 1 });
  await m.savePretrained(ck);
  m.dispose();
});
afterAll(() => fs.rmSync(root, { recursive: true, force: true }));

function copyWith(name: string, edit: (cfg: Record<string, unknown>) => void): string {
  const dir = path.join(root, name);
  fs.cpSync(ck, dir, { recursive: true });
  const file = path.join(dir, 'config.json');
  const cfg = JSON.parse(fs.readFileSync(file, 'utf8'));
  edit(cfg);
  fs.writeFileSync(file, JSON.stringify(cfg));
  return dir;
}

test.each([
  [
    'num_decoder_layers 100000',
    (c: Record<string, unknown>) => (c.num_decoder_layers = 100_000),
    /decoder block/,
  ],
  ['num_layers 2^31', (c: Record<string, unknown>) => (c.num_layers = 2 ** 31), /encoder block/],
  ['num_layers 3', (c: Record<string, unknown>) => (c.num_layers = 3), /encoder block/],
  ['vocab_size 2^30', (c: Record<string, unknown>) => (c.vocab_size = 2 ** 30), /shared.weight/],
])('config.json with %s is refused before the model is built', (name, edit, msg) => {
  const cpu = cpuClock();
  expect(() => fromPretrained(copyWith(name.replace(/\W/g, '_'), edit))).toThrow(msg);
  expect(cpu()).toBeLessThan(5000);
});

test('the native constructor bounds layers and memory too', () => {
  expect(() => T5ForConditionalGeneration.fromConfig({ ...TINY, num_layers: 100_000 })).toThrow(
    /at most 1024/,
  );
  expect(() => T5ForConditionalGeneration.fromConfig({ ...TINY, d_ff: 2 ** 30, num_layers: 64 })).toThrow(
    /memory/,
  );
});

test('a FIFO in place of model.safetensors or config.json is refused, not waited on', () => {
  for (const file of ['model.safetensors', 'config.json']) {
    const dir = path.join(root, `fifo-${file}`);
    fs.cpSync(ck, dir, { recursive: true });
    fs.rmSync(path.join(dir, file));
    execFileSync('mkfifo', [path.join(dir, file)]);
    expect(() => fromPretrained(dir)).toThrow(/not a regular file/);
  }
});

test('a NaN weight is reported by name; allowNonFinite loads it', async () => {
  const m = T5ForConditionalGeneration.fromConfig(TINY, { seed: 1 });
  const nan = m
    .namedParameters()
    .map(([n, t]) => [n, n === 'encoder.final_layer_norm.weight' ? t.mul(Number.NaN) : t] as const);
  m.loadParameters(nan);
  const dir = path.join(root, 'nan');
  await m.savePretrained(dir);
  m.dispose();
  expect(() => fromPretrained(dir)).toThrow(/'encoder\.final_layer_norm\.weight' holds 16 NaN/);
  const loaded = fromPretrained(dir, { allowNonFinite: true });
  loaded.dispose();
});

test('one infinite value, of either sign, is reported by name', async () => {
  for (const v of [Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY]) {
    const m = T5ForConditionalGeneration.fromConfig(TINY, { seed: 1 });
    const dir = path.join(root, `inf${v}`);
    await m.savePretrained(dir);
    m.dispose();
    const file = path.join(dir, 'model.safetensors');
    const reader = SafetensorsReader.open(file);
    const at = reader.info('decoder.block.0.layer.2.DenseReluDense.wo.weight').fileOffset + 4 * 37;
    reader.close();
    const fd = fs.openSync(file, 'r+');
    fs.writeSync(fd, new Uint8Array(new Float32Array([v]).buffer), 0, 4, at);
    fs.closeSync(fd);
    expect(() => fromPretrained(dir)).toThrow(
      /'decoder\.block\.0\.layer\.2\.DenseReluDense\.wo\.weight' holds 1 NaN or infinite/,
    );
  }
});
