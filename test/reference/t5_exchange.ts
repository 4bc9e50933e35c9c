/**
 * Runs test/reference/t5_reference.py (Debian's /usr/bin/python3 with python3-torch) on the
 * weights of a live ext5 model: parameters are dumped as raw float32 files with a JSON index,
 * the batch as JSON, and the results read back.
 */
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { T5ForConditionalGeneration } from '../../lib/model/t5';

// EXT5_TEST_PYTHON: another interpreter with torch (bench/gpu/run.sh on a machine whose torch is
// not Debian's).
export const PYTHON = process.env.EXT5_TEST_PYTHON || '/usr/bin/python3';
const SCRIPT = path.join(__dirname, 't5_reference.py');

/** True when PYTHON (default /usr/bin/python3) can import torch (the reference needs it). */
export function havePythonTorch(): boolean {
  try {
    execFileSync(PYTHON, ['-c', 'import torch'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/** Writes config.json and weights.json + one .bin per parameter into a new temp dir. */
export function dumpModel(model: T5ForConditionalGeneration): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ext5-t5ref-'));
  fs.writeFileSync(path.join(dir, 'config.json'), JSON.stringify(model.config));
  const index: { name: string; shape: number[]; file: string }[] = [];
  model.namedParameters().forEach(([name, t], i) => {
    const data = t.data() as Float32Array;
    const file = `w.${i}.bin`;
    fs.writeFileSync(path.join(dir, file), Buffer.from(data.buffer, data.byteOffset, data.byteLength));
    index.push({ name, shape: t.shape, file });
    t.dispose();
  });
  fs.writeFileSync(path.join(dir, 'weights.json'), JSON.stringify(index));
  return dir;
}

function readF32(file: string): Float32Array {
  const buf = fs.readFileSync(file);
  return new Float32Array(buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength));
}

export interface ReferenceForward {
  loss: number | null;
  weightSum: number;
  logits: Float32Array;
  grads?: Float32Array[];
}

/** Runs the reference forward (and backward when `grads`) on nested-array inputs. */
export function referenceForward(
  dir: string,
  batch: Record<string, unknown>,
  grads = false,
): ReferenceForward {
  fs.writeFileSync(path.join(dir, 'batch.json'), JSON.stringify({ ...batch, grads }));
  execFileSync(PYTHON, [SCRIPT, 'forward', dir], { stdio: ['ignore', 'ignore', 'pipe'] });
  const out = JSON.parse(fs.readFileSync(path.join(dir, 'out.json'), 'utf8'));
  const result: ReferenceForward = {
    loss: out.loss,
    weightSum: out.weightSum,
    logits: readF32(path.join(dir, 'logits.bin')),
  };
  if (grads) {
    const n = JSON.parse(fs.readFileSync(path.join(dir, 'weights.json'), 'utf8')).length as number;
    result.grads = Array.from({ length: n }, (_, i) => readF32(path.join(dir, `grad.${i}.bin`)));
  }
  return result;
}

/** Greedy decoding with the reference's incremental decoder. */
export function referenceGreedy(
  dir: string,
  inputIds: number[][],
  attentionMask: number[][] | undefined,
  maxNewTokens: number,
): number[][] {
  fs.writeFileSync(path.join(dir, 'batch.json'), JSON.stringify({ inputIds, attentionMask, maxNewTokens }));
  execFileSync(PYTHON, [SCRIPT, 'greedy', dir], { stdio: ['ignore', 'ignore', 'pipe'] });
  return JSON.parse(fs.readFileSync(path.join(dir, 'out.json'), 'utf8')).sequences;
}

export { maxAbsDiff } from '../../bench/t5_interleave';

export function removeDir(dir: string): void {
  fs.rmSync(dir, { recursive: true, force: true });
}
