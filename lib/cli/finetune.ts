/** `ext5 finetune`: fine-tune a checkpoint on a task or mixture (T5 recipe: constant 1e-3, dropout 0.1). */
import type { CommandModule } from 'yargs';
import { type TrainArgs, trainOptions } from './train_common';

interface FinetuneArgs extends TrainArgs {
  task?: string;
  mixture?: string;
  checkpoint?: string;
  eval?: string[];
}

export const finetuneCommand: CommandModule<object, FinetuneArgs> = {
  command: 'finetune',
  describe: 'Fine-tune a checkpoint on a task or mixture, evaluating as it goes',
  builder: (y) =>
    trainOptions(y)
      .option('task', { type: 'string', describe: 'Task to fine-tune on (data.mixtureOrTask)' })
      .option('mixture', { type: 'string', describe: 'Mixture to fine-tune on (data.mixtureOrTask)' })
      .conflicts('task', 'mixture')
      .option('checkpoint', {
        type: 'string',
        describe:
          'Checkpoint, run directory (its newest checkpoint) or Hub model id (org/name[@revision]) to start from (model.checkpoint)',
      })
      .option('from-scratch', {
        type: 'boolean',
        describe: 'Start from random weights on purpose (without it, finetune needs a checkpoint)',
      })
      .conflicts('from-scratch', 'checkpoint')
      .option('eval', {
        type: 'string',
        array: true,
        describe: 'Tasks, mixtures or benchmarks to evaluate (eval.tasks), e.g. superglue',
      })
      .example(
        '$0 finetune --preset tiny-demo-finetune --checkpoint runs/demo/checkpoints/step-00000400',
        'Fine-tune the tiny demo model on the held-out mini_nli_counts task',
      )
      .example(
        '$0 finetune --preset finetune-small --checkpoint ./ext5-small --mixture superglue',
        'SuperGLUE',
      ),
  // The command's one lazy point: the run config, the trainer and the model code.
  handler: async (args) =>
    (await import('./train_run')).runTraining('finetune', args, {
      'data.mixtureOrTask': [args.task !== undefined ? '--task' : '--mixture', args.task ?? args.mixture],
      'model.checkpoint': ['--checkpoint', args.checkpoint],
      'eval.tasks': ['--eval', args.eval],
    }),
};
