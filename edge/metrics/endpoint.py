"""The ``/metrics`` HTTP endpoint (Prometheus scrapes it): imported only by an agent that serves it."""

from __future__ import annotations

import logging
import socket
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import Any

from edge.metrics.exposition import CONTENT_TYPE

log = logging.getLogger("edge.metrics.publish")

PATH = "/metrics"


class MetricsHandler(BaseHTTPRequestHandler):
    """Answers ``GET /metrics`` with the last rendered text; any other path is a 404."""

    server: MetricsServer

    def do_GET(self) -> None:  # noqa: N802 (http.server's name)
        if self.path.split("?", 1)[0] != PATH:
            self._send(404, b"only /metrics is served here\n", "text/plain; charset=utf-8")
            return
        self._send(200, self.server.text, CONTENT_TYPE)

    def _send(self, code: int, body: bytes, content_type: str) -> None:
        self.send_response(code)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        log.debug("metrics request from %s: " + format, self.address_string(), *args)


class MetricsServer(HTTPServer):
    """One listening socket (IPv6 when ``host`` is an IPv6 address); ``text`` is what it serves."""

    text = b""

    def __init__(self, host: str, port: int) -> None:
        self.address_family = socket.AF_INET6 if ":" in host else socket.AF_INET
        super().__init__((host, port), MetricsHandler)
