#!/bin/bash
# Runs inside the booted container (tools/nspawn/system-test.sh puts it there): install, start,
# reload, alert, watchdog restart, uninstall. Its unit ends the container with the script's status.
set -uo pipefail
export SYSTEMD_PAGER= SYSTEMD_COLORS=0
step() { printf '\n=== %s\n' "$*"; }
finish() { echo "$1"; exit "$2"; }
fail() {
    journalctl -u edge-sim -u edge-modbus -u edge-anomaly -b --no-pager | tail -40
    finish "SYSTEM TEST FAILED: $*" 1
}
wait_until() {  # wait_until SECONDS COMMAND...: poll until COMMAND succeeds
    local deadline=$((SECONDS + $1)); shift
    until "$@" >/dev/null 2>&1; do [ $SECONDS -ge $deadline ] && return 1; sleep 0.5; done
}
show() { systemctl show edge-anomaly -p ActiveState -p SubState -p MainPID -p NRestarts -p StatusText -p WatchdogUSec; }

cd /root/edge-anomaly
echo "container: $(. /etc/os-release; echo "$PRETTY_NAME"), $(systemctl --version | head -1), $(python3 -V)"

step "install.sh: venv under /opt, no torch; unit, sysusers, tmpfiles, udev rules; enable"
cat >/root/config.toml <<'TOML'
[agent]
status_interval_s = 1.0

[[models]]
name = "pump"
path = "/etc/edge-anomaly/model.onnx"

[[models]]
name = "compressor"
path = "/etc/edge-anomaly/compressor.onnx"

[detector]
stale_after_s = 5.0             # the simulators run the models' 300 s and 60 s periods far faster than real time

[[sources]]
type = "serial"
sensor = "pump-1"
model = "pump"
port = "/run/edge-sim/bridge"

[[sources]]
type = "modbus"
sensor = "comp-1"
model = "compressor"
port = "/run/edge-modbus/ttyMODBUS"
slave = 3
parity = "N"                    # a pseudo-terminal takes no parity bit
poll_s = 0.1
registers = [
    { channel = "pressure_bar", address = 0, type = "float32", unit = "bar" },
    { channel = "flow_lpm", address = 2, type = "float32", unit = "l/min" },
    { channel = "current_a", address = 4, type = "float32", unit = "A" },
]

[[sinks]]
type = "log"
TOML
systemd/install.sh --wheels /root/wheels --extras mqtt,modbus --model tests/fixtures/model.onnx \
    --config /root/config.toml --no-start || fail "install.sh"
install -m 0644 tests/fixtures/compressor.onnx /etc/edge-anomaly/compressor.onnx
cat /etc/systemd/system/edge-anomaly.service.d/network.conf
id edge-anomaly
ls -l /etc/edge-anomaly

step "a drop-in for this test: the simulator's pty (char-pts) and a 10 s watchdog"
mkdir -p /etc/systemd/system/edge-anomaly.service.d
printf '[Service]\nDeviceAllow=char-pts rw\nWatchdogSec=10s\nRestartSec=2s\n' \
    >/etc/systemd/system/edge-anomaly.service.d/system-test.conf
systemctl daemon-reload

step "the simulated sensors: the bridge firmware on a pty (20 readings/s, a spike at reading 400) and a Modbus slave (10 samples/s, 5 bar high for 5 samples from 300)"
systemd-run --quiet --unit=edge-sim -p User=edge-anomaly -p RuntimeDirectory=edge-sim \
    /opt/edge-anomaly/venv/bin/python -m firmware_bridge.sim --link /run/edge-sim/bridge --csv /srv/live.csv \
    --channels temperature,vibration --units C,mm/s --period-ms 300000 --rate 20 --count 3000 \
    --device-id pump-1-bridge --spike 400:temperature:12 || fail "simulator"
systemd-run --quiet --unit=edge-modbus -p User=edge-anomaly -p RuntimeDirectory=edge-modbus \
    /opt/edge-anomaly/venv/bin/python -m firmware_bridge.sim --modbus --slave 3 --link /run/edge-modbus/ttyMODBUS \
    --csv /srv/compressor.csv --channels pressure_bar,flow_lpm,current_a --units bar,l/min,A --rate 10 \
    --spike 300:pressure_bar:5:5 || fail "modbus simulator"
