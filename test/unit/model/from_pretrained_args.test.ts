// The fromPretrained entry points refuse a model name or options of the wrong type with a coded
// error saying what they take, before anything touches the disk, the Hub or the native addon.
import { fromPretrained, fromPretrainedAsync } from '../../../lib/model/hf_checkpoint';
import { T5ForConditionalGeneration } from '../../../lib/model/t5';

const BAD_NAMES: Array<[unknown, RegExp]> = [
  [123, /got number 123/],
  [null, /got null/],
  [undefined, /got undefined undefined/],
  ['', /got an empty string/],
  [{ dir: 'x' }, /got object/],
];

/** Calls `f` with arguments of any type: the point is passing the wrong ones. */
const call =
  (f: (...a: never[]) => unknown, ...args: unknown[]) =>
  () =>
    (f as (...a: unknown[]) => unknown)(...args);

describe.each([
  ['fromPretrained', fromPretrained, false],
  ['fromPretrainedAsync', fromPretrainedAsync, true],
  ['T5ForConditionalGeneration.fromPretrained', T5ForConditionalGeneration.fromPretrained, false],
  ['T5ForConditionalGeneration.fromPretrainedAsync', T5ForConditionalGeneration.fromPretrainedAsync, true],
] as const)('%s', (name, fn, isAsync) => {
  const expectRefused = async (thunk: () => unknown, message: RegExp) => {
    const want = { code: 'EXT5_INVALID_ARG', message: expect.stringMatching(message) };
    if (isAsync) await expect(thunk()).rejects.toMatchObject(want);
    else expect(thunk).toThrow(expect.objectContaining(want));
  };

  test.each(BAD_NAMES)('refuses the name %p', async (bad, message) => {
    await expectRefused(
      call(fn, bad),
      new RegExp(
        `^${name.replace('.', '\\.')}\\(\\) takes a checkpoint folder path or a Hugging Face Hub id as a string, ${message.source}`,
      ),
    );
  });

  test.each([null, 'cpu', ['device']])('refuses the options %p', async (bad) => {
    await expectRefused(call(fn, 'some/model', bad), /options must be an object \(or left out\)/);
  });
});
