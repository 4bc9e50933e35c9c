#!/usr/bin/env bash
# One idempotent set-up step for a fresh clone: system packages (only those missing), npm
# dependencies, the TypeScript build and the native addons (or matching prebuilds).
#   bash scripts/setup.sh            what running ext5 needs
#   bash scripts/setup.sh --test     plus what the test suite needs (Python torch reference, spm tools)
#   bash scripts/setup.sh --bench    plus what the benchmarks' baselines need
# Every step is skipped when its result is already up to date, so it is cheap to run each time.
set -euo pipefail
cd "$(dirname "$0")/.."

MODE="${1:-run}"
say() { printf '\033[1m[ext5 setup]\033[0m %s\n' "$*" >&2; }

RUN_PKGS=(libtorch-dev libopenblas0-openmp libgloo-dev libsentencepiece-dev cmake ninja-build g++ pkg-config)
TEST_PKGS=(python3-torch python3-numpy sentencepiece python3-sentencepiece)
BENCH_PKGS=(python3-nltk)
pkgs=("${RUN_PKGS[@]}")
case "$MODE" in
  run) ;;
  --test) pkgs+=("${TEST_PKGS[@]}") ;;
  --bench) pkgs+=("${TEST_PKGS[@]}" "${BENCH_PKGS[@]}") ;;
  *) echo "usage: scripts/setup.sh [--test|--bench]" >&2; exit 2 ;;
esac

# --- 1. system packages --------------------------------------------------------------------
if [ "${EXT5_SKIP_SYSTEM:-0}" != "1" ]; then
  if command -v dpkg-query >/dev/null 2>&1 && command -v apt-get >/dev/null 2>&1; then
    missing=()
    for p in "${pkgs[@]}"; do
      dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
    done
    if [ "${#missing[@]}" -gt 0 ]; then
      SUDO=""
      if [ "$(id -u)" != "0" ]; then
        if command -v sudo >/dev/null 2>&1; then SUDO="sudo"; else
          say "missing system packages: ${missing[*]}"
          say "run as root: apt-get install -y ${missing[*]}"; exit 1
        fi
      fi
      say "installing system packages: ${missing[*]}"
      $SUDO apt-get update -qq
      DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
    fi
  else
    if [ -z "${LIBTORCH:-}${Torch_DIR:-}${CMAKE_PREFIX_PATH:-}" ] && ! python3 -c 'import torch' >/dev/null 2>&1; then
      say "this is not a Debian/Ubuntu system, so packages cannot be installed automatically."
      say "install: libtorch (set LIBTORCH=/path/to/libtorch, or pip install torch), OpenBLAS,"
      say "SentencePiece (libsentencepiece-dev), cmake, ninja and a C++17 compiler; then re-run."
      exit 1
    fi
  fi
fi

# --- 2. npm dependencies ---------------------------------------------------------------------
stamp_dir=node_modules/.ext5
if [ ! -f "$stamp_dir/lock" ] || ! cmp -s package-lock.json "$stamp_dir/lock"; then
  say "installing npm dependencies"
  # --ignore-scripts: our own install step (native build) runs below, once the TS is built.
  npm ci --ignore-scripts --no-audit --no-fund --loglevel=error
  mkdir -p "$stamp_dir" && cp package-lock.json "$stamp_dir/lock"
fi

# --- 3. TypeScript build ----------------------------------------------------------------------
ts_hash=$(cat tsconfig.json tsconfig.build.json package.json $(find lib bin bench -name '*.ts' 2>/dev/null | sort) 2>/dev/null | sha256sum | cut -c1-16)
if [ ! -f dist/.stamp ] || [ "$(cat dist/.stamp)" != "$ts_hash" ]; then
  say "compiling TypeScript"
  rm -rf dist && npm run --silent build:ts && echo "$ts_hash" > dist/.stamp
fi

# --- 4. native addons (a matching prebuild is used when present) ------------------------------
node scripts/install.js
