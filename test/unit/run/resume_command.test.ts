// The command a stopped run prints to resume it: the same command line, pointed at its run
// directory, without the --run-dir / --resume it may have had (resume is 'auto' by default).
import { resumeCommand } from '../../../lib/cli/train_run';

const argv = (...a: string[]) => ['/usr/bin/node', '/x/bin/ext5.js', ...a];

test('keeps the flags, replaces --run-dir and --resume, quotes what a shell would split', () => {
  expect(
    resumeCommand(
      'pretrain',
      'runs/a b',
      argv(
        'pretrain',
        '--preset',
        'tiny-demo',
        '--run-dir',
        'old',
        '--resume=none',
        '--set',
        'optimizer.lr=0.01',
      ),
    ),
  ).toBe("ext5 pretrain --preset tiny-demo --set optimizer.lr=0.01 --run-dir 'runs/a b'");
  expect(
    resumeCommand(
      'finetune',
      '/r',
      argv(
        'finetune',
        '--set',
        'run.dir=/q',
        '--set',
        'checkpoint.resume=none',
        '--resume',
        'x',
        "--set=run.name=it's",
      ),
    ),
  ).toBe("ext5 finetune '--set=run.name=it'\\''s' --run-dir /r");
  expect(resumeCommand('pretrain', '/r', argv())).toBe('ext5 pretrain --run-dir /r');
});
