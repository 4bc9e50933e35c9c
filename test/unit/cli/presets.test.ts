// `ext5 presets`, and the option values shell completion offers.
import { valueCompletions } from '../../../lib/cli/names';
import { renderPresets } from '../../../lib/cli/presets';
import { presetNames } from '../../../lib/model/t5_presets';
import { runPresetNames } from '../../../lib/run/run_presets';
import { runMain } from './run_main';

test('ext5 presets lists every run preset and every model preset', async () => {
  const r = await runMain(['presets']);
  expect(r.code).toBe(0);
  for (const n of [...runPresetNames(), ...presetNames()])
    expect(r.stdout).toMatch(new RegExp(`^  ${n} `, 'm'));
  const j = JSON.parse(renderPresets({ json: true }));
  expect(j.run.map((p: { name: string }) => p.name)).toEqual(runPresetNames());
  expect(j.model.map((p: { name: string }) => p.name)).toEqual(presetNames());
});

test('ext5 presets NAME shows what one sets; a typo gets the closest name', async () => {
  const one = renderPresets({ name: 'tiny-demo', json: false });
  expect(one).toContain('run preset tiny-demo:');
  expect(one).toContain('  data.mixtureOrTask = "mini_ext5_pretrain"');
  expect(renderPresets({ name: 't5-v1_1-small', json: false })).toContain('d_ff 1024');
  const bad = await runMain(['presets', 'tiny-dmo']);
  expect(bad.code).toBe(1);
  expect(bad.stderr).toContain("no run or model preset named 'tiny-dmo' (did you mean 'tiny-demo'?)");
});

test('completion offers the names that --preset, --model, --mixture, --task and --benchmark take', () => {
  expect(valueCompletions(['ext5', 'pretrain', '--preset', 'tiny-demo-'])).toEqual([
    'tiny-demo-t5',
    'tiny-demo-finetune',
  ]);
  expect(valueCompletions(['ext5', 'pretrain', '--model', 't5-v1_1-s'])).toEqual(['t5-v1_1-small']);
  expect(valueCompletions(['ext5', 'pretrain', '--mixture', 'mini_ext'])).toEqual(['mini_ext5_pretrain']);
  expect(valueCompletions(['ext5', 'finetune', '--task', 'mini_nli_c'])).toEqual(['mini_nli_counts']);
  expect(valueCompletions(['ext5', 'eval', '--benchmark', 'superg'])).toEqual(['superglue']);
  expect(valueCompletions(['ext5', 'pretrain', '--st'])).toBeUndefined();
});
