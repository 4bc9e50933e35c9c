// What `ext5 finetune` tells a user about the run it is about to make (--print-config) and made (the
// summary), checked against what the run actually used and logged: a T5 v1.0 (relu) checkpoint under
// a preset whose model.config names a T5.1.1, and a summary loss that must equal metrics.jsonl's.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { T5ForConditionalGeneration } from '../../lib/model/t5';
import { preset } from '../../lib/model/t5_presets';
import { formatLoss } from '../../lib/train/trainer';
import { runCli } from './helpers/cli';

jest.setTimeout(120_000);

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'ext5-ft-summary-'));
const ckpt = path.join(tmp, 't5-v1_0-tiny');
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

beforeAll(async () => {
  // t5-tiny is T5 v1.0 (relu, tied embeddings); tiny-demo-finetune's model.config is t5-v1_1-tiny.
  const model = new T5ForConditionalGeneration({ ...preset('t5-tiny'), vocab_size: 2048 }, { seed: 0 });
  await model.savePretrained(ckpt);
  model.dispose();
});

const BASE = ['finetune', '--preset', 'tiny-demo-finetune', '--checkpoint', ckpt, '--batch-size', '4'];

test('--print-config shows the model the checkpoint holds, not the preset it overrides', () => {
  const r = runCli([...BASE, '--print-config']);
  expect(r.status).toBe(0);
  const line = r.stdout.split('\n').find((l) => l.startsWith('  config: '));
  expect(line?.split('  #')[0]).toBe(`  config: ${ckpt}`);
  expect(r.stdout).not.toMatch(/# {3}model\.config: preset/);
  expect(r.stdout).toContain(
    `# the model trained: T5 v1.0 (relu), d_model 32, d_ff 64, 2+2 layers, 4 heads, vocab 2048, from ${path.join(ckpt, 'config.json')}`,
  );
  expect(r.stdout).toMatch(
    /# {3}model\.config: the checkpoint's own config\.json \(model\.checkpoint, from --checkpoint\)/,
  );
});

test("the summary's last loss is metrics.jsonl's for that step; a missing validation loss says why", () => {
  const dir = path.join(tmp, 'run');
  const r = runCli([
    ...BASE,
    '--run-dir',
    dir,
    '--steps',
    '5',
    '--no-progress',
    '--set',
    'logging.every=2',
    '--set',
    'eval.lossBatches=0',
    '--set',
    'eval.every=0',
  ]);
  expect(r.stderr).not.toMatch(/error/i);
  expect(r.status).toBe(0);
  const train = fs
    .readFileSync(path.join(dir, 'metrics.jsonl'), 'utf8')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l))
    .filter((m) => m.split === 'train');
  expect(train.map((m) => m.step)).toEqual([2, 4, 5]);
  const logged = formatLoss(train.at(-1).loss);
  expect(r.stdout).toContain(
    `  last loss       ${logged} (logged at step 5: the mean over its logging interval)\n`,
  );
  expect(r.stdout).toContain('  validation loss - (eval.lossBatches is 0');
});
