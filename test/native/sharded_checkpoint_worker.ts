// One rank of test/native/sharded_checkpoint.test.ts, run in its own process with torchrun's
// variables (or none, for one process). Usage:
//   sharded_checkpoint_worker.ts save <checkpointsDir> <refDir> <steps> [killRank killStep]
//   sharded_checkpoint_worker.ts load <checkpoint> <outDir> <sharding> [saveWholeTo]
// `save` trains the tiny model with training.sharding=optimizer for <steps> steps (the same batch
// on every rank, each rank's Adafactor over its own parameters, owners broadcasting their updated
// parameters), saving a sharded checkpoint after each step and, beside it, what each rank held
// (refDir/step<N>-rank<r>.safetensors). With killRank/killStep, that rank kills itself (SIGKILL)
// while writing its model shard of that step. `load` resumes <checkpoint> through the trainer's
// loadStartingPoint, writes what this rank loaded (outDir/loaded-rank<r>.safetensors), takes the
// next step and writes every parameter after it (outDir/next-rank<r>.safetensors); with
// saveWholeTo (one process), it also saves what it loaded as an unsharded checkpoint there.
// Prints one JSON line on stdout.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { initFromEnv, type ProcessGroup } from '../../lib/ddp';
import { writeSafetensors } from '../../lib/io/safetensors';
import { safetensorsDtype, tensorToBytes } from '../../lib/io/tensor_io';
import type { T5ForConditionalGeneration } from '../../lib/model/t5';
import type { Adafactor } from '../../lib/optim/adafactor';
import { loadRunConfig } from '../../lib/run/run_config';
import type { Tensor } from '../../lib/tensor/tensor';
import { saveCheckpoint, type TrainerState } from '../../lib/train/checkpoint_save';
import type { PipelineState } from '../../lib/train/pipeline';
import { loadStartingPoint, type ResumeCandidates } from '../../lib/train/resume';
import { owns, type ShardingMode, type ShardLayout } from '../../lib/train/sharding';

const BATCH = { inputIds: [[5, 6, 7, 8, 1]], labels: [[9, 10, 1]] };

function config(sharding: string) {
  return loadRunConfig({
    preset: 'tiny-test',
    set: [`training.sharding=${sharding}`, 'training.dropout=0', 'training.threads=1'],
  });
}

/** The trainer's starting point for this rank: the model, its owned-parameter optimizer, the layout. */
function startFrom(cfg: ReturnType<typeof config>, candidates: ResumeCandidates, pg: ProcessGroup | null) {
  return loadStartingPoint(
    cfg,
    candidates,
    cfg.model.vocabSize!,
    pg?.worldSize ?? 1,
    pg !== null,
    undefined,
    pg?.rank ?? 0,
  );
}

/** One training step: the same batch on every rank; each owner updates and sends its parameters. */
async function step(
  pg: ProcessGroup | null,
  model: T5ForConditionalGeneration,
  opt: Adafactor,
  layout: ShardLayout,
) {
  model.forwardBackward(BATCH);
  opt.step();
  opt.zeroGrad();
  if (!pg) return;
  const params = model.namedParameters();
  try {
    for (let r = 0; r < pg.worldSize; r++) {
      const mine = params.filter((_, i) => layout.owner[i] === r).map(([, t]) => t);
      await pg.broadcast(mine, { root: r });
    }
  } finally {
    for (const [, t] of params) t.dispose();
  }
}

/** Writes the optimizer state and the given parameters (as `param.<name>`) to one file. */
function dump(
  file: string,
  model: T5ForConditionalGeneration,
  opt: Adafactor,
  which: (name: string) => boolean,
) {
  const { entries, metadata } = opt.stateDict();
  const params = model.namedParameters();
  const all: Array<[string, Tensor]> = [
    ...entries,
    ...params.filter(([n]) => which(n)).map(([n, t]) => [`param.${n}`, t] as [string, Tensor]),
  ];
  try {
    writeSafetensors(
      file,
      all.map(([name, t]) => ({
        name,
        dtype: safetensorsDtype(t.dtype),
        shape: t.shape,
        data: () => tensorToBytes(t),
      })),
      { step_count: metadata.step_count! },
    );
  } finally {
    for (const [, t] of entries) t.dispose();
    for (const [, t] of params) t.dispose();
  }
}

