/**
 * Every `ext5` command, one file each. Keep imports of heavy modules (the native addon) inside
 * command handlers, so that `ext5 --help` and the commands that do not need libtorch start fast.
 */
import type { CommandModule } from 'yargs';
import { convertCommand } from './convert';
import { dataCommand } from './data';
import { demoCommand } from './demo';
import { doctorCommand } from './doctor';
import { evalCommand } from './eval';
import { experimentCommand } from './experiment';
import { finetuneCommand } from './finetune';
import { distSelftestCommand, launchCommand } from './launch';
import { mixturesCommand } from './mixtures';
import { planCommand } from './plan';
import { predictCommand } from './predict';
import { presetsCommand } from './presets';
import { pretrainCommand } from './pretrain';
import { reportCommand } from './report';
import { scoreCommand } from './score';
import { tasksCommand } from './tasks';
import { vocabCommand } from './vocab';

// biome-ignore lint/suspicious/noExplicitAny: yargs command modules differ in their argument types.
export const commands: CommandModule<any, any>[] = [
  demoCommand,
  experimentCommand,
  pretrainCommand,
  finetuneCommand,
  evalCommand,
  predictCommand,
  convertCommand,
  doctorCommand,
  scoreCommand,
  vocabCommand,
  tasksCommand,
  mixturesCommand,
  presetsCommand,
  planCommand,
  dataCommand,
  reportCommand,
  launchCommand,
  distSelftestCommand,
];
