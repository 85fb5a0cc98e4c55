#!/usr/bin/env bash
# Run the gateway's tests (everything but training and the ONNX export) on aarch64 under qemu-user,
# with Debian bookworm's python3.11 and the aarch64 wheels; builds them first when missing.
# Usage: tools/aarch64/run-tests.sh [pytest args...]   (AARCH64_DIR overrides build/aarch64)
set -euo pipefail
project="$(cd "$(dirname "$0")/../.." && pwd)"
dir="${AARCH64_DIR:-$project/build/aarch64}"
command -v qemu-aarch64-static >/dev/null || {
    echo "run-tests.sh: qemu-aarch64-static not found: apt-get install qemu-user-static" >&2; exit 2; }
# (re)build when missing or older than the dependencies it was built from
if [ ! -x "$dir/bin/python3" ] || [ "$project/pyproject.toml" -nt "$dir/bin/python3" ] \
        || [ "$project/tools/aarch64/build-sysroot.sh" -nt "$dir/bin/python3" ]; then
    "$project/tools/aarch64/build-sysroot.sh" "$dir"
fi
# The compiled parts for aarch64, cross-built against the sysroot's Python headers next to their sources
# (the host's builds have other file names, so both stay); the flags are setup.py's.
for source in "$project/edge/core/scorers/_likelihood_core.c" "$project/edge/core/_condition_core.c"; do
    built="${source%.c}.cpython-311-aarch64-linux-gnu.so"
    [ -e "$built" ] && [ ! "$source" -nt "$built" ] && [ ! "$project/edge/core/_values.h" -nt "$built" ] && continue
    command -v aarch64-linux-gnu-gcc >/dev/null || {
        echo "run-tests.sh: aarch64-linux-gnu-gcc not found: apt-get install gcc-aarch64-linux-gnu" >&2; exit 2; }
    aarch64-linux-gnu-gcc -shared -fPIC -O2 -ffp-contract=off -fno-fast-math \
        --sysroot="$dir/sysroot" -I"$dir/sysroot/usr/include/python3.11" "$source" -o "$built"
done
cd "$project"
export PYTHONPATH="$dir/site:$project" EDGE_GATEWAY_TESTS_ONLY=1 EDGE_TEST_EMULATOR=qemu-user EDGE_EXPECT_COMPILED=1
echo "aarch64: $("$dir/bin/python3" -c 'import platform, numpy, onnxruntime; print(platform.machine(),
    platform.python_version(), "numpy", numpy.__version__, "onnxruntime", onnxruntime.__version__)')"
exec "$dir/bin/python3" -m pytest tests edge -m "not workstation" -p no:cacheprovider "$@"
