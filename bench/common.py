"""What the bench scripts share: where things are, how a report says where it came from, waiting, timing
and memory, the default model and new rows of the pump, the dataset benches' replays, the MQTT benches' alerts.

Bench scripts run as ``python bench/X.py``, so this folder is ``sys.path[0]`` and ``import common`` finds it.
Heavy or product imports (numpy, ``edge``, ``export``) happen inside the functions that need them: a bench
that measures its own memory (``soak.py``) or asserts what it never imported (``replay_speed.py``'s gateway
child) pays only for what it uses.
"""

from __future__ import annotations

import os
import platform
import shlex
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from datetime import datetime
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import argparse

    import numpy as np

    from edge.core.events import Event
    from edge.replay_file import ReplaySummary
    from edge.sinks.mqtt import MqttSink

ROOT = Path(__file__).resolve().parents[1]
HISTORY = ROOT / "examples" / "pump_history.csv"
BIN = Path(sys.executable).parent  # edge-export and edge-agent of the Python that runs the bench
GNU_TIME = Path("/usr/bin/time")  # %M: the peak RSS of its own child, forked from a small process

Stats = dict[str, float]  # median, p99, mean, max of a series of durations


# -- how a report says where it came from -------------------------------------------------------------------


def cpu_model() -> str:
    """The CPU's model name from /proc/cpuinfo, else the platform's processor string."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


def machine_line(**versions: str) -> str:
    """``- machine: …`` for a report: the platform, CPU, CPUs, Python and the ``versions`` given (name=version)."""
    libraries = "".join(f", {name} {version}" for name, version in versions.items())
    return (
        f"- machine: {platform.platform()}, {cpu_model()}, {os.cpu_count()} CPUs; "
        f"Python {platform.python_version()}{libraries}"
    )


def command_line(argv: Sequence[str] | None) -> str:
    """``- command: …``: how the report was produced (``argv`` as given to ``main``, else the process's)."""
    command = [sys.executable, *sys.argv] if argv is None else [sys.executable, sys.argv[0], *argv]
    return f"- command: {shlex.join(command)}"


def note(bench: str, text: str) -> None:
    """Progress on stderr (the report is stdout): ``[bench/<bench>] text``."""
    print(f"[bench/{bench}] {text}", file=sys.stderr, flush=True)


def verdict(ok: bool) -> str:
    """A goal column's word."""
    return "met" if ok else "**not met**"


# -- waiting, timing, memory ------------------------------------------------------------------------------


def wait_until(condition: Callable[[], object], timeout: float, poll: float = 0.05) -> bool:
    """Poll ``condition`` every ``poll`` seconds until it holds or ``timeout`` passes; whether it held."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(poll)
    return bool(condition())


def time_each(call: Callable[[Any], object], items: Sequence[Any]) -> np.ndarray:
    """The duration of ``call(item)`` for each item, in order, in µs."""
    import numpy as np

    clock = time.perf_counter_ns
    durations = np.empty(len(items), dtype=np.float64)
    for i, item in enumerate(items):
        began = clock()
        call(item)
        durations[i] = clock() - began
    return durations / 1000.0


def summary(values: Sequence[float] | np.ndarray) -> Stats:
    """Median, p99, mean and max of a series (durations in µs or ms, whatever it is in)."""
    import numpy as np

    x = np.asarray(values, dtype=np.float64)
    return {
        "median": float(np.median(x)),
        "p99": float(np.percentile(x, 99)),
        "mean": float(x.mean()),
        "max": float(x.max()),
    }


def peak_rss_mib(pid: int | str = "self") -> float:
    """``VmHWM`` of a running process (this one by default): its peak RSS since exec, MiB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f"no VmHWM in /proc/{pid}/status")


def gnu_time_peak_mib(command: Sequence[str | Path], cwd: Path | None = None) -> float:
    """Run ``command`` to the end under GNU time (stdout discarded) and return its peak RSS, MiB. A
    ``python -m edge…`` command must run in ``cwd=ROOT``: ``-m`` imports from the working folder first."""
    if not GNU_TIME.exists():
        raise SystemExit(f"needs GNU time at {GNU_TIME} (Debian: apt-get install time)")
    done = subprocess.run(
        [str(GNU_TIME), "-f", "%M", *map(str, command)],
        check=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        cwd=cwd,
    )
    return int(done.stderr.decode().strip().splitlines()[-1]) / 1024


# -- the default model and new rows of the pump ---------------------------------------------------------


def export_default_model(out: Path) -> Path:
    """The default int8 model trained on the bundled pump history by ``edge-export`` (a subprocess, so this
    process never imports torch)."""
    subprocess.run(
        [BIN / "edge-export", "--data", HISTORY, "--out", out, "--quiet"], check=True, stdout=subprocess.DEVNULL
    )
    return out


