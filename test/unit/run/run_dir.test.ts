import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { loadRunConfig } from '../../../lib/run/run_config';
import {
  createRunDir,
  defaultRunDirPath,
  type EnvFile,
  environmentRecord,
  openRunDir,
  RUN_FILES,
  runDirPaths,
} from '../../../lib/run/run_dir';

let dir: string;
beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ext5-run-'));
});
afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

test('layout: config.json, env.json, checkpoints/, predictions/', () => {
  const cfg = loadRunConfig({ preset: 'tiny-test' });
  const root = path.join(dir, 'run');
  const run = createRunDir(root, cfg, {
    libtorchVersion: '1.13.1',
    threads: 2,
    argv: ['node', 'ext5', 'pretrain'],
    startTime: new Date('2026-11-26T02:00:00Z'),
  });
  expect(run).toEqual(runDirPaths(root));
  expect(fs.readdirSync(root).sort()).toEqual(['checkpoints', 'config.json', 'env.json', 'predictions']);
  expect(JSON.parse(fs.readFileSync(run.configPath, 'utf8'))).toEqual(cfg);
  const env = JSON.parse(fs.readFileSync(run.envPath, 'utf8')) as EnvFile;
  expect(env.libtorchVersion).toBe('1.13.1');
  expect(env.threads).toBe(2);
  expect(env.argv).toEqual(['node', 'ext5', 'pretrain']);
  expect(env.startTime).toBe('2026-11-26T02:00:00.000Z');
  expect(env.node).toBe(process.version);
  expect(env.hostname).toBe(os.hostname());
  expect(env.ext5Version).toBe(
    JSON.parse(fs.readFileSync(path.resolve(__dirname, '../../../package.json'), 'utf8')).version,
  );
  expect(env.resumes).toEqual([]);
  // This test runs from the git checkout: the commit is recorded.
  if (fs.existsSync(path.resolve(__dirname, '../../../.git')))
    expect(env.gitCommit).toMatch(/^[0-9a-f]{40}$/);
});

test('an existing run is not overwritten unless resuming; a resume is added to env.json', () => {
  const cfg = loadRunConfig({ preset: 'tiny-test' });
  const root = path.join(dir, 'run');
  createRunDir(root, cfg);
  expect(() => createRunDir(root, cfg)).toThrow(/already holds a run \(it has config\.json\)/);
  const cfg2 = loadRunConfig({ preset: 'tiny-test', set: ['training.steps=8'] });
  createRunDir(root, cfg2, { ifExists: 'resume', argv: ['again'] });
  const opened = openRunDir(root);
  expect(opened.config?.training.steps).toBe(8);
  expect(opened.env?.resumes.map((r) => r.argv)).toEqual([['again']]);
});

test('openRunDir reads config, env and event files; errors name the problem', () => {
  const cfg = loadRunConfig({ preset: 'tiny-test' });
  const root = path.join(dir, 'r');
  createRunDir(root, cfg);
  fs.writeFileSync(path.join(root, 'events.out.tfevents.1.h'), '');
  const o = openRunDir(root);
  expect(o.config).toEqual(cfg);
  expect(o.eventFiles).toEqual([path.join(root, 'events.out.tfevents.1.h')]);
  expect(() => openRunDir(path.join(dir, 'missing'))).toThrow(/run directory '.*missing' does not exist/);
  fs.writeFileSync(path.join(dir, 'plain'), '');
  expect(() => openRunDir(path.join(dir, 'plain'))).toThrow(/is a file, not a run directory/);
  fs.mkdirSync(path.join(dir, 'empty'));
  expect(() => openRunDir(path.join(dir, 'empty'))).toThrow(/neither config\.json nor metrics\.jsonl/);
  fs.writeFileSync(path.join(root, RUN_FILES.config), '{oops');
  expect(() => openRunDir(root)).toThrow(/config\.json: not valid JSON/);
});

test('a config.json from another version is kept raw when it does not validate', () => {
  const root = path.join(dir, 'old');
  fs.mkdirSync(root);
  fs.writeFileSync(path.join(root, RUN_FILES.config), JSON.stringify({ training: { stepz: 1 } }));
  const o = openRunDir(root);
  expect(o.config).toBeNull();
  expect(o.rawConfig).toEqual({ training: { stepz: 1 } });
});

test('default run directory name', () => {
  const when = new Date('2026-11-26T02:05:38.123Z');
  expect(defaultRunDirPath(loadRunConfig({ preset: 'tiny-demo' }), when)).toBe(
    path.join('runs', 'tiny-demo-20261126-020538'),
  );
  expect(defaultRunDirPath(loadRunConfig({}), when)).toBe(path.join('runs', 'pretrain-20261126-020538'));
  expect(defaultRunDirPath(loadRunConfig({ set: ['run.dir=/x/y'] }), when)).toBe('/x/y');
  expect(defaultRunDirPath(loadRunConfig({ set: ['run.name=a b/c'] }), when)).toBe(
    path.join('runs', 'a_b_c-20261126-020538'),
  );
});

test('environmentRecord defaults', () => {
  const e = environmentRecord();
  expect(e.libtorchVersion).toBeNull();
  expect(e.argv).toEqual(process.argv);
  expect(e.cpuCount).toBeGreaterThan(0);
  expect(Number.isNaN(Date.parse(e.startTime))).toBe(false);
});
