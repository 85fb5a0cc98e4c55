"""Where a gateway process's peak RSS comes from: Python, numpy, onnxruntime, one session, the package.

Each step runs in a fresh ``python -c`` under GNU time (``%M``, the child's own peak), with the default int8
model exported to a temporary folder by ``edge-export`` first. Prints one markdown table.

Run: ``.venv/bin/python bench/rss_floor.py``
"""

from __future__ import annotations

import platform
import shlex
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TIME = Path("/usr/bin/time")
SESSION = (
    "from edge.model.runtime import open_session; import numpy as np; s = open_session({model!r}); "
    "z = np.zeros((2, 1, 64), np.float32); x = np.zeros((1, 256, 3), np.float32)\n"
    "for _ in range(100): s.run(None, {{'x': x, 'h0': z, 'c0': z}})"
)
STEPS = (
    ("Python alone", "pass"),
    ("import numpy", "import numpy"),
    ("import numpy, onnxruntime", "import numpy, onnxruntime"),
    ("import edge.replay_file (the package's runtime modules)", "import edge.replay_file"),
    ("one session of the model, 100 calls of 256 readings", SESSION),
)


def peak_mib(code: str) -> float:
    """GNU time's peak RSS of ``python -c code``, MiB."""
    out = subprocess.run(
        [str(TIME), "-f", "%M", sys.executable, "-c", code], check=True, capture_output=True, text=True
    )
    return int(out.stderr.strip().splitlines()[-1]) / 1024


def main() -> int:
    if not TIME.exists():
        raise SystemExit("needs GNU time at /usr/bin/time (Debian: apt-get install time)")
    with tempfile.TemporaryDirectory(prefix="edge-bench-rss-") as name:
        model = Path(name) / "model.onnx"
        subprocess.run(
            [
                Path(sys.executable).parent / "edge-export",
                "--data",
                ROOT / "examples" / "pump_history.csv",
                "--out",
                model,
                "--quiet",
            ],
            check=True,
            stdout=subprocess.DEVNULL,
        )
        print("| process | peak RSS, MiB |")
        print("|---|---:|")
        for label, code in STEPS:
            print(f"| {label} | {peak_mib(code.format(model=str(model))):.1f} |")
        replay_out = Path(name) / "out.csv"
        rows = ROOT / "examples" / "pump_history.csv"
        out = subprocess.run(
            [
                str(TIME),
                "-f",
                "%M",
                str(Path(sys.executable).parent / "edge-agent"),
                "replay",
                "--model",
                str(model),
                "--input",
                str(rows),
                "--output",
                str(replay_out),
                "--quiet",
            ],
            check=True,
            capture_output=True,
            text=True,
        )
        print(f"| `edge-agent replay` of the bundled history | {int(out.stderr.strip().splitlines()[-1]) / 1024:.1f} |")
    print()
    print(f"- machine: {platform.platform()}, Python {platform.python_version()}")
    print(f"- command: {shlex.join([sys.executable, *sys.argv])}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
