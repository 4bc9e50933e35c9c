import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { makeSchedule } from '../../../lib/optim/schedules';
import { adafactorOptions, batchRows, scheduleSpec } from '../../../lib/run/derive';
import {
  CONFIG_KEYS,
  configKeyPaths,
  defaultRunConfig,
  describeType,
  getPath,
  loadRunConfig,
  MAX_CONFIG_FILE_BYTES,
  MAX_CONFIG_VALUES,
  parseSetArg,
  type RunConfig,
  renderConfigYaml,
  resolveRunConfig,
  serializeRunConfig,
  validateRunConfig,
} from '../../../lib/run/run_config';
import { RUN_PRESETS, runPreset, runPresetNames } from '../../../lib/run/run_presets';
import { Ext5Error } from '../../../lib/util/errors';
import { cpuClock } from '../../helpers/cpu_clock';

let dir: string;
beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ext5-config-'));
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

function write(name: string, text: string): string {
  const p = path.join(dir, name);
  fs.writeFileSync(p, text);
  return p;
}

function errorOf(f: () => unknown): Ext5Error {
  try {
    f();
  } catch (e) {
    if (e instanceof Ext5Error) return e;
    throw e;
  }
  throw new Error('expected an Ext5Error');
}

// Every leaf of a literal RunConfig: the compiler checks this object against the interface, the test
// checks the table against this object, so interface and table cannot drift apart.
const FULL: RunConfig = {
  run: { kind: 'pretrain', name: null, dir: null },
  model: { config: 't5-v1_1-small', checkpoint: null, vocabSize: null, gradientCheckpointing: false },
  data: {
    mixtureOrTask: 'ext5_pretrain',
    dataDir: null,
    vocabulary: null,
    inputsLength: 512,
    targetsLength: 114,
    noiseDensity: 0.15,
    meanNoiseSpanLength: 3,
    pack: true,
    trainSplit: 'train',
    evalSplit: 'validation',
  },
  mixture: { R: 2, K: 300000, temperature: 1 },
  training: {
    steps: 1000000,
    batchSize: 2048,
    batchUnit: 'examples',
    gradAccumulation: 1,
    gradClip: 0,
    zLoss: 0,
    labelSmoothing: 0,
    dropout: null,
    seed: 0,
    dtype: 'float32',
    sharding: 'none',
    device: 'cpu',
    threads: null,
  },
  optimizer: {
    name: 'adafactor',
    schedule: 'rsqrt',
    lr: null,
    warmupSteps: null,
    decaySteps: null,
    minLr: 0,
    offset: 0,
    scaleParameter: true,
    clipThreshold: 1,
    decayRate: 0.8,
    beta1: null,
    eps1: 1e-30,
    eps2: 1e-3,
    weightDecay: 0,
    factored: true,
    minDimSizeToFactor: 128,
  },
  eval: {
    every: 5000,
    lossBatches: 20,
    tasks: [],
    split: 'validation',
    maxExamples: null,
    batchSize: null,
    decoding: 'greedy',
    numBeams: 4,
    lengthPenalty: 0.6,
    maxNewTokens: null,
    rankClassification: false,
  },
  checkpoint: { every: 5000, keepLast: 3, resume: 'auto' },
  logging: { every: 100, tensorboard: true, progress: true },
};

