// The CLI as a user runs it: help, unknown commands, doctor.
import { runCli } from './helpers/cli';

describe('ext5 CLI basics', () => {
  test('--help lists commands and does not load libtorch', () => {
    const r = runCli(['--help']);
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/ext5 doctor/);
    expect(r.loadedLibtorch).toBe(false);
  });

  test('help lists presets, completion and dist-selftest; --version only at the top; completion works', () => {
    const top = runCli(['--help']);
    for (const c of ['presets', 'completion', 'dist-selftest'])
      expect(top.stdout).toMatch(new RegExp(`ext5 ${c}\\b`));
    expect(top.stdout).toContain('--version');
    for (const argv of [
      ['pretrain', '--help'],
      ['finetune', '--help'],
      ['tasks', 'list', '--help'],
    ]) {
      const r = runCli(argv);
      expect(r.status).toBe(0);
      expect(r.stdout).not.toContain('--version');
    }
    const pre = runCli(['pretrain', '--help']).stdout;
    for (const f of ['--threads', '--print-config']) expect(pre).toContain(f);
    expect(runCli(['finetune', '--help']).stdout).toContain('--from-scratch');
    const script = runCli(['completion']);
    expect(script.status).toBe(0);
    expect(script.stdout).toMatch(/ext5 --get-yargs-completions/);
    const flags = runCli(['--get-yargs-completions', 'ext5', 'pretrain', '--st']).stdout.split('\n');
    expect(flags).toContain('--steps');
    const presets = runCli(['--get-yargs-completions', 'ext5', 'pretrain', '--preset', 'tiny-demo-']);
    expect(presets.stdout.trim().split('\n')).toEqual(['tiny-demo-t5', 'tiny-demo-finetune']);
    expect(presets.loadedLibtorch).toBe(false);
  });

  test('an unknown command suggests the closest one and exits 2', () => {
    const r = runCli(['doctr']);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/doctor/);
  });

  test('doctor reports libtorch, BLAS and threads', () => {
    const r = runCli(['doctor'], { env: { EXT5_NUM_THREADS: '2' } });
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/libtorch\s+\d+\.\d+/);
    expect(r.stdout).toMatch(/threads\s+2 intra-op \(EXT5_NUM_THREADS=2\)/);
    expect(r.loadedLibtorch).toBe(true);
  });

  test('doctor --json is machine-readable', () => {
    const r = runCli(['doctor', '--json']);
    expect(r.status).toBe(0);
    const report = JSON.parse(r.stdout);
    expect(report.node.version).toBe(process.version);
    expect(report.torch.version).toMatch(/^\d+\.\d+/);
    expect(report.torch.addon.how).toMatch(/local build|prebuild|env/);
    expect(report.torch.intraOpThreads).toBeGreaterThanOrEqual(1);
    expect(typeof report.torch.cuda.available).toBe('boolean');
  });

  test('a bad EXT5_NUM_THREADS is a clear error', () => {
    const r = runCli(['doctor'], { env: { EXT5_NUM_THREADS: 'lots' } });
    expect(r.stdout + r.stderr).toMatch(/EXT5_NUM_THREADS must be a positive integer/);
  });
});

test('piping into a reader that closes early (`| head`) is not a crash', () => {
  const { spawnSync } = require('node:child_process') as typeof import('node:child_process');
  const r = spawnSync(
    'bash',
    ['-c', `node ${require('./helpers/cli').cliPath} tasks list --json | head -c 10`],
    {
      encoding: 'utf8',
    },
  );
  expect(r.status).toBe(0);
  expect(r.stderr).not.toMatch(/EPIPE|Unhandled/);
});
