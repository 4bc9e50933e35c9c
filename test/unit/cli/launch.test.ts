// `ext5 launch -- <command>` accepts the torchrun habit of naming the program, and the
// dist-selftest command its help points to is listed.
import { commands } from '../../../lib/cli/index';
import { distSelftestCommand, workerCommand } from '../../../lib/cli/launch';
import { Ext5Error } from '../../../lib/util/errors';

test('a leading ext5 (or npx ext5, or a path to it) is the ext5 the workers already run', () => {
  expect(workerCommand(['ext5', 'pretrain', '--preset', 'tiny-test'])).toEqual([
    'pretrain',
    '--preset',
    'tiny-test',
  ]);
  expect(workerCommand(['npx', 'ext5', 'dist-selftest'])).toEqual(['dist-selftest']);
  expect(workerCommand(['./node_modules/.bin/ext5', 'dist-selftest'])).toEqual(['dist-selftest']);
  expect(workerCommand(['dist/bin/ext5.js', 'dist-selftest'])).toEqual(['dist-selftest']);
  expect(workerCommand(['pretrain', 'ext5'])).toEqual(['pretrain', 'ext5']);
  for (const empty of [[], ['ext5']]) {
    expect(() => workerCommand(empty)).toThrow(Ext5Error);
  }
});

test('dist-selftest is listed in `ext5 --help`', () => {
  expect(commands).toContain(distSelftestCommand);
  expect(typeof distSelftestCommand.describe).toBe('string');
});
