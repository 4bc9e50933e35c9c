// The convenience forms of the model API: generateIds (plain arrays, nothing to dispose),
// predict (text in, text out through a vocabulary), fromPretrainedAsync (the Promise pair of
// savePretrained), and the loss being there whenever labels are given. Each is checked against
// the primitive calls it stands for.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { SafetensorsReader } from '../../lib/io/safetensors';
import { fromPretrainedAsync, savePretrained } from '../../lib/model/hf_checkpoint';
import { T5ForConditionalGeneration } from '../../lib/model/t5';
import { preset } from '../../lib/model/t5_presets';
import { loadVocabulary } from '../../lib/text/vocab_names';
import type { SentencePieceVocabulary } from '../../lib/text/vocabulary';
import { held } from './helpers/held';

jest.setTimeout(60_000);

let root: string;
let vocab: SentencePieceVocabulary;
let model: T5ForConditionalGeneration;
beforeAll(() => {
  root = fs.mkdtempSync(path.join(os.tmpdir(), 'ext5-api-'));
  vocab = loadVocabulary('mini');
  model = T5ForConditionalGeneration.fromConfig(
    { ...preset('t5-tiny'), vocab_size: vocab.vocabSize },
    { seed: 3 },
  );
  model.eval();
});
afterAll(() => {
  model.dispose();
  fs.rmSync(root, { recursive: true, force: true });
});

const INPUTS = [
  [12, 40, 7, 99, 3, 1],
  [5, 77, 1, 0, 0, 0],
];
const MASK = INPUTS.map((r) => r.map((_, j) => (j <= r.indexOf(1) ? 1 : 0)));

describe('generateIds', () => {
  test('is generate() as number[][] (start token dropped, cut after EOS), and leaves no tensor behind', async () => {
    const opts = { maxNewTokens: 6 };
    const t = model.generate(INPUTS, MASK, opts);
    const expected = T5ForConditionalGeneration.sequencesToArrays(t, model.config.eos_token_id);
    t.dispose();
    const before = held();
    const ids = model.generateIds(INPUTS, MASK, opts);
    expect(held()).toEqual(before);
    expect(ids).toEqual(expected);
    expect(ids.every((r) => Array.isArray(r) && r.every((x) => typeof x === 'number'))).toBe(true);
    expect(ids.every((r) => r.length >= 1 && r.length <= 6)).toBe(true);
    expect(await model.generateIdsAsync(INPUTS, MASK, opts)).toEqual(expected);
    expect(held()).toEqual(before);
  });

  test('bad options are the same coded errors as generate()', () => {
    expect(() => model.generateIds(INPUTS, MASK, { maxNewTokns: 3 } as never)).toThrow(
      expect.objectContaining({ code: 'EXT5_INVALID_ARG', message: expect.stringMatching(/maxNewTokens/) }),
    );
  });
});

describe('predict', () => {
  test('equals encode + EOS + pad, generate and decode, batch by batch', async () => {
    const texts = ['The cat sat on the mat.', 'Hello', 'A somewhat longer sentence with more words in it.'];
    const opts = { maxNewTokens: 5, maxInputLength: 8 };
    // By hand: each text cut to 7 tokens + EOS, right-padded to the longest.
    const enc = await vocab.encodeBatchAsync(texts);
    const len = Math.max(...enc.map((e) => Math.min(e.length, 7) + 1));
    const ids = enc.map((e) => {
      const row = [...Array.from(e.subarray(0, 7)), vocab.eosId];
      return [...row, ...new Array<number>(len - row.length).fill(0)];
    });
    const mask = ids.map((r, i) => r.map((_, j) => (j < Math.min(enc[i]!.length, 7) + 1 ? 1 : 0)));
    const byHand = model
      .generateIds(ids, mask, { maxNewTokens: 5 })
      .map((r) => vocab.decode(r.filter((t) => t !== vocab.eosId && t !== 0)));

    const out = await model.predict(texts, vocab, opts);
    expect(out).toEqual(byHand);
    expect(out.every((s) => typeof s === 'string')).toBe(true);
    // Batches of one give the same texts (no cross-talk through padding); a single string gives a string.
    expect(await model.predict(texts, vocab, { ...opts, batchSize: 1 })).toEqual(byHand);
    expect(await model.predict(texts[1]!, vocab, opts)).toBe(byHand[1]);
    expect(await model.predict([], vocab)).toEqual([]);
  });

  test('bad input gets coded errors', async () => {
    await expect(model.predict([1 as never], vocab)).rejects.toMatchObject({ code: 'EXT5_INVALID_ARG' });
    await expect(model.predict(['x'], {} as never)).rejects.toMatchObject({ code: 'EXT5_INVALID_ARG' });
    await expect(model.predict(['x'], vocab, { batchSize: 0 })).rejects.toMatchObject({
      code: 'EXT5_INVALID_ARG',
      message: expect.stringMatching(/batchSize/),
    });
    await expect(model.predict(['x'], vocab, { numBeam: 2 } as never)).rejects.toMatchObject({
      code: 'EXT5_INVALID_ARG',
      message: expect.stringMatching(/numBeams/),
    });
  });
});