wait_until 20 test -L /run/edge-sim/bridge || fail "the simulator made no pty"
wait_until 20 test -L /run/edge-modbus/ttyMODBUS || fail "the modbus simulator made no pty"
echo "--- edge-agent check: the serial HELLO and one Modbus read"
/usr/local/bin/edge-agent check --config /etc/edge-anomaly/config.toml 2>&1 | grep -E "model|serial|modbus" \
    || fail "check"

step "start: Type=notify, so systemctl returns once the agent sent READY=1"
started=$(date +%s%N)
systemctl start edge-anomaly || fail "start"
echo "systemctl start returned after $(( ($(date +%s%N) - started) / 1000000 )) ms"
show
[ "$(systemctl show -p SubState --value edge-anomaly)" = running ] || fail "not running after start"
sleep 3
systemctl --no-pager status edge-anomaly | head -12
echo "--- edge-agent status, as an unprivileged user"
runuser -u nobody -- /usr/local/bin/edge-agent status --runtime-dir /run/edge-anomaly || fail "status"

step "reload: systemctl reload sends SIGHUP; the same process re-reads config and model"
pid=$(systemctl show -p MainPID --value edge-anomaly)
systemctl reload edge-anomaly || fail "reload"
wait_until 20 sh -c 'journalctl -u edge-anomaly -b --no-pager | grep -q "reloaded: model"' || fail "no reload line"
[ "$(systemctl show -p MainPID --value edge-anomaly)" = "$pid" ] || fail "reload changed the process"
journalctl -u edge-anomaly -b --no-pager -o cat | grep -E "reloaded|started"
echo "MainPID $pid before and after the reload"
echo "--- a config with a typo: systemctl reload fails, the agent runs on with the old one"
cp /etc/edge-anomaly/config.toml /root/config.good
printf '\n[detector]\nstale_afterr = 5\n' >>/etc/edge-anomaly/config.toml
systemctl reload edge-anomaly && fail "reload of a broken config reported success"
[ "$(systemctl show -p MainPID --value edge-anomaly)" = "$pid" ] || fail "a refused reload changed the process"
journalctl -u edge-anomaly -b --no-pager -o cat | grep -E "reload failed" | tail -2
cp /root/config.good /etc/edge-anomaly/config.toml

step "the spikes: an ALERT with units for each model's sensor in the journal, with its fields"
wait_until 60 sh -c 'journalctl -u edge-anomaly -b EVENT=ALERT SENSOR=pump-1 --no-pager -q | grep -q ALERT' \
    || fail "no ALERT for pump-1"
wait_until 60 sh -c 'journalctl -u edge-anomaly -b EVENT=ALERT SENSOR=comp-1 --no-pager -q | grep -q ALERT' \
    || fail "no ALERT for comp-1 (modbus)"
journalctl -u edge-anomaly -b --no-pager -o short-iso | grep -E "ALERT|CLEAR|FAULT" | head -8
journalctl -u edge-anomaly -b EVENT=ALERT SENSOR=pump-1 -o cat --no-pager | grep -qE "observed=[-0-9.]+ C " \
    || fail "the pump's ALERT has no unit"
journalctl -u edge-anomaly -b EVENT=ALERT SENSOR=comp-1 -o cat --no-pager | grep -qE "observed=[-0-9.]+ bar " \
    || fail "the compressor's ALERT has no unit"
journalctl -u edge-anomaly -b EVENT=ALERT SENSOR=comp-1 -o cat --no-pager | grep -q ", model compressor " \
    || fail "the compressor's ALERT does not name its model"
journalctl -u edge-anomaly -b EVENT=ALERT -o verbose -n 1 --no-pager \
    | grep -E "^    (MESSAGE|PRIORITY|EVENT|SENSOR|CHANNEL|ALERT_ID|SCORE|THRESHOLD|OBSERVED|EXPECTED|UNIT|MODEL|START|MODEL_SHA|_SYSTEMD_UNIT)="

step "watchdog: the sensors stop; 5 s later they are stale and WATCHDOG=1 stops, so 10 s on systemd restarts the agent"
systemctl stop edge-sim edge-modbus
stopped=$SECONDS
wait_until 60 sh -c '[ "$(systemctl show -p NRestarts --value edge-anomaly)" -ge 1 ]' || fail "no watchdog restart"
echo "restarted $((SECONDS - stopped)) s after the sensor stopped"
journalctl -u edge-anomaly -b --no-pager -o cat | grep -iE "stale|watchdog|Main process exited|Scheduled restart" | head -6
wait_until 30 sh -c '[ "$(systemctl show -p SubState --value edge-anomaly)" = running ]' || fail "not back up"
show

