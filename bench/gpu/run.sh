#!/usr/bin/env bash
# Everything ext5 checks on a GPU machine, in one call of about 8 minutes. The machine has CUDA,
# Python torch + transformers + safetensors, cmake, ninja and a compiler, but no Node and no
# network: run `bash scripts/gpu-pack.sh` here first, which puts a Node binary, node_modules and
# the compiled dist/ into the ignored .gpu/ folder, and send .gpu/ along with the checkout.
#
#   bash bench/gpu/run.sh            results in $OUT (default .gpu/out): one JSON per part and
#                                    summary.json (bench/gpu/summary.py), plus run.log
# Parts, each under its own time limit so that one failure still leaves the others' results:
#   1. build the torch addon against the Python torch (torch.utils.cmake_prefix_path) and record
#      `ext5 doctor --json` (CUDA devices);
#   2. the native T5/Adafactor/checkpoint tests with EXT5_TEST_DEVICE=cuda;
#   3. parity with transformers: random T5.1.1 and T5 v1.0 models saved by transformers, loaded
#      by ext5 on CUDA (float32 and bfloat16 logits and loss), and ext5-saved models loaded back
#      by transformers (float32 logits);
#   4. training and generation speed, T5.1.1-base bfloat16, inputs 512 / targets 114 (on a CPU:
#      T5.1.1-small, 64 / 16, 2 steps): ext5's full
#      step (forward, backward, Adafactor) against transformers' eager step with its Adafactor
#      (and torch.compile when time is left), tokens/s and MFU against a measured bf16 matmul
#      rate; greedy generation tokens/s against model.generate; the SDPA attention path A/B;
#   5. a one-process NCCL group and a data-parallel step on one GPU (not applicable on a CPU:
#      recorded as n/a).
# The same script runs on a CPU (EXT5_GPU_DEVICE=cpu) with smaller sizes and longer limits, so that
# every part is proven before a GPU is lent (docs/gpu.md).
# Environment: EXT5_GPU_PYTHON (default python3), EXT5_GPU_DEVICE (default cuda),
# EXT5_GPU_BUDGET_S (default 470 on CUDA, 1800 on a CPU: parts that no longer fit are skipped),
# EXT5_GPU_BATCH (32 on CUDA, 2 on a CPU), EXT5_GPU_BUILD_DIR (native/torch/build-python: the
# addon built against the Python torch, kept apart from native/torch/build), EXT5_GPU_THREADS
# (threads of both sides; default: each library's own), EXT5_GPU_DTYPE (compute dtype of the
# speed parts: bfloat16 on CUDA, float32 on a CPU).
set -uo pipefail
cd "$(dirname "$0")/../.."
repo="$PWD"
OUT="${OUT:-$repo/.gpu/out}"
mkdir -p "$OUT"
exec > >(tee -a "$OUT/run.log") 2>&1
start=$(date +%s)
device="${EXT5_GPU_DEVICE:-cuda}"
PY="${EXT5_GPU_PYTHON:-python3}"
case "$device" in
  cuda*)
    budget="${EXT5_GPU_BUDGET_S:-470}"
    batch="${EXT5_GPU_BATCH:-32}"
    # config input target new-tokens steps; limits of build, tests, speed, compiled speed
    speed=(t5-v1_1-base 512 114 64 10)
    dtype="${EXT5_GPU_DTYPE:-bfloat16}"
    limits=(240 120 90 150)
    ;;
  *)
    budget="${EXT5_GPU_BUDGET_S:-1800}"
    batch="${EXT5_GPU_BATCH:-2}"
    speed=(t5-v1_1-small 64 16 8 2)
    # bf16 matmul without bf16 units is emulated (0.2 GFLOP/s against 13 in float32, 1 thread,
    # on a 2-core machine without AVX-512): float32 unless asked.
    dtype="${EXT5_GPU_DTYPE:-float32}"
    limits=(1200 600 240 420)
    ;;
esac
# Threads for both sides (ext5 and torch). On a CPU shared with other work, 1 avoids OpenMP
# threads waiting on each other (measured: a t5-v1_1-tiny step 5.5 s on 2 threads, 0.4 s on 1).
if [ -n "${EXT5_GPU_THREADS:-}" ]; then
  export EXT5_NUM_THREADS="$EXT5_GPU_THREADS" OMP_NUM_THREADS="$EXT5_GPU_THREADS"
fi
build_dir="${EXT5_GPU_BUILD_DIR:-native/torch/build-python}"
work="$(mktemp -d "${TMPDIR:-/tmp}/ext5-gpu.XXXXXX")"
status_file="$OUT/steps.tsv"
: >"$status_file"

elapsed() { echo $(($(date +%s) - start)); }
# step NAME LIMIT_S CMD...: runs CMD under `timeout` if LIMIT_S still fits the budget.
step() {
  local name="$1" limit="$2"
  shift 2
  local left=$((budget - $(elapsed)))
  if [ "$left" -lt 15 ]; then
    echo "=== $name: skipped (budget spent)"
    printf '%s\tskipped\t0\n' "$name" >>"$status_file"
    return 0
  fi
  [ "$limit" -gt "$left" ] && limit="$left"
  echo "=== $name (limit ${limit}s, at $(elapsed)s)"
  local t0 rc
  t0=$(date +%s)
  timeout --kill-after=10 "$limit" "$@"
  rc=$?
  echo "=== $name: rc=$rc in $(($(date +%s) - t0))s"
  printf '%s\t%s\t%s\n' "$name" "$rc" "$(($(date +%s) - t0))" >>"$status_file"
  return 0
}
# not_applicable NAME WHY: a part that does not exist on this device (not a failure, not run).
not_applicable() {
  echo "=== $1: not applicable ($2)"
  printf '%s\tn/a\t0\n' "$1" >>"$status_file"
}