describe('loss with labels', () => {
  test('forward, forwardAsync and forwardBackward return a numeric loss whenever labels are given', async () => {
    const batch = {
      inputIds: INPUTS,
      attentionMask: MASK,
      labels: [
        [7, 8, 1],
        [9, 1, -100],
      ],
    };
    const a: number = model.forward(batch).loss;
    const b: number = (await model.forwardAsync(batch)).loss;
    expect(Number.isFinite(a)).toBe(true);
    expect(b).toBeCloseTo(a, 5);
    const c: number = model.forwardBackward(batch).loss;
    expect(c).toBeCloseTo(a, 5);
    model.zeroGrad();
    expect(model.forward({ inputIds: INPUTS, decoderInputIds: [[0], [0]] }).loss).toBeUndefined();
  });
});

describe('fromPretrainedAsync', () => {
  test('loads what savePretrained wrote, as a Promise; a bad directory rejects', async () => {
    const dir = path.join(root, 'ckpt');
    await savePretrained(model, dir);
    const loaded = await T5ForConditionalGeneration.fromPretrainedAsync(dir);
    const again = await fromPretrainedAsync(dir);
    try {
      loaded.eval();
      expect(loaded.generateIds(INPUTS, MASK, { maxNewTokens: 4 })).toEqual(
        model.generateIds(INPUTS, MASK, { maxNewTokens: 4 }),
      );
      expect(again.numParameters()).toBe(model.numParameters());
    } finally {
      loaded.dispose();
      again.dispose();
    }
    const p = fromPretrainedAsync(path.join(root, 'nothing'));
    expect(p).toBeInstanceOf(Promise);
    await expect(p).rejects.toMatchObject({ code: 'EXT5_NOT_FOUND' });
  });

  test('the event loop keeps turning while the weights are read', async () => {
    // A checkpoint of a few MB (a T5.1.1-tiny body with a 16k vocabulary and its own lm_head).
    const dir = path.join(root, 'few-mb');
    const source = T5ForConditionalGeneration.fromConfig(
      { ...preset('t5-v1_1-tiny'), vocab_size: 16_000 },
      { seed: 5 },
    );
    await savePretrained(source, dir);
    const file = path.join(dir, 'model.safetensors');
    expect(fs.statSync(file).size).toBeGreaterThan(4_000_000);
    const reader = SafetensorsReader.open(file);
    const tensors = reader.names().length;
    reader.close();
    // A setImmediate counter runs once per turn of the event loop; the load is one call.
    let turns = 0;
    let loading = true;
    const turn = () => {
      turns++;
      if (loading) setImmediate(turn);
    };
    setImmediate(turn);
    const loaded = await fromPretrainedAsync(dir);
    loading = false;
    try {
      // Each tensor's bytes are awaited from the thread pool, so the loop turns at least once
      // per tensor read; a load that read them on the JS thread would leave turns at 1 or 2.
      expect(turns).toBeGreaterThanOrEqual(tensors);
      loaded.eval();
      source.eval();
      expect(loaded.generateIds(INPUTS, MASK, { maxNewTokens: 4 })).toEqual(
        source.generateIds(INPUTS, MASK, { maxNewTokens: 4 }),
      );
    } finally {
      loaded.dispose();
      source.dispose();
    }
  });

  test('a bad tensor found during the asynchronous reads rejects and leaves nothing allocated', async () => {
    const dir = path.join(root, 'nan');
    await savePretrained(model, dir);
    const file = path.join(dir, 'model.safetensors');
    const reader = SafetensorsReader.open(file);
    const at = reader.info('decoder.final_layer_norm.weight').fileOffset;
    reader.close();
    const fd = fs.openSync(file, 'r+');
    fs.writeSync(fd, new Uint8Array(new Float32Array([Number.NaN]).buffer), 0, 4, at);
    fs.closeSync(fd);
    const before = held();
    await expect(fromPretrainedAsync(dir)).rejects.toMatchObject({
      code: 'EXT5_CHECKPOINT',
      message: expect.stringMatching(/'decoder\.final_layer_norm\.weight' holds 1 NaN/),
    });
    expect(held()).toEqual(before);
    const ok = await fromPretrainedAsync(dir, { allowNonFinite: true });
    ok.dispose();
  });
});
