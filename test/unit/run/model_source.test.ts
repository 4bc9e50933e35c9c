// A model source (--checkpoint / model.checkpoint) is parsed once and looked up without writing:
// listing a run directory's checkpoints leaves a save interrupted there as it is (only the run that
// owns the directory repairs it, under its lock), and a Hub id is parsed once on its way to the
// folder its config and weights are read from.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as modelRef from '../../../lib/hub/model_ref';
import { readCheckpointFolderConfig } from '../../../lib/model/hf_format';
import { toHuggingFaceJson } from '../../../lib/model/t5_config';
import { preset } from '../../../lib/model/t5_presets';
import {
  localModelSource,
  openCheckpoint,
  openModelSource,
  parseModelSpec,
} from '../../../lib/run/model_source';
import { checkpointName, listCheckpoints } from '../../../lib/run/run_checkpoints';
import { loadRunConfig } from '../../../lib/run/run_config';
import { repairInterruptedSaves } from '../../../lib/train/checkpoint_save';
import { runModelConfig } from '../../../lib/train/resume';

let tmp: string;
beforeEach(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'ext5-source-'));
});
afterEach(() => {
  jest.restoreAllMocks();
  fs.rmSync(tmp, { recursive: true, force: true });
});

/** A complete checkpoint as a run saves one (config.json, trainer state, weights). */
function save(run: string, step: number): string {
  const dir = path.join(run, 'checkpoints', checkpointName(step));
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(path.join(dir, 'config.json'), JSON.stringify(toHuggingFaceJson(preset('t5-tiny'))));
  fs.writeFileSync(path.join(dir, 'trainer_state.json'), JSON.stringify({ version: 1, step }));
  fs.writeFileSync(path.join(dir, 'model.safetensors'), `step ${step}`);
  return dir;
}

/** A pid no process has (the largest pid Linux hands out, plus one). */
const DEAD = 4194304 + 1;

/**
 * A run directory whose last start was killed twice in a save: step 3 set aside (`.old-`) before its
 * replacement was renamed in, and step 4's temporary directory (`.tmp-`) half written.
 */
function interruptedRun(): { run: string; ck: string; names: string[] } {
  const run = path.join(tmp, 'run');
  save(run, 2);
  const three = save(run, 3);
  const ck = path.join(run, 'checkpoints');
  fs.renameSync(three, path.join(ck, `.${checkpointName(3)}.old-${DEAD}-0000`));
  fs.mkdirSync(path.join(ck, `.${checkpointName(4)}.tmp-${DEAD}-0000`));
  return { run, ck, names: fs.readdirSync(ck).sort() };
}

test('listing, resolving and opening a run directory rename and delete nothing', () => {
  const { run, ck, names } = interruptedRun();
  expect(listCheckpoints(ck).map((k) => k.step)).toEqual([2]);
  expect(localModelSource(run)).toEqual({ spec: run, dir: path.join(ck, checkpointName(2)), runDir: run });
  expect(openCheckpoint(run, (dir) => path.basename(dir)).value).toBe(checkpointName(2));
  expect(fs.readdirSync(ck).sort()).toEqual(names);
});

test("the run's own start repairs the interrupted saves", () => {
  const { ck } = interruptedRun();
  repairInterruptedSaves(ck);
  expect(fs.readdirSync(ck).sort()).toEqual([checkpointName(2), checkpointName(3)]);
  expect(listCheckpoints(ck).map((k) => k.step)).toEqual([2, 3]);
});

test('what a model argument names: a checkpoint, a run directory, a Hub id, else an error', () => {
  const run = path.join(tmp, 'run');
  const two = save(run, 2);
  expect(parseModelSpec(two)).toEqual({ kind: 'checkpoint', spec: two, dir: two });
  expect(parseModelSpec(run)).toMatchObject({ kind: 'run', runDir: run });
  expect(parseModelSpec('org/t5@v1')).toEqual({
    kind: 'hub',
    spec: 'org/t5@v1',
    ref: { repoId: 'org/t5', revision: 'v1' },
  });
  expect(() => parseModelSpec(path.join(tmp, 'nowhere'))).toThrow(
    expect.objectContaining({ code: 'EXT5_CHECKPOINT' }),
  );
  const empty = path.join(tmp, 'empty');
  fs.mkdirSync(path.join(empty, 'checkpoints'), { recursive: true });
  expect(() => localModelSource(empty)).toThrow(/without a complete checkpoint yet/);
});

test("a Hub id is parsed once on its way to the run's model config", () => {
  // A cached snapshot, as a download leaves it: refs/main → the commit, snapshots/<commit>/config.json.
  const commit = 'a'.repeat(40);
  const cache = path.join(tmp, 'hub');
  const repo = path.join(cache, 'models--org--t5-tiny');
  fs.mkdirSync(path.join(repo, 'refs'), { recursive: true });
  fs.writeFileSync(path.join(repo, 'refs', 'main'), commit);
  const snap = path.join(repo, 'snapshots', commit);
  fs.mkdirSync(snap, { recursive: true });
  fs.writeFileSync(
    path.join(snap, 'config.json'),
    JSON.stringify(toHuggingFaceJson({ ...preset('t5-tiny'), d_model: 48 })),
  );
  const parses = jest.spyOn(modelRef, 'parseHubRef');
  const c = loadRunConfig({ preset: 'tiny-test', overrides: { model: { checkpoint: 'org/t5-tiny' } } });
  const source = localModelSource(c.model.checkpoint!, cache);
  expect(source).toEqual({
    spec: 'org/t5-tiny',
    dir: snap,
    hub: { repo: 'org/t5-tiny', revision: 'main', commit },
  });
  expect(runModelConfig(c, source).d_model).toBe(48);
  expect(openModelSource(source, readCheckpointFolderConfig).value.d_model).toBe(48);
  expect(parses).toHaveBeenCalledTimes(1);
});