# ---- Node, node_modules and dist/ from .gpu/ ------------------------------------------------
if ! command -v node >/dev/null; then
  if [ ! -f .gpu/node.xz ]; then
    echo "no node and no .gpu/node.xz: run scripts/gpu-pack.sh before sending the checkout" >&2
    exit 2
  fi
  mkdir -p .gpu/bin
  [ -x .gpu/bin/node ] || { xz -dc .gpu/node.xz >.gpu/bin/node && chmod +x .gpu/bin/node; }
  export PATH="$repo/.gpu/bin:$PATH"
fi
[ -d node_modules ] || tar -xJf .gpu/node_modules.tar.xz
[ -f dist/bin/ext5.js ] || tar -xJf .gpu/dist.tar.xz
node --version

# ---- 1. build + doctor -------------------------------------------------------------------------
prefix="$("$PY" -c 'import torch; print(torch.utils.cmake_prefix_path)')"
echo "torch cmake prefix: $prefix"
export CMAKE_PREFIX_PATH="$prefix"
export EXT5_BUILD_JOBS="${EXT5_BUILD_JOBS:-$(nproc)}"
# Its own build folder: the addon every later part loads (EXT5_TORCH_ADDON), and the checkout's
# native/torch/build (perhaps against another libtorch) stays as it is.
export EXT5_BUILD_DIR="$build_dir"
export EXT5_TORCH_ADDON="$repo/$build_dir/Release/ext5_torch.node"
step build "${limits[0]}" node scripts/build-native.js torch
step doctor 30 bash -c 'node dist/bin/ext5.js doctor --json >"$1/doctor.json"' _ "$OUT"

# ---- 2. native tests on the device -------------------------------------------------------------
step tests "${limits[1]}" env EXT5_TEST_DEVICE="$device" EXT5_TEST_PYTHON="$(command -v "$PY")" \
  node node_modules/jest/bin/jest.js --ci \
  test/native/t5_sdpa.test.ts test/native/t5_model.test.ts test/native/adafactor.test.ts \
  test/native/checkpoint.test.ts test/native/t5_decode.test.ts test/native/gpu_bench.test.ts \
  --selectProjects native --json --outputFile="$OUT/jest-$device.json"

# ---- 3. parity with transformers ---------------------------------------------------------------
step parity-make 60 "$PY" bench/gpu/hf_side.py make-parity "$work/parity" "$device"
step parity-ext5 60 node dist/bench/gpu/ext5_side.js parity "$work/parity" "$device" "$OUT/parity_ext5.json"
step parity-hf 60 "$PY" bench/gpu/hf_side.py check-saved "$work/parity" "$device" "$OUT/parity_hf.json"

# ---- 5. NCCL (cheap; before the long benchmarks) -----------------------------------------------
if [[ "$device" == cuda* ]]; then
  step nccl 45 node dist/bench/gpu/ext5_side.js nccl "$device" "$OUT/nccl.json"
else
  not_applicable nccl "NCCL runs on CUDA devices only; the device is $device"
  printf '{"part":"nccl","device":"%s","applicable":false,"why":"NCCL runs on CUDA devices only"}\n' \
    "$device" >"$OUT/nccl.json"
fi

# ---- 4. speed ----------------------------------------------------------------------------------
read -r cfg input target new steps <<<"${speed[*]}"
step speed-ext5 "${limits[2]}" node dist/bench/gpu/ext5_side.js speed "$work" "$device" "$OUT/speed_ext5.json" \
  --config "$cfg" --dtype "$dtype" --batch "$batch" --input "$input" --target "$target" --new "$new" --steps "$steps"
step speed-hf "${limits[2]}" "$PY" bench/gpu/hf_side.py speed "$work" "$device" "$OUT/speed_hf.json" \
  --steps "$steps" --new "$new"
step attention-ab 60 node dist/bench/gpu/attention_ab.js --device "$device" --dtype "$dtype" \
  --configs "$cfg" --batch $(((batch + 1) / 2)) --input "$input" --target "$target" --new $(((new + 1) / 2)) \
  --steps $(((steps + 1) / 2)) --out "$OUT/attention_ab.json"
# Inductor's cache in this run's own folder: a compile killed by an earlier run's time limit leaves
# half-written kernels in the shared default cache (/tmp/torchinductor_$USER), which fail to load.
export TORCHINDUCTOR_CACHE_DIR="$work/inductor"
step speed-hf-compiled "${limits[3]}" "$PY" bench/gpu/hf_side.py speed "$work" "$device" \
  "$OUT/speed_hf_compiled.json" --steps "$steps" --new "$new" --compiled

"$PY" bench/gpu/summary.py "$OUT" >"$OUT/summary.json" || echo '{"error":"summary failed"}' >"$OUT/summary.json"
cat "$OUT/summary.json"
rm -rf "$work"
echo "total ${SECONDS}s"
