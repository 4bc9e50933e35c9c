// Text inputs that are not UTF-8 text (another encoding, a binary file) or hold nothing get one
// coded error naming the file and the place: `ext5 score` inputs and `vocab train` corpora, the
// latter before SentencePiece runs (so without loading the native addon).
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { checkTextCorpus, decodeUtf8 } from '../../../lib/io/text_check';
import { trainVocabulary } from '../../../lib/text/vocabulary';
import { Ext5Error } from '../../../lib/util/errors';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ext5-textcheck-'));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

function write(name: string, data: string | Uint8Array): string {
  const f = path.join(dir, name);
  fs.writeFileSync(f, data);
  return f;
}

function errorOf(fn: () => unknown): Ext5Error {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(Ext5Error);
    return e as Ext5Error;
  }
  throw new Error('expected an error');
}

test('decodeUtf8 decodes UTF-8 exactly (a BOM stays) and names the first invalid byte', () => {
  expect(decodeUtf8(Buffer.from('\ufeffcafé ✓\n'), 'x', 'E_X')).toBe('\ufeffcafé ✓\n');
  const e = errorOf(() => decodeUtf8(Buffer.from('ok\nok\ncaf\xe9\n', 'latin1'), "file 'a.txt'", 'E_X'));
  expect(e.code).toBe('E_X');
  expect(e.message).toBe("file 'a.txt' is not UTF-8 text: invalid byte 0xe9 at line 3 (byte offset 9)");
  // A truncated multi-byte sequence at the end, and an overlong encoding.
  expect(errorOf(() => decodeUtf8(Buffer.from([0x61, 0xe2, 0x9c]), 'y', 'E_X')).message).toMatch(
    /byte offset 1/,
  );
  expect(errorOf(() => decodeUtf8(Buffer.from([0xc0, 0xaf]), 'y', 'E_X')).message).toMatch(/0xc0 at line 1/);
});

test('a corpus that is empty, blank, binary or in another encoding is refused, naming it', () => {
  const cases: [string, string | Uint8Array, RegExp][] = [
    ['empty.txt', '', /training input .*empty\.txt is empty$/],
    ['blank.txt', '\n  \n\t\n', /blank\.txt is blank \(only white space\)$/],
    ['bom-only.txt', '\ufeff\n', /bom-only\.txt is blank/],
    [
      'binary.bin',
      new Uint8Array([0x7f, 0x45, 0x4c, 0x46, 0x02, 0x01, 0x00, 0x00]),
      /binary\.bin is not text: it holds a NUL byte at byte offset 6/,
    ],
    [
      'latin1.txt',
      Buffer.from('hello\nwörld\n', 'latin1'),
      /latin1\.txt is not UTF-8 text: invalid byte 0xf6 at line 2/,
    ],
  ];
  for (const [name, data, msg] of cases) {
    const e = errorOf(() => checkTextCorpus(write(name, data)));
    expect(e.code).toBe('E_VOCAB_INPUT');
    expect(e.message).toMatch(msg);
  }
  expect(errorOf(() => checkTextCorpus(dir)).message).toMatch(/is not a regular file/);
  // Text, also with a multi-byte character cut at the end of the sniffed first MiB, passes.
  checkTextCorpus(write('ok.txt', '\n\nsome text\n'));
  checkTextCorpus(write('long.txt', `${'a'.repeat((1 << 20) - 1)}é and more\n`));
});

test('vocab train refuses such a corpus with the coded error, before SentencePiece', async () => {
  const empty = write('corpus-empty.txt', '');
  await expect(
    trainVocabulary({ input: empty, modelPrefix: path.join(dir, 'spm'), vocabSize: 100 }),
  ).rejects.toMatchObject({ code: 'E_VOCAB_INPUT', message: `training input ${empty} is empty` });
  const bin = write('corpus.bin', new Uint8Array(4096));
  await expect(
    trainVocabulary({
      input: ['corpus-ok.txt', bin].map((f) => (f === bin ? f : write(f, 'text\n'))),
      modelPrefix: path.join(dir, 'spm'),
      vocabSize: 100,
    }),
  ).rejects.toMatchObject({ code: 'E_VOCAB_INPUT' });
  expect(fs.existsSync(path.join(dir, 'spm.model'))).toBe(false);
});
