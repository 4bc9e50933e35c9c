// The first commands a new user types, run as they run them (dist/bin/ext5.js): `ext5` alone and
// `ext5 doctor`.
import { runCli } from './helpers/cli';

test('`ext5` with no command says so and gives the hint once', () => {
  const r = runCli([]);
  expect(r.status).toBe(2);
  expect(r.stderr).toBe('ext5: Name a command.\n  hint: run `ext5 --help` or `ext5 <command> --help`.\n');
});

test('`ext5 doctor` names the BLAS implementation, not the OpenMP runtime mapped beside it', () => {
  const r = runCli(['doctor']);
  const row = /\n {2}BLAS +(.*)\n/.exec(r.stdout)?.[1] ?? '';
  expect(row).not.toMatch(/^\/.*libgomp/);
  expect(row).toMatch(/^(OpenBLAS|MKL|BLIS|ATLAS|the reference BLAS \(netlib\)|unknown) \(\//);
  const json = JSON.parse(runCli(['doctor', '--json']).stdout);
  expect(json.torch.blas.filter((f: string) => /libgomp|libomp/.test(f))).toEqual([]);
  // The verdict follows the probe: a slow matmul is listed as a problem, never "No problems found".
  const gflops = Number(/\n {2}matmul f32 +([\d.]+) GFLOP\/s/.exec(r.stdout)?.[1]);
  const slow = gflops < 20;
  if (slow) expect(r.stdout).not.toMatch(/No problems found/);
  if (slow) expect(r.stdout).toMatch(/matmul probe is slow/);
});
