// `ext5 tasks` and `ext5 mixtures`: names are checked with a did-you-mean, and the mixing knobs
// apply to every mixture that takes them (as `ext5 pretrain` applies them).
import { runMain } from './run_main';

test('tasks list --benchmark with a typo errors with the closest benchmark, as --family does', async () => {
  const r = await runMain(['tasks', 'list', '--benchmark', 'superglu']);
  expect(r.code).toBe(1);
  expect(r.stderr).toContain("unknown benchmark 'superglu' (did you mean 'superglue'?)");
  expect(r.stderr).toContain('benchmarks: superglue, gem, rainbow, cbqa');
  const fam = await runMain(['tasks', 'list', '--family', 'nl']);
  expect(fam.code).toBe(1);
  expect(fam.stderr).toContain("(did you mean 'nli'?)");
  const ok = await runMain(['tasks', 'list', '--benchmark', 'superglue', '--json']);
  expect(ok.code).toBe(0);
  expect(JSON.parse(ok.stdout).length).toBeGreaterThan(0);
});

test('mixtures inspect applies -R to mini_ext5_pretrain, as pretrain does', async () => {
  const r = await runMain(['mixtures', 'inspect', 'mini_ext5_pretrain', '-R', '4', '--json']);
  expect(r.code).toBe(0);
  const j = JSON.parse(r.stdout);
  expect(j.name).toBe('mini_ext5_pretrain_r4');
  expect(j.members).toEqual([
    { name: 'mini_c4_span_corruption', rate: 4 },
    { name: 'mini_exmix', rate: 1 },
  ]);
  const none = await runMain(['mixtures', 'inspect', 'mini_exmix', '-R', '4']);
  expect(none.code).toBe(1);
  expect(none.stderr).toContain("mixture 'mini_exmix' takes no -R");
  expect(none.stderr).toContain('mini_ext5_pretrain');
});
