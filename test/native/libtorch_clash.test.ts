// The loader refuses to dlopen the torch addon into a process that already holds another libtorch,
// with a coded error instead of the abort inside c10 (DispatchKeySet INTERNAL ASSERT) that two
// libtorch installations in one process end in. It needs a second addon built against a second
// libtorch, named by EXT5_TEST_OTHER_TORCH_ADDON (docs/install.md: building against another
// libtorch); without one the test is skipped. test/e2e/libtorch_linkage.test.ts covers the same
// check on small ELF files everywhere.
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { tsHookSource } from './helpers/ts_hook';

jest.setTimeout(120_000);

const root = path.join(__dirname, '..', '..');
const other = process.env.EXT5_TEST_OTHER_TORCH_ADDON;
const own =
  process.env.EXT5_TORCH_ADDON ?? path.join(root, 'native', 'torch', 'build', 'Release', 'ext5_torch.node');

function child(first: string, second: string) {
  const r = spawnSync(
    process.execPath,
    ['-e', tsHookSource(), path.join(__dirname, 'libtorch_clash_child.ts'), first],
    { cwd: root, encoding: 'utf8', env: { ...process.env, EXT5_TORCH_ADDON: second } },
  );
  return { status: r.status, signal: r.signal, stderr: r.stderr, out: r.stdout.trim() };
}

(other && fs.existsSync(other) ? test : test.skip)(
  'an addon of another libtorch already loaded: EXT5_LIBTORCH_CLASH, and the process lives',
  () => {
    const r = child(other as string, own);
    expect({ status: r.status, signal: r.signal }).toEqual({ status: 0, signal: null });
    const o = JSON.parse(r.out) as { loaded: boolean; code?: string; message: string; hint: string };
    expect(o.loaded).toBe(false);
    expect(o.code).toBe('EXT5_LIBTORCH_CLASH');
    expect(o.message).toMatch(/already holds \S*lib(c10|torch)/);
    expect(o.hint).toMatch(/LIBTORCH=/);
    // The same libtorch twice is no clash: the addon loads next to another copy of itself.
    const same = child(own, own);
    expect(same.status).toBe(0);
    expect(JSON.parse(same.out)).toEqual({ loaded: true });
  },
);
