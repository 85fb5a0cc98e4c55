"""Where the metrics go: a textfile for node_exporter, and ``/metrics`` on a local HTTP port.

:class:`Metrics` renders the text on the scoring thread (the service's loop, every ``interval_s``, at start
and at stop), so it reads the pipeline's counters without locks. The textfile is replaced atomically (a
temporary file in its folder, renamed over it; the temporary's name does not end in ``.prom``, so the
textfile collector never reads it half-written). The HTTP server is the standard library's, one thread,
serving the last text rendered: a scrape sees numbers at most ``interval_s`` old, and never waits for the
scoring thread. A write or bind that fails is logged once, naming the file or address and the fix, and
retried at each interval; it never stops the agent.
"""

from __future__ import annotations

import logging
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any

from edge.config_sections import MetricsSection
from edge.files import write_text_atomic
from edge.metrics.exposition import render
from edge.metrics.series import LastScores, families

if TYPE_CHECKING:
    from edge.metrics.endpoint import MetricsServer
    from edge.pipeline import Pipeline

log = logging.getLogger(__name__)


class Metrics:
    """The agent's metrics output; ``observer`` goes on every pipeline (each sensor's last score)."""

    def __init__(self, section: MetricsSection, gateway: str) -> None:
        self.section = section
        self.gateway = gateway
        self.observer = LastScores()
        self.text = ""
        self._server: MetricsServer | None = None
        self._thread: threading.Thread | None = None
        self._failing: set[str] = set()  # what failed last time (said once per streak)

    @property
    def address(self) -> tuple[str, int] | None:
        """Where ``/metrics`` is served now (host, port), if it is."""
        if self._server is None:
            return None
        host, port = self._server.server_address[:2]
        return str(host), int(port)

    def configure(self, section: MetricsSection, gateway: str) -> None:
        """Take a reloaded ``[metrics]`` section: a changed address closes the server (the next update opens it);
        a moved textfile's old file is removed (node_exporter would read both, and refuse the repeated series)."""
        if (section.http_host, section.http_port) != (self.section.http_host, self.section.http_port):
            self.close()
        old = self.section.textfile
        if old is not None and old != section.textfile:
            try:
                old.unlink(missing_ok=True)
            except OSError as exc:
                log.warning("cannot remove the old metrics file %s: %s; remove it by hand", old, exc.strerror or exc)
        self.section, self.gateway = section, gateway

    def update(self, pipeline: Pipeline, summary: dict[str, Any] | None = None) -> str:
        """Render the metrics now, write the textfile and hand the text to the server (opened if it is not)."""
        try:
            self.text = render(families(pipeline, self.observer.last, self.gateway, summary))
        except (ValueError, KeyError, TypeError) as exc:  # a plugin's counter Prometheus cannot take: a bug to report
            self._failed("render", f"cannot render the metrics: {exc}; the last good text is kept")
        else:
            self._failing.discard("render")
        if self.section.textfile is not None:
            self._write(self.section.textfile)
        if self.section.http_port is not None and self._server is None:
            self._serve(self.section.http_host, self.section.http_port)
        if self._server is not None:
            self._server.text = self.text.encode("utf-8")
        return self.text

    def _write(self, path: Path) -> None:
        try:
            write_text_atomic(path, self.text, durable=False, mode=0o644, make_parent=False)
        except OSError as exc:
            self._failed(
                "textfile",
                f"cannot write the metrics file {path}: {exc.strerror or exc}; create its folder and let the "
                "agent's user write there (and add it to the unit's ReadWritePaths=), or change [metrics] textfile",
            )
        else:
            self._works("textfile", f"the metrics file {path} is written again")

    def _serve(self, host: str, port: int) -> None:
        # here, not at the top: http.server brings http.client, email and ssl (OpenSSL), 5 MiB of a gateway's
        # memory that only an agent serving /metrics needs
        from edge.metrics.endpoint import PATH, MetricsServer

        try:
            server = MetricsServer(host, port)
        except OSError as exc:
            self._failed(
                "http",
                f"cannot serve metrics on {host}:{port}: {exc.strerror or exc}; pick a free [metrics] http_port "
                "or an address of this gateway for http_host",
            )
            return
        self._failing.discard("http")
        self._server = server
        self._thread = threading.Thread(target=server.serve_forever, args=(0.5,), name="metrics-http", daemon=True)
        self._thread.start()
        log.info("metrics served on http://%s:%d%s", host, self.address[1] if self.address else port, PATH)

    def _failed(self, what: str, message: str) -> None:
        if what not in self._failing:
            log.error("%s (the agent goes on; retried every %g s)", message, self.section.interval_s)
        self._failing.add(what)

    def _works(self, what: str, message: str) -> None:
        if what in self._failing:
            log.info(message)
        self._failing.discard(what)

    def close(self) -> None:
        """Stop serving (the textfile stays: node_exporter shows its last numbers, and its mtime says when)."""
        server, self._server = self._server, None
        if server is not None:
            server.shutdown()
            server.server_close()
        if self._thread is not None:
            self._thread.join(5)
            self._thread = None
