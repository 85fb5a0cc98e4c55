"""The service's network policy: the addresses its plugins connect to, as a systemd drop-in.

The unit denies every IP address but loopback (``IPAddressDeny=any``, ``IPAddressAllow=localhost``).
A config whose plugins reach out (an MQTT broker on another host) needs those addresses allowed:
``edge-agent network-policy --config FILE --write`` writes them, resolved now, into a drop-in beside the
unit; ``edge-agent check`` says when the drop-in no longer matches the config. A host name also needs the
resolvers of ``/etc/resolv.conf`` (unless they are on loopback, as systemd-resolved's 127.0.0.53 is).
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from edge.errors import ConfigError

if TYPE_CHECKING:
    from edge.config import AgentConfig

UNIT = Path("/etc/systemd/system/edge-anomaly.service")
DROP_IN = Path(f"{UNIT}.d/network.conf")
KEYWORDS = {
    "any": ("0.0.0.0/0", "::/0"),
    "localhost": ("127.0.0.0/8", "::1/128"),
    "link-local": ("169.254.0.0/16", "fe80::/64"),
    "multicast": ("224.0.0.0/4", "ff00::/8"),
}
RESOLV_CONF = Path("/etc/resolv.conf")
Resolver = Callable[[str, int], list[str]]


@dataclass(frozen=True)
class Peer:
    """One host a plugin connects to."""

    host: str
    port: int
    plugin: str  # "[[sinks]] #2 (mqtt)"


@dataclass(frozen=True)
class Allowance:
    """One address the policy must allow, and why."""

    address: str
    reason: str


def config_peers(config: AgentConfig) -> list[Peer]:
    """Every host the config's sources and sinks connect to (a plugin module lists its own with ``peers``)."""
    found = []
    for key, specs in (("sources", config.sources), ("sinks", config.sinks)):
        for number, spec in enumerate(specs, 1):
            listed = getattr(spec.module, "peers", None)
            for host, port in listed(spec.config) if listed else []:
                found.append(Peer(host, port, f"[[{key}]] #{number} ({spec.type})"))
    return found


def is_loopback(host: str) -> bool:
    """Whether ``host`` is loopback, which the unit always allows (an address, or the name localhost)."""
    if host.lower() in ("localhost", "localhost.localdomain") or host.lower().endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def resolve_host(host: str, port: int) -> list[str]:
    """The addresses ``host`` resolves to now (raises ``OSError`` when it does not)."""
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return sorted({str(info[4][0]) for info in infos})


def nameservers(resolv_conf: Path = RESOLV_CONF) -> list[str]:
    """The resolvers ``resolv.conf`` names, in its order."""
    try:
        lines = resolv_conf.read_text(encoding="utf-8", errors="replace").splitlines()
    except OSError:
        return []
    found = []
    for line in lines:
        words = line.split()
        if len(words) >= 2 and words[0] == "nameserver" and words[1] not in found:
            found.append(words[1].split("%")[0])
    return found


def allowances(
    peers: Iterable[Peer], resolve: Resolver = resolve_host, resolvers: Callable[[], list[str]] = nameservers
) -> list[Allowance]:
    """The addresses beyond loopback that ``peers`` need; a host that does not resolve is a ``ConfigError``."""
    needed: dict[str, str] = {}
    names = []
    for peer in peers:
        if is_loopback(peer.host):
            continue
        try:
            ipaddress.ip_address(peer.host)
            addresses = [peer.host]
        except ValueError:
            names.append(peer.host)
            try:
                addresses = resolve(peer.host, peer.port)
            except OSError as exc:
                raise ConfigError(
                    f"{peer.plugin}: host {peer.host!r} does not resolve here ({exc}); the network "
                    "policy needs its address: fix the name, or allow it by hand in a drop-in "
                    "(IPAddressAllow=ADDRESS or a subnet)"
                ) from exc
        for address in addresses:
            if not is_loopback(address):
                needed.setdefault(address, f"{peer.plugin} connects to {peer.host}:{peer.port}")
    if names:
        for address in resolvers():
            if not is_loopback(address):
                needed.setdefault(address, f"resolver in {RESOLV_CONF}, to look up {', '.join(sorted(set(names)))}")
    return [Allowance(address, reason) for address, reason in needed.items()]


def drop_in_text(config_file: Path | None, allowed: list[Allowance]) -> str:
    """The drop-in for the unit: a comment per address saying which plugin needs it."""
    lines = [
        f"# written by edge-agent network-policy --config {config_file}",
        "# the unit allows loopback only (IPAddressDeny=any, IPAddressAllow=localhost); these are the",
        "# addresses this config's plugins need. After changing the config: run it again, then",
        "# systemctl daemon-reload (the running service takes the new policy at once).",
        "[Service]",
    ]
    for allowance in allowed:
        lines += [f"# {allowance.reason}", f"IPAddressAllow={allowance.address}"]
    if not allowed:
        lines.append("# nothing beyond loopback: no plugin connects to another host")
    return "\n".join(lines) + "\n"


@dataclass(frozen=True)
class UnitPolicy:
    """The ``IPAddressAllow=`` and ``IPAddressDeny=`` a unit runs under, its drop-ins applied."""

    allowed: tuple[str, ...]
    denied: tuple[str, ...]

    def refuses(self, address: str) -> bool:
        """systemd's rule: an allowed address passes; else a denied one is dropped; else it passes."""
        return not covered(address, self.allowed) and covered(address, self.denied)


def unit_policy(unit: Path = UNIT) -> UnitPolicy | None:
    """The policy of ``unit`` and its drop-ins (``unit.d/*.conf``, in name order), or None without the unit.

    An empty assignment (``IPAddressDeny=``) resets its list, as in systemd.
    """
    try:
        texts = [unit.read_text(encoding="utf-8", errors="replace")]
        texts += [
            p.read_text(encoding="utf-8", errors="replace")
            for p in sorted(Path(f"{unit}.d").glob("*.conf"), key=lambda p: p.name)
        ]
    except OSError:
        return None
    lists: dict[str, list[str]] = {"IPAddressAllow": [], "IPAddressDeny": []}
    for text in texts:
        for line in text.splitlines():
            key, sep, value = line.strip().partition("=")
            if sep and key.strip() in lists:
                entries = value.split()
                lists[key.strip()] = lists[key.strip()] + entries if entries else []
    return UnitPolicy(tuple(lists["IPAddressAllow"]), tuple(lists["IPAddressDeny"]))


def service_refuses(address: str, cgroup: Path = Path("/proc/self/cgroup")) -> bool:
    """Whether this process runs as the edge-anomaly unit and that unit's policy drops traffic to ``address``."""
    try:
        as_unit = f"/{UNIT.name}" in cgroup.read_text(encoding="utf-8", errors="replace")
    except OSError:
        as_unit = False
    if not as_unit:  # edge-agent check, or the agent run by hand: no unit policy applies to it
        return False
    policy = unit_policy()
    return policy is not None and policy.refuses(address)


def covered(address: str, entries: Iterable[str]) -> bool:
    """Whether ``address`` is one of ``entries`` (addresses, subnets, or systemd's keywords such as localhost)."""
    ip = ipaddress.ip_address(address)
    for entry in entries:
        for network in KEYWORDS.get(entry, (entry,)):
            try:
                if ip in ipaddress.ip_network(network, strict=False):
                    return True
            except ValueError:
                continue
    return False
