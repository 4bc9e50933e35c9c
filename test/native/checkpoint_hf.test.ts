// Interoperability with files written and read by an independent Python implementation of the
// format and of Hugging Face's T5 names (test/reference/hf_checkpoint.py): ext5 loads
// HF-style exports (extra config keys, tied aliases, the ignored legacy tensor, bfloat16), and
// what ext5 writes parses under the spec's rules with the values it should hold.
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fromPretrained, savePretrained } from '../../lib/model/hf_checkpoint';
import { T5ForConditionalGeneration } from '../../lib/model/t5';

const SCRIPT = path.join(__dirname, '..', 'reference', 'hf_checkpoint.py');
let root: string;
beforeAll(() => {
  root = fs.mkdtempSync(path.join(os.tmpdir(), 'ext5-hf-'));
});
afterAll(() => fs.rmSync(root, { recursive: true, force: true }));

function py(args: string[]): unknown {
  return JSON.parse(execFileSync('/usr/bin/python3', [SCRIPT, ...args], { encoding: 'utf8' }));
}

function sums(model: T5ForConditionalGeneration): Map<string, [number, number]> {
  const out = new Map<string, [number, number]>();
  for (const [name, t] of model.namedParameters()) {
    const d = t.data() as Float32Array;
    let s = 0;
    for (const v of d) s += v;
    out.set(name, [s, d[0]!]);
    t.dispose();
  }
  return out;
}

describe.each([
  ['t5', 'F32'],
  ['t5.1.1', 'F32'],
  ['t5', 'BF16'],
])('a Hugging Face style %s export in %s', (variant, dtype) => {
  test('loads with every parameter as written', () => {
    const dir = path.join(root, `${variant}-${dtype}`);
    const expected = py(['write', dir, variant, dtype]) as Record<string, [number, number]>;
    const model = fromPretrained(dir);
    expect(model.config).toMatchObject({ feed_forward_proj: variant === 't5' ? 'relu' : 'gated-gelu' });
    const got = sums(model);
    expect([...got.keys()].sort()).toEqual(Object.keys(expected).sort());
    for (const [name, [sum, first]] of got) {
      expect(sum).toBeCloseTo(expected[name]![0], 2);
      expect(first).toBe(Math.fround(expected[name]![1]));
    }
    model.dispose();
  });
});

test('what savePretrained writes parses under the spec with the model values', async () => {
  const model = T5ForConditionalGeneration.fromConfig('t5-v1_1-tiny', { seed: 11 });
  const dir = path.join(root, 'ours');
  await savePretrained(model, dir);
  const parsed = py(['read', path.join(dir, 'model.safetensors')]) as {
    metadata: Record<string, string>;
    tensors: Record<string, { dtype: string; shape: number[]; sum: number }>;
  };
  expect(parsed.metadata).toEqual({ format: 'pt' });
  const got = sums(model);
  expect(Object.keys(parsed.tensors).sort()).toEqual([...got.keys()].sort());
  for (const [name, [sum]] of got) {
    expect(parsed.tensors[name]!.dtype).toBe('F32');
    expect(parsed.tensors[name]!.sum).toBeCloseTo(sum, 3);
  }
  model.dispose();
});
