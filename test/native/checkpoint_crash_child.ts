// Child process for checkpoint_atomic.test.ts: saves a checkpoint directory of raw tensors with
// the real atomic writer and, after the first tensor, blocks inside the write (as a slow disk
// would) so that the parent can SIGKILL it in the middle of the save.
//   argv: <target dir> <tensor count> <bytes per tensor> <fill byte>
import * as path from 'node:path';
import { writeDirectoryAtomic, writeFileDurable } from '../../lib/io/durable';
import { writeWeights } from '../../lib/model/hf_checkpoint';

async function main(): Promise<void> {
  const [target, count, size, fill] = process.argv.slice(2);
  const entries = Array.from({ length: Number(count) }, (_, i) => ({
    name: `t.${i}`,
    dtype: 'U8' as const,
    shape: [Number(size)],
    data: () => new Uint8Array(Number(size)).fill(Number(fill)),
  }));
  let announced = false;
  await writeDirectoryAtomic(target!, (tmp) => {
    writeWeights(tmp, entries, 5e9, {
      onProgress: () => {
        if (announced) return;
        announced = true;
        process.stdout.write(`writing ${path.basename(tmp)}\n`);
        Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 30_000); // the parent kills us here
      },
    });
    writeFileDurable(path.join(tmp, 'config.json'), '{}');
  });
  process.stdout.write('done\n');
}

main().catch((e) => {
  process.stderr.write(`${(e as Error).message}\n`);
  process.exit(1);
});
