// Data-parallel training: 2 processes on loopback, each with half the batch, train the
// same tiny model as 1 process with the whole batch: losses and parameters match to float
// tolerance. (One task, no packing, no dropout, so both runs see the same examples per step:
// record sharding gives rank r the records r, r + 2, …)
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { runCli } from './helpers/cli';

jest.setTimeout(300_000);

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'ext5-ddp-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

const ARGS = [
  'pretrain',
  '--preset',
  'tiny-test',
  '--no-progress',
  '--steps',
  '3',
  '--batch-size',
  '8',
  '--set',
  'data.mixtureOrTask=mini_nli_counts',
  '--set',
  'data.pack=false',
  '--set',
  'training.dropout=0',
  '--set',
  'eval.every=0',
  '--set',
  'checkpoint.every=3',
  '--set',
  'training.threads=1',
];

function readF32Tensors(file: string): Map<string, Float32Array> {
  const buf = fs.readFileSync(file);
  const n = Number(buf.readBigUInt64LE(0));
  const header = JSON.parse(buf.subarray(8, 8 + n).toString('utf8'));
  const out = new Map<string, Float32Array>();
  for (const [name, e] of Object.entries(header) as [
    string,
    { dtype: string; data_offsets: [number, number] },
  ][]) {
    if (name === '__metadata__') continue;
    expect(e.dtype).toBe('F32');
    const bytes = buf.subarray(8 + n + e.data_offsets[0], 8 + n + e.data_offsets[1]);
    out.set(
      name,
      new Float32Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength)),
    );
  }
  return out;
}

function losses(dir: string): number[] {
  return fs
    .readFileSync(path.join(dir, 'metrics.jsonl'), 'utf8')
    .split('\n')
    .filter((l) => l.trim())
    .map((l) => JSON.parse(l))
    .filter((r) => r.split === 'train')
    .map((r) => r.values?.loss ?? r.loss);
}

test('2 processes with half the batch each match 1 process with the whole batch', () => {
  const one = path.join(tmp, 'one');
  const two = path.join(tmp, 'two');
  const r1 = runCli([...ARGS, '--run-dir', one]);
  expect(r1.status).toBe(0);
  const r2 = runCli(['launch', '--nproc', '2', '--timeout', '120', '--', ...ARGS, '--run-dir', two]);
  expect({ status: r2.status, err: r2.status === 0 ? '' : r2.stderr }).toEqual({ status: 0, err: '' });

  const l1 = losses(one);
  const l2 = losses(two);
  expect(l2).toHaveLength(3);
  for (let i = 0; i < 3; i++)
    expect(Math.abs(l1[i]! - l2[i]!)).toBeLessThan(1e-5 * Math.max(1, Math.abs(l1[i]!)));

  const p1 = readF32Tensors(path.join(one, 'checkpoints', 'step-00000003', 'model.safetensors'));
  const p2 = readF32Tensors(path.join(two, 'checkpoints', 'step-00000003', 'model.safetensors'));
  expect([...p2.keys()].sort()).toEqual([...p1.keys()].sort());
  // Float tolerance: the two runs sum gradients in different orders, and Adafactor's RMS
  // normalisation can enlarge the difference for near-zero gradients: |a - b| <= 1e-5 + 1e-3 |a|.
  let worstAbs = 0;
  let bad = 0;
  for (const [name, a] of p1) {
    const b = p2.get(name)!;
    for (let i = 0; i < a.length; i++) {
      const d = Math.abs(a[i]! - b[i]!);
      worstAbs = Math.max(worstAbs, d);
      if (d > 1e-5 + 1e-3 * Math.abs(a[i]!)) bad++;
    }
  }
  expect({ bad, worstAbs: worstAbs < 1e-4 }).toEqual({ bad: 0, worstAbs: true });
  // The checkpoint keeps each rank's data position, for an exact resume with the same world size.
  const st = JSON.parse(
    fs.readFileSync(path.join(two, 'checkpoints', 'step-00000003', 'trainer_state.json'), 'utf8'),
  );
  expect(st.worldSize).toBe(2);
  expect(st.ranks).toHaveLength(2);
});

test('resuming a 2-process checkpoint in 1 process is refused with both sizes named', () => {
  const args = ARGS.map((a) => (a === '3' ? '5' : a)); // 5 steps: resume after the 3-step checkpoint
  const r = runCli([...args, '--run-dir', path.join(tmp, 'two'), '--resume', 'auto']);
  expect(r.status).toBe(1);
  expect(r.stderr).toMatch(/world size 2.*but this run has 1/);
});
