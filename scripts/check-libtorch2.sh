#!/usr/bin/env bash
# Builds and tests this checkout against libtorch 2.x on a Debian 12 host.
#
# Debian 13 (trixie) packages libtorch-dev 2.6 and nodejs 20.19, which need trixie's glibc, so
# this script keeps a trixie root made by debootstrap OUTSIDE the repository, installs the build
# and test packages there, copies the current checkout in (tracked and untracked, non-ignored
# files, plus node_modules; the copy is made a git work tree for the packaging tests), builds both
# native addons against the trixie libtorch, and runs the native and e2e jest projects, packaging
# included (git, npm and npx are installed in the root). Failed tests are listed by name; the
# last line is a plain summary:
#   libtorch2: torch <version>, jest native+e2e: N passed, N failed, N skipped
#
# Usage (as root; debootstrap and chroot need it):
#   bash scripts/check-libtorch2.sh [ROOT]      ROOT defaults to $EXT5_DEB13_ROOT or /var/tmp/ext5-deb13
# Environment:
#   EXT5_DEB13_MIRROR  Debian mirror for debootstrap (default: the first deb.debian.org-style URI
#                      in this host's apt sources, else http://deb.debian.org/debian)
#   EXT5_SDPA          passed through (EXT5_SDPA=0 runs the tests on the non-SDPA attention path)
#   EXT5_CHECK_JEST    extra jest arguments (e.g. a test path), default: the native and e2e projects
# The root is reused on later runs (a few minutes and ~2.5 GB the first time).
set -euo pipefail

