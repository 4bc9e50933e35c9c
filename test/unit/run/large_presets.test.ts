// The run presets of T5.1.1 Large, XL and XXL carry the settings `ext5 plan` picks for 8 devices of
// 80 GB at 16 rows per device (the cheapest runnable setting where one fits, else the cheapest),
// and a preset that needs sharding, which is planned, is refused at the start of a run.
import { type PlanOptions, parseByteSize, suggestSettings } from '../../../lib/model/memory_plan';
import { preset } from '../../../lib/model/t5_presets';
import { checkRunnable, rankRows } from '../../../lib/run/derive';
import { loadRunConfig } from '../../../lib/run/run_config';
import { LARGE_PRESET_PLAN, runPreset } from '../../../lib/run/run_presets';

const SIZES = ['large', 'xl', 'xxl'] as const;

test.each(SIZES)(
  'ext5-pretrain-%s and its T5 baseline have the settings ext5 plan picks for 8 x 80 GB',
  (size) => {
    for (const name of [`ext5-pretrain-${size}`, `t5-pretrain-${size}`]) {
      const c = loadRunConfig({ preset: name });
      expect(c.model.config).toBe(`t5-v1_1-${size}`);
      expect(c.data.mixtureOrTask).toBe(name.startsWith('ext5') ? 'ext5_pretrain' : 'c4_span_corruption');
      expect(rankRows(c, LARGE_PRESET_PLAN.worldSize)).toBe(LARGE_PRESET_PLAN.rowsPerRank);
      const model = preset(c.model.config);
      const o: PlanOptions = {
        rows: rankRows(c, LARGE_PRESET_PLAN.worldSize),
        inputsLength: c.data.inputsLength,
        targetsLength: c.data.targetsLength,
        computeDtype: c.training.dtype,
        gradientCheckpointing: c.model.gradientCheckpointing,
        dropout: c.training.dropout ?? model.dropout_rate,
        optimizer: c.optimizer,
        worldSize: LARGE_PRESET_PLAN.worldSize,
        sharding: c.training.sharding,
      };
      const s = suggestSettings(model, o, parseByteSize(LARGE_PRESET_PLAN.deviceMemory));
      const pick = s.cheapestRunnable ?? s.cheapest;
      expect(pick).not.toBeNull();
      expect({ sharding: c.training.sharding, gradientCheckpointing: c.model.gradientCheckpointing }).toEqual(
        {
          sharding: pick!.sharding,
          gradientCheckpointing: pick!.gradientCheckpointing,
        },
      );
    }
  },
);

test('what the presets pick: Large plain, XL with checkpointing, XXL also with sharded gradients', () => {
  const pick = (size: string) => {
    const v = runPreset(`ext5-pretrain-${size}`).values;
    return [v['training.sharding'], v['model.gradientCheckpointing']];
  };
  expect(SIZES.map(pick)).toEqual([
    ['none', false],
    ['none', true],
    ['gradients', true],
  ]);
});

test('a preset that needs sharding is refused at the start, saying it is planned and what runs today', () => {
  for (const name of ['ext5-pretrain-xxl', 't5-pretrain-xxl']) {
    const c = loadRunConfig({ preset: name });
    expect(() => checkRunnable(c)).toThrow(
      expect.objectContaining({
        code: 'EXT5_NOT_RUNNABLE',
        message: expect.stringContaining("training.sharding 'gradients' is planned, not implemented"),
        hint: expect.stringContaining('ext5-pretrain-large'),
      }),
    );
  }
  for (const name of ['ext5-pretrain-large', 'ext5-pretrain-xl', 't5-pretrain-xl', 'ext5-pretrain-small']) {
    expect(() => checkRunnable(loadRunConfig({ preset: name }))).not.toThrow();
  }
  for (const mode of ['optimizer', 'full']) {
    const c = loadRunConfig({ preset: 'tiny-test', set: [`training.sharding=${mode}`] });
    expect(() => checkRunnable(c)).toThrow(expect.objectContaining({ code: 'EXT5_NOT_RUNNABLE' }));
  }
});
