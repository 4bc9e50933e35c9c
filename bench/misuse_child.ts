// Runs one case of bench/misuse_cases.ts (index in argv[2]) and prints one JSON line:
// {outcome: 'coded' | 'uncoded' | 'returned', code?, message?, value?}.
import * as fs from 'node:fs';
import { CASES, TEMP_DIRS } from './misuse_cases';

async function main(): Promise<void> {
  const c = CASES[Number(process.argv[2])];
  if (!c) throw new Error(`no case ${process.argv[2]}`);
  let line: Record<string, unknown>;
  try {
    const v = await c.run();
    line = { outcome: 'returned', value: typeof v === 'boolean' ? v : typeof v };
  } catch (e) {
    const code = (e as { code?: unknown }).code;
    line = {
      outcome: typeof code === 'string' && code.startsWith('EXT5_') ? 'coded' : 'uncoded',
      code,
      message: String((e as Error).message).slice(0, 200),
    };
  }
  for (const d of TEMP_DIRS) fs.rmSync(d, { recursive: true, force: true });
  process.stdout.write(`\n@@${JSON.stringify(line)}\n`);
  process.exit(0);
}

void main();
