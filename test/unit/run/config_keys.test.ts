// The RunConfig type is computed from the key table: these lines only compile while the two agree,
// and `npx tsc -p tsconfig.json` (which checks test/) fails on any @ts-expect-error that stops
// being an error.
import { CONFIG_KEYS, configKeyPaths, type RunConfig } from '../../../lib/run/config_keys';
import { defaultRunConfig, getPath } from '../../../lib/run/run_config';

test('each key has a field of its type, and no field exists without a key', () => {
  const c: RunConfig = defaultRunConfig();
  const dtype: RunConfig['training']['dtype'] = 'bfloat16';
  const dropout: RunConfig['training']['dropout'] = null;
  const tasks: RunConfig['eval']['tasks'] = ['superglue'];
  c.training.dtype = dtype;
  c.training.dropout = dropout;
  c.eval.tasks = tasks;
  // @ts-expect-error an enum key takes only its values
  c.training.dtype = 'float16';
  // @ts-expect-error a key without `nullable` takes no null
  c.training.steps = null;
  // @ts-expect-error a field without a key does not exist
  c.training.epochs = 3;
  // @ts-expect-error a section without keys does not exist
  c.scheduler = {};
  expect(getPath(c, 'training.dtype')).toBe('float16');
});

test('the keys and the default config have the same paths', () => {
  const leaves: string[] = [];
  const walk = (o: unknown, p: string) => {
    if (o !== null && typeof o === 'object' && !Array.isArray(o)) {
      for (const [k, v] of Object.entries(o)) walk(v, p ? `${p}.${k}` : k);
    } else leaves.push(p);
  };
  walk(defaultRunConfig(), '');
  expect(leaves).toEqual(configKeyPaths());
  expect(new Set(CONFIG_KEYS.map((k) => k.path)).size).toBe(CONFIG_KEYS.length);
});