describe('defaults', () => {
  test('the table covers exactly the RunConfig interface, with the ExT5/T5 recipe as defaults', () => {
    const leaves: string[] = [];
    const walk = (o: unknown, p: string) => {
      if (o !== null && typeof o === 'object' && !Array.isArray(o)) {
        for (const [k, v] of Object.entries(o)) walk(v, p ? `${p}.${k}` : k);
      } else leaves.push(p);
    };
    walk(FULL, '');
    expect(configKeyPaths().sort()).toEqual(leaves.sort());
    expect(defaultRunConfig()).toEqual(FULL);
  });

  test('T5 pre-training facts: 512/114, noise 0.15, span 3, R=2, K=3e5, rsqrt 1/sqrt(max(step, 1e4))', () => {
    const c = defaultRunConfig();
    expect([c.data.inputsLength, c.data.targetsLength]).toEqual([512, 114]);
    expect([c.data.noiseDensity, c.data.meanNoiseSpanLength, c.data.pack]).toEqual([0.15, 3, true]);
    expect([c.mixture.R, c.mixture.K, c.mixture.temperature]).toEqual([2, 300000, 1]);
    const lr = makeSchedule(scheduleSpec(c));
    expect(lr(0)).toBeCloseTo(0.01, 12);
    expect(lr(9999)).toBeCloseTo(0.01, 12);
    expect(lr(40_000)).toBeCloseTo(0.005, 12);
  });

  test('defaults are fresh copies', () => {
    const a = defaultRunConfig();
    a.eval.tasks.push('x');
    expect(defaultRunConfig().eval.tasks).toEqual([]);
  });

  test('every default satisfies its own type', () => {
    for (const k of CONFIG_KEYS) {
      const value = JSON.stringify(k.default);
      expect(() => loadRunConfig({ set: [`${k.path}=${value}`] })).not.toThrow();
    }
  });
});

describe('loading', () => {
  test('JSON file', () => {
    const f = write('a.json', JSON.stringify({ training: { steps: 1234, seed: 7 }, data: { pack: false } }));
    const { config, sources } = resolveRunConfig({ file: f });
    expect(config.training.steps).toBe(1234);
    expect(config.training.seed).toBe(7);
    expect(config.data.pack).toBe(false);
    expect(config.training.batchSize).toBe(2048);
    expect(sources['training.steps']).toBe(f);
    expect(sources['training.batchSize']).toBe('default');
    expect(config.run.name).toBe('a');
  });

  test('YAML file with comments, nested sections and exponent numbers', () => {
    const f = write(
      'b.yaml',
      [
        '# a small run',
        'model:',
        '  config: t5-v1_1-tiny',
        'optimizer:',
        '  schedule: cosine',
        '  lr: 3e-3',
        '  warmupSteps: 10',
        'eval:',
        '  tasks: [super_glue_cb, super_glue_rte]',
        '',
      ].join('\n'),
    );
    const c = loadRunConfig({ file: f });
    expect(c.model.config).toBe('t5-v1_1-tiny');
    expect(c.optimizer.lr).toBe(0.003);
    expect(c.eval.tasks).toEqual(['super_glue_cb', 'super_glue_rte']);
    expect(scheduleSpec(c)).toEqual({
      name: 'cosine',
      peak: 0.003,
      warmupSteps: 10,
      totalSteps: 1000000,
      minLr: 0,
    });
  });

  test('an explicitly empty YAML mapping is the defaults (an empty file is refused: see bad input)', () => {
    expect(loadRunConfig({ file: write('empty.yml', '{}\n') })).toEqual({
      ...FULL,
      run: { ...FULL.run, name: 'empty' },
    });
  });

  test('--set: JSON values, plain strings, lists, null; later wins', () => {
    const c = loadRunConfig({
      set: [
        'training.steps=10',
        'training.steps=20',
        'model.config=t5-v1_1-base',
        'eval.tasks=a,b',
        'optimizer.beta1=0.9',
        'optimizer.beta1=null',
        'training.dtype="bfloat16"',
        'logging.tensorboard=false',
      ],
    });
    expect(c.training.steps).toBe(20);
    expect(c.model.config).toBe('t5-v1_1-base');
    expect(c.eval.tasks).toEqual(['a', 'b']);
    expect(c.optimizer.beta1).toBeNull();
    expect(c.training.dtype).toBe('bfloat16');
    expect(c.logging.tensorboard).toBe(false);
  });

  test('order: defaults < preset < file < overrides < --set, with sources', () => {
    const f = write('order.yaml', 'preset: tiny-demo\ntraining:\n  steps: 77\n  seed: 5\n');
    const { config, sources } = resolveRunConfig({
      file: f,
      overrides: { training: { seed: 6 }, run: { kind: 'finetune' } },
      set: ['training.batchSize=8'],
    });
    expect(config.model.config).toBe('t5-v1_1-tiny');
    expect(sources['model.config']).toBe("preset 'tiny-demo'");
    expect(config.training.steps).toBe(77);
    expect(sources['training.steps']).toBe(f);
    expect(config.training.seed).toBe(6);
    expect(sources['training.seed']).toBe('code');
    expect(config.run.kind).toBe('finetune');
    expect(config.training.batchSize).toBe(8);
    expect(sources['training.batchSize']).toBe('--set');
    expect(config.run.name).toBe('tiny-demo');
  });

  test('parseSetArg', () => {
    expect(parseSetArg('a.b=1')).toEqual({ path: 'a.b', value: 1 });
    expect(parseSetArg('a.b=x=y')).toEqual({ path: 'a.b', value: 'x=y' });
    expect(parseSetArg('a.b=')).toEqual({ path: 'a.b', value: '' });
    expect(parseSetArg('a.b=[1,2]')).toEqual({ path: 'a.b', value: [1, 2] });
  });

  test('serialises to JSON and validates back to the same config', () => {
    const c = loadRunConfig({ preset: 'finetune-small', set: ['eval.tasks=super_glue_cb'] });
    const back = validateRunConfig(JSON.parse(serializeRunConfig(c)), 'config.json');
    expect(back).toEqual(c);
  });

  test('renderConfigYaml round-trips through the YAML loader', () => {
    const c = loadRunConfig({ preset: 'tiny-test' });
    const f = write('rt.yaml', renderConfigYaml(c));
    expect(loadRunConfig({ file: f })).toEqual(c);
  });
});

