"""``edge-agent run``: the long-running service around a :class:`~edge.pipeline.Pipeline`.

Each source is read by its own thread into one bounded queue; the main thread scores,
decides, dispatches, and does the periodic work (stale checks, watchdog, status,
checkpoints, counters). Signals only set flags: SIGTERM/SIGINT stop (sources closed, sinks
flushed, state written, exit 0), SIGHUP reloads (build a new pipeline from the re-read
config and model; swap only if it builds and opens, else keep the running one).
"""

from __future__ import annotations

import logging
import queue
import signal
import threading
import time
from pathlib import Path
from types import FrameType
from typing import Any

from edge.assembly import build_pipeline
from edge.backoff import Backoff
from edge.config import AgentConfig, load_config
from edge.core.events import Reading, SourceFault, iso_time
from edge.errors import EdgeError, WaitError
from edge.hardware import Hardware
from edge.metrics.publish import Metrics
from edge.pipeline import Observer, Pipeline
from edge.running import POLL_S, Finished, RunningSource
from edge.service.checkpoint import FILE_NAME as CHECKPOINT_FILE
from edge.service.checkpoint import read_checkpoint, restore_detectors, save_checkpoint
from edge.service.extras import Extras
from edge.service.handover import hand_over, reload_models
from edge.service.intake import collect, score_per_sensor
from edge.service.notify import Notifier
from edge.service.recorder import Recorder
from edge.service.status import status_summary, summary_line, write_status

log = logging.getLogger(__name__)

QUEUE_LIMIT = 10_000  # entries: each one read's (reading or fault, arrival) pairs, or a Finished
START_RETRY_S, START_RETRY_MAX_S = 1.0, 60.0  # back-off while something the start needs is busy or full


