// `ext5 score` end to end, run as a user runs it (needs `npx tsc -p tsconfig.build.json` first).
// BLEU lines are sacreBLEU 2.6.0's own output for the same files.
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

const ROOT = path.resolve(__dirname, '../..');
const CLI = path.join(ROOT, 'dist/bin/ext5.js');
let dir: string;

function run(args: string[], input?: string) {
  const r = spawnSync(process.execPath, [CLI, 'score', ...args], { cwd: dir, input, encoding: 'utf8' });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ext5-score-'));
  const w = (name: string, lines: string[]) =>
    fs.writeFileSync(path.join(dir, name), `${lines.join('\n')}\n`);
  w('hyp.txt', ['The dog bit the man.', "It wasn't surprising.", 'The man had just bitten him.']);
  w('ref1.txt', ['The dog bit the man.', 'It was not unexpected.', 'The man bit him first.']);
  w('ref2.txt', ['The dog had bit the man.', 'No one was surprised.', 'The man had bitten the dog.']);
  w('short.txt', ['one', 'two']);
  w('refs.jsonl', [
    JSON.stringify(['The dog bit the man.', 'The dog had bit the man.']),
    JSON.stringify(['It was not unexpected.', 'No one was surprised.']),
    JSON.stringify('The man bit him first.'),
  ]);
  w('refs_full.jsonl', [
    JSON.stringify(['The dog bit the man.', 'The dog had bit the man.']),
    JSON.stringify(['It was not unexpected.', 'No one was surprised.']),
    JSON.stringify(['The man bit him first.', 'The man had bitten the dog.']),
  ]);
  w('bad.jsonl', ['"ok"', '{"a": 1}', '"x"']);
  w('answers.txt', ['Paris', 'the Eiffel tower!', 'Lyon']);
  w('gold.jsonl', [
    JSON.stringify(['Paris', 'paris, France']),
    JSON.stringify('Eiffel Tower'),
    JSON.stringify('Marseille'),
  ]);
  w('labels_pred.txt', ['entailment', 'neutral', 'banana']);
  w('labels_gold.txt', ['entailment', 'neutral', 'contradiction']);
});

afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

test('BLEU prints the sacreBLEU line and signature', () => {
  const r = run(['-m', 'bleu', '-p', 'hyp.txt', '-r', 'ref1.txt', 'ref2.txt']);
  expect(r.code).toBe(0);
  expect(r.out.split('\n')[0]).toBe(
    'BLEU = 48.53 82.4/50.0/45.5/37.5 (BP = 0.943 ratio = 0.944 hyp_len = 17 ref_len = 18)',
  );
  expect(r.out).toMatch(
    /signature: nrefs:2\|case:mixed\|eff:no\|tok:13a\|smooth:exp\|version:ext5-sacrebleu2\.6\.0/,
  );
});

test("T5's BLEU (intl) from standard input, as JSON", () => {
  const r = run(
    ['-m', 'bleu', '--tokenize', 'intl', '-p', '-', '-r', 'ref1.txt', 'ref2.txt', '--json'],
    fs.readFileSync(path.join(dir, 'hyp.txt'), 'utf8'),
  );
  expect(r.code).toBe(0);
  const j = JSON.parse(r.out);
  expect(j.name).toBe('BLEU');
  expect(j.score).toBe(43.92);
  expect(j.tok).toBe('intl');
  expect(j.verbose_score).toBe('73.7/43.8/38.5/30.0 (BP = 1.000 ratio = 1.056 hyp_len = 19 ref_len = 18)');
  expect(j.exact_score).toBeCloseTo(43.91623493, 6);
});

