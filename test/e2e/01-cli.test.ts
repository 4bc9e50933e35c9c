// The CLI as a user runs it: help, unknown commands, doctor.
import { runCli } from './helpers/cli';

describe('ext5 CLI basics', () => {
  test('--help lists commands and does not load libtorch', () => {
    const r = runCli(['--help']);
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/ext5 doctor/);
    expect(r.loadedLibtorch).toBe(false);
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
    expect(r.stdout).toMatch(/threads\s+2 intra-op/);
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
