// The run presets of T5.1.1 Large, XL and XXL carry the settings `ext5 plan` picks for 8 devices of
// 80 GB at 16 rows per device (the cheapest runnable setting where one fits, else the cheapest),
// and every one of them runs (sharding `full` needs checkpointing; the others run as they are).
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

test('every large preset runs; sharding full without checkpointing is refused, saying what to set', () => {
  for (const name of [
    'ext5-pretrain-xxl',
    't5-pretrain-xxl',
    'ext5-pretrain-large',
    'ext5-pretrain-xl',
    't5-pretrain-xl',
  ]) {
    expect(() => checkRunnable(loadRunConfig({ preset: name }))).not.toThrow();
  }
  for (const mode of ['optimizer', 'gradients']) {
    const c = loadRunConfig({ preset: 'tiny-test', set: [`training.sharding=${mode}`] });
    expect(() => checkRunnable(c)).not.toThrow();
  }
  const full = loadRunConfig({ preset: 'tiny-test', set: ['training.sharding=full'] });
  expect(() => checkRunnable(full)).toThrow(
    expect.objectContaining({
      code: 'EXT5_NOT_RUNNABLE',
      hint: expect.stringContaining('--gradient-checkpointing'),
    }),
  );
  const fullCk = loadRunConfig({
    preset: 'tiny-test',
    set: ['training.sharding=full', 'model.gradientCheckpointing=true'],
  });
  expect(() => checkRunnable(fullCk)).not.toThrow();
});
