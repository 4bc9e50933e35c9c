// Unknown flags get a "did you mean" with the closest flag of the command, as commands, tasks and
// --set keys already do.
import { flagSuggestions, unknownArguments } from '../../../lib/cli/usage';
import { runMain } from './run_main';

test('unknownArguments reads the flags of yargs messages', () => {
  expect(unknownArguments('Unknown argument: step')).toEqual(['step']);
  expect(unknownArguments('Unknown arguments: step, lr')).toEqual(['step', 'lr']);
  expect(unknownArguments('Missing required argument: checkpoint')).toEqual([]);
});

test('flagSuggestions names the closest flag, and nothing for far-off ones', () => {
  expect(flagSuggestions('Unknown argument: step', ['help', 'version', 'steps', 'batch-size'])).toEqual([
    '--step: did you mean --steps?',
  ]);
  expect(flagSuggestions('Unknown arguments: batchsize, zzzzzzzz', ['steps', 'batch-size'])).toEqual([
    '--batchsize: did you mean --batch-size?',
  ]);
});

test('the CLI suggests the closest flag of the command given', async () => {
  const r = await runMain(['pretrain', '--step', '5']);
  expect(r.code).toBe(2);
  expect(r.stderr).toContain('Unknown argument: step');
  expect(r.stderr).toContain('did you mean --steps?');
  const sub = await runMain(['tasks', 'list', '--famly', 'nli']);
  expect(sub.code).toBe(2);
  expect(sub.stderr).toContain('did you mean --family?');
});
