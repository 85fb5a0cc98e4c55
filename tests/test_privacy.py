"""Nothing leaves the gateway unasked: an agent start writes only into its own state and runtime folders."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest
from conftest import live_rows, write_config, write_history
from mosquitto import MOSQUITTO, Broker

from edge.privacy import TELEMETRY_OPT_OUT

AGENT = "import sys; from edge.cli import main; sys.exit(main(sys.argv[1:]))"


def files_under(folder: Path) -> set[Path]:
    return {p.relative_to(folder) for p in folder.rglob("*") if p.is_file()}


def test_a_start_writes_nothing_outside_the_agents_folders(tmp_path: Path) -> None:
    home, work = tmp_path / "home", tmp_path / "work"
    home.mkdir()
    work.mkdir()
    csv = write_history(work / "live.csv", live_rows(60), "timestamp,temperature,vibration")
    config = write_config(
        work, f'[[sources]]\ntype = "replay"\nsensor = "pump-1"\npath = "{csv}"\n\n[[sinks]]\ntype = "log"\n'
    )
    before = files_under(work)
    env = {k: v for k, v in os.environ.items() if k not in (TELEMETRY_OPT_OUT, "XDG_CACHE_HOME")}
    env.update(HOME=str(home), TMPDIR=str(tmp_path / "tmp"))
    (tmp_path / "tmp").mkdir()
    done = subprocess.run(
        [sys.executable, "-c", AGENT, "run", "--config", str(config)],
        env=env,
        cwd=work,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert files_under(home) == set()  # no onnxruntime device id, no telemetry database
    assert files_under(tmp_path / "tmp") == set()
    written = files_under(work) - before
    assert written and all(p.parts[0] in ("state", "run") for p in written), written


def test_the_opt_out_respects_a_users_own_setting(monkeypatch) -> None:
    from edge.privacy import opt_out_of_telemetry

    monkeypatch.setenv(TELEMETRY_OPT_OUT, "0")
    opt_out_of_telemetry()
    assert os.environ[TELEMETRY_OPT_OUT] == "0"
    monkeypatch.delenv(TELEMETRY_OPT_OUT)
    opt_out_of_telemetry()
    assert os.environ[TELEMETRY_OPT_OUT] == "1"


# -- a network namespace with loopback alone: every connection the agent tries, traced by strace ----------

ENDPOINT = re.compile(
    r'sa_family=AF_INET6?, sin6?_port=htons\((\d+)\), .*?(?:inet_addr\("([^"]+)"\)'
    r'|inet_pton\(AF_INET6, "([^"]+)")'
)
NETWORK_TOOLS = ("unshare", "ip", "strace")


@dataclass(frozen=True)
class Attempt:
    """One system call that reaches out to an IP address and port."""

    call: str
    address: str
    port: int


def ip_attempts(trace: str) -> tuple[list[Attempt], set[int]]:
    """Every connect/sendto/sendmsg to an IP endpoint in an ``strace -f`` log, and the loopback ports the
    process bound itself (paho's wake-up socket pair connects to one of those)."""
    attempts, own_ports = [], set()
    for line in trace.splitlines():
        call = line.split(None, 1)[-1].split("(", 1)[0]
        found = ENDPOINT.search(line)
        if not found:
            continue
        endpoint = Attempt(call, found[2] or found[3], int(found[1]))
        if call in ("getsockname", "bind"):
            own_ports.add(endpoint.port)
        elif call in ("connect", "sendto", "sendmsg", "sendmmsg"):
            attempts.append(endpoint)
    return attempts, own_ports


def run_in_loopback_namespace(tmp_path: Path, sinks: str) -> tuple[list[Attempt], set[int], int, str]:
    """Start mosquitto and then the agent (under strace) in a new network namespace with only ``lo``."""
    for tool in NETWORK_TOOLS:
        if shutil.which(tool) is None:
            pytest.skip(f"{tool} is not installed (tools/debian-deps.sh installs it)")
    if os.geteuid() != 0:
        pytest.skip("a network namespace needs root here")
    if not MOSQUITTO.exists():
        pytest.skip(f"{MOSQUITTO} is not installed")
    pytest.importorskip("paho.mqtt.client")
    home, work = tmp_path / "home", tmp_path / "work"
    home.mkdir()
    work.mkdir()
    port = 18830
    broker = Broker(tmp_path / "broker", port=port)
    broker.conf.write_text(broker.config_text())
    csv = write_history(work / "live.csv", live_rows(120), "timestamp,temperature,vibration")
    config = write_config(
        work,
        f'[[sources]]\ntype = "replay"\nsensor = "pump-1"\npath = "{csv}"\nrate = 100.0\n\n'
        f'[[sinks]]\ntype = "mqtt"\nhost = "127.0.0.1"\nport = {port}\n\n{sinks}',
    )
    trace = tmp_path / "connects.trace"
    script = tmp_path / "in-namespace.sh"
    script.write_text(f"""set -e
ip link set lo up
{MOSQUITTO} -c {broker.conf} >{broker.log_path} 2>&1 &
for _ in $(seq 100); do (exec 3<>/dev/tcp/127.0.0.1/{port}) 2>/dev/null && break; sleep 0.05; done
status=0
strace -f -qq -e trace=connect,sendto,sendmsg,sendmmsg,bind,getsockname -e signal=none -o {trace} \\
    {sys.executable} -c '{AGENT}' run --config {config} || status=$?
kill %1
exit $status
""")
    env = {k: v for k, v in os.environ.items() if k not in (TELEMETRY_OPT_OUT, "XDG_CACHE_HOME")}
    env["HOME"] = str(home)
    done = subprocess.run(
        ["unshare", "--net", "bash", str(script)], env=env, cwd=work, capture_output=True, text=True, timeout=120
    )
    assert files_under(home) == set()
    attempts, own = ip_attempts(trace.read_text())
    return attempts, own, port, done.stderr + broker.log_path.read_text()


def test_in_a_loopback_only_network_the_agent_connects_to_its_broker_alone(tmp_path: Path) -> None:
    attempts, own_ports, port, output = run_in_loopback_namespace(tmp_path, "")
    assert f"mqtt mqtt://127.0.0.1:{port}" in output and "connected; " in output, output
    assert "edge-agent stopped" in output, output
    assert Attempt("connect", "127.0.0.1", port) in attempts
    assert [
        a
        for a in attempts
        if (a.address, a.port) != ("127.0.0.1", port) and not (a.address == "127.0.0.1" and a.port in own_ports)
    ] == []  # no DNS, no telemetry, nothing else


def test_the_trace_would_show_any_other_attempt(tmp_path: Path) -> None:
    """The same run with a second broker given by name: the look-up is seen (so the test above can fail)."""
    attempts, own_ports, port, _ = run_in_loopback_namespace(
        tmp_path, '[[sinks]]\ntype = "mqtt"\nname = "cloud"\nhost = "mqtt.example.com"\n'
    )
    others = [a for a in attempts if (a.address, a.port) != ("127.0.0.1", port) and a.port not in own_ports]
    assert any(a.port == 53 for a in others), attempts
