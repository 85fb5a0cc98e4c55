#!/usr/bin/env bash
# Install edge-agent as the systemd service edge-anomaly on a gateway (Raspberry Pi OS or Debian,
# 64-bit, Python 3.11+), from a clone of this repository. No torch: the gateway needs numpy,
# onnxruntime, pyserial and smbus2 only. Run it again to upgrade; config, state and model stay.
set -euo pipefail

usage() {
    cat <<'EOF'
usage: sudo systemd/install.sh [options]
       sudo systemd/install.sh --uninstall [--purge]

  --model FILE     the model edge-export wrote; verified, then copied to /etc/edge-anomaly/model.onnx
  --config FILE    the agent's config for /etc/edge-anomaly/config.toml (default: keep the one there,
                   else install systemd/config.example.toml)
  --extras LIST    optional parts, comma-separated: gpio (libgpiod v2), mqtt (paho-mqtt)
  --prefix DIR     where the virtual environment goes (default /opt/edge-anomaly)
  --wheels DIR     install offline from the wheels in DIR (pip --no-index --find-links DIR)
  --no-start       enable the service but do not start it now
  --root DIR       install into DIR as if it were / (image builds, tests); nothing is started, and the
                   venv's scripts name DIR in their paths, so DIR must become / where they run
  --uninstall      stop and disable the service; remove the unit, its helper files and the venv;
                   keep /etc/edge-anomaly, /var/lib/edge-anomaly and the user
  --purge          with --uninstall: remove those too
EOF
}

say() { printf 'install.sh: %s\n' "$*"; }
die() { printf 'install.sh: error: %s\n' "$*" >&2; exit 2; }

project="$(cd "$(dirname "$0")/.." && pwd)"
units="$project/systemd"
model="" config="" extras="" prefix=/opt/edge-anomaly wheels="" start=1 root="" action=install purge=0
while [ $# -gt 0 ]; do
    case "$1" in
        --model) model="$(realpath "${2:?--model needs a file}")"; shift ;;
        --config) config="$(realpath "${2:?--config needs a file}")"; shift ;;
        --extras) extras="${2:?--extras needs a list}"; shift ;;
        --prefix) prefix="${2:?--prefix needs a folder}"; shift ;;
        --wheels) wheels="$(realpath "${2:?--wheels needs a folder}")"; shift ;;
        --root) root="$(realpath -m "${2:?--root needs a folder}")"; shift ;;
        --no-start) start=0 ;;
        --uninstall) action=uninstall ;;
        --purge) purge=1 ;;
        -h|--help) usage; exit 0 ;;
        *) usage >&2; die "unknown option $1" ;;
    esac
    shift
done
[ -n "$root" ] && start=0
[ -z "$root" ] && [ "$(id -u)" != 0 ] && die "run it as root (sudo $0 ...)"
[ -n "$model" ] && [ ! -f "$model" ] && die "--model $model: no such file"
[ -n "$config" ] && [ ! -f "$config" ] && die "--config $config: no such file"

unit=/etc/systemd/system/edge-anomaly.service
sysusers=/etc/sysusers.d/edge-anomaly.conf
tmpfiles=/etc/tmpfiles.d/edge-anomaly.conf
udev_rules=/etc/udev/rules.d/60-edge-anomaly.rules
etc=/etc/edge-anomaly
state=/var/lib/edge-anomaly
venv="$prefix/venv"
online=$([ -z "$root" ] && [ -d /run/systemd/system ] && echo 1 || echo 0)  # a running systemd to talk to
systemctl_root=(); [ -n "$root" ] && systemctl_root=(--root="$root")

uninstall() {
    if [ "$online" = 1 ]; then
        systemctl disable --now edge-anomaly.service 2>/dev/null || true
    else
        systemctl "${systemctl_root[@]}" disable edge-anomaly.service 2>/dev/null || true
    fi
    rm -f "$root$unit" "$root$sysusers" "$root$tmpfiles" "$root$udev_rules" "$root$unit.d/network.conf"
    rmdir "$root$unit.d" 2>/dev/null || true  # other drop-ins (systemctl edit) stay
    case "$prefix" in /?*) rm -rf "$root$prefix" ;; *) die "--prefix $prefix must be an absolute folder" ;; esac
    [ "$online" = 1 ] && systemctl daemon-reload
    say "removed the service, $venv and the unit's files"
    if [ "$purge" = 1 ]; then
        rm -rf "$root$etc" "$root$state"
        if grep -q '^edge-anomaly:' "$root/etc/passwd" 2>/dev/null; then
            if [ -n "$root" ]; then userdel --prefix "$root" edge-anomaly; else userdel edge-anomaly; fi
        fi
        say "purged $etc, $state and the user edge-anomaly (groups i2c and gpio stay: others may use them)"
    else
        say "kept $etc, $state and the user edge-anomaly (--purge removes them)"
    fi
}

need_python() {
    command -v python3 >/dev/null || die "python3 not found: apt-get install python3 python3-venv"
    python3 -c 'import sys; sys.exit(sys.version_info < (3, 11))' ||
        die "edge-agent needs Python 3.11 or newer; this is $(python3 -V)"
    python3 -c 'import ensurepip, venv' 2>/dev/null || die "the venv module is missing: apt-get install python3-venv"
}

