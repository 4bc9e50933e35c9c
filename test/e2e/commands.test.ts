// The run commands end to end on the built-in mini data: demo, eval, predict, convert, and the
// errors a user meets (bad config keys, a checkpoint of another size).
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { root, runCli } from './helpers/cli';

jest.setTimeout(300_000);

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'ext5-cmds-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));
const run = path.join(tmp, 'run');

beforeAll(() => {
  const r = runCli([
    'pretrain',
    '--preset',
    'tiny-test',
    '--no-progress',
    '--run-dir',
    run,
    '--steps',
    '4',
    '--set',
    'eval.every=0',
  ]);
  if (r.status !== 0) throw new Error(`pretrain failed: ${r.stderr}`);
});

test('demo runs the whole comparison and reports both models per held-out task', () => {
  const out = path.join(tmp, 'demo');
  const r = runCli([
    'demo',
    '--steps',
    '4',
    '--finetune-steps',
    '2',
    '--eval-examples',
    '8',
    // The demo runs every seed (default 3); two keep it inside runCli's 120 s.
    '--seeds',
    '2',
    '--out',
    out,
    '--json',
    '--threads',
    '1',
  ]);
  expect(r.status).toBe(0);
  const j = JSON.parse(r.stdout);
  expect(j.rows.map((x: { task: string }) => x.task).sort()).toEqual([
    'mini_nli_counts',
    'mini_word_problems',
  ]);
  for (const row of j.rows) {
    expect(row.t5).toBeGreaterThanOrEqual(0);
    expect(row.ext5).toBeLessThanOrEqual(100);
  }
  const html = fs.readFileSync(j.report, 'utf8');
  expect(html).toMatch(/<svg/);
  // The demo is a study: its report and results.json come from the experiment machinery.
  expect(html).toContain('<h2 id="scores">Fine-tuned scores on the held-out tasks');
  expect(html).toContain('<tr><td>ExT5 pre-training mixture</td><td>mini_ext5_pretrain</td></tr>');
  expect(JSON.parse(fs.readFileSync(path.join(out, 'results.json'), 'utf8')).study).toBe('demo');
  for (const d of [
    'pretrain-ext5',
    'pretrain-t5',
    'finetune-ext5-mini_nli_counts',
    'finetune-t5-mini_word_problems',
  ]) {
    expect(fs.existsSync(path.join(out, d, 'metrics.jsonl'))).toBe(true);
  }
});

test('eval prints metrics as JSON and writes predictions', () => {
  const preds = path.join(tmp, 'preds');
  const r = runCli([
    'eval',
    '--checkpoint',
    run,
    '--benchmark',
    'mini_nli_counts',
    '--max-examples',
    '6',
    '--json',
    '--predictions',
    preds,
    '--rank-classification',
  ]);
  expect(r.status).toBe(0);
  const j = JSON.parse(r.stdout);
  expect(j.tasks[0].task).toBe('mini_nli_counts');
  expect(j.tasks[0].count).toBe(6);
  const lines = fs.readFileSync(path.join(preds, 'mini_nli_counts.jsonl'), 'utf8').trim().split('\n');
  expect(lines).toHaveLength(6);
  const p = JSON.parse(lines[0]!);
  expect(['entailment', 'neutral', 'contradiction']).toContain(p.prediction); // rank classification picks a label
  // accuracy is the share of predictions equal to the targets
  const all = lines.map((l) => JSON.parse(l));
  const acc = (100 * all.filter((x) => x.prediction === x.target).length) / all.length;
  expect(j.tasks[0].metrics.accuracy).toBeCloseTo(acc, 10);
});

