#!/usr/bin/env bash
# Build what it takes to run the gateway's tests on 64-bit ARM under qemu-user emulation:
#   <dir>/sysroot   Debian bookworm arm64 with python3.11, unpacked with dpkg-deb -x (nothing runs)
#   <dir>/site      aarch64 wheels of the gateway's dependencies and test tools, for CPython 3.11
#   <dir>/bin/python3  that interpreter under qemu-aarch64-static (tools/aarch64/run-tests.sh uses it)
# Needs apt-get, dpkg-deb and pip on the host; no root, no binfmt_misc, no arm64 code is run.
# Usage: tools/aarch64/build-sysroot.sh [dir]   (default build/aarch64; rebuilt from scratch)
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
project="$(cd "$here/../.." && pwd)"
out="$(realpath -m "${1:-$project/build/aarch64}")"
mirror="${DEBIAN_MIRROR:-http://deb.debian.org/debian}"
security="${DEBIAN_SECURITY_MIRROR:-http://deb.debian.org/debian-security}"
python="${PYTHON:-python3}"
started=$(date +%s)

rm -rf "$out"
apt_dir="$out/apt"
mkdir -p "$apt_dir/lists/partial" "$apt_dir/archives/partial" "$apt_dir/etc/preferences.d" "$out/sysroot" "$out/site"
: >"$apt_dir/status"   # an empty dpkg status: every dependency is fetched, nothing of the host's counts
cat >"$apt_dir/etc/sources.list" <<EOF
deb [arch=arm64] $mirror bookworm main
deb [arch=arm64] $mirror bookworm-updates main
deb [arch=arm64] $security bookworm-security main
EOF
apt_options=(
    -o APT::Architecture=arm64 -o APT::Architectures=arm64
    -o Dir::State::Lists="$apt_dir/lists" -o Dir::State::status="$apt_dir/status"
    -o Dir::Cache="$apt_dir" -o Dir::Cache::archives="$apt_dir/archives"
    -o Dir::Etc::SourceList="$apt_dir/etc/sources.list" -o Dir::Etc::SourceParts=/nonexistent
    -o Dir::Etc::Preferences="$apt_dir/etc/preferences" -o Dir::Etc::PreferencesParts="$apt_dir/etc/preferences.d"
    -o Debug::NoLocking=1 -o APT::Sandbox::User=root -qq
)
echo "sysroot: fetching Debian bookworm arm64 python3.11 from $mirror"
apt-get "${apt_options[@]}" update
apt-get "${apt_options[@]}" install --download-only --no-install-recommends -y python3.11 libpython3.11-stdlib libstdc++6 \
    libpython3.11-dev >/dev/null  # -dev: the headers run-tests.sh builds the compiled scorer against
for deb in "$apt_dir"/archives/*.deb; do
    dpkg-deb -x "$deb" "$out/sysroot"
done
# bookworm is merged-/usr: the loader is looked up as /lib/ld-linux-aarch64.so.1
for dir in bin lib sbin; do
    [ -e "$out/sysroot/$dir" ] || ln -s "usr/$dir" "$out/sysroot/$dir"
done
# qemu 7.2 passes the host's x86 /proc/cpuinfo through; onnxruntime's cpuinfo then crashes on import.
# qemu-user looks in the -L prefix first, so an ARM cpuinfo there is what the guest reads.
mkdir -p "$out/sysroot/proc"
cp "$here/cpuinfo-cortex-a72" "$out/sysroot/proc/cpuinfo"
rm -rf "$apt_dir"

echo "site: fetching aarch64 wheels for CPython 3.11"
# Every tag must be listed: with only some of them pip silently picks onnxruntime 1.16.3 (built for numpy 1).
platforms=(manylinux_2_36_aarch64 manylinux_2_28_aarch64 manylinux_2_27_aarch64 manylinux2014_aarch64)
platform_args=()
for tag in "${platforms[@]}"; do platform_args+=(--platform "$tag"); done
wheel_options=(--only-binary=:all: --python-version 3.11 --implementation cp --abi cp311 "${platform_args[@]}")
# the gateway's dependencies and its test tools, read from pyproject.toml so the two cannot drift apart
"$python" - "$project/pyproject.toml" >"$out/requirements.txt" <<'PY'
import sys, tomllib
project = tomllib.load(open(sys.argv[1], "rb"))["project"]
print("\n".join(project["dependencies"] + project["optional-dependencies"]["test"]))
PY
"$python" -m pip download -q "${wheel_options[@]}" -d "$out/wheels" -r "$out/requirements.txt"
"$python" -m pip install -q --no-index --find-links "$out/wheels" "${wheel_options[@]}" --no-compile \
    --target "$out/site" -r "$out/requirements.txt"

# bin/python3 runs the emulated interpreter and is its sys.executable (qemu -0), so a test's subprocess
# [sys.executable, ...] is emulated too: without binfmt_misc the kernel cannot exec an arm64 file itself.
mkdir -p "$out/bin"
cat >"$out/bin/python3" <<'SH'
#!/bin/sh
root="$(cd "$(dirname "$0")/.." && pwd)"
exec qemu-aarch64-static -cpu "${QEMU_CPU:-cortex-a72}" -L "$root/sysroot" -0 "$root/bin/python3" \
    "$root/sysroot/usr/bin/python3.11" "$@"
SH
chmod +x "$out/bin/python3"

echo "built $out in $(( $(date +%s) - started )) s: sysroot $(du -sm "$out/sysroot" | cut -f1) MB," \
     "site $(du -sm "$out/site" | cut -f1) MB ($(ls "$out/wheels" | tr '\n' ' '))"