step "network policy: loopback only, until the drop-in allows the configured broker"
broker_line() {  # broker_line PATTERN WHAT: restart, wait for PATTERN in this start's journal, show the broker line
    since=$(date '+%Y-%m-%d %H:%M:%S')
    systemctl restart edge-anomaly || fail "restart $2"
    wait_until 30 sh -c "journalctl -u edge-anomaly --since '$since' --no-pager -o cat | grep -q '$1'" \
        || fail "no '$1' line $2"
    journalctl -u edge-anomaly --since "$since" --no-pager -o cat | grep -m1 "cannot reach the broker"
}
printf '\n[[sinks]]\ntype = "mqtt"\nhost = "192.0.2.10"\nreconnect_max_s = 2.0\n' >>/etc/edge-anomaly/config.toml
/usr/local/bin/edge-agent check --config /etc/edge-anomaly/config.toml 2>&1 | grep -E "network" || true
broker_line "network policy refuses 192.0.2.10:1883" "with a broker the policy does not allow"
/usr/local/bin/edge-agent network-policy --config /etc/edge-anomaly/config.toml --write || fail "network-policy --write"
grep '^IPAddressAllow=' /etc/systemd/system/edge-anomaly.service.d/network.conf
systemctl daemon-reload
/usr/local/bin/edge-agent check --config /etc/edge-anomaly/config.toml 2>&1 | grep -E "network" || true
broker_line "cannot reach the broker" "with the network drop-in"
journalctl -u edge-anomaly --since "$since" --no-pager -o cat | grep -q "network policy refuses" \
    && fail "the drop-in did not allow the broker"
cp /root/config.good /etc/edge-anomaly/config.toml
/usr/local/bin/edge-agent network-policy --config /etc/edge-anomaly/config.toml --write
systemctl daemon-reload
systemctl restart edge-anomaly || fail "restart without the mqtt sink"

step "pitfalls, measured: each drop-in below is what the unit does not do"
pitfall() {  # pitfall PATTERN DIRECTIVES...: restart with a drop-in, show and require what it breaks
    local pattern=$1; shift
    { printf '[Service]\n'; printf '%s\n' "$@"; } >/etc/systemd/system/edge-anomaly.service.d/pitfall.conf
    systemctl daemon-reload
    echo "--- with $*:"
    local since; since=$(date '+%Y-%m-%d %H:%M:%S')
    systemctl restart edge-anomaly && echo "systemctl restart: started" ||
        echo "systemctl restart: failed, result $(systemctl show -p Result --value edge-anomaly)"
    sleep 2
    journalctl -u edge-anomaly --since "$since" --no-pager -o cat | grep -E "$pattern" | head -3
    journalctl -u edge-anomaly --since "$since" --no-pager -o cat | grep -qE "$pattern" || fail "$*: no '$pattern'"
    systemctl stop edge-anomaly  # also cancels a pending automatic restart under the drop-in
    rm /etc/systemd/system/edge-anomaly.service.d/pitfall.conf
    systemctl daemon-reload
    systemctl reset-failed edge-anomaly 2>/dev/null || true
}
pitfall "cpuinfo" ProcSubset=pid
# a drop-in's RestrictAddressFamilies= adds to the unit's list; an empty one resets it first
pitfall "sd_notify .* failed|timed out" "RestrictAddressFamilies=" "RestrictAddressFamilies=AF_INET AF_INET6" \
    TimeoutStartSec=5s
systemctl start edge-anomaly || fail "the unit without the pitfall drop-ins did not start again"

step "the exposure score, with systemd as PID 1"
systemd-analyze security edge-anomaly.service --no-pager | tail -1

step "uninstall --purge"
systemd/install.sh --uninstall --purge || fail "uninstall"
systemctl cat edge-anomaly >/dev/null 2>&1 && fail "the unit is still there"
id edge-anomaly 2>/dev/null && fail "the user is still there"
finish "SYSTEM TEST PASSED" 0
