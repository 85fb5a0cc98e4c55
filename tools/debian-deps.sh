#!/usr/bin/env bash
# Debian packages `make test` uses: gcc for the firmware core's host tests (and the compiled scorer),
# gcc-aarch64-linux-gnu to build the compiled scorer for the aarch64 suite, mosquitto (a real broker the
# MQTT tests start on loopback), systemd's systemd-analyze for the unit checks, qemu-user-static for
# the aarch64 suite, iproute2 and strace for the loopback-only network test. Installs the missing ones
# when run as root; otherwise says what to install.
set -euo pipefail
need=()
command -v gcc >/dev/null || need+=(gcc libc6-dev)
command -v aarch64-linux-gnu-gcc >/dev/null || need+=(gcc-aarch64-linux-gnu)
[ -x /usr/sbin/mosquitto ] || need+=(mosquitto)
command -v systemd-analyze >/dev/null || need+=(systemd)
command -v qemu-aarch64-static >/dev/null || need+=(qemu-user-static)
# the loopback-only network test: a network namespace (ip) and every connect the agent tries (strace)
command -v ip >/dev/null || need+=(iproute2)
command -v strace >/dev/null || need+=(strace)
for extra in "$@"; do  # more packages for on-demand jobs: "command:package"
    command -v "${extra%%:*}" >/dev/null || need+=("${extra#*:}")
done
[ ${#need[@]} -eq 0 ] && exit 0
if [ "$(id -u)" != 0 ]; then
    echo "debian-deps: missing Debian packages; install them with: sudo apt-get install ${need[*]}" >&2
    exit 2
fi
echo "debian-deps: installing ${need[*]}"
apt-get update -qq
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
# the mosquitto package starts a broker on port 1883; the tests start their own
if [[ " ${need[*]} " == *" mosquitto "* ]]; then
    systemctl disable --now mosquitto >/dev/null 2>&1 || pkill -x mosquitto || true
fi
