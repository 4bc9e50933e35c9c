#!/usr/bin/env node

// Lists or runs the benchmarks (bench/*.ts, compiled to dist/bench/). Each prints its figures
// next to a baseline run side by side. Usage:
//   npm run bench                 list them
//   npm run bench -- tensor       run bench/tensor.ts (extra arguments are passed on)
const fs = require('node:fs');
const path = require('node:path');
const { spawnSync } = require('node:child_process');

const dir = path.join(__dirname, '..', 'dist', 'bench');
// Modules that only help the benchmarks are not benchmarks themselves.
const HELPERS = new Set(['args', 't5_interleave']);
const names = fs.existsSync(dir)
  ? fs
      .readdirSync(dir)
      .filter((f) => f.endsWith('.js'))
      .map((f) => f.slice(0, -3))
      .filter((n) => !HELPERS.has(n))
  : [];
const [name, ...rest] = process.argv.slice(2);
if (!name) {
  console.log(`benchmarks (run one with: npm run bench -- NAME [args]):\n  ${names.join('\n  ')}`);
  process.exit(0);
}
if (!names.includes(name)) {
  console.error(`unknown benchmark '${name}'; available: ${names.join(', ')}`);
  process.exit(2);
}
const r = spawnSync(process.execPath, ['--expose-gc', path.join(dir, `${name}.js`), ...rest], {
  stdio: 'inherit',
});
process.exit(r.status ?? 1);