repo="$(cd "$(dirname "$0")/.." && pwd)"
root="${1:-${EXT5_DEB13_ROOT:-/var/tmp/ext5-deb13}}"
case "$root" in
  "$repo" | "$repo"/*)
    echo "check-libtorch2: the Debian 13 root must be outside the repository ($root)" >&2
    exit 2
    ;;
esac
if [ "$(id -u)" -ne 0 ]; then
  echo "check-libtorch2: needs root (debootstrap, chroot, bind mounts)" >&2
  exit 2
fi

host_mirror() {
  # deb822 "URIs:" lines first, then one-line "deb URI suite" entries; only plain Debian archives.
  local u
  u="$(grep -hsE '^URIs:' /etc/apt/sources.list.d/*.sources /etc/apt/sources.list 2>/dev/null |
    awk '{print $2}' | grep -E '/debian/?$' | head -n1 || true)"
  if [ -z "$u" ]; then
    u="$(grep -hsE '^deb ' /etc/apt/sources.list /etc/apt/sources.list.d/*.list 2>/dev/null |
      awk '{print $2}' | grep -E '/debian/?$' | head -n1 || true)"
  fi
  echo "${u:-http://deb.debian.org/debian}"
}
mirror="${EXT5_DEB13_MIRROR:-$(host_mirror)}"

if [ ! -x "$root/usr/bin/apt-get" ]; then
  if ! command -v debootstrap >/dev/null; then
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq debootstrap
  fi
  echo "[check-libtorch2] debootstrap trixie into $root from $mirror"
  mkdir -p "$root"
  debootstrap --variant=minbase trixie "$root" "$mirror"
fi

# Name resolution, CA certificates and the host's apt proxy/config for apt inside the root.
cp -L /etc/resolv.conf "$root/etc/resolv.conf"
for f in /etc/apt/apt.conf.d/*proxy* /etc/apt/apt.conf.d/99artifact-registry; do
  [ -f "$f" ] && cp "$f" "$root/etc/apt/apt.conf.d/"
done
if [ -d /usr/local/share/ca-certificates ]; then
  mkdir -p "$root/usr/local/share/ca-certificates"
  cp -r /usr/local/share/ca-certificates/. "$root/usr/local/share/ca-certificates/"
fi

mounted=()
cleanup() {
  local i
  for ((i = ${#mounted[@]} - 1; i >= 0; i--)); do umount -l "${mounted[$i]}" 2>/dev/null || true; done
}
trap cleanup EXIT
for m in proc sys dev dev/pts; do
  mkdir -p "$root/$m"
  if ! mountpoint -q "$root/$m"; then
    case "$m" in
      proc) mount -t proc proc "$root/proc" ;;
      *) mount --bind "/$m" "$root/$m" ;;
    esac
    mounted+=("$root/$m")
  fi
done

in_root() { chroot "$root" /usr/bin/env -u LD_LIBRARY_PATH DEBIAN_FRONTEND=noninteractive HOME=/root \
  PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin "$@"; }

packages=(ca-certificates libtorch-dev nodejs npm cmake ninja-build g++ pkg-config libsentencepiece-dev
  sentencepiece python3-sentencepiece python3-torch python3-numpy libopenblas0-openmp git)
if [ ! -f "$root/var/lib/ext5-packages" ] || [ "$(cat "$root/var/lib/ext5-packages")" != "${packages[*]}" ]; then
  echo "[check-libtorch2] installing packages in the root"
  in_root apt-get update -qq
  extra=()
  # Gloo headers give the c10d data-parallel path; not every suite has them.
  if in_root apt-cache show libgloo-dev >/dev/null 2>&1; then extra+=(libgloo-dev); fi
  in_root apt-get install -y -qq --no-install-recommends "${packages[@]}" "${extra[@]}"
  echo "${packages[*]}" >"$root/var/lib/ext5-packages"
fi

# The checkout: tracked + untracked non-ignored files, replacing the previous copy but keeping
# its native build folders (incremental rebuilds) and node_modules when the lockfile is unchanged.
dest="$root/work/ext5"
mkdir -p "$dest"
keep="$root/work/.ext5-keep"
rm -rf "$keep" && mkdir -p "$keep"
for d in native/torch/build native/spm/build node_modules package-lock.json; do
  if [ -e "$dest/$d" ]; then
    mkdir -p "$keep/$(dirname "$d")"
    mv "$dest/$d" "$keep/$d"
  fi
done
rm -rf "$dest" && mkdir -p "$dest"
(cd "$repo" && git ls-files -z --cached --others --exclude-standard |
  xargs -0 -I{} sh -c 'test -e "$1" && printf "%s\0" "$1"' _ {} |
  tar --null -T - -cf -) | tar -C "$dest" -xf -
for d in native/torch/build native/spm/build; do
  if [ -e "$keep/$d" ]; then mv "$keep/$d" "$dest/$d"; fi
done
if [ -d "$keep/node_modules" ] && cmp -s "$keep/package-lock.json" "$dest/package-lock.json"; then
  mv "$keep/node_modules" "$dest/node_modules"
else
  echo "[check-libtorch2] copying node_modules"
  # The contents, not the entry: node_modules may be a symlink to a folder outside the root.
  mkdir -p "$dest/node_modules"
  cp -a "$repo/node_modules/." "$dest/node_modules/"
fi
rm -rf "$keep"
# The packaging tests (test/e2e/pack.test.ts) list the files to ship with `git ls-files` and run
# npm, npx and tar, as on a developer's clone: make the copy a git work tree (nothing committed;
# `git ls-files -co --exclude-standard` then lists the same files as in the checkout) and stop
# here, naming the tool, when one of them is missing, so that no test fails for want of it.
in_root git config --global --replace-all safe.directory /work/ext5
in_root git -C /work/ext5 init -q
missing=""
for tool in git npm npx tar; do
  in_root sh -c "command -v $tool" >/dev/null || missing="$missing $tool"
done
if [ -n "$missing" ]; then
  echo "check-libtorch2: the Debian 13 root has no$missing; the e2e tests need them" >&2
  exit 2
fi

torch_version="$(in_root dpkg-query -W -f '${Version}' libtorch-dev)"
echo "[check-libtorch2] building against libtorch-dev $torch_version"
results=/tmp/ext5-libtorch2-jest.json
jest_args="${EXT5_CHECK_JEST:---selectProjects native e2e}"
status=0
# A results file from an earlier run must not stand in for this one (a failed build leaves none).
in_root rm -f "$results"
# shellcheck disable=SC2016
in_root env EXT5_SDPA="${EXT5_SDPA:-}" EXT5_BUILD_JOBS="${EXT5_BUILD_JOBS:-}" bash -c '
  set -e
  cd /work/ext5
  [ -n "$EXT5_SDPA" ] || unset EXT5_SDPA
  [ -n "$EXT5_BUILD_JOBS" ] || unset EXT5_BUILD_JOBS
  node --version
  node scripts/build-native.js
  npx tsc -p tsconfig.build.json
  npx jest --ci --json --outputFile='"$results"' '"$jest_args"'
' || status=$?
# The failed tests by name, so that the summary below can be read without the jest log.
in_root node -e '
  let r;
  try { r = require(process.argv[1]); } catch { process.exit(0); }
  for (const f of r.testResults)
    for (const t of f.assertionResults)
      if (t.status === "failed") console.log(`FAILED ${f.name.replace(/^\/work\/ext5\//, "")}: ${t.fullName}`);
' "$results" || true
in_root node -e '
  let r;
  try { r = require(process.argv[1]); } catch { console.log(`libtorch2: torch ${process.argv[2]}, jest did not finish`); process.exit(1); }
  console.log(`libtorch2: torch ${process.argv[2]}, jest ${process.argv[3]}: ${r.numPassedTests} passed, ${r.numFailedTests} failed, ${r.numPendingTests + r.numTodoTests} skipped`);
  if (r.numTotalTests === 0) process.exit(1);
' "$results" "$torch_version" "$jest_args" || status=1
exit "$status"
