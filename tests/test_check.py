"""``edge-agent check`` lists every problem it can find; the network policy follows the config."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import live_rows, write_config, write_history
from mosquitto import free_port

from edge.check import check_network, run_check
from edge.cli import main
from edge.config import load_config
from edge.errors import ConfigError
from edge.service.network_policy import Peer, allowances, config_peers, covered, drop_in_text, nameservers, unit_policy
from edge.service.reachability import why_unreachable

HEADER = "timestamp,temperature,vibration"


def source(path: Path | str, sensor: str = "pump-1") -> str:
    return f'[[sources]]\ntype = "replay"\nsensor = "{sensor}"\npath = "{path}"\n\n'


def mqtt(host: str, port: int = 1883) -> str:
    return f'[[sinks]]\ntype = "mqtt"\nhost = "{host}"\nport = {port}\n\n'


def test_a_config_with_several_problems_names_each_of_them(tmp_path: Path) -> None:
    body = (
        '[detector]\ndebounce_kk = 2\nclear_samples = "3"\n\n[alerts]\nx = 1\n\n'
        + source("a.csv")
        + 'colour = "red"\n\n'
        + '[[sinks]]\ntype = "pager"\n\n[[sinks]]\ntype = "log"\nlevel = "loud"\n'
    )
    path = write_config(tmp_path, body)
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    text = str(caught.value)
    assert text.startswith(f"config {path}: 6 problems:\n  - ")
    for part in (
        "unknown section 'alerts'",
        "[detector]: unknown key 'debounce_kk'",
        "[detector]: clear_samples is '3'; it must be an integer",
        "[[sources]] #1 (replay): unknown key 'colour'",
        "[[sinks]] #1: unknown sink type 'pager'",
        "[[sinks]] #2 (log): ",
    ):
        assert part in text


def test_one_problem_stays_one_line(tmp_path: Path) -> None:
    path = write_config(tmp_path, "[detector]\ndebounce_kk = 2\n" + source("a.csv"))
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    assert "\n" not in str(caught.value) and "problems" not in str(caught.value)


def test_check_goes_on_past_a_missing_model_and_a_broken_source(tmp_path: Path, capsys) -> None:
    csv = write_history(tmp_path / "a.csv", live_rows(10), HEADER)
    body = source(tmp_path / "gone.csv", "pump-1") + source(csv, "pump-2") + '[[sinks]]\ntype = "log"\n'
    config = write_config(tmp_path, body)
    lines: list[str] = []
    problems = run_check(config, lines.append, unit=tmp_path / "no.service")
    assert len(problems) == 1 and "gone.csv" in problems[0]
    said = [(line[:6].strip(), line[6:].split()[0]) for line in lines]
    assert said == [
        ("ok", "config"),
        ("ok", "model"),
        ("ok", "sensor"),
        ("FAIL", "replay"),
        ("ok", "sensor"),
        ("ok", "replay"),
        ("ok", "log:"),
        ("ok", "state_dir"),
        ("ok", "runtime_dir"),
        ("ok", "network:"),
    ]
    config.write_text(config.read_text().replace("tests/fixtures/model.onnx", "tests/fixtures/absent.onnx"))
    assert main(["check", "--config", str(config)]) == 2
    out = capsys.readouterr()
    assert "FAIL  model" in out.out and "absent.onnx" in out.out
    assert "skip  sensor pump-1: it is built for the channels of model absent, which did not load" in out.out
    assert "ok    log" in out.out and "state_dir" in out.out and "network" in out.out  # sinks need no model
    assert "absent.onnx" in out.err.splitlines()[-1]


def test_the_policy_lists_what_plugins_connect_to_beyond_loopback(tmp_path: Path) -> None:
    config = load_config(
        write_config(tmp_path, source("a.csv") + mqtt("localhost") + mqtt("192.0.2.7", 8883) + mqtt("broker.lan"))
    )
    peers = config_peers(config)
    assert [(p.host, p.port, p.plugin) for p in peers] == [
        ("localhost", 1883, "[[sinks]] #1 (mqtt)"),
        ("192.0.2.7", 8883, "[[sinks]] #2 (mqtt)"),
        ("broker.lan", 1883, "[[sinks]] #3 (mqtt)"),
    ]
    found = allowances(
        peers, resolve=lambda host, port: ["10.1.2.3", "127.0.1.1"], resolvers=lambda: ["127.0.0.53", "10.0.0.1"]
    )
    assert [(a.address, a.reason) for a in found] == [
        ("192.0.2.7", "[[sinks]] #2 (mqtt) connects to 192.0.2.7:8883"),
        ("10.1.2.3", "[[sinks]] #3 (mqtt) connects to broker.lan:1883"),
        ("10.0.0.1", "resolver in /etc/resolv.conf, to look up broker.lan"),
    ]
    text = drop_in_text(Path("/etc/edge-anomaly/config.toml"), found)
    unit = tmp_path / "edge-anomaly.service"
    unit.write_text("[Service]\nIPAddressDeny=any\nIPAddressAllow=localhost\n")
    (tmp_path / "edge-anomaly.service.d").mkdir()
    (tmp_path / "edge-anomaly.service.d" / "network.conf").write_text(text)
    policy = unit_policy(unit)
    assert "[Service]\n" in text and policy is not None
    assert policy.allowed == ("localhost", "192.0.2.7", "10.1.2.3", "10.0.0.1") and policy.denied == ("any",)
    assert [policy.refuses(a) for a in ("192.0.2.7", "127.0.0.53", "::1", "192.0.2.8", "fe80::1")] == [
        False,
        False,
        False,
        True,
        True,
    ]
    assert covered("10.1.2.3", {"10.1.0.0/16"}) and not covered("10.2.0.1", {"10.1.0.0/16", "link-local"})
    assert covered("169.254.1.1", {"link-local"}) and covered("2001:db8::1", {"any"})


def test_a_drop_in_can_reset_the_units_policy(tmp_path: Path) -> None:
    unit = tmp_path / "edge-anomaly.service"
    unit.write_text("[Service]\nIPAddressDeny=any\nIPAddressAllow=localhost\n")
    (tmp_path / "edge-anomaly.service.d").mkdir()
    (tmp_path / "edge-anomaly.service.d" / "open.conf").write_text("[Service]\nIPAddressDeny=\n")
    policy = unit_policy(unit)
    assert policy is not None and not policy.refuses("192.0.2.8")
    assert unit_policy(tmp_path / "absent.service") is None


def test_an_address_the_policy_drops_is_named_as_such_not_as_a_timeout() -> None:
    said = why_unreachable("192.0.2.8", 1883, 0.1, refused=lambda address: address == "192.0.2.8")
    assert said.startswith("this service's network policy refuses 192.0.2.8:1883 (IPAddressAllow=)")
    assert "edge-agent network-policy --config" in said
    assert why_unreachable("127.0.0.1", free_port(), 0.5, refused=lambda address: False).startswith(
        "connection refused: nothing listens on 127.0.0.1:"
    )


def test_a_name_that_does_not_resolve_is_a_clear_error() -> None:
    def fail(host: str, port: int) -> list[str]:
        raise OSError("[Errno -2] Name or service not known")

    with pytest.raises(ConfigError, match=r"\[\[sinks\]\] #1 \(mqtt\): host 'broker\.lan' does not resolve"):
        allowances([Peer("broker.lan", 1883, "[[sinks]] #1 (mqtt)")], resolve=fail, resolvers=lambda: [])


def test_nameservers_are_read_in_order(tmp_path: Path) -> None:
    conf = tmp_path / "resolv.conf"
    conf.write_text("# comment\nsearch lan\nnameserver 10.0.0.1\nnameserver fe80::1%eth0\nnameserver 10.0.0.1\n")
    assert nameservers(conf) == ["10.0.0.1", "fe80::1"]
    assert nameservers(tmp_path / "missing") == []


def test_check_compares_the_config_with_the_units_policy(tmp_path: Path, capsys) -> None:
    config_file = write_config(tmp_path, source("a.csv") + mqtt("192.0.2.7", 18999))
    unit = tmp_path / "edge-anomaly.service"
    drop_in = tmp_path / "edge-anomaly.service.d" / "network.conf"
    lines: list[str] = []
    assert check_network(load_config(config_file), config_file, lines.append, unit) == []
    assert lines == [f"ok    network: the plugins connect to 192.0.2.7 (no {unit} here, so no policy to check)"]
    unit.write_text("[Service]\nIPAddressDeny=any\nIPAddressAllow=localhost\n")
    problems = check_network(load_config(config_file), config_file, lines.append, unit)
    assert len(problems) == 1 and f"network: {unit} and its drop-ins do not allow 192.0.2.7" in problems[0]
    assert "edge-agent network-policy --config" in problems[0]
    assert main(["network-policy", "--config", str(config_file), "--write", str(drop_in)]) == 0
    assert "IPAddressAllow=192.0.2.7\n" in drop_in.read_text() and drop_in.stat().st_mode & 0o777 == 0o644
    lines.clear()
    assert check_network(load_config(config_file), config_file, lines.append, unit) == []
    assert lines == [f"ok    network: {unit} and its drop-ins allow 192.0.2.7"]
    config_file.write_text(config_file.read_text().replace("192.0.2.7", "192.0.2.8"))
    problems = check_network(load_config(config_file), config_file, lines.append, unit)
    assert len(problems) == 1 and "do not allow 192.0.2.8" in problems[0]
    assert main(["network-policy", "--config", str(config_file)]) == 0
    assert "IPAddressAllow=192.0.2.8" in capsys.readouterr().out


def test_only_the_unit_itself_is_judged_by_the_units_policy(tmp_path: Path) -> None:
    from edge.service.network_policy import service_refuses

    cgroup = tmp_path / "cgroup"
    cgroup.write_text("0::/user.slice/user-0.slice/session-1.scope\n")
    assert not service_refuses("192.0.2.8", cgroup)  # check, or a run by hand, is not under the policy
    assert not service_refuses("192.0.2.8", tmp_path / "absent")