def pump_generator() -> ModuleType:
    """``examples/make_pump_history.py`` as a module (``examples`` is not a package)."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("make_pump_history", ROOT / "examples" / "make_pump_history.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def write_pump_rows(out: Path, rows: int, seed: int = 8) -> datetime:
    """``rows`` new rows of the pump process (another seed) from right after the bundled history, as a CSV with
    the history's header; returns their start."""
    import csv

    generator = pump_generator()
    start: datetime = generator.START + generator.PERIOD * generator.ROWS
    with out.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(generator.HEADER)
        writer.writerows(generator.generate_rows(rows, seed, start))
    return start


def judge_and_decide(detector: Any, time_s: float, residual: list[float], x: list[float]) -> None:
    """What a detector does per reading besides the LSTM step: score, hold, decide, learn, correct the forecast
    (as ``Detector``)."""
    judge = getattr(detector, "judge", None)  # an older checkout (bench/scoring.py's comparison) has no condition level
    judgement = judge(residual, x) if judge is not None else detector.scorer.score_one(residual, x)
    policy, condition = detector.policy, detector.condition
    was_open = policy.active
    decision = policy.update(time_s, judgement.level, was_open and condition.holding(x))
    normal = detector._protected.learn_one(residual, x, judgement, was_open or decision.alerting)
    correction = getattr(detector, "correction", None)  # an older checkout has no forecast correction
    if normal and correction is not None:  # the synthetic residual's forecast stands in for the model's: same work
        correction.learn([v - r for v, r in zip(x, residual)], x)
    if judge is not None:
        detector.learn_condition(x, was_open or decision.alerting)
    else:
        condition.learn_one(x, not (was_open or decision.alerting))


# -- the dataset benches (quality.py on NAB, skab.py on SKAB) -------------------------------------------------

PRODUCT = "product (default config)"
CALIBRATED = "calibrated scorer"


def dataset_parser(description: str, data: str) -> argparse.ArgumentParser:
    """The options every dataset bench takes: ``--data DIR`` (required; ``data`` says what the folder holds),
    ``--jobs`` and ``--work``."""
    import argparse

    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--data", type=Path, required=True, metavar="DIR", help=data)
    parser.add_argument("--jobs", type=int, default=min(2, os.cpu_count() or 1), help="files run side by side (2)")
    parser.add_argument("--work", type=Path, help="keep models and replays here (default: a temporary folder)")
    return parser


def replay_both(model: Path, data: Path, out: Path) -> dict[str, ReplaySummary]:
    """``data`` replayed through ``model`` (traces kept, no event log) with the default configuration
    (``PRODUCT``) and with the calibrated scorer on the model's forecasts as trained (``CALIBRATED``: the
    export's calibration is of those; no online correction), whose trace the seed's baseline reads too."""
    from edge.config import AgentConfig, AgentSection, DetectorSection, ModelSection
    from edge.replay_file import replay

    sections = {PRODUCT: DetectorSection(), CALIBRATED: DetectorSection(scoring="calibrated", forecast_adapt_step=0.0)}
    return {
        name: replay(
            model,
            data,
            out,
            config=AgentConfig(None, AgentSection(), (ModelSection(path=model),), section, (), ()),
            keep_trace=True,
            log_events=False,
        )
        for name, section in sections.items()
    }


def map_files(run_file: Callable[[Any], Any], tasks: Sequence[Any], jobs: int) -> list[Any]:
    """``run_file`` over ``tasks`` in ``jobs`` processes, one onnxruntime/torch thread each."""
    from multiprocessing import Pool

    os.environ.setdefault("OMP_NUM_THREADS", "1")
    with Pool(jobs) as pool:
        return pool.map(run_file, tasks)


# -- the MQTT benches (mqtt_outage.py, faults.py) -------------------------------------------------------------


def bench_alert(alert_id: str, n: int) -> Event:
    """The ``n``-th alert a bench sends (the same shape in every MQTT bench)."""
    from edge.core.events import Alert, Event

    alert = Alert(
        id=alert_id,
        sensor="pump-1",
        channels=("temperature",),
        start=float(n),
        score=0.97,
        threshold=0.9,
        observed=(81.25,),
        expected=(74.5,),
    )
    return Event("alert", alert)


def bench_mqtt_sink(port: int, state_dir: Path, reconnect_max_s: float) -> MqttSink:
    """An opened ``MqttSink`` to 127.0.0.1:``port`` for gateway ``bench`` (one temperature channel), its outbox
    under ``state_dir``, reconnecting from 0.1 s up to ``reconnect_max_s``."""
    from edge.config_types import build_section
    from edge.plugins import PluginContext
    from edge.sinks.mqtt import Config, MqttSink

    context = PluginContext(
        channels=("temperature",),
        sample_period_s=1.0,
        model_sha256="ab" * 32,
        state_dir=state_dir,
        base_dir=state_dir,
        gateway_id="bench",
    )
    settings = {"host": "127.0.0.1", "port": port, "reconnect_min_s": 0.1, "reconnect_max_s": reconnect_max_s}
    sink = MqttSink(build_section(Config, settings, "mqtt"), context)
    sink.open()
    return sink
