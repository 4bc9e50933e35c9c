// Child of libtorch_clash.test.ts: dlopens the addon named by argv[2] directly (another package
// holding its libtorch), then asks ext5's loader for the torch addon (EXT5_TORCH_ADDON, built
// against a different libtorch) and prints the outcome as JSON. Without the loader's check the
// second dlopen aborts the process inside c10.
import { loadAddon } from '../../lib/native/loader';

const first = process.argv[2];
if (!first) throw new Error('usage: libtorch_clash_child.ts FIRST_ADDON');
process.dlopen({ exports: {} } as NodeJS.Module, first);
try {
  loadAddon('torch');
  console.log(JSON.stringify({ loaded: true }));
} catch (e) {
  const err = e as { code?: string; message: string; hint?: string };
  console.log(JSON.stringify({ loaded: false, code: err.code, message: err.message, hint: err.hint }));
}
