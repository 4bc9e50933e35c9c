// `ext5 plan` as a user runs it (dist/ must be built): per-rank bytes and whether they fit, the
// statements it makes about T5.1.1 XXL on one and on eight 80 GB devices, the note and `runnable:
// false` for planned sharding, a run preset's settings, a Hub id's config.json fetched from the
// local Hub, coded errors for bad sizes, and that it never loads libtorch. A preset that needs
// sharding is refused by `ext5 pretrain` before anything loads.
import { execFile } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { preset } from '../../lib/model/t5_presets';
import { LocalHub } from '../helpers/hub_server';
import { cliPath, runCli } from './helpers/cli';

jest.setTimeout(120_000);

const XXL = ['plan', '--model', 't5-v1_1-xxl', '--dtype', 'bfloat16', '--device-memory', '80GB'];

function planJson(args: string[]) {
  const r = runCli([...args, '--json']);
  expect(r.stderr).toBe('');
  expect(r.status).toBe(0);
  expect(r.loadedLibtorch).toBe(false);
  return JSON.parse(r.stdout);
}

test('XXL at batch 1 does not fit one 80 GB device without sharding; the JSON has every part', () => {
  const j = planJson([...XXL, '--batch-size', '1']);
  expect(j).toMatchObject({
    model: 't5-v1_1-xxl',
    parametersCount: 11135332352,
    worldSize: 1,
    deviceMemory: 80e9,
    rowsPerRank: 1,
    inputsLength: 512,
    targetsLength: 114,
    dtype: 'bfloat16',
    sharding: 'none',
    gradientCheckpointing: false,
    fits: false,
    runnable: true,
    suggestion: { cheapest: null, cheapestRunnable: null },
  });
  const p = j.perRank;
  expect(p.total).toBe(p.parameters + p.gradients + p.optimizer + p.activations + p.workspace);
  expect(p.parameters).toBe(4 * 11135332352);
  expect(p.total).toBeGreaterThan(80e9);
  const text = runCli([...XXL, '--batch-size', '1', '--gradient-checkpointing']);
  expect(text.status).toBe(0);
  expect(text.stdout).toMatch(/^ {2}total +\d+ B/m);
  expect(text.stdout).toContain('does not fit 80000000000 B');
  expect(text.stdout).toContain('cheapest runnable:          none at this batch');
});

test('on 8 devices, 1 row each, the cheapest fit is ZeRO-3 without checkpointing, which needs it; sharded gradients with checkpointing runs', () => {
  const j = planJson([...XXL, '--world-size', '8', '--batch-size', '8']);
  expect(j.fits).toBe(false);
  expect(j.suggestion.cheapest).toMatchObject({
    sharding: 'full',
    gradientCheckpointing: false,
    runnable: false,
  });
  expect(j.suggestion.cheapestRunnable).toMatchObject({
    sharding: 'gradients',
    gradientCheckpointing: true,
    runnable: true,
  });
  const sharded = planJson([...XXL, '--world-size', '8', '--batch-size', '8', '--sharding', 'full']);
  expect(sharded).toMatchObject({ fits: true, runnable: false, sharding: 'full' });
  expect(sharded.notes.join(' ')).toContain('runs with --gradient-checkpointing only');
  expect(sharded.perRank.parameters).toBeLessThan(j.perRank.parameters / 7);
  const text = runCli([...XXL, '--world-size', '8', '--batch-size', '8', '--sharding', 'full']);
  expect(text.stdout).toContain("note: sharding 'full' runs with --gradient-checkpointing only");
  expect(text.stdout).toContain('cheapest setting that fits: --sharding full (');
});

test('a run preset plans with its own settings: ext5-pretrain-xxl on 8 x 80 GB', () => {
  const j = planJson(['plan', '--preset', 'ext5-pretrain-xxl', '--world-size', '8']);
  expect(j).toMatchObject({
    rowsPerRank: 16,
    sharding: 'gradients',
    gradientCheckpointing: true,
    fits: true,
    runnable: true,
  });
});

test('device memory in decimal and binary units, exactly; bad sizes are coded errors', () => {
  const at = (mem: string) =>
    planJson(['plan', '--model', 't5-v1_1-small', '--device-memory', mem]).deviceMemory;
  expect(at('80GiB')).toBe(85899345920);
  expect(at('81920MiB')).toBe(85899345920);
  expect(at('1.5GB')).toBe(1.5e9);
  for (const bad of ['80', '80gigs', '0GB', '0.5B']) {
    const r = runCli(['plan', '--model', 't5-v1_1-small', '--device-memory', bad]);
    expect(r.status).not.toBe(0);
    expect(r.stderr).toContain('EXT5_INVALID_ARG');
    expect(r.stderr).toContain('--device-memory');
  }
  const r = runCli(['plan', '--model', 't5-v1_1-small', '--sharding', 'zero3']);
  expect(r.status).not.toBe(0);
  expect(r.stderr).toContain('training.sharding');
});

test("ext5 pretrain refuses sharding 'full' without checkpointing, before loading libtorch", () => {
  const r = runCli([
    'pretrain',
    '--preset',
    'ext5-pretrain-xxl',
    '--set',
    'training.sharding=full',
    '--set',
    'model.gradientCheckpointing=false',
    '--no-progress',
    '--run-dir',
    path.join(os.tmpdir(), 'ext5-never'),
  ]);
  expect(r.status).not.toBe(0);
  expect(r.stderr).toContain('EXT5_NOT_RUNNABLE');
  expect(r.stderr).toContain("training.sharding 'full'");
  expect(r.stderr).toContain('--gradient-checkpointing');
  expect(r.loadedLibtorch).toBe(false);
  expect(fs.existsSync(path.join(os.tmpdir(), 'ext5-never'))).toBe(false);
});

describe('a Hub id', () => {
  let hub: LocalHub;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ext5-e2e-plan-'));
  beforeAll(async () => {
    hub = await LocalHub.start();
    hub.setFiles('model', 'org/xl-arch', 'main', [
      { path: 'config.json', body: Buffer.from(JSON.stringify(preset('t5-v1_1-xl'))) },
    ]);
  });
  afterAll(async () => {
    await hub.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  test("fetches only the id's config.json and plans that model", async () => {
    const out = await new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
      execFile(
        process.execPath,
        [cliPath, 'plan', '--model', 'org/xl-arch', '--json'],
        {
          env: {
            ...process.env,
            HF_ENDPOINT: hub.endpoint,
            HF_HOME: path.join(dir, 'hf'),
            HF_HUB_CACHE: '',
            HF_TOKEN: '',
          },
          timeout: 100_000,
        },
        (err, stdout, stderr) => resolve({ code: err ? 1 : 0, stdout, stderr }),
      );
    });
    expect([out.code, out.stderr]).toEqual([0, expect.stringContaining('config.json')]);
    expect(fs.readdirSync(path.join(dir, 'hf', 'hub'))).toEqual(['models--org--xl-arch']);
    expect(JSON.parse(out.stdout)).toMatchObject({ model: 'org/xl-arch', parametersCount: 2849757184 });
  });
});