test('finetune starts from a run directory, reports the validation loss, takes --threads; refuses no checkpoint', () => {
  const ft = path.join(tmp, 'ft');
  const r = runCli([
    'finetune',
    '--preset',
    'tiny-demo-finetune',
    '--checkpoint',
    run, // a run directory: its newest checkpoint, as eval and predict take it
    '--run-dir',
    ft,
    '--steps',
    '2',
    '--batch-size',
    '4',
    '--threads',
    '1',
    '--no-progress',
    '--json',
    '--set',
    'eval.every=2',
    '--set',
    'eval.lossBatches=1',
    '--set',
    'eval.maxExamples=4',
    '--set',
    'eval.rankClassification=true',
  ]);
  expect(r.stderr).not.toMatch(/error/);
  expect(r.status).toBe(0);
  const j = JSON.parse(r.stdout);
  expect(j.step).toBe(2);
  expect(typeof j.validationLoss).toBe('number');
  expect(j.validationLoss).toBeGreaterThan(0);
  expect(Object.keys(j.evals)).toEqual(['mini_nli_counts']);
  const cfg = JSON.parse(fs.readFileSync(path.join(ft, 'config.json'), 'utf8'));
  expect(cfg.model.checkpoint).toBe(path.join(run, 'checkpoints', 'step-00000004'));
  expect(cfg.training.threads).toBe(1);
  expect(JSON.parse(fs.readFileSync(path.join(ft, 'env.json'), 'utf8')).threads).toBe(1);
  // docs/observability.md shows metrics.jsonl lines as the run writes them: same splits, same keys.
  const real = fs
    .readFileSync(path.join(ft, 'metrics.jsonl'), 'utf8')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as Record<string, unknown>);
  const obs = fs.readFileSync(path.join(__dirname, '..', '..', 'docs', 'observability.md'), 'utf8');
  const documented = [...obs.matchAll(/^(\{"step":.*\})$/gm)].map(
    (m) => JSON.parse(m[1]!) as Record<string, unknown>,
  );
  const shown = documented.filter((d) => real.some((r) => r.split === d.split));
  expect(shown.map((d) => d.split)).toEqual(['train', 'validation', 'eval/mini_nli_counts']);
  for (const d of shown) {
    const r = real.find((x) => x.split === d.split)!;
    expect(Object.keys(d).sort()).toEqual(Object.keys(r).sort());
  }
  // One scale: the file's accuracy is the summary's, on 0-100.
  const acc = real.find((x) => x.split === 'eval/mini_nli_counts')!.accuracy as number;
  expect(acc).toBe(j.evals.mini_nli_counts.accuracy);
  expect(acc).toBeGreaterThanOrEqual(0);
  expect(acc).toBeLessThanOrEqual(100);
  expect(acc % 25).toBe(0); // 4 examples on 0-100: a multiple of 25 (0-1 would give 0.25, 0.5, ...)
  const none = runCli(['finetune', '--preset', 'tiny-demo-finetune', '--run-dir', path.join(tmp, 'ft-none')]);
  expect(none.status).toBe(1);
  expect(none.stderr).toContain('[EXT5_NO_CHECKPOINT]');
  expect(none.stderr).toContain('--from-scratch');
  expect(none.loadedLibtorch).toBe(false);
  expect(fs.existsSync(path.join(tmp, 'ft-none'))).toBe(false);
  const typo = runCli(['pretrain', '--preset', 'tiny-test', '--mixture', 'mini_ext5_pretrian']);
  expect(typo.status).toBe(1);
  expect(typo.stderr).toContain("did you mean 'mini_ext5_pretrain'");
  expect(typo.loadedLibtorch).toBe(false);
});

test('eval --print-config resolves the run directory and the benchmark; a typo names the closest benchmark', () => {
  const r = runCli(['eval', '--checkpoint', run, '--benchmark', 'mini_nli_counts', '--print-config']);
  expect(r.status).toBe(0);
  expect(r.stdout).toContain(`checkpoint: ${path.join(run, 'checkpoints', 'step-00000004')}`);
  expect(r.stdout).toMatch(/^tasks: \[mini_nli_counts\]$/m);
  expect(r.stdout).toMatch(/^decoding: greedy$/m);
  const typo = runCli(['eval', '--checkpoint', run, '--benchmark', 'superglu']);
  expect(typo.status).toBe(1);
  expect(typo.stderr).toContain("no benchmark, mixture or task named 'superglu' (did you mean 'superglue'?)");
  const pc = runCli(['pretrain', '--preset', 'tiny-test', '--steps', '9', '--print-config']);
  expect(pc.status).toBe(0);
  expect(pc.stdout).toMatch(/^ {2}steps: 9 /m);
  expect(pc.stdout).toContain('#   training.steps: --steps');
  expect(pc.loadedLibtorch).toBe(false);
});

