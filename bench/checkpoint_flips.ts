/**
 * Counts what single-byte flips in a checkpoint's tensor data do to `fromPretrained`:
 * a tiny T5 is saved once, then each case flips one byte at a seeded random offset inside the
 * safetensors data section (never the header) and loads the copy. Outcomes:
 *   refused      a coded Ext5Error (e.g. "tensor '…' holds N NaN or infinite value(s)")
 *   non-finite   loaded, and some weight is NaN or infinite: the silent failure this counts
 *   finite       loaded with finite weights: the flip changed a value, which safetensors (no
 *                checksum) cannot reveal
 * `--mode random` XORs a random byte with a random non-zero value (few such flips give a non-finite
 * float32); `--mode exponent` sets a random float32's high byte (sign and exponent) to 0xFF, which
 * makes it NaN or infinite when the next byte's top bit is set (about half the cases).
 * Run the same file against an older tree to compare (its lib/ is imported relatively).
 *   npx tsc -p tsconfig.build.json && node dist/bench/checkpoint_flips.js [--flips 640] [--seed 7] [--mode random|exponent]
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fromPretrained, preset, savePretrained, T5ForConditionalGeneration } from '../lib';
import { arg } from './args';

function lcg(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

function hasNonFinite(model: T5ForConditionalGeneration): boolean {
  for (const [, t] of model.namedParameters()) {
    const d = t.data() as Float32Array;
    for (let i = 0; i < d.length; i++) if (!Number.isFinite(d[i])) return true;
  }
  return false;
}

async function main(): Promise<void> {
  const flips = Number(arg('flips', '640'));
  const rand = lcg(Number(arg('seed', '7')));
  const mode = arg('mode', 'random');
  if (mode !== 'random' && mode !== 'exponent')
    throw new Error(`--mode must be random or exponent, got ${mode}`);
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'ext5-flips-'));
  try {
    const src = path.join(tmp, 'src');
    const cfg = { ...preset('t5-tiny'), vocab_size: 256 };
    const model = new T5ForConditionalGeneration(cfg);
    await savePretrained(model, src);
    const file = path.join(src, 'model.safetensors');
    const bytes = fs.readFileSync(file);
    const dataStart = 8 + Number(bytes.readBigUInt64LE(0));
    const counts = { refused: 0, 'non-finite': 0, finite: 0, uncoded: 0 };
    const work = path.join(tmp, 'work');
    fs.cpSync(src, work, { recursive: true });
    for (let i = 0; i < flips; i++) {
      const copy = Buffer.from(bytes);
      if (mode === 'random') {
        const at = dataStart + Math.floor(rand() * (bytes.length - dataStart));
        copy[at] = (copy[at] as number) ^ (1 + Math.floor(rand() * 255));
      } else {
        // Every tensor of the tiny model is float32 and 4-byte aligned in the data section.
        const at = dataStart + 4 * Math.floor((rand() * (bytes.length - dataStart)) / 4) + 3;
        copy[at] = 0xff;
      }
      fs.writeFileSync(path.join(work, 'model.safetensors'), copy);
      try {
        const m = fromPretrained(work);
        counts[hasNonFinite(m) ? 'non-finite' : 'finite']++;
      } catch (e) {
        counts[(e as { code?: string }).code ? 'refused' : 'uncoded']++;
      }
    }
    console.table([{ mode, flips, ...counts }]);
    console.log(JSON.stringify({ bench: 'checkpoint_flips', mode, flips, ...counts }));
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
