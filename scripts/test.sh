#!/usr/bin/env bash
# The test command of the README: sets everything up on a fresh Debian 12 machine, then runs the
# linter/formatter check, the type check and the three test layers (unit, native, e2e).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh --test
npx biome ci lib bin test bench scripts
npx tsc -p tsconfig.json --noEmit
npx jest --ci "$@"
