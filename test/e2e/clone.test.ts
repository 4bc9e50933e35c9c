// What a clone of the repository leaves behind when it is used as the README says: the runs the demo
// and the examples write (runs/ at the top) are not offered to git.
import { spawnSync } from 'node:child_process';
import { root } from './helpers/cli';

test('runs/ written by `ext5 demo` is ignored by git', () => {
  const r = spawnSync('git', ['check-ignore', '-v', 'runs/demo-20260101-000000/metrics.jsonl'], {
    cwd: root,
    encoding: 'utf8',
  });
  expect(r.status).toBe(0);
  // A folder named runs deeper in the tree (a test's or a library's) is not caught by the rule.
  const deep = spawnSync('git', ['check-ignore', 'lib/runs/x.ts'], { cwd: root, encoding: 'utf8' });
  expect(deep.status).toBe(1);
});
