// Atomic checkpoint writes: overwrite, a full disk (injected, and a real 1 MiB tmpfs when this
// process may mount one), SIGKILL in the middle of a save, and a crash between the two renames.
import { type ChildProcess, execFileSync, spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { recoverInterruptedSave, writeDirectoryAtomic } from '../../lib/io/durable';
import {
  CheckpointWeights,
  fromPretrained,
  savePretrained,
  writeWeights,
} from '../../lib/model/hf_checkpoint';
import { T5ForConditionalGeneration } from '../../lib/model/t5';
import { tsHookSource } from './helpers/ts_hook';

let root: string;
beforeAll(() => {
  root = fs.mkdtempSync(path.join(os.tmpdir(), 'ext5-atomic-'));
});
afterAll(() => fs.rmSync(root, { recursive: true, force: true }));

function firstParam(model: T5ForConditionalGeneration): Float32Array {
  const params = model.namedParameters();
  const d = params[0]![1].data() as Float32Array;
  for (const [, t] of params) t.dispose();
  return d;
}

function leftovers(dir: string): string[] {
  return fs.readdirSync(dir).filter((n) => n.startsWith('.'));
}

async function errorOf(fn: () => unknown): Promise<{ code: string; message: string }> {
  try {
    await fn();
  } catch (e) {
    return e as { code: string; message: string };
  }
  throw new Error('expected an error');
}

describe('savePretrained writes atomically', () => {
  let a: T5ForConditionalGeneration;
  let b: T5ForConditionalGeneration;
  beforeAll(() => {
    a = T5ForConditionalGeneration.fromConfig('t5-tiny', { seed: 1 });
    b = T5ForConditionalGeneration.fromConfig('t5-tiny', { seed: 2 });
  });
  afterAll(() => {
    a.dispose();
    b.dispose();
  });

  test('overwriting replaces the checkpoint and leaves nothing behind', async () => {
    const dir = path.join(root, 'over', 'ckpt');
    await savePretrained(a, dir);
    await savePretrained(b, dir);
    const m = fromPretrained(dir);
    expect(Array.from(firstParam(m))).toEqual(Array.from(firstParam(b)));
    m.dispose();
    expect(leftovers(path.dirname(dir))).toEqual([]);
  });

  test('a full disk (injected ENOSPC) is a clear error and keeps the previous checkpoint', async () => {
    const dir = path.join(root, 'full', 'ckpt');
    await savePretrained(a, dir);
    let budget = 20_000;
    const write = (fd: number, data: Uint8Array, position: number) => {
      if (budget <= 0)
        throw Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC' });
      const n = Math.min(budget, data.length);
      budget -= n;
      return fs.writeSync(fd, data, 0, n, position);
    };
    const err = await errorOf(() => savePretrained(b, dir, { write }));
    expect(err.code).toBe('EXT5_DISK_FULL');
    expect(err.message).toMatch(/no space left on the device while writing .*model.safetensors/);
    const m = fromPretrained(dir);
    expect(Array.from(firstParam(m))).toEqual(Array.from(firstParam(a)));
    m.dispose();
    expect(leftovers(path.dirname(dir))).toEqual([]);
  });

  test('a real full disk: a 1 MiB tmpfs (when this process may mount one)', async () => {
    const mnt = path.join(root, 'tmpfs');
    fs.mkdirSync(mnt);
    const mounted =
      spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=1m', 'tmpfs', mnt], { stdio: 'ignore' }).status === 0;
    if (!mounted) {
      console.warn(
        'checkpoint_atomic: cannot mount a tmpfs here (not root?); the injected ENOSPC test covers this path',
      );
      return;
    }
    try {
      const dir = path.join(mnt, 'ckpt');
      await savePretrained(a, dir); // ~100 KB
      const big = T5ForConditionalGeneration.fromConfig(
        { vocab_size: 4096, d_model: 64, d_kv: 8, d_ff: 128, num_layers: 1, num_heads: 2 },
        { seed: 5 },
      ); // ~1.2 MB of float32
      const err = await errorOf(() => savePretrained(big, dir));
      big.dispose();
      expect(err.code).toBe('EXT5_DISK_FULL');
      const m = fromPretrained(dir);
      expect(Array.from(firstParam(m))).toEqual(Array.from(firstParam(a)));
      m.dispose();
      expect(leftovers(mnt)).toEqual([]);
    } finally {
      execFileSync('umount', [mnt]);
    }
  });
});

describe('crashes', () => {
  // Runs test/native/checkpoint_crash_child.ts from source.
  function spawnChild(args: string[]): ChildProcess {
    const hook = tsHookSource();
    return spawn(process.execPath, ['-e', hook, path.join(__dirname, 'checkpoint_crash_child.ts'), ...args], {
      cwd: path.join(__dirname, '..', '..'),
      stdio: ['ignore', 'pipe', 'pipe'],
    });
  }

  function readAll(dir: string): Map<string, number> {
    using w = CheckpointWeights.open(dir);
    return new Map(w.names().map((n) => [n, w.read(n)[0]!]));
  }

  test('SIGKILL in the middle of a save leaves the previous checkpoint in place', async () => {
    const dir = path.join(root, 'kill', 'ckpt');
    // The previous checkpoint: 8 tensors of 1 MiB filled with 1.
    await writeDirectoryAtomic(dir, (tmp) => {
      writeWeights(
        tmp,
        Array.from({ length: 8 }, (_, i) => ({
          name: `t.${i}`,
          dtype: 'U8' as const,
          shape: [1 << 20],
          data: () => new Uint8Array(1 << 20).fill(1),
        })),
      );
      fs.writeFileSync(path.join(tmp, 'config.json'), '{}');
    });
    // The child writes 48 MiB filled with 2 and is killed after its first tensor.
    const child = spawnChild([dir, '48', String(1 << 20), '2']);
    let stderr = '';
    child.stderr!.on('data', (d) => (stderr += d));
    const line = await new Promise<string>((resolve, reject) => {
      child.stdout!.on('data', (d: Buffer) => resolve(d.toString()));
      child.on('exit', (code) => reject(new Error(`child exited (${code}) before writing: ${stderr}`)));
    });
    expect(line).toMatch(/^writing \.ckpt\.tmp-/);
    child.kill('SIGKILL');
    await new Promise((r) => child.on('exit', r));
    // The half-written directory exists beside the target, never at it.
    expect(leftovers(path.dirname(dir)).some((n) => n.startsWith('.ckpt.tmp-'))).toBe(true);
    const data = readAll(dir);
    expect(data.size).toBe(8);
    expect([...data.values()].every((v) => v === 1)).toBe(true);
    // The next save (or load) clears what the dead process left.
    recoverInterruptedSave(dir);
    expect(leftovers(path.dirname(dir))).toEqual([]);
  }, 60_000);

  test('a crash between the two renames is repaired on the next load', async () => {
    const model = T5ForConditionalGeneration.fromConfig('t5-tiny', { seed: 7 });
    const dir = path.join(root, 'between', 'ckpt');
    await savePretrained(model, dir);
    // What a process killed after "rename target aside" and before "rename tmp in" leaves.
    const dead = spawnSync(process.execPath, ['-e', '0']).pid!;
    fs.renameSync(dir, path.join(path.dirname(dir), `.ckpt.old-${dead}-0000`));
    fs.mkdirSync(path.join(path.dirname(dir), `.ckpt.tmp-${dead}-0000`));
    expect(fs.existsSync(dir)).toBe(false);
    const back = fromPretrained(dir);
    expect(Array.from(firstParam(back))).toEqual(Array.from(firstParam(model)));
    expect(leftovers(path.dirname(dir))).toEqual([]);
    back.dispose();
    model.dispose();
  });

  test('the target must be a directory', async () => {
    const file = path.join(root, 'afile');
    fs.writeFileSync(file, 'x');
    const model = T5ForConditionalGeneration.fromConfig('t5-tiny', { seed: 7 });
    expect((await errorOf(() => savePretrained(model, file))).message).toMatch(
      /exists and is not a directory/,
    );
    model.dispose();
  });
});