class Service:
    """Runs the agent until stopped; ``request_stop``/``request_reload`` are what the signals call."""

    def __init__(
        self,
        config_path: Path,
        notifier: Notifier | None = None,
        config: AgentConfig | None = None,
        max_readings: int | None = None,
        hardware: Hardware | None = None,
    ) -> None:
        self.config_path = config_path
        self.hardware = hardware  # the machine's own devices unless given another (a FakeHardware)
        self.max_readings = max_readings
        self.readings = 0
        self._initial_config = config
        self.notifier = notifier or Notifier.from_environment()
        self.pipeline: Pipeline | None = None
        self._stop = threading.Event()
        self._reload = threading.Event()
        self._pumps_stop = threading.Event()
        self._pumps: list[RunningSource] = []
        self._queue: queue.Queue[Any] = queue.Queue(QUEUE_LIMIT)
        self._unfinished: set[str] = set()
        self.started = time.time()
        self.handled_since_ping = 0
        self.last_reload: dict[str, Any] | None = None  # for `edge-agent reload`, through the status file
        self.observers: list[Observer] = []  # told every sensor's outcomes, by every pipeline this service runs
        self.extras = Extras(self.observers)  # the recorder and the metrics, kept across reloads

    def request_stop(self, *_: Any) -> None:
        """Stop at the next turn of the loop."""
        self._stop.set()

    def request_reload(self, *_: Any) -> None:
        """Reload at the next turn of the loop."""
        self._reload.set()

    def install_signal_handlers(self) -> None:
        """SIGTERM and SIGINT stop, SIGHUP reloads."""

        def stop(signum: int, _frame: FrameType | None) -> None:
            self.request_stop()

        def reload(signum: int, _frame: FrameType | None) -> None:
            self.request_reload()

        signal.signal(signal.SIGTERM, stop)
        signal.signal(signal.SIGINT, stop)
        signal.signal(signal.SIGHUP, reload)

    def _start(self, pipeline: Pipeline) -> None:
        pipeline.open()
        self.extras.use(pipeline)
        pipeline.observers = list(self.observers)
        self.pipeline = pipeline
        self._pumps_stop = threading.Event()
        self._queue = queue.Queue(QUEUE_LIMIT)
        gather_s = pipeline.config.agent.max_block_delay_ms / 1000.0
        self._pumps = [RunningSource(s, self._queue, self._pumps_stop, gather_s) for s in pipeline.sources]
        self._unfinished = {s.sensor for s in pipeline.sources}
        for pump in self._pumps:
            pump.start()

    def _halt(self, pipeline: Pipeline) -> None:
        """Stop the pumps, then drain what they had queued through the pipeline, then close it."""
        self._pumps_stop.set()
        deadline = time.monotonic() + 5.0
        for pump in self._pumps:
            while pump.is_alive() and time.monotonic() < deadline:
                self._drain(pipeline)  # a pump blocked on a full queue needs room to finish
                pump.join(timeout=0.05)
        self._drain(pipeline)
        pipeline.close()

    def _drain(self, pipeline: Pipeline) -> None:
        while True:
            items = collect(self._queue, None, 0.0)
            if not items:
                return
            self._handle(pipeline, items)

    def _handle(self, pipeline: Pipeline, items: list[Any]) -> None:
        """Score queued items: each sensor's readings in order, as blocks between its source's reports.

        Sensors are independent, so each one's readings are taken together; within a sensor the order of
        readings and source faults is kept, and each block is scored exactly as one reading at a time.
        """
        per_sensor: dict[str, list[tuple[Reading | SourceFault, float]]] = {}
        finished: list[Finished] = []
        for item in items:
            if isinstance(item, Finished):
                finished.append(item)
                continue
            got, received = item
            if isinstance(got, Reading):
                if self.max_readings is not None and self.readings >= self.max_readings:
                    continue  # --max-readings: readings queued after the last one asked for are left unscored
                self.readings += 1
            per_sensor.setdefault(got.sensor, []).append(item)
        self.handled_since_ping += score_per_sensor(pipeline, per_sensor)
        for done in finished:
            self._unfinished.discard(done.source.sensor)
            log.info("source %s finished: %s", done.source.describe(), done.source.counters())

    def checkpoint(self) -> None:
        """Write the detectors' state; a failure is logged, never fatal."""
        pipeline = self.pipeline
        if pipeline is None:
            return
        try:
            save_checkpoint(pipeline.config.agent.state_path(), pipeline.detectors)
        except OSError as exc:
            log.error(
                "cannot write checkpoint under %s: %s; set [agent] state_dir to a writable folder",
                pipeline.config.agent.state_path(),
                exc,
            )

    @property
    def recorder(self) -> Recorder | None:
        """The field recorder, when ``[recorder]`` is enabled."""
        return self.extras.recorder

    @property
    def metrics(self) -> Metrics | None:
        """The metrics' textfile and HTTP endpoint, when ``[metrics]`` configures one."""
        return self.extras.metrics

    def write_metrics(self, state: str) -> None:
        """Render the metrics (when configured); a failure is logged."""
        if self.pipeline is not None:
            self.extras.write_metrics(self.pipeline, self._summary(self.pipeline, state))

    def _summary(self, pipeline: Pipeline, state: str) -> dict[str, Any]:
        recorder = self.extras.recorder_counters()
        recordings = pipeline.config.recorder.folder_path(pipeline.config.agent)
        return status_summary(pipeline, self.started, self.config_path, state, self.last_reload, recorder, recordings)

    def write_status(self, state: str) -> None:
        """Refresh the status file and pass the summary to sinks that publish health."""
        pipeline = self.pipeline
        if pipeline is None:
            return
        summary = self._summary(pipeline, state)
        for sink in pipeline.sinks:
            sink.status(summary)
        try:
            write_status(pipeline.config.agent.runtime_path(), summary)
        except OSError as exc:
            log.error(
                "cannot write the status file under %s: %s; set [agent] runtime_dir to a writable folder",
                pipeline.config.agent.runtime_path(),
                exc,
            )

    def run(self) -> int:
        """Build, restore, announce READY, loop, and shut down cleanly."""
        config = self._initial_config or load_config(self.config_path)
        self.extras.configure(config, self.pipeline)
        backoff = Backoff(START_RETRY_S, START_RETRY_MAX_S)
        while True:
            pipeline = build_pipeline(config, hardware=self.hardware)
            restored = restore_detectors(
                read_checkpoint(config.agent.state_path()),
                pipeline.detectors,
                str(config.agent.state_path()),
                config.agent.state_path() / CHECKPOINT_FILE,
            )
            try:
                self._start(pipeline)
                break
            except WaitError as exc:  # busy or full for now: not a configuration error, so wait, never exit 78
                delay = backoff.next()
                log.warning("cannot start yet: %s; retrying in %g s", exc, delay)
                self.notifier.status(f"waiting: {exc}")
                self.notifier.send(f"EXTEND_TIMEOUT_USEC={int((delay + 30) * 1e6)}")
                if self._stop.wait(delay):
                    log.info("edge-agent stopped while waiting to start")
                    return 0
        log.info(
            "edge-agent started: %s%s",
            pipeline.describe_models(),
            f"; state restored for {', '.join(restored)}" if restored else "",
        )
        self.write_status("running")  # before READY: `edge-agent status` and `reload` work once systemd says active
        self.write_metrics("running")
        self.notifier.ready(summary_line(self.pipeline))
        try:
            self._loop()
        finally:
            self.notifier.stopping()
            if self.pipeline is not None:
                self._halt(self.pipeline)
            self.extras.close_recorder()  # kept: the last status shows its counters
            self.checkpoint()
            self.write_status("stopped")
            self.write_metrics("stopped")
            self.extras.close_metrics()
            log.info("edge-agent stopped: %s", summary_line(self.pipeline))
        return 0

    def _loop(self) -> None:
        if self.pipeline is None:
            raise EdgeError("the service loop needs a started pipeline")
        agent = self.pipeline.config.agent
        now = time.monotonic()
        due = {
            "tick": now + 1.0,
            "status": now + agent.status_interval_s,
            "checkpoint": now + agent.checkpoint_interval_s,
            "counters": now + agent.counters_log_interval_s,
            "watchdog": now,
            "metrics": now + self.extras.metrics_interval(),
        }
        while not self._stop.is_set():
            if self._reload.is_set():
                self._reload.clear()
                self.reload()
                agent = self.pipeline.config.agent if self.pipeline else agent
                due["metrics"] = time.monotonic()  # at once: the reload's outcome, or metrics it turned on
            pipeline = self.pipeline
            if pipeline is None:  # a reload always leaves a pipeline; never here
                raise EdgeError("the service lost its pipeline")
            try:
                first = self._queue.get(timeout=POLL_S)
            except queue.Empty:
                first = None
            if first is not None:
                self._handle(pipeline, collect(self._queue, first, 0.0))
                if not self._unfinished:
                    log.info("every source has finished; stopping")
                    return
                if self.max_readings is not None and self.readings >= self.max_readings:
                    log.info("%d readings handled (--max-readings); stopping", self.readings)
                    return
            now = time.monotonic()
            if now >= due["tick"]:
                pipeline.tick(now)
                due["tick"] = now + 1.0
            interval = self.notifier.watchdog_interval_s
            # fed while readings come as expected: a slow sensor between two readings is fine; one silent
            # past its stale limit (a FAULT stale was logged) starves it, and systemd restarts the agent
            if interval and now >= due["watchdog"] and (self.handled_since_ping or not pipeline.overdue(now)):
                self.notifier.watchdog()
                self.handled_since_ping = 0
                due["watchdog"] = now + interval
            if now >= due["status"]:
                self.notifier.status(summary_line(self.pipeline))
                self.write_status("running")
                due["status"] = now + agent.status_interval_s
            if now >= due["checkpoint"]:
                self.checkpoint()
                due["checkpoint"] = now + agent.checkpoint_interval_s
            if now >= due["counters"]:
                log.info("counters: %s", summary_line(self.pipeline))
                for source in pipeline.sources:
                    counts = " ".join(f"{k}={v}" for k, v in sorted(pipeline.source_counters(source).items()))
                    log.info("source %s: %s", source.describe(), counts)
                due["counters"] = now + agent.counters_log_interval_s
            if now >= due["metrics"]:
                self.write_metrics("running")
                due["metrics"] = now + self.extras.metrics_interval()

    def reload(self) -> bool:
        """Re-read config and model; swap to the new pipeline only if it builds and opens."""
        old = self.pipeline
        if old is None:
            return False  # not started yet: the start reads the config anyway
        self.notifier.reloading()
        try:
            config = load_config(self.config_path)
            models, refused = reload_models(config, old.models)
            if refused and config == old.config and all(m is old.models.get(n) for n, m in models.items()):
                raise EdgeError("; ".join(refused.values()))  # nothing else would change
            new = build_pipeline(config, models, hardware=self.hardware)
        except EdgeError as exc:
            log.error("reload failed, keeping the running configuration: %s", exc)
            self.notifier.ready(f"reload failed: {exc}")
            return self._reloaded(False, str(exc))
        states = {name: d.state() for name, d in old.detectors.items()}
        kept = new.adopt_sources(old)  # before the halt: the sources whose settings did not change stay open
        self._halt(old)
        closed = hand_over(old, new, states)
        try:
            self._start(new)
        except (EdgeError, OSError) as exc:
            log.error("reload failed, keeping the running configuration: cannot open the new one: %s", exc)
            previous = build_pipeline(old.config, old.models, self.hardware)
            previous.adopt_sources(new)  # what the new one had taken over open
            hand_over(old, previous, states)  # the same settings: open alerts go on, nothing closes
            self._start(previous)
            self.notifier.ready(f"reload failed: {exc}")
            return self._reloaded(False, f"cannot open the new configuration: {exc}")
        new.dispatch(closed)  # alerts the new settings judge afresh get their CLEAR
        self.extras.configure(config, self.pipeline)
        detail = new.describe_models() + (f"; sources kept open: {', '.join(kept)}" if kept else "")
        self.notifier.ready(summary_line(self.pipeline))
        if refused:
            reasons = "; ".join(refused.values())
            log.error("reloaded all but %s: %s; now running %s", ", ".join(refused), reasons, detail)
            return self._reloaded(False, f"{reasons}; the rest reloaded: {detail}")
        log.info("reloaded: %s", detail)
        return self._reloaded(True, detail)

    def _reloaded(self, ok: bool, detail: str) -> bool:
        """Record a reload's outcome in the status file at once (``edge-agent reload`` waits for it)."""
        count = (self.last_reload or {}).get("count", 0) + 1
        self.last_reload = {"count": count, "at": iso_time(time.time()), "ok": ok, "detail": detail}
        self.write_status("running")
        return ok