describe('presets', () => {
  test('every preset loads and validates', () => {
    for (const name of runPresetNames()) {
      const c = loadRunConfig({ preset: name });
      expect(c.run.name).toBe(name);
    }
  });

  test('the named recipes', () => {
    const ext5 = loadRunConfig({ preset: 'ext5-pretrain-small' });
    const t5 = loadRunConfig({ preset: 't5-pretrain-small' });
    expect(ext5.data.mixtureOrTask).toBe('ext5_pretrain');
    expect(t5.data.mixtureOrTask).toBe('c4_span_corruption');
    expect({ ...t5.data, mixtureOrTask: 'x' }).toEqual({ ...ext5.data, mixtureOrTask: 'x' });
    const ft = loadRunConfig({ preset: 'finetune-small' });
    expect(scheduleSpec(ft)).toEqual({ name: 'constant', lr: 1e-3 });
    expect([ft.training.dropout, ft.training.batchSize, ft.data.pack]).toEqual([0.1, 128, true]);
    const demo = loadRunConfig({ preset: 'tiny-demo' });
    expect(demo.data.mixtureOrTask).toBe('mini_ext5_pretrain');
    expect(loadRunConfig({ preset: 'tiny-demo-t5' }).data.mixtureOrTask).toBe('mini_c4_span_corruption');
    expect(RUN_PRESETS['tiny-test']!.values['training.steps']).toBeLessThanOrEqual(10);
  });

  test('unknown preset suggests the closest', () => {
    const e = errorOf(() => loadRunConfig({ preset: 'tiny-dmeo' }));
    expect(e.code).toBe('EXT5_UNKNOWN_PRESET');
    expect(e.message).toBe("unknown run preset 'tiny-dmeo' (did you mean 'tiny-demo'?)");
    expect(e.hint).toContain('ext5-pretrain-small');
    expect(() => runPreset('toString')).toThrow(/unknown run preset/);
  });

  test('a file and --preset naming different presets is an error', () => {
    const f = write('p.yaml', 'preset: tiny-demo\n');
    expect(errorOf(() => loadRunConfig({ file: f, preset: 'tiny-test' })).message).toMatch(
      /names preset 'tiny-demo' but --preset 'tiny-test'/,
    );
  });
});