test('a JSONL references file gives the same numbers as several plain files', () => {
  const a = JSON.parse(run(['-m', 'bleu', '-p', 'hyp.txt', '-r', 'refs.jsonl', '--json']).out);
  expect(a.nrefs).toBe('var');
  const full = JSON.parse(run(['-m', 'bleu', '-p', 'hyp.txt', '-r', 'refs_full.jsonl', '--json']).out);
  expect(full.exact_score).toBeCloseTo(48.530827, 6);
  const b = run(['-m', 'bleu,chrf', '-p', 'hyp.txt', '-r', 'ref1.txt', 'ref2.txt', '--json']);
  const arr = JSON.parse(b.out);
  expect(Array.isArray(arr)).toBe(true);
  expect(arr.map((x: { name: string }) => x.name)).toEqual(['BLEU', 'chrF2']);
  expect(arr[1].score).toBe(59.73);
});

test('ROUGE, repeatable --metric, bootstrap with a seed', () => {
  const r = run([
    '-m',
    'rouge',
    '-m',
    'bleu',
    '-p',
    'hyp.txt',
    '-r',
    'ref1.txt',
    '--bootstrap',
    '200',
    '--seed',
    '1',
  ]);
  expect(r.code).toBe(0);
  expect(r.out).toMatch(/^ROUGE-1 = \d+\.\d\d \(P = .* R = .*\) 95% CI \[/m);
  expect(r.out).toMatch(/^ROUGE-Lsum = /m);
  expect(r.out).toMatch(/^BLEU = /m);
});

test('SQuAD EM/F1 with several gold answers per line', () => {
  const r = run(['-m', 'squad', '-p', 'answers.txt', '-r', 'gold.jsonl', '--json']);
  const j = JSON.parse(r.out);
  expect(j.em).toBeCloseTo(200 / 3, 10);
  expect(j.f1).toBeCloseTo(200 / 3, 10);
});

test('accuracy and macro F1 over string labels', () => {
  const r = run(['-m', 'accuracy,f1', '-p', 'labels_pred.txt', '-r', 'labels_gold.txt']);
  expect(r.code).toBe(0);
  expect(r.out).toContain('Accuracy = 66.67 (2/3)');
  expect(r.out).toContain(
    'F1 (macro over 3 classes) = 66.67 (1 predictions outside the reference labels counted wrong)',
  );
});

describe('bad input', () => {
  test('mismatched line counts name both files and counts', () => {
    const r = run(['-p', 'hyp.txt', '-r', 'short.txt']);
    expect(r.code).toBe(1);
    expect(r.err).toContain("predictions file 'hyp.txt' has 3 lines but references file 'short.txt' has 2");
  });

  test('unknown metric suggests the closest', () => {
    const r = run(['-m', 'rogue', '-p', 'hyp.txt', '-r', 'ref1.txt']);
    expect(r.code).toBe(1);
    expect(r.err).toContain("unknown metric 'rogue' (did you mean 'rouge'?)");
  });

  test('a registry metric that ext5 score does not offer says what it takes', () => {
    const r = run(['-m', 'mean_3class_f1', '-p', 'hyp.txt', '-r', 'ref1.txt']);
    expect(r.code).toBe(1);
    expect(r.err).toContain("metric 'mean_3class_f1' is not offered by ext5 score: it takes");
  });

  test('a bad JSONL line names the file and line', () => {
    const r = run(['-p', 'hyp.txt', '-r', 'bad.jsonl']);
    expect(r.code).toBe(1);
    expect(r.err).toContain('bad.jsonl:2: expected a string or a non-empty list of strings');
  });

  test('a missing file', () => {
    const r = run(['-p', 'nope.txt', '-r', 'ref1.txt']);
    expect(r.code).toBe(1);
    expect(r.err).toContain("cannot read predictions file 'nope.txt': no such file");
  });

  test('accuracy with several references per line', () => {
    const r = run(['-m', 'accuracy', '-p', 'hyp.txt', '-r', 'ref1.txt', 'ref2.txt']);
    expect(r.code).toBe(1);
    expect(r.err).toContain('accuracy takes one reference per prediction');
  });

  test('bad numeric options', () => {
    const r = run(['-m', 'rouge', '-p', 'hyp.txt', '-r', 'ref1.txt', '--bootstrap', '-3']);
    expect(r.code).toBe(1);
    expect(r.err).toContain('--bootstrap must be a non-negative integer, got -3');
    const t = run(['-m', 'rouge', '--rouge-types', 'rouge1,rougeX', '-p', 'hyp.txt', '-r', 'ref1.txt']);
    expect(t.code).toBe(1);
    expect(t.err).toContain("invalid ROUGE type 'rougeX'");
  });

  test('empty predictions', () => {
    fs.writeFileSync(path.join(dir, 'empty.txt'), '');
    const r = run(['-p', 'empty.txt', '-r', 'empty.txt']);
    expect(r.code).toBe(1);
    expect(r.err).toContain("predictions file 'empty.txt' is empty");
  });

  test('a predictions or references file that is not UTF-8 is refused, naming the file and line', () => {
    // Latin-1 "café" on line 2, as a file saved in another encoding.
    fs.writeFileSync(path.join(dir, 'latin1.txt'), Buffer.from('the cat\ncaf\xe9 au lait\n', 'latin1'));
    const r = run(['-p', 'latin1.txt', '-r', 'ref1.txt']);
    expect(r.code).toBe(1);
    expect(r.err).toContain('E_SCORE_INPUT');
    expect(r.err).toContain(
      "predictions file 'latin1.txt' is not UTF-8 text: invalid byte 0xe9 at line 2 (byte offset 11)",
    );
    const refs = run(['-p', 'hyp.txt', '-r', 'latin1.txt']);
    expect(refs.code).toBe(1);
    expect(refs.err).toContain("references file 'latin1.txt' is not UTF-8 text");
    // A UTF-8 file with a byte-order mark still reads as before.
    fs.writeFileSync(
      path.join(dir, 'bom.txt'),
      `\ufeff${fs.readFileSync(path.join(dir, 'hyp.txt'), 'utf8')}`,
    );
    expect(run(['-p', 'bom.txt', '-r', 'ref1.txt']).code).toBe(0);
  });
});

test('--metric choices, help and numbers come from the metric registry', () => {
  const { listScoreMetrics, getMetric, computeMetrics } = require(
    path.join(ROOT, 'dist/lib/eval/metrics/registry.js'),
  ) as typeof import('../../lib/eval/metrics/registry');
  expect(listScoreMetrics()).toEqual(['bleu', 'chrf', 'rouge', 'squad', 'trivia_qa', 'accuracy', 'f1']);
  const help = spawnSync(process.execPath, [CLI, 'score', '--help'], { cwd: dir, encoding: 'utf8' }).stdout;
  // yargs wraps the help to the terminal width: compare with whitespace runs collapsed.
  const flat = help.replace(/\s+/g, ' ');
  for (const n of listScoreMetrics()) expect(flat).toContain(`${n} ${getMetric(n).description}`);
  const j = JSON.parse(run(['-m', 'f1', '-p', 'labels_pred.txt', '-r', 'labels_gold.txt', '--json']).out);
  const read = (f: string) => fs.readFileSync(path.join(dir, f), 'utf8').trim().split('\n');
  expect(computeMetrics('f1', read('labels_pred.txt'), read('labels_gold.txt'))).toEqual({
    macro_f1: j.macro_f1,
  });
});

test('scoring never loads the native addon', () => {
  const script = `
    const { runScore } = require(${JSON.stringify(path.join(ROOT, 'dist/lib/cli/score.js'))});
    runScore({ metric: ['bleu', 'rouge', 'chrf'], predictions: 'hyp.txt', references: ['ref1.txt'], tokenize: '13a',
      lowercase: false, 'smooth-method': 'exp', 'chrf-word-order': 0, 'rouge-types': 'rouge1', stemmer: true,
      't5-split': true, bootstrap: 0, seed: 0, width: 2, json: false })
      .then(() => {
        const loaded = Object.keys(require.cache).filter((f) => /native|tensor|\\.node$/.test(f));
        console.log(JSON.stringify(loaded));
      });`;
  const r = spawnSync(process.execPath, ['-e', script], { cwd: dir, encoding: 'utf8' });
  expect(r.stderr).toBe('');
  expect(JSON.parse(r.stdout)).toEqual([]);
});
