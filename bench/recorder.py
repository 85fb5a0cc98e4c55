"""What the field recorder costs at 1 kHz: CPU on the scoring thread and on its writer, disk bytes, fsyncs.

A :class:`~edge.service.recorder.Recorder` is fed synthetic outcomes of one two-channel sensor at ``--rate``
readings a second, in blocks of ``--block`` (as the service scores them: ``max_block_delay_ms`` 5 at 1 kHz is
5 readings), for ``--seconds``, into a folder on the disk (``--folder``, default a temporary one in /var/tmp).
Prints one markdown table: the observer call's cost on the scoring thread (per reading, and per call: a call
that waits for the GIL while the writer formats a batch is the long tail), the writer thread's CPU
(share of one core), the process's CPU over the run, bytes per reading, the bytes the kernel wrote to storage
(``/proc/self/io`` write_bytes) and the fsyncs per second.

Run: ``.venv/bin/python bench/recorder.py [--rate 1000 --seconds 20]``
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

from common import command_line, machine_line, note


def written_to_storage() -> int:
    """Bytes this process has caused to be sent to storage (``/proc/self/io``), or -1 where it is not there."""
    try:
        for line in Path("/proc/self/io").read_text().splitlines():
            if line.startswith("write_bytes:"):
                return int(line.split()[1])
    except OSError:
        pass
    return -1


def run(folder: Path, rate: float, seconds: float, block: int) -> dict[str, float]:
    from edge.config_sections import RecorderSection
    from edge.core.events import Reading
    from edge.core.outcome import Scored
    from edge.service import recorder as module

    fsyncs = 0
    real_fsync = os.fsync

    def counted_fsync(fd: int) -> None:
        nonlocal fsyncs
        fsyncs += 1
        real_fsync(fd)

    module.os.fsync = counted_fsync  # type: ignore[attr-defined]
    recorder = module.Recorder(folder, RecorderSection(enabled=True))
    recorder.use({"pump-1": ("temperature", "vibration")})
    writer = recorder._thread.ident
    assert writer is not None
    total = int(rate * seconds)
    start_time, step = 1_700_000_000.0, 1.0 / rate
    blocks = []
    for first in range(0, total, block):
        blocks.append(
            [
                Scored(
                    Reading("pump-1", start_time + i * step, (20.0 + (i % 977) / 131.0, 1.0 / (1 + i % 313))),
                    "scored",
                    score=(i % 1000) / 1000.0,
                    level=0.1,
                )
                for i in range(first, min(total, first + block))
            ]
        )
    storage_before, cpu_before = written_to_storage(), time.process_time()
    calls: list[float] = []
    began = time.monotonic()
    for n, outcomes in enumerate(blocks):
        due = began + n * block / rate
        pause = due - time.monotonic()
        if pause > 0:
            time.sleep(pause)
        called = time.perf_counter()
        recorder("pump-1", outcomes)
        calls.append(time.perf_counter() - called)
    elapsed = time.monotonic() - began
    writer_cpu = time.clock_gettime(time.pthread_getcpuclockid(writer))
    recorder.close()
    process_cpu = time.process_time() - cpu_before
    counts = recorder.counters()
    module.os.fsync = real_fsync  # type: ignore[attr-defined]
    storage = written_to_storage() - storage_before if storage_before >= 0 else -1
    return {
        "readings": counts["written"],
        "dropped": counts["dropped"],
        "seconds": elapsed,
        "call_us": sum(calls) / total * 1e6,
        "call_median_us": statistics.median(calls) * 1e6,
        "call_p99_us": statistics.quantiles(calls, n=100)[98] * 1e6,
        "call_max_us": max(calls) * 1e6,
        "writer_share": writer_cpu / elapsed,
        "process_share": process_cpu / elapsed,
        "bytes_per_reading": counts["bytes"] / max(1, counts["written"]),
        "storage_bytes_per_s": storage / elapsed if storage >= 0 else -1,
        "fsyncs_per_s": fsyncs / elapsed,
        "files": counts["files"],
    }


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--rate", type=float, default=1000.0, help="readings per second (default: %(default)s)")
    parser.add_argument("--seconds", type=float, default=20.0, help="how long (default: %(default)s)")
    parser.add_argument("--block", type=int, default=5, help="readings per observer call (default: %(default)s)")
    parser.add_argument("--folder", type=Path, default=Path("/var/tmp"), help="where (default: %(default)s)")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="edge-bench-recorder-", dir=args.folder) as name:
        note("recorder", f"{args.rate:g} readings/s for {args.seconds:g} s into {name}")
        f = run(Path(name), args.rate, args.seconds, args.block)
    storage = f"{f['storage_bytes_per_s'] / 1024:.1f}" if f["storage_bytes_per_s"] >= 0 else "n/a"
    print(
        "| rate | readings written / dropped | observer calls on the scoring thread: per reading (mean); per call "
        "median, p99, max | writer thread CPU "
        "| process CPU (feeder included) | bytes per reading | to storage, KiB/s | fsyncs/s | files |"
    )
    print("|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    print(
        f"| {args.rate:g}/s | {f['readings']:.0f} / {f['dropped']:.0f} | {f['call_us']:.2f} µs; "
        f"{f['call_median_us']:.1f}, {f['call_p99_us']:.0f}, {f['call_max_us']:.0f} µs "
        f"| {f['writer_share']:.1%} of a core | {f['process_share']:.1%} | {f['bytes_per_reading']:.1f} "
        f"| {storage} | {f['fsyncs_per_s']:.2f} | {f['files']:.0f} |"
    )
    print()
    print(machine_line())
    print(command_line(argv))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