describe('bad input', () => {
  test('an empty config file (or one of comments only) is refused, naming it', () => {
    for (const [name, text] of [
      ['empty.yaml', ''],
      ['blank.yaml', '\n  \n'],
      ['comments.yaml', '# nothing here\n'],
      ['empty.json', ''],
      ['null.yaml', '~\n'],
    ] as const) {
      const f = write(name, text);
      const e = errorOf(() => loadRunConfig({ file: f }));
      expect(e.code).toBe('EXT5_CONFIG');
      expect(e.message).toBe(`config file '${f}' is empty (it holds no keys)`);
    }
  });

  test('a YAML alias bomb is refused quickly, naming the file', () => {
    const lines = ['training:', '  steps:', `    - &a0 [${Array(9).fill('"lol"').join(', ')}]`];
    for (let i = 1; i < 10; i++)
      lines.push(
        `    - &a${i} [${Array(9)
          .fill(`*a${i - 1}`)
          .join(', ')}]`,
      );
    const f = write('bomb.yaml', `${lines.join('\n')}\n`);
    const cpu = cpuClock();
    const e = errorOf(() => loadRunConfig({ file: f }));
    expect(cpu()).toBeLessThan(2000);
    expect(e.code).toBe('EXT5_CONFIG');
    expect(e.message).toBe(
      `${f}: the document expands to more than ${MAX_CONFIG_VALUES} values (YAML aliases repeat what they point to)`,
    );
    // Aliases that do not multiply are fine.
    const ok = write('alias.yaml', 'eval:\n  tasks: &t [mini_nli_places]\n');
    expect(loadRunConfig({ file: ok }).eval.tasks).toEqual(['mini_nli_places']);
  });

  test('a config file too large to be one, or not a regular file, is refused', () => {
    const big = write('big.yaml', `# ${'x'.repeat(MAX_CONFIG_FILE_BYTES)}\ntraining: {steps: 3}\n`);
    expect(errorOf(() => loadRunConfig({ file: big })).message).toMatch(
      /is \d+ bytes, more than a run config/,
    );
    expect(errorOf(() => loadRunConfig({ file: dir })).message).toBe(
      `config file '${dir}' is not a regular file`,
    );
  });

  test('unknown key with a suggestion, in a file and in --set', () => {
    const f = write('typo.yaml', 'training:\n  step: 10\n');
    const e = errorOf(() => loadRunConfig({ file: f }));
    expect(e.code).toBe('EXT5_CONFIG');
    expect(e.message).toBe(`unknown config key 'training.step' (from ${f}) (did you mean 'training.steps'?)`);
    expect(e.hint).toContain('batchSize');
    const s = errorOf(() => loadRunConfig({ set: ['trainig.steps=3'] }));
    expect(s.message).toBe(
      "unknown config key 'trainig.steps' (from --set) (did you mean 'training.steps'?)",
    );
    const sec = errorOf(() => loadRunConfig({ set: ['nonsense=3'] }));
    expect(sec.message).toBe("unknown config key 'nonsense' (from --set)");
    expect(sec.hint).toContain('sections: run, model, data');
  });

  test('wrong type names the key, the expected type and the source', () => {
    expect(errorOf(() => loadRunConfig({ set: ['training.steps=ten'] })).message).toBe(
      'training.steps: expected a positive integer, got "ten" (from --set)',
    );
    const f = write('types.json', JSON.stringify({ data: { pack: 'yes' } }));
    expect(errorOf(() => loadRunConfig({ file: f })).message).toBe(
      `data.pack: expected true or false, got "yes" (from ${f})`,
    );
    expect(errorOf(() => loadRunConfig({ set: ['eval.tasks=3'] })).message).toBe(
      'eval.tasks: expected a list of strings, got 3 (from --set)',
    );
    expect(errorOf(() => loadRunConfig({ set: ['training.steps=null'] })).message).toBe(
      'training.steps: expected a positive integer, got null (from --set)',
    );
    const sectionAsValue = write('sect.yaml', 'training: 5\n');
    expect(errorOf(() => loadRunConfig({ file: sectionAsValue })).message).toBe(
      `training: expected a mapping of keys, got 5 (from ${sectionAsValue})`,
    );
  });

  test('out of range', () => {
    expect(errorOf(() => loadRunConfig({ set: ['training.steps=0'] })).message).toBe(
      'training.steps: expected a positive integer, got 0 (from --set)',
    );
    expect(errorOf(() => loadRunConfig({ set: ['training.steps=1.5'] })).message).toMatch(
      /positive integer, got 1.5/,
    );
    expect(errorOf(() => loadRunConfig({ set: ['data.noiseDensity=1'] })).message).toBe(
      'data.noiseDensity: expected a number in (0, 1), got 1 (from --set)',
    );
    expect(errorOf(() => loadRunConfig({ set: ['training.labelSmoothing=-0.1'] })).message).toMatch(
      /expected a number in \[0, 1\), got -0.1/,
    );
    expect(errorOf(() => loadRunConfig({ set: ['training.seed=-1'] })).message).toMatch(
      /training.seed: expected an integer in \[0, 4294967295\]/,
    );
    expect(errorOf(() => loadRunConfig({ set: ['optimizer.lr=0'] })).message).toBe(
      'optimizer.lr: expected a positive number or null, got 0 (from --set)',
    );
  });

  test('enums and patterns say what is allowed and suggest', () => {
    const e = errorOf(() => loadRunConfig({ set: ['optimizer.schedule=cosin'] }));
    expect(e.message).toBe(
      "optimizer.schedule: expected one of 'rsqrt', 'constant', 'linear', 'cosine', got \"cosin\" (from --set)",
    );
    expect(e.hint).toBe("did you mean 'cosine'?");
    expect(errorOf(() => loadRunConfig({ set: ['training.device=gpu'] })).message).toBe(
      "training.device: expected 'cpu', 'cuda', 'cuda:N' or 'auto', got \"gpu\" (from --set)",
    );
    expect(loadRunConfig({ set: ['training.device=cuda:1'] }).training.device).toBe('cuda:1');
  });

  test('malformed YAML and JSON name the line', () => {
    const y = write('bad.yaml', 'training:\n  steps: 10\n   seed: 3\n');
    const e = errorOf(() => loadRunConfig({ file: y }));
    expect(e.message).toMatch(
      new RegExp(`^${y.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}:3:\\d+: not valid YAML`),
    );
    const j = write('bad.json', '{\n  "training": {\n    "steps": 10,\n  }\n}\n');
    expect(errorOf(() => loadRunConfig({ file: j })).message).toMatch(/bad\.json:4: not valid JSON/);
  });

  test('missing file', () => {
    const e = errorOf(() => loadRunConfig({ file: path.join(dir, 'nope.yaml') }));
    expect(e.code).toBe('EXT5_FILE_NOT_FOUND');
    expect(e.message).toMatch(/nope\.yaml': no such file/);
  });

  test('--set without =', () => {
    expect(errorOf(() => loadRunConfig({ set: ['training.steps'] })).message).toBe(
      "--set 'training.steps': expected key.path=value",
    );
  });

  test('model.config must be a preset or a file; checkPaths=false skips that', () => {
    const e = errorOf(() => loadRunConfig({ set: ['model.config=t5-v1_1-smal'] }));
    expect(e.message).toBe(
      "model.config: 't5-v1_1-smal' is neither a model preset nor an existing file (from --set) (did you mean 't5-v1_1-small'?)",
    );
    const cfg = write('config.json', '{}');
    expect(loadRunConfig({ set: [`model.config=${cfg}`] }).model.config).toBe(cfg);
    expect(
      loadRunConfig({ set: ['model.config=elsewhere/config.json'], checkPaths: false }).model.config,
    ).toBe('elsewhere/config.json');
  });

  test('cross-key checks: token batches, accumulation, schedule bounds', () => {
    expect(
      errorOf(() => loadRunConfig({ set: ['training.batchUnit=tokens', 'training.batchSize=1000'] })).message,
    ).toBe(
      'training.batchSize: 1000 tokens is not a whole number of rows of data.inputsLength 512 (from --set, default)',
    );
    expect(
      errorOf(() => loadRunConfig({ set: ['training.batchSize=10', 'training.gradAccumulation=4'] })).message,
    ).toBe(
      'training.gradAccumulation: 10 rows per step do not split into 4 equal micro-batches (from --set)',
    );
    expect(
      errorOf(() =>
        loadRunConfig({
          set: ['optimizer.schedule=linear', 'optimizer.warmupSteps=50', 'training.steps=10'],
        }),
      ).message,
    ).toMatch(/optimizer: warmupSteps \(50\) must not exceed totalSteps \(10\)/);
  });
});

describe('derived values', () => {
  test('batchRows in examples and tokens', () => {
    expect(
      batchRows(loadRunConfig({ set: ['training.batchSize=128', 'training.gradAccumulation=4'] })),
    ).toEqual({
      rowsPerStep: 128,
      microBatchRows: 32,
      gradAccumulation: 4,
      tokensPerStep: 65536,
    });
    expect(
      batchRows(loadRunConfig({ set: ['training.batchUnit=tokens', 'training.batchSize=65536'] })),
    ).toEqual({
      rowsPerStep: 128,
      microBatchRows: 128,
      gradAccumulation: 1,
      tokensPerStep: 65536,
    });
  });

  test('scheduleSpec for each schedule', () => {
    const spec = (s: string[]) => scheduleSpec(loadRunConfig({ set: s }));
    expect(spec([])).toEqual({ name: 'rsqrt', warmupSteps: 10000, scale: 1, offset: 0 });
    expect(spec(['optimizer.offset=100', 'optimizer.warmupSteps=500'])).toEqual({
      name: 'rsqrt',
      warmupSteps: 500,
      scale: 1,
      offset: 100,
    });
    expect(spec(['optimizer.schedule=constant'])).toEqual({ name: 'constant', lr: 1e-3 });
    expect(spec(['optimizer.schedule=linear', 'optimizer.lr=0.01', 'optimizer.decaySteps=50'])).toEqual({
      name: 'linear',
      peak: 0.01,
      warmupSteps: 0,
      totalSteps: 50,
      minLr: 0,
    });
  });

  test('adafactorOptions carries the optimizer section', () => {
    const o = adafactorOptions(
      loadRunConfig({ set: ['optimizer.beta1=0.9', 'optimizer.scaleParameter=false'] }),
    );
    expect(o).toEqual({
      lr: 0.01,
      relativeStep: false,
      scaleParameter: false,
      eps1: 1e-30,
      eps2: 1e-3,
      clipThreshold: 1,
      decayRate: 0.8,
      beta1: 0.9,
      weightDecay: 0,
      factored: true,
      minDimSizeToFactor: 128,
    });
  });

  test('describeType and getPath', () => {
    expect(describeType({ kind: 'int', min: 0 })).toBe('an integer >= 0');
    expect(describeType({ kind: 'number', min: 0, max: 1, openMin: true, openMax: true })).toBe(
      'a number in (0, 1)',
    );
    expect(getPath(defaultRunConfig(), 'mixture.K')).toBe(300000);
    expect(getPath(defaultRunConfig(), 'mixture.nope')).toBeUndefined();
  });
});
