/** `ext5 pretrain`: ExT5 pre-training (C4 span corruption + ExMix) or a T5 baseline. */
import type { CommandModule } from 'yargs';
import { type TrainArgs, trainOptions } from './train_common';

interface PretrainArgs extends TrainArgs {
  mixture?: string;
  R?: number;
  K?: number;
  temperature?: number;
  model?: string;
}

export const pretrainCommand: CommandModule<object, PretrainArgs> = {
  command: 'pretrain',
  describe:
    'Pre-train a T5 model on a mixture (default ext5_pretrain: C4 span corruption at R per ExMix example)',
  builder: (y) =>
    trainOptions(y)
      .option('mixture', { type: 'string', describe: 'Mixture or task to pre-train on (data.mixtureOrTask)' })
      .option('R', { type: 'number', describe: 'C4 examples per ExMix example (mixture.R, default 2)' })
      .option('K', {
        type: 'number',
        describe: 'Per-task cap of examples-proportional mixing (mixture.K, default 300000)',
      })
      .option('temperature', {
        type: 'number',
        describe: 'Mixing temperature (mixture.temperature, default 1)',
      })
      .option('model', {
        type: 'string',
        describe:
          'Model preset, config.json, or Hub model id whose config.json to use (model.config), e.g. t5-v1_1-small',
      })
      .example('$0 pretrain --preset tiny-demo', 'Minutes on a CPU: a tiny ExT5 on the built-in mini data')
      .example(
        '$0 pretrain --preset ext5-pretrain-small --data-dir ./data',
        'The paper recipe for T5.1.1 small',
      )
      .example('$0 pretrain --preset tiny-demo --run-dir runs/a --resume auto', 'Continue a run exactly'),
  // The command's one lazy point: the run config, the trainer and the model code.
  handler: async (args) =>
    (await import('./train_run')).runTraining('pretrain', args, {
      'data.mixtureOrTask': ['--mixture', args.mixture],
      'mixture.R': ['-R', args.R],
      'mixture.K': ['-K', args.K],
      'mixture.temperature': ['--temperature', args.temperature],
      'model.config': ['--model', args.model],
    }),
};
