/** `ext5 vocab train|encode|decode|info`, run through the command functions the CLI calls. */
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { runVocabDecode, runVocabEncode, runVocabInfo, runVocabTrain } from '../../lib/cli/vocab';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ext5-vocab-cli-'));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

const corpus = path.join(dir, 'corpus.txt');
const lines: string[] = [];
const syl = 'ka ri to mu sen dal qui vor ex pli gra tion ment ing ber lo na zu fe wy'.split(' ');
for (let i = 0; i < 2000; i++) {
  const words: string[] = [];
  for (let w = 0; w < 8; w++)
    words.push(syl[(i * 7 + w * 13) % syl.length]! + syl[(i * 3 + w * 5) % syl.length]!);
  lines.push(words.join(' '));
}
fs.writeFileSync(corpus, `${lines.join('\n')}\n`);
const prefix = path.join(dir, 'spiece');
const base = { 'extra-ids': 100, pieces: false, json: false };

describe('ext5 vocab', () => {
  beforeAll(async () => {
    const out = await runVocabTrain({
      input: [corpus],
      'vocab-size': 80,
      'model-prefix': prefix,
      'model-type': 'unigram',
      'character-coverage': 1,
      'input-sentence-size': 0,
      threads: 1,
      verbose: false,
      json: true,
    });
    expect(JSON.parse(out)).toMatchObject({ modelPath: `${prefix}.model`, vocabSize: 80 });
  }, 60_000);

  test('info names the sizes, special ids and sentinel range', async () => {
    const info = JSON.parse(await runVocabInfo({ ...base, model: `${prefix}.model`, json: true }));
    expect(info).toMatchObject({
      vocabSize: 180,
      baseVocabSize: 80,
      padId: 0,
      eosId: 1,
      unkId: 2,
      firstSentinel: 179,
    });
    expect(await runVocabInfo({ ...base, model: dir })).toMatch(/<extra_id_0> = 179/);
  });

  test('encode prints the same ids as spm_encode; decode inverts it', async () => {
    const text = 'kari tomu senda <extra_id_0> quivor';
    const ids = (await runVocabEncode({ ...base, model: `${prefix}.model`, text })).trim();
    const spm = execFileSync('spm_encode', [`--model=${prefix}.model`, '--output_format=id'], {
      input: 'kari tomu senda\n',
      encoding: 'utf8',
    }).trim();
    expect(ids.startsWith(spm)).toBe(true);
    expect(ids.split(' ')).toContain('179');
    expect(await runVocabDecode({ ...base, model: `${prefix}.model`, ids })).toBe(`${text}\n`);
  });

  test('encode reads one text per line from a file and can print pieces', async () => {
    const input = path.join(dir, 'in.txt');
    fs.writeFileSync(input, 'kari\ntomu senda\n');
    const out = await runVocabEncode({ ...base, model: `${prefix}.model`, input, pieces: true, json: true });
    const rows = out
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(rows.map((r) => r.text)).toEqual(['kari', 'tomu senda']);
    expect(rows[1].pieces.join('')).toBe('▁tomu▁senda');
  });

  test('bad ids and a missing model give clear errors', async () => {
    await expect(runVocabDecode({ ...base, model: `${prefix}.model`, ids: '5 -1' })).rejects.toThrow(
      /'-1' is not a token id/,
    );
    await expect(runVocabEncode({ ...base, model: path.join(dir, 'none.model'), text: 'a' })).rejects.toThrow(
      /SentencePiece model not found/,
    );
  });
});

test('vocab train passes --spm-flag to the trainer and reports the size it actually trained', () => {
  const { execFileSync } = require('node:child_process') as typeof import('node:child_process');
  const fs = require('node:fs') as typeof import('node:fs');
  const os = require('node:os') as typeof import('node:os');
  const path = require('node:path') as typeof import('node:path');
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ext5-spmflag-'));
  const corpus = path.join(dir, 'c.txt');
  fs.writeFileSync(corpus, 'a b c a b c hello world\n'.repeat(50));
  const cli = path.join(__dirname, '..', '..', 'dist', 'bin', 'ext5.js');
  const out = JSON.parse(
    execFileSync(
      process.execPath,
      [
        cli,
        'vocab',
        'train',
        '--input',
        corpus,
        '--model-prefix',
        path.join(dir, 'm'),
        '--vocab-size',
        '5000',
        '--spm-flag',
        'hard_vocab_limit=false',
        '--json',
      ],
      { encoding: 'utf8' },
    ),
  );
  // A tiny corpus cannot fill 5000 pieces: with hard_vocab_limit=false it trains fewer, and says so.
  expect(out.requested).toBe(5000);
  expect(out.vocabSize).toBeLessThan(5000);
  expect(() =>
    execFileSync(
      process.execPath,
      [
        cli,
        'vocab',
        'train',
        '--input',
        corpus,
        '--model-prefix',
        path.join(dir, 'x'),
        '--vocab-size',
        '50',
        '--spm-flag',
        'not a flag',
      ],
      { encoding: 'utf8', stdio: 'pipe' },
    ),
  ).toThrow(/is not key=value/);
  fs.rmSync(dir, { recursive: true, force: true });
});

test('vocab info takes the vocabulary names --vocab takes elsewhere, and the docs give its real size', async () => {
  const { runMain } = await import('../unit/cli/run_main');
  const { runPreset } = await import('../../lib/run/run_presets');
  const info = JSON.parse(await runVocabInfo({ ...base, model: 'mini', json: true }));
  const viaFlag = await runMain(['vocab', 'info', '--vocab', 'mini', '--json']);
  expect(viaFlag.code).toBe(0);
  expect(JSON.parse(viaFlag.stdout)).toEqual(info);
  const ids: number = info.vocabSize;
  const padded = Math.ceil(ids / 128) * 128;
  expect(runPreset('tiny-demo').values['model.vocabSize']).toBe(padded);
  const root = path.join(__dirname, '..', '..');
  const conf = fs.readFileSync(path.join(root, 'docs', 'configuration.md'), 'utf8');
  expect(conf).toContain(`\`model.vocabSize: ${padded}\``);
  expect(conf).toContain(`mini vocabulary: ${ids} ids (${info.baseVocabSize} SentencePiece pieces`);
  const tasks = fs.readFileSync(path.join(root, 'docs', 'tasks.md'), 'utf8').replace(/(\d) (\d{3})/g, '$1$2');
  expect(tasks).toContain(`the vocabulary has ${ids} ids`);
  // No doc may give the mini vocabulary another size.
  for (const f of [
    ...fs.readdirSync(path.join(root, 'docs')).map((d) => path.join('docs', d)),
    'README.md',
  ]) {
    const text = fs.readFileSync(path.join(root, f), 'utf8');
    for (const m of text.matchAll(/mini[^.\n]*?vocab[^.]*?\b(\d{4})\b/gi)) {
      expect([String(ids), String(padded), String(info.baseVocabSize)]).toContain(m[1]);
    }
  }
});
