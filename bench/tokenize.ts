/**
 * Tokenization throughput: ext5's SentencePiece addon vs Debian's python3-sentencepiece
 * (bench/baselines/spm_tokenize.py) on the same texts with the same model. The model is trained
 * here (8000 unigram pieces, T5 settings) on English prose from /usr/share/doc/(*)/copyright;
 * texts are ~2 KB documents cut from the same prose.
 * Measures: one encode call per text on the JS thread (target >= 0.9x Python's EncodeAsIds loop),
 * and batched encoding off the JS thread with 1..N threads (should scale with threads).
 * Run: npx tsc -p tsconfig.build.json && node dist/bench/tokenize.js [--mb 4] [--reps 3]
 *      [--python /usr/bin/python3]
 */
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { SentencePieceVocabulary, trainVocabulary } from '../lib/text/vocabulary';
import { arg } from './args';

const MB = Number(arg('mb', '4'));
const REPS = Number(arg('reps', '3'));
const PYTHON = arg('python', '/usr/bin/python3');

/** Plain English-ish prose from the Debian copyright files on this machine, whitespace collapsed. */
function prose(bytes: number): string {
  const root = '/usr/share/doc';
  const parts: string[] = [];
  let size = 0;
  for (const pkg of fs.readdirSync(root).sort()) {
    const f = path.join(root, pkg, 'copyright');
    if (!fs.existsSync(f)) continue;
    const text = fs.readFileSync(f, 'utf8').replace(/\s+/g, ' ');
    parts.push(text);
    size += text.length;
    if (size >= bytes) break;
  }
  return parts.join(' ');
}

function best(fn: () => void): number {
  let b = Number.POSITIVE_INFINITY;
  for (let r = 0; r < 2; r++) {
    const t0 = process.hrtime.bigint();
    fn();
    b = Math.min(b, Number(process.hrtime.bigint() - t0) / 1e9);
  }
  return b;
}

async function bestAsync(fn: () => Promise<unknown>): Promise<number> {
  let b = Number.POSITIVE_INFINITY;
  for (let r = 0; r < 2; r++) {
    const t0 = process.hrtime.bigint();
    await fn();
    b = Math.min(b, Number(process.hrtime.bigint() - t0) / 1e9);
  }
  return b;
}

async function main(): Promise<void> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ext5-bench-tok-'));
  const text = prose(MB * 1e6 + 12e6);
  const trainText = text.slice(MB * 1e6); // train on other text than we encode
  const corpus = path.join(dir, 'corpus.txt');
  // one ~300-character line per sentence-ish piece: SentencePiece skips lines over 4192 bytes
  fs.writeFileSync(corpus, trainText.replace(/(.{300}\S*) /g, '$1\n'));
  const { modelPath } = await trainVocabulary({
    input: corpus,
    modelPrefix: path.join(dir, 'spiece'),
    vocabSize: 8000,
    inputSentenceSize: 300000,
    numThreads: os.availableParallelism(),
  });
  const body = text.slice(0, MB * 1e6);
  const texts: string[] = [];
  for (let i = 0; i < body.length; i += 2000) texts.push(body.slice(i, i + 2000));
  const textsFile = path.join(dir, 'texts.txt');
  fs.writeFileSync(textsFile, `${texts.join('\n')}\n`);

  const vocab = SentencePieceVocabulary.load(modelPath);
  let tokens = 0;
  for (const t of texts) tokens += vocab.encode(t).length; // warm-up and count
  const maxThreads = os.availableParallelism();
  const threadCounts = [...new Set([1, 2, 4, maxThreads].filter((n) => n <= Math.max(maxThreads, 2)))];
  const script = path.join(__dirname, '..', '..', 'bench', 'baselines', 'spm_tokenize.py');
  // Ours and Python's runs alternate, so that a change in machine load hits both sides alike.
  let single = Number.POSITIVE_INFINITY;
  let singleCpu = Number.POSITIVE_INFINITY;
  let pySingleCpu = Number.POSITIVE_INFINITY;
  let syncBatch = Number.POSITIVE_INFINITY;
  const asyncBatch: Record<number, number> = {};
  let pySingle = Number.POSITIVE_INFINITY;
  const pyBatch: Record<string, number> = {};
  let pyTokens = 0;
  for (let r = 0; r < REPS; r++) {
    const c0 = process.cpuUsage();
    const w = best(() => {
      for (const t of texts) vocab.encode(t);
    });
    const c = process.cpuUsage(c0);
    single = Math.min(single, w);
    singleCpu = Math.min(singleCpu, (c.user + c.system) / 1e6 / 2); // best() runs twice

    syncBatch = Math.min(
      syncBatch,
      best(() => vocab.encodeBatchFlat(texts)),
    );
    for (const n of threadCounts) {
      asyncBatch[n] = Math.min(
        asyncBatch[n] ?? Number.POSITIVE_INFINITY,
        await bestAsync(() => vocab.encodeBatchFlatAsync(texts, { threads: n })),
      );
    }
    const py = JSON.parse(
      execFileSync(PYTHON, [script, modelPath, textsFile, '1', threadCounts.join(',')], {
        encoding: 'utf8',
        maxBuffer: 1 << 26,
      }),
    );
    pyTokens = py.tokens;
    pySingle = Math.min(pySingle, py.single_seconds);
    pySingleCpu = Math.min(pySingleCpu, py.single_cpu_seconds);
    for (const [k, v] of Object.entries(py.batch_seconds as Record<string, number>)) {
      pyBatch[k] = Math.min(pyBatch[k] ?? Number.POSITIVE_INFINITY, v);
    }
  }
  vocab.dispose();
  fs.rmSync(dir, { recursive: true, force: true });
  if (pyTokens !== tokens) console.log(`  WARNING: token counts differ (ours ${tokens}, python ${pyTokens})`);

  const rate = (s: number) => `${(tokens / s / 1e6).toFixed(2)} M tokens/s`;
  console.log(
    `tokenization, ${texts.length} texts of ~2 KB, ${tokens} tokens, 8000-piece unigram model (+100 sentinels)`,
  );
  console.log(
    `  one call per text:  ext5 ${rate(single)}  python3-sentencepiece ${rate(pySingle)}  ratio ${(pySingle / single).toFixed(2)}x (target >= 0.9x)`,
  );
  console.log(
    `  same, by CPU time (robust to other load): ext5 ${rate(singleCpu)}  python ${rate(pySingleCpu)}  ratio ${(pySingleCpu / singleCpu).toFixed(2)}x`,
  );
  console.log(`  batch, JS thread:   ext5 ${rate(syncBatch)}`);
  for (const n of threadCounts) {
    const p = pyBatch[String(n)];
    console.log(
      `  batch, ${n} thread(s), off the JS thread: ext5 ${rate(asyncBatch[n]!)} (x${(asyncBatch[1]! / asyncBatch[n]!).toFixed(2)} vs 1 thread)` +
        (p ? `  python Encode(list, num_threads=${n}) ${rate(p)}` : ''),
    );
  }
  console.log(
    `  (machine: ${maxThreads} hardware threads, load average ${os.loadavg()[0]!.toFixed(1)}; ours and Python alternate, best of ${REPS} rounds)`,
  );
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
