// docs/configuration.md embeds the key and preset tables generated from the code: they must match.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { configKeyPaths, renderConfigReference } from '../../../lib/run/run_config';
import { renderPresetTable, runPresetNames } from '../../../lib/run/run_presets';

const DOC = path.resolve(__dirname, '../../../docs/configuration.md');
const REGEN =
  'regenerate it: npx tsc -p tsconfig.build.json, then paste the output of ' +
  'node -e "process.stdout.write(require(\'./dist/lib/run/run_config\').renderConfigReference())" ' +
  '(and renderPresetTable() from dist/lib/run/run_presets) between the markers';

function block(text: string, name: string): string {
  const m = new RegExp(`<!-- ${name}:start[^>]*-->\\n([\\s\\S]*?)<!-- ${name}:end -->`).exec(text);
  if (!m) throw new Error(`docs/configuration.md has no ${name} markers`);
  return m[1]!;
}

test('the key table in docs/configuration.md is the one the code generates', () => {
  const doc = fs.readFileSync(DOC, 'utf8');
  const keys = block(doc, 'keys');
  if (keys !== renderConfigReference()) throw new Error(`docs/configuration.md is out of date: ${REGEN}`);
  for (const k of configKeyPaths()) expect(keys).toContain(`| \`${k}\` |`);
});

test('the preset table in docs/configuration.md is the one the code generates', () => {
  const doc = fs.readFileSync(DOC, 'utf8');
  const presets = block(doc, 'presets');
  if (presets !== renderPresetTable()) throw new Error(`docs/configuration.md is out of date: ${REGEN}`);
  for (const p of runPresetNames()) expect(presets).toContain(`| \`${p}\` |`);
});
