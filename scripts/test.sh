#!/usr/bin/env bash
# The test command of the README: sets everything up on a fresh Debian 12 machine, then runs the
# linter/formatter check, the type check, the import-cycle check and the three test layers
# (unit, native, e2e).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh --test
npx biome ci lib bin test bench scripts
npx tsc -p tsconfig.json --noEmit
# No runtime import cycle in lib/ or bin/ (settings in .madgerc): `import type` is erased by tsc and
# skipped, while require() and import() count, so a lazy require cannot hide a cycle. madge exits
# non-zero and names the cycle when it finds one.
npx madge --circular lib bin
# The folder order of lib/ (docs/design.md, "Layers"): every import points to a lower folder.
node scripts/check-layers.js
results_dir="$(mktemp -d)"
trap 'rm -rf "$results_dir"' EXIT
results="$results_dir/jest.json"
status=0
npx jest --ci --json --outputFile="$results" "$@" || status=$?
# A plain closing line that any CI reads: "jest: N passed, N failed, N skipped".
node -e '
  const r = require(process.argv[1]);
  console.log(`jest: ${r.numPassedTests} passed, ${r.numFailedTests} failed, ${r.numPendingTests + r.numTodoTests} skipped`);
  if (r.numTotalTests === 0) { console.error("jest ran no test"); process.exit(1); }
' "$results" || status=1
exit "$status"
