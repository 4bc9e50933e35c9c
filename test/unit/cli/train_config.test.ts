// What `ext5 pretrain` / `ext5 finetune` resolve before they build anything: names, the
// checkpoint to start from, --threads, and what --print-config shows.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { TrainArgs } from '../../../lib/cli/train_common';
import { renderResolvedConfig, resolveTrainingConfig } from '../../../lib/cli/train_run';
import { Ext5Error } from '../../../lib/util/errors';

const base: TrainArgs = { progress: false, json: false, 'print-config': false };
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'ext5-traincfg-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

function codeOf(f: () => unknown): { code: string; message: string } {
  try {
    f();
  } catch (e) {
    if (e instanceof Ext5Error) return { code: e.code, message: e.message };
    throw e;
  }
  throw new Error('expected an Ext5Error');
}

/** A run directory with two complete checkpoints (the files listCheckpoints looks for). */
function fakeRun(): string {
  const run = path.join(tmp, 'run');
  for (const step of ['step-00000002', 'step-00000004']) {
    const d = path.join(run, 'checkpoints', step);
    fs.mkdirSync(d, { recursive: true });
    for (const f of ['config.json', 'trainer_state.json', 'model.safetensors'])
      fs.writeFileSync(path.join(d, f), '{}');
  }
  fs.writeFileSync(path.join(run, 'config.json'), '{}');
  return run;
}

test('a mistyped mixture is reported as an unknown name with the closest one, before anything loads', () => {
  const e = codeOf(() =>
    resolveTrainingConfig(
      'pretrain',
      { ...base, preset: 'tiny-demo' },
      { 'data.mixtureOrTask': ['--mixture', 'mini_ext5_pretrian'] },
    ),
  );
  expect(e.code).toBe('UNKNOWN_NAME');
  expect(e.message).toContain("did you mean 'mini_ext5_pretrain'");
});

test('a mistyped eval benchmark is reported with the closest benchmark', () => {
  const e = codeOf(() =>
    resolveTrainingConfig(
      'finetune',
      { ...base, preset: 'tiny-demo-finetune', 'from-scratch': true },
      {
        'eval.tasks': ['--eval', ['superglu']],
      },
    ),
  );
  expect(e.code).toBe('UNKNOWN_NAME');
  expect(e.message).toContain("did you mean 'superglue'");
});

test('finetune --checkpoint takes a run directory, as eval and predict do (opened when the run starts)', () => {
  const run = fakeRun();
  const r = resolveTrainingConfig(
    'finetune',
    { ...base, preset: 'tiny-demo-finetune' },
    { 'model.checkpoint': ['--checkpoint', run] },
  );
  // Its newest checkpoint is chosen when the model loads: a live run may prune the one newest now.
  expect(r.config.model.checkpoint).toBe(run);
  const e = codeOf(() =>
    resolveTrainingConfig(
      'finetune',
      { ...base, preset: 'tiny-demo-finetune' },
      { 'model.checkpoint': ['--checkpoint', tmp] },
    ),
  );
  expect(e.code).toBe('EXT5_CHECKPOINT');
});

test('finetune without a checkpoint refuses unless --from-scratch says so', () => {
  const e = codeOf(() => resolveTrainingConfig('finetune', { ...base, preset: 'tiny-demo-finetune' }, {}));
  expect(e.code).toBe('EXT5_NO_CHECKPOINT');
  const ok = resolveTrainingConfig(
    'finetune',
    { ...base, preset: 'tiny-demo-finetune', 'from-scratch': true },
    {},
  );
  expect(ok.config.model.checkpoint).toBeNull();
  expect(
    codeOf(() =>
      resolveTrainingConfig(
        'finetune',
        { ...base, preset: 'tiny-demo-finetune', 'from-scratch': true },
        {
          'model.checkpoint': ['--checkpoint', fakeRun()],
        },
      ),
    ).code,
  ).toBe('EXT5_CONFIG');
  // Resuming a fine-tuning run from its own checkpoints needs no --checkpoint again.
  const again = resolveTrainingConfig(
    'finetune',
    { ...base, preset: 'tiny-demo-finetune', 'run-dir': fakeRun(), resume: 'auto' },
    {},
  );
  expect(again.config.model.checkpoint).toBeNull();
  expect(
    codeOf(() =>
      resolveTrainingConfig(
        'finetune',
        { ...base, preset: 'tiny-demo-finetune', 'run-dir': path.join(tmp, 'fresh'), resume: 'auto' },
        {},
      ),
    ).code,
  ).toBe('EXT5_NO_CHECKPOINT');
  // pretrain starts from random weights by design.
  expect(
    resolveTrainingConfig('pretrain', { ...base, preset: 'tiny-demo' }, {}).config.model.checkpoint,
  ).toBeNull();
});

test('--threads sets training.threads', () => {
  const r = resolveTrainingConfig('pretrain', { ...base, preset: 'tiny-demo', threads: 3 }, {});
  expect(r.config.training.threads).toBe(3);
  expect(r.sources['training.threads']).toBe('--threads');
  // A later --set of the same key wins, and is named as the source.
  const both = resolveTrainingConfig(
    'pretrain',
    { ...base, preset: 'tiny-demo', threads: 3, set: ['training.threads=2'] },
    {},
  );
  expect(both.config.training.threads).toBe(2);
  expect(both.sources['training.threads']).toBe('--set');
});

test('--print-config shows the resolved values and where the non-default ones came from', () => {
  const r = resolveTrainingConfig('pretrain', { ...base, preset: 'tiny-demo', steps: 7 }, {});
  const text = renderResolvedConfig(r);
  expect(text).toMatch(/^training:$/m);
  expect(text).toMatch(/^ {2}steps: 7 /m);
  expect(text).toContain("#   data.mixtureOrTask: preset 'tiny-demo'");
  expect(text).toContain('#   training.steps: --steps');
  // It is a config file: --config loads it back to the same config.
  const file = path.join(tmp, 'printed.yaml');
  fs.writeFileSync(file, text);
  expect(resolveTrainingConfig('pretrain', { ...base, config: file }, {}).config).toEqual(r.config);
});

test('--gradient-checkpointing and --no-gradient-checkpointing set model.gradientCheckpointing, named as the source', () => {
  const on = resolveTrainingConfig(
    'pretrain',
    { ...base, preset: 'tiny-demo', 'gradient-checkpointing': true },
    {},
  );
  expect(on.config.model.gradientCheckpointing).toBe(true);
  expect(on.sources['model.gradientCheckpointing']).toBe('--gradient-checkpointing');
  const off = resolveTrainingConfig(
    'pretrain',
    { ...base, preset: 'tiny-demo', 'gradient-checkpointing': false, set: [] },
    {},
  );
  expect(off.config.model.gradientCheckpointing).toBe(false);
  expect(off.sources['model.gradientCheckpointing']).toBe('--no-gradient-checkpointing');
  const unset = resolveTrainingConfig('pretrain', { ...base, preset: 'tiny-demo' }, {});
  expect(unset.config.model.gradientCheckpointing).toBe(false);
  expect(unset.sources['model.gradientCheckpointing']).toBe('default');
});
