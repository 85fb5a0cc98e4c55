#!/usr/bin/env bash
# On-demand system test (not in `make test`): boot Debian bookworm under systemd-nspawn, install
# edge-anomaly there with systemd/install.sh, and show READY (Type=notify) for an agent with two models (a
# pump's on the simulated serial bridge, a compressor's on the simulated Modbus RTU slave), reload on SIGHUP,
# ALERTs with units and their journal fields, and a watchdog restart when readings stop; then uninstall --purge.
# Needs root; the host fetches the wheels (PyPI) and the container installs them offline. About 2 minutes.
# Usage: tools/nspawn/system-test.sh [--fresh]   (make system-test; --fresh rebuilds the Debian root)
set -euo pipefail
project="$(cd "$(dirname "$0")/../.." && pwd)"
dir="$project/build/nspawn"
mirror="${DEBIAN_MIRROR:-http://deb.debian.org/debian}"
python="${PYTHON:-$project/.venv/bin/python}"
[ "$(id -u)" = 0 ] || { echo "system-test.sh: run it as root" >&2; exit 2; }
"$project/tools/debian-deps.sh" systemd-nspawn:systemd-container debootstrap:debootstrap

if [ "${1:-}" = --fresh ] || [ ! -x "$dir/debian/usr/bin/python3" ]; then
    echo "system-test: debootstrap bookworm (minbase, systemd, python3) into $dir/debian"
    rm -rf "$dir/debian" "$dir/debian.new"
    mkdir -p "$dir"
    debootstrap --variant=minbase \
        --include=systemd,systemd-sysv,dbus,libnss-systemd,python3,python3-venv,ca-certificates \
        bookworm "$dir/debian.new" "$mirror" >"$dir/debootstrap.log" 2>&1 \
        || { tail -20 "$dir/debootstrap.log" >&2; exit 1; }
    mv "$dir/debian.new" "$dir/debian"
fi

# every run starts from the same clean Debian
root="$dir/root"
rm -rf "$root"
cp -a "$dir/debian" "$root"
mkdir -p "$root/root/edge-anomaly"
git -C "$project" ls-files -z | tar -C "$project" --null -T - -cf - | tar -C "$root/root/edge-anomaly" -xf -
# what the simulated sensor streams: 3,000 readings like the fixture model's training data
# and what the simulated Modbus compressor serves: 3,000 rows like the second fixture model's
PYTHONPATH="$project/tests" "$python" - "$root/srv/live.csv" "$root/srv/compressor.csv" <<'PY'
import sys
from pathlib import Path
from conftest import COMPRESSOR_HEADER, compressor_rows, live_rows, write_history
write_history(Path(sys.argv[1]), live_rows(3000, seed=5)).chmod(0o644)
write_history(Path(sys.argv[2]), compressor_rows(3000, seed=6, start_row=800), COMPRESSOR_HEADER).chmod(0o644)
PY
# the wheels install.sh --wheels installs from: the package and its gateway dependencies, built and
# fetched here (the container has no PyPI credentials or proxy CA of its own), plus setuptools to build
"$python" -m pip wheel -q --wheel-dir "$dir/wheels" "$project[mqtt,modbus]"
"$python" -m pip download -q --dest "$dir/wheels" "setuptools>=68"
cp -a "$dir/wheels" "$root/root/wheels"
install -m 0755 "$project/tools/nspawn/in-container.sh" "$root/root/system-test.sh"
mkdir -p "$root/var/log/journal"  # a persistent journal: the test's output is read from it afterwards
cat >"$root/etc/systemd/system/edge-system-test.service" <<'UNIT'
[Unit]
Description=edge-anomaly system test
After=multi-user.target
# the container's systemd exits with the test's status, and nspawn with it
SuccessAction=exit
FailureAction=exit
[Service]
Type=oneshot
ExecStart=/root/system-test.sh
StandardOutput=journal+console
StandardError=journal+console
[Install]
WantedBy=multi-user.target
UNIT
ln -sf /etc/systemd/system/edge-system-test.service "$root/etc/systemd/system/multi-user.target.wants/"
echo "system-test: booting the container"
status=0
rm -rf /run/systemd/nspawn/propagate/edge-system-test  # left by an earlier run that was killed
timeout 900 systemd-nspawn --quiet --boot --register=no --keep-unit --directory="$root" --machine=edge-system-test \
    --console=pipe -- systemd.show_status=false >"$dir/console.log" 2>&1 || status=$?
journalctl --directory="$root/var/log/journal" -u edge-system-test -o cat --no-pager | tee "$dir/system-test.log"
if ! grep -q "^SYSTEM TEST PASSED" "$dir/system-test.log" && [ "$status" = 0 ]; then status=1; fi
echo "system-test: exit $status; the whole output is in $dir/system-test.log"
exit "$status"