test('predict reads stdin (plain lines and JSONL) and writes one prediction per input', () => {
  const r = runCli(['predict', '--checkpoint', run, '-', '--json', '--max-new-tokens', '4'], {
    input: 'topic: a match\n{"inputs": "nli counts premise: two pears"}\n\n',
  });
  expect(r.status).toBe(0);
  const lines = r.stdout
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l));
  expect(lines.map((l) => l.inputs)).toEqual(['topic: a match', 'nli counts premise: two pears']);
  expect(typeof lines[0].prediction).toBe('string');
  const bad = runCli(['predict', '--checkpoint', run, '-'], { input: '{"input": 3}\n' });
  expect(bad.status).toBe(1);
  expect(bad.stderr).toMatch(/stdin:1: .*"inputs"/);
});

test('convert writes a Hugging Face export in bfloat16', () => {
  const out = path.join(tmp, 'export');
  const r = runCli(['convert', run, out, '--dtype', 'bfloat16']);
  expect(r.status).toBe(0);
  const cfg = JSON.parse(fs.readFileSync(path.join(out, 'config.json'), 'utf8'));
  expect(cfg.model_type).toBe('t5');
  // transformers 5 reads "dtype", older 4.x "torch_dtype": both are written, with the one value.
  expect([cfg.dtype, cfg.torch_dtype]).toEqual(['bfloat16', 'bfloat16']);
  const buf = fs.readFileSync(path.join(out, 'model.safetensors'));
  const header = JSON.parse(buf.subarray(8, 8 + Number(buf.readBigUInt64LE(0))).toString('utf8'));
  expect(header['shared.weight'].dtype).toBe('BF16');
  // The run's vocabulary (mini) becomes the tokenizer files a Hugging Face T5 tokenizer loads.
  expect(r.stdout).toMatch(/with tokenizer files/);
  const mini = path.join(root, 'assets', 'mini', 'spm', 'mini.model');
  expect(fs.readFileSync(path.join(out, 'spiece.model')).equals(fs.readFileSync(mini))).toBe(true);
  const tok = JSON.parse(fs.readFileSync(path.join(out, 'tokenizer_config.json'), 'utf8'));
  expect(tok).toMatchObject({ tokenizer_class: 'T5Tokenizer', extra_ids: 100 });
  expect(runCli(['convert', run, out]).stderr).toMatch(/already exists/);
});

test('a config with an unknown key or a wrong type is a clear error', () => {
  const bad = path.join(tmp, 'bad.yaml');
  fs.writeFileSync(bad, 'training:\n  stpes: 10\n');
  const r = runCli(['pretrain', '--preset', 'tiny-test', '--config', bad, '--run-dir', path.join(tmp, 'x')]);
  expect(r.status).toBe(1);
  expect(r.stderr).toMatch(/training\.stpes.*did you mean 'training\.steps'/);
  const t = runCli([
    'pretrain',
    '--preset',
    'tiny-test',
    '--set',
    'training.batchSize=many',
    '--run-dir',
    path.join(tmp, 'y'),
  ]);
  expect(t.stderr).toMatch(/training\.batchSize: expected a positive integer, got "many" \(from --set\)/);
});

test('resuming a checkpoint with a config of another model size is refused', () => {
  const r = runCli([
    'pretrain',
    '--preset',
    'tiny-test',
    '--no-progress',
    '--run-dir',
    run,
    '--resume',
    'auto',
    '--steps',
    '6',
    '--set',
    'model.config=t5-tiny',
    '--set',
    'model.vocabSize=4096',
  ]);
  expect(r.status).toBe(1);
  expect(r.stderr).toMatch(/EXT5_CHECKPOINT_MISMATCH/);
  expect(r.stderr).toMatch(/vocab_size: checkpoint 2048, config 4096/);
});
