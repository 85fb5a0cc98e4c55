"""Why a host cannot be reached, in the words a technician acts on.

A client library says only that a connection failed; :func:`why_unreachable` tries one plain TCP connect to
say why: the name does not resolve, nothing listens there, no answer, or this service's own network policy
(systemd's ``IPAddressDeny=``/``IPAddressAllow=``) drops traffic to the address.
"""

from __future__ import annotations

import errno
import socket
from collections.abc import Callable

from edge.service.network_policy import service_refuses

POLICY_FIX = (
    "allow it with: edge-agent network-policy --config /etc/edge-anomaly/config.toml --write, "
    "then systemctl daemon-reload"
)


def why_unreachable(host: str, port: int, timeout: float = 2.0, refused: Callable[[str], bool] | None = None) -> str:
    """One short reason, tried now (at most ``timeout`` per address); says so when the host can be reached.

    ``refused(address)``: whether this service's own policy drops traffic to the address (default: the unit's
    ``IPAddressDeny=``/``IPAddressAllow=`` when this process runs as that unit). A dropped TCP connect just
    times out, so the policy is read, not guessed from the error.
    """
    dropped = refused or service_refuses
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror as exc:
        return f"{host} does not resolve ({exc.strerror}); check host and the resolvers in /etc/resolv.conf"
    reason = f"{host}:{port} gave no address"
    for family, kind, proto, _, address in infos:
        where = f"{address[0]}:{port}"
        if dropped(str(address[0])):
            return f"this service's network policy refuses {where} (IPAddressAllow=); {POLICY_FIX}"
        try:
            with socket.socket(family, kind, proto) as sock:
                sock.settimeout(timeout)
                sock.connect(address)
            return f"{where} accepts TCP connections now"
        except PermissionError:
            return f"this service's network policy refuses {where} (IPAddressAllow=); {POLICY_FIX}"
        except ConnectionRefusedError:
            reason = f"connection refused: nothing listens on {where}"
        except TimeoutError:
            reason = f"no answer from {where} within {timeout:g} s"
        except OSError as exc:
            reason = f"{where}: {exc.strerror or errno.errorcode.get(exc.errno or 0, exc)}"
    return reason
