/**
 * Span corruption + packing throughput, one core, side by side with the numpy logic of
 * Hugging Face's FlaxDataCollatorForT5MLM (bench/baselines/t5_mlm_collator.py, Debian numpy) on
 * the same token arrays: deterministic synthetic documents with C4-like lengths (log-normal,
 * median ~400 tokens), inputs 512 / targets 114, batches of 64.
 * Ours runs T5's full pipeline (random chunk, 128-document concatenation, split, noise mask,
 * sentinels, EOS) and then packs into EncDec feature arrays; the baseline concatenates, splits
 * and collates (inputs, labels, decoder inputs).
 * Run: npx tsc -p tsconfig.build.json && node dist/bench/span_corruption.js [--docs 20000] [--reps 3]
 *      [--python /usr/bin/python3]
 */
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { EncDecPacker } from '../lib/text/packing';
import { SpanCorruption } from '../lib/text/span_corruption';
import { Rng } from '../lib/util/rng';
import { arg } from './args';

const DOCS = Number(arg('docs', '20000'));
const REPS = Number(arg('reps', '3'));
const PYTHON = arg('python', '/usr/bin/python3');
const BATCH = 64;
const INPUTS = 512;
const VOCAB = 32100;

/** Documents of C4-like length: log-normal around 400 tokens, clipped to [20, 20000]. */
function makeDocs(): Int32Array[] {
  const rng = new Rng(2022);
  const docs: Int32Array[] = [];
  for (let d = 0; d < DOCS; d++) {
    const u1 = 1 - rng.nextFloat();
    const u2 = rng.nextFloat();
    const z = Math.sqrt(-2 * Math.log(u1)) * Math.cos(2 * Math.PI * u2);
    const n = Math.max(20, Math.min(20000, Math.round(Math.exp(Math.log(400) + 0.9 * z))));
    const doc = new Int32Array(n);
    for (let i = 0; i < n; i++) doc[i] = 3 + rng.nextInt(31997);
    docs.push(doc);
  }
  return docs;
}

function runOurs(docs: Int32Array[]): {
  seconds: number;
  rawTokens: number;
  examples: number;
  batches: number;
} {
  const t0 = process.hrtime.bigint();
  const sc = new SpanCorruption({ inputsLength: INPUTS, seed: 1 });
  const packer = new EncDecPacker({
    inputsLength: INPUTS,
    targetsLength: sc.targetsLength,
    batchSize: BATCH,
  });
  let examples = 0;
  let batches = 0;
  let rawTokens = 0;
  for (const d of docs) {
    rawTokens += d.length;
    sc.addDocument(d);
    for (let ex = sc.next(); ex; ex = sc.next()) {
      packer.push(ex);
      examples++;
      for (let b = packer.pull(); b; b = packer.pull()) batches++;
    }
  }
  sc.flush();
  for (const ex of sc.drain()) {
    packer.push(ex);
    examples++;
  }
  packer.flush();
  for (let b = packer.pull(); b; b = packer.pull()) batches++;
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  return { seconds, rawTokens, examples, batches };
}

function main(): void {
  const docs = makeDocs();
  const total = docs.reduce((s, d) => s + d.length, 0);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ext5-bench-sc-'));
  const tokFile = path.join(dir, 'tokens.i32');
  const offFile = path.join(dir, 'offsets.i64');
  const flat = new Int32Array(total);
  const offsets = new BigInt64Array(docs.length + 1);
  let p = 0;
  docs.forEach((d, i) => {
    flat.set(d, p);
    p += d.length;
    offsets[i + 1] = BigInt(p);
  });
  fs.writeFileSync(tokFile, Buffer.from(flat.buffer));
  fs.writeFileSync(offFile, Buffer.from(offsets.buffer));

  runOurs(docs.slice(0, 2000)); // warm-up (JIT)
  const ours = Array.from({ length: REPS }, () => runOurs(docs));
  const best = ours.reduce((a, b) => (a.seconds < b.seconds ? a : b));
  const oursRate = best.rawTokens / best.seconds;

  const env = { ...process.env, OMP_NUM_THREADS: '1', OPENBLAS_NUM_THREADS: '1', MKL_NUM_THREADS: '1' };
  const script = path.join(__dirname, '..', '..', 'bench', 'baselines', 't5_mlm_collator.py');
  const py = Array.from({ length: REPS }, () =>
    JSON.parse(
      execFileSync(PYTHON, [script, tokFile, offFile, String(BATCH), String(INPUTS), String(VOCAB)], {
        env,
        encoding: 'utf8',
      }),
    ),
  );
  const pyBest = py.reduce((a, b) => (a.seconds < b.seconds ? a : b));
  fs.rmSync(dir, { recursive: true, force: true });

  const fmt = (x: number) => `${(x / 1e6).toFixed(2)} M tokens/s`;
  console.log(
    `span corruption + packing, inputs ${INPUTS} / targets 114, batch ${BATCH}, ${DOCS} documents, ${total} tokens`,
  );
  console.log(
    `  ext5 (TS, 1 thread):            ${fmt(oursRate)}  (${best.seconds.toFixed(3)} s, ${best.examples} examples, ${best.batches} batches)`,
  );
  console.log(
    `  HF T5 MLM collator (numpy):     ${fmt(pyBest.tokens_per_second)}  (${pyBest.seconds.toFixed(3)} s: group ${pyBest.group_seconds.toFixed(3)} s + collate ${pyBest.collate_seconds.toFixed(3)} s, ${pyBest.examples} examples)`,
  );
  console.log(
    `  ratio: ${(oursRate / pyBest.tokens_per_second).toFixed(2)}x  (target >= 3x; best of ${REPS} runs each)`,
  );
}

main();