install_venv() {
    local spec="$project" pip_source=()
    [ -n "$extras" ] && spec="$project[$extras]"
    [ -n "$wheels" ] && pip_source=(--no-index --find-links "$wheels")
    say "installing edge-anomaly${extras:+ [$extras]} into $venv (no torch)"
    mkdir -p "$root$prefix"
    [ -x "$root$venv/bin/python" ] || python3 -m venv "$root$venv"
    "$root$venv/bin/python" -m pip install --quiet --disable-pip-version-check "${pip_source[@]}" --upgrade "$spec"
    if "$root$venv/bin/python" -c 'import importlib.util as u; raise SystemExit(u.find_spec("torch") is None)'; then
        die "torch ended up in $venv; a gateway must not carry it"
    fi
    cp "$project/README.md" "$root$prefix/README.md"
    rm -rf "$root$prefix/docs"
    cp -r "$project/docs" "$root$prefix/docs"  # the technician's guide, on the gateway itself
}

install_files() {
    mkdir -p "$root/etc/systemd/system" "$root/etc/sysusers.d" "$root/etc/tmpfiles.d" "$root/etc/udev/rules.d"
    sed "s#/opt/edge-anomaly#$prefix#g" "$units/edge-anomaly.service" >"$root$unit"
    install -m 0644 "$units/edge-anomaly.sysusers" "$root$sysusers"
    install -m 0644 "$units/edge-anomaly.tmpfiles" "$root$tmpfiles"
    install -m 0644 "$units/edge-anomaly.udev.rules" "$root$udev_rules"
    chmod 0644 "$root$unit"
    if [ -n "$root" ]; then
        systemd-sysusers --root="$root" "$root$sysusers"
    else
        systemd-sysusers "$sysusers"
    fi
    local gid
    gid="$(awk -F: '$1 == "edge-anomaly" { print $3 }' "$root/etc/group")"
    [ -n "$gid" ] || die "systemd-sysusers did not create the group edge-anomaly"
    install -d -m 0750 -o 0 -g "$gid" "$root$etc"
    if [ -n "$config" ]; then
        install -m 0640 -o 0 -g "$gid" "$config" "$root$etc/config.toml"
        say "installed $config as $etc/config.toml"
    elif [ ! -f "$root$etc/config.toml" ]; then
        install -m 0640 -o 0 -g "$gid" "$units/config.example.toml" "$root$etc/config.toml"
        say "installed the example config as $etc/config.toml: edit its [[sources]] for this gateway"
    fi
    if [ -n "$model" ]; then
        "$root$venv/bin/edge-agent" inspect "$model" >/dev/null || die "--model $model was refused (see above)"
        install -m 0640 -o 0 -g "$gid" "$model" "$root$etc/model.onnx"
        say "installed $model as $etc/model.onnx"
    fi
    if [ -n "$root" ]; then
        systemd-tmpfiles --root="$root" --create "$root$tmpfiles"
    else
        systemd-tmpfiles --create "$tmpfiles"
        udevadm control --reload-rules 2>/dev/null && \
            udevadm trigger --subsystem-match=i2c-dev --subsystem-match=gpio 2>/dev/null || true
    fi
}

write_network_policy() {
    # the unit allows loopback only; this drop-in allows what the config's plugins connect to (a broker)
    local drop_in=/etc/systemd/system/edge-anomaly.service.d/network.conf message
    if message="$("$root$venv/bin/edge-agent" network-policy --config "$root$etc/config.toml" \
            --write "$root$drop_in" 2>&1)"; then
        say "wrote the network policy $drop_in: $(grep -c '^IPAddressAllow=' "$root$drop_in" || true) address(es) beyond loopback"
    else
        say "warning: no network policy written, so the service reaches loopback only: ${message#edge-agent: error: }"
        say "after fixing it: edge-agent network-policy --config $etc/config.toml --write && systemctl daemon-reload"
    fi
}

enable_service() {
    if [ "$online" = 1 ]; then
        systemctl daemon-reload
        systemctl enable --quiet edge-anomaly.service
    else
        systemctl "${systemctl_root[@]}" enable --quiet edge-anomaly.service
    fi
    say "enabled edge-anomaly.service (starts at boot)"
    if [ ! -f "$root$etc/model.onnx" ]; then
        say "no model yet: copy one to $etc/model.onnx (or rerun with --model), then: systemctl start edge-anomaly"
    elif [ "$start" = 1 ] && [ "$online" = 1 ]; then
        if systemctl restart edge-anomaly.service; then
            say "started; follow it with: journalctl -u edge-anomaly -f   and   edge-agent status"
        else
            systemctl --no-pager status edge-anomaly.service | tail -n 15 >&2 || true
            die "edge-anomaly did not start: journalctl -u edge-anomaly -n 50 says why"
        fi
    else
        say "not started now: systemctl start edge-anomaly"
    fi
}

if [ "$action" = uninstall ]; then
    uninstall
    exit 0
fi
need_python
install_venv
install_files
write_network_policy
enable_service
ln -sf "$venv/bin/edge-agent" "$root/usr/local/bin/edge-agent" 2>/dev/null || true
say "done: $venv, $unit, $etc"
