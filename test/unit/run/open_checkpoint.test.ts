// openCheckpoint on a run directory whose run prunes checkpoints while they are being read: the
// newest that opens is taken, a vanished one is passed over (and the run listed again when every
// listed one vanished), and when none opens the error says why for each.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { openCheckpoint } from '../../../lib/run/model_source';
import { checkpointName } from '../../../lib/run/run_checkpoints';
import { Ext5Error } from '../../../lib/util/errors';

let run: string;
beforeEach(() => {
  run = fs.mkdtempSync(path.join(os.tmpdir(), 'ext5-open-'));
});
afterEach(() => fs.rmSync(run, { recursive: true, force: true }));

/** A complete checkpoint as listCheckpoints sees one, with `weights` as its model file. */
function save(step: number, weights = `step ${step}`): string {
  const dir = path.join(run, 'checkpoints', checkpointName(step));
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(path.join(dir, 'config.json'), '{}');
  fs.writeFileSync(path.join(dir, 'trainer_state.json'), JSON.stringify({ version: 1, step }));
  fs.writeFileSync(path.join(dir, 'model.safetensors'), weights);
  return dir;
}

const readWeights = (dir: string) => fs.readFileSync(path.join(dir, 'model.safetensors'), 'utf8');

test('the newest checkpoint of a run directory; a checkpoint directory as given', () => {
  save(2);
  const four = save(4);
  expect(openCheckpoint(run, readWeights)).toEqual({ dir: four, value: 'step 4', passed: [] });
  const two = path.join(run, 'checkpoints', checkpointName(2));
  expect(openCheckpoint(two, readWeights).value).toBe('step 2');
});

test('a checkpoint pruned between listing and opening: the next older one', () => {
  save(2);
  const four = save(4);
  let first = true;
  const r = openCheckpoint(run, (dir) => {
    if (first) {
      first = false;
      fs.rmSync(four, { recursive: true }); // the run's keep-last pruning, at the worst moment
    }
    return readWeights(dir);
  });
  expect(r.value).toBe('step 2');
  expect(r.passed).toEqual([
    { dir: four, reason: expect.stringMatching(/removed while it was being opened/) },
  ]);
});

test('every listed checkpoint pruned while a newer one was saved: the run is listed again', () => {
  const four = save(4);
  let saved = false;
  const r = openCheckpoint(run, (dir) => {
    if (!saved) {
      saved = true;
      save(5); // keepLast=1: save the next one, prune the one being opened
      fs.rmSync(four, { recursive: true });
    }
    return readWeights(dir);
  });
  expect(r.value).toBe('step 5');
});

test('none opens: each reason is listed; a run without checkpoints and a stray path say so', () => {
  save(2, 'damaged');
  save(4, 'damaged');
  let err: unknown;
  try {
    openCheckpoint(run, (dir) => {
      if (readWeights(dir) === 'damaged') throw new Error('truncated file');
      return dir;
    });
  } catch (e) {
    err = e;
  }
  expect(err).toBeInstanceOf(Ext5Error);
  expect((err as Ext5Error).code).toBe('EXT5_CHECKPOINT');
  expect((err as Ext5Error).message).toMatch(
    /step-00000004: truncated file\n {2}step-00000002: truncated file/,
  );

  const empty = path.join(run, 'empty');
  fs.mkdirSync(path.join(empty, 'checkpoints'), { recursive: true });
  expect(() => openCheckpoint(empty, readWeights)).toThrow(/without a complete checkpoint yet/);
  expect(() => openCheckpoint(path.join(run, 'nowhere'), readWeights)).toThrow(/neither a checkpoint/);
});
