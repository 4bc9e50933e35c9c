// The program of pack.test.ts's user-path step: what a user of the npm package writes to fine-tune a T5
// from the Hub on a downloaded benchmark task, in strict TypeScript against the installed declarations.
// `node out/user.js <run-dir> <out-dir>`; prints one JSON line.

/** The model repo the program names, and the repo the T5 vocabulary comes from by default. */
export const MODEL_ID = 'google-t5/t5-small';

export const userProgram = `import * as fs from 'node:fs';
import {
  evaluateTask,
  fetchVocabulary,
  fromPretrained,
  fromPretrainedAsync,
  loadRunConfig,
  loadVocabulary,
  savePretrained,
  TaskRegistry,
  train,
} from 'ext5';

async function main(): Promise<void> {
  const [runDir, outDir] = process.argv.slice(2);
  if (runDir === undefined || outDir === undefined) throw new Error('usage: user.js <run-dir> <out-dir>');
  const dataDir = 'data';
  // By Hub id: downloaded into the Hugging Face cache (or, offline, read from it).
  const base = await fromPretrainedAsync('${MODEL_ID}');
  const dModel: number = base.config.d_model;
  base.dispose();
  const spiece: string = await fetchVocabulary('t5');
  const config = loadRunConfig({
    preset: 'tiny-demo-finetune',
    overrides: {
      model: { checkpoint: '${MODEL_ID}' },
      data: { mixtureOrTask: 'super_glue_boolq', dataDir, inputsLength: 64, targetsLength: 8, pack: false },
      training: { steps: 4, batchSize: 4, threads: 1 },
      optimizer: { warmupSteps: 0 },
      checkpoint: { every: 4 },
      eval: { every: 0, tasks: [] },
      logging: { every: 1, progress: false, tensorboard: false },
    },
  });
  const result = await train(config, runDir);
  if (result.lastCheckpoint === undefined) throw new Error('no checkpoint written');
  const model = fromPretrained(result.lastCheckpoint);
  const vocab = loadVocabulary('t5');
  try {
    const evaluation = await evaluateTask(model, vocab, TaskRegistry.get('super_glue_boolq'), {
      split: 'validation',
      rankClassification: true,
      dataDir,
    });
    await savePretrained(model, outDir, { vocabulary: 't5' });
    console.log(
      JSON.stringify({
        dModel,
        spiece,
        steps: result.step,
        loss: result.lastLoss,
        metrics: evaluation.metrics,
        count: evaluation.count,
        saved: fs.readdirSync(outDir).sort(),
      }),
    );
  } finally {
    model.dispose();
    vocab.dispose();
  }
}

main().catch((e: unknown) => {
  const err = e as { code?: string; message?: string; hint?: string };
  console.error(\`\${err.code ?? 'ERROR'}: \${err.message ?? String(e)}\${err.hint ? \` (\${err.hint})\` : ''}\`);
  process.exit(1);
});
`;
