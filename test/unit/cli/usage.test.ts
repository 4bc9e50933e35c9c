// Unknown flags get a "did you mean" with the closest flag of the command, as commands, tasks and
// --set keys already do.
import { checkRepeatedFlags, flagSuggestions, unknownArguments } from '../../../lib/cli/usage';
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

test('a single-valued flag given twice is refused by name (aliases count), array flags may repeat', async () => {
  const twice = await runMain(['pretrain', '--preset', 'tiny-demo', '--preset', 'tiny-demo']);
  expect(twice.code).toBe(1);
  expect(twice.stderr).toContain('[EXT5_FLAG_REPEATED]');
  expect(twice.stderr).toContain('--preset ("tiny-demo", "tiny-demo"): given more than once');
  expect(twice.stderr).not.toContain('toLowerCase');
  const numbers = await runMain(['pretrain', '--steps', '3', '--steps', '4']);
  expect(numbers.stderr).toContain('--steps (3, 4): given more than once');
  const alias = await runMain(['report', 'a', '-o', 'x.html', '--out', 'y.html']);
  expect(alias.code).toBe(1);
  expect(alias.stderr).toMatch(/--out \("x\.html", "y\.html"\): given more than once/);
  expect(alias.stderr.match(/given more than once/g)).toHaveLength(1);
});

test('checkRepeatedFlags lets array flags and their aliases repeat, and names every repeated flag once', () => {
  const options = {
    key: { set: true, s: true, preset: true, steps: true, out: true, o: true },
    array: ['set'],
    alias: { set: ['s'], s: ['set'], out: ['o'], o: ['out'] },
  };
  expect(() =>
    checkRepeatedFlags({ _: [], set: ['a=1', 'b=2'], s: ['a=1', 'b=2'], preset: 'x' }, options),
  ).not.toThrow();
  expect(() => checkRepeatedFlags({ _: ['x', 'y'], preset: 'x', steps: 3 }, options)).not.toThrow();
  let err: unknown;
  try {
    checkRepeatedFlags({ _: [], preset: ['a', 'b'], steps: [1, 2], out: ['p', 'q'], o: ['p', 'q'] }, options);
  } catch (e) {
    err = e;
  }
  expect(err).toMatchObject({ code: 'EXT5_FLAG_REPEATED' });
  expect((err as Error).message).toBe(
    '--preset ("a", "b"); --steps (1, 2); --out ("p", "q"): given more than once, but each takes one value',
  );
});
