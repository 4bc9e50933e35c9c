#!/usr/bin/env node
// The folder order of lib/ (docs/design.md, "Layers"): a file may import only from its own folder
// and from folders of a lower layer. Folders in one layer do not import each other. Checked over
// runtime imports and type-only imports alike, since a type import upward still ties a lower
// folder's meaning to a higher one. lib/index.ts (the package's face) and bin/ may import anything.
// A unit is a folder of lib/, or a deeper path named in LAYERS (eval/metrics, eval/aggregate: the
// metric registry and benchmark aggregation are what a task names, so they sit below tasks while
// the evaluator sits above). Exits 1 and lists every offending import; `--json` prints the graph of
// unit edges instead. It also holds every lib/ file to MAX_LINES lines, so a file reads on its own.

const fs = require('node:fs');
const path = require('node:path');

/** Lowest first; folders on one line share a layer. The one declaration of the order. */
const LAYERS = [
  ['util'],
  ['native'],
  ['tensor'],
  ['io'],
  ['optim', 'hub'],
  ['text', 'data'],
  ['ddp', 'model'],
  ['eval/metrics'],
  ['eval/aggregate'],
  ['tasks'],
  ['eval'],
  ['run'],
  ['train'],
  ['report'],
  ['experiments'],
  ['cli'],
];

/** The longest a lib/ source file may grow before it is split along a seam. */
const MAX_LINES = 700;

const root = path.resolve(__dirname, '..');
const lib = path.join(root, 'lib');
const layerOf = new Map();
LAYERS.forEach((names, i) => {
  for (const n of names) layerOf.set(n, i);
});

function tsFiles(dir) {
  const out = [];
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) out.push(...tsFiles(p));
    else if (e.name.endsWith('.ts')) out.push(p);
  }
  return out;
}

// import … from 'x' / export … from 'x' / import 'x' / require('x') / import('x'), relative only.
const SPEC = /(?:\bfrom\s*|\bimport\s*\(?\s*|\brequire\s*\(\s*)['"](\.{1,2}\/[^'"]+)['"]/g;

/** The unit a file belongs to: the longest LAYERS entry that is a prefix of its path, else its folder. */
function unitOf(file) {
  const rel = path.relative(lib, file).split(path.sep);
  if (rel.length < 2) return undefined;
  const noExt = rel.join('/').replace(/\.ts$/, '');
  let best;
  for (const name of layerOf.keys()) {
    if (name.includes('/') && (noExt === name || noExt.startsWith(`${name}/`))) {
      if (best === undefined || name.length > best.length) best = name;
    }
  }
  return best ?? rel[0];
}

/** The .ts file an import specifier names (a file or a folder's index.ts). */
function resolveSpec(file, spec) {
  const base = path.resolve(path.dirname(file), spec);
  for (const c of [base, `${base}.ts`, path.join(base, 'index.ts')]) {
    if (c.endsWith('.ts') && fs.existsSync(c)) return c;
  }
  return `${base}.ts`;
}

const problems = [];
const edges = new Map();
const unknown = new Set();
for (const file of tsFiles(lib)) {
  const from = unitOf(file);
  if (from === undefined) continue; // lib/index.ts
  if (!layerOf.has(from)) {
    unknown.add(from);
    continue;
  }
  const text = fs.readFileSync(file, 'utf8');
  const lines = text.split('\n').length - (text.endsWith('\n') ? 1 : 0);
  if (lines > MAX_LINES) {
    problems.push(
      `${path.relative(root, file)} has ${lines} lines (at most ${MAX_LINES}): split it along a seam`,
    );
  }
  for (const m of text.matchAll(SPEC)) {
    const target = resolveSpec(file, m[1]);
    if (!target.startsWith(lib + path.sep)) continue;
    const to = unitOf(target);
    if (to === undefined || to === from) continue;
    const key = `${from} -> ${to}`;
    edges.set(key, (edges.get(key) ?? 0) + 1);
    if (!layerOf.has(to)) {
      unknown.add(to);
      continue;
    }
    if (layerOf.get(to) >= layerOf.get(from)) {
      const line = text.slice(0, m.index).split('\n').length;
      problems.push(`${path.relative(root, file)}:${line}  ${from} imports ${to} ('${m[1]}')`);
    }
  }
}

if (process.argv.includes('--json')) {
  console.log(JSON.stringify({ layers: LAYERS, edges: Object.fromEntries(edges) }, null, 2));
  process.exit(0);
}
for (const u of unknown) {
  problems.push(
    `lib/${u}/ is not in the layer order: add it to LAYERS in scripts/check-layers.js and docs/design.md`,
  );
}
if (problems.length > 0) {
  console.error(
    `layering: ${problems.length} import(s) against the folder order (${LAYERS.map((l) => l.join(', ')).join(' < ')}):`,
  );
  for (const p of problems) console.error(`  ${p}`);
  process.exit(1);
}
console.log(`layering: ${edges.size} folder edges, all downward`);