function state(stepNo: number, world: number): TrainerState {
  return {
    version: 1,
    step: stepNo,
    pipeline: { version: 1, batches: stepNo } as unknown as PipelineState,
    rng: '',
    elapsed: 0,
    tokens: 0,
    examples: 0,
    worldSize: world,
    lastLoss: null,
  };
}

async function main(): Promise<Record<string, unknown>> {
  const [scenario, a, b, c, d, e] = process.argv.slice(2) as string[];
  const pg = await initFromEnv({ exitWithLauncher: false });
  const rank = pg?.rank ?? 0;
  const world = pg?.worldSize ?? 1;
  try {
    if (scenario === 'save') {
      const [ckDir, refDir, steps] = [a!, b!, Number(c)];
      const killRank = d === undefined ? -1 : Number(d);
      const killStep = e === undefined ? -1 : Number(e);
      const start = startFrom(config('optimizer'), { dirs: [], exact: false, source: 'none' }, pg);
      const { model, optimizer, layout } = start;
      const written = new Set<string>();
      const results: Record<string, unknown>[] = [];
      for (let s = 1; s <= steps; s++) {
        await step(pg, model, optimizer, layout);
        dump(path.join(refDir, `step${s}-rank${rank}.safetensors`), model, optimizer, (n) =>
          owns(layout, layout.names.indexOf(n)),
        );
        let bytes = 0;
        const write =
          s === killStep && rank === killRank
            ? (fd: number, data: Uint8Array, position: number) => {
                if (bytes > 0) process.kill(process.pid, 'SIGKILL');
                const n = fs.writeSync(fd, data, 0, Math.ceil(data.length / 2), position);
                bytes += n;
                return n;
              }
            : undefined;
        try {
          await saveCheckpoint(ckDir, model, optimizer, state(s, world), 0, written, {
            pg: pg!,
            layout,
            ...(write ? { write } : {}),
          });
          results.push({ step: s, ok: true });
        } catch (err) {
          results.push({
            step: s,
            ok: false,
            code: (err as { code?: string }).code,
            message: (err as Error).message,
          });
          break;
        }
      }
      const out = { rank, owned: layout.names.filter((_, i) => owns(layout, i)), results };
      optimizer.dispose();
      model.dispose();
      return out;
    }
    if (scenario === 'load') {
      const [ckpt, outDir, sharding, wholeTo] = [a!, b!, c as ShardingMode, d];
      const start = startFrom(config(sharding), { dirs: [ckpt], exact: true, source: ckpt }, pg);
      const { model, optimizer, layout } = start;
      dump(path.join(outDir, `loaded-rank${rank}.safetensors`), model, optimizer, (n) =>
        owns(layout, layout.names.indexOf(n)),
      );
      if (wholeTo) {
        const { sharding: _, ...st } = start.resumed!;
        await saveCheckpoint(wholeTo, model, optimizer, { ...st, worldSize: 1 }, 0, new Set());
      }
      const stepCount = optimizer.stepCount;
      await step(pg, model, optimizer, layout);
      dump(path.join(outDir, `next-rank${rank}.safetensors`), model, optimizer, () => true);
      const out = {
        rank,
        step: start.resumed?.step,
        stepCount,
        owned: optimizer.names,
        layoutMode: layout.mode,
      };
      optimizer.dispose();
      model.dispose();
      return out;
    }
    throw new Error(`unknown scenario ${scenario}`);
  } finally {
    await pg?.destroy();
  }
}

main().then(
  (out) => {
    process.stdout.write(`${JSON.stringify(out)}\n`);
  },
  (err) => {
    process.stdout.write(
      `${JSON.stringify({ error: { code: (err as { code?: string }).code, message: (err as Error).message } })}\n`,
    );
    process.exitCode = 1;
  },
);
