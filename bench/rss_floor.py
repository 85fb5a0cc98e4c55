"""Where a gateway process's peak RSS comes from: Python, numpy, onnxruntime, one session, the package.

Each step runs in a fresh ``python -c`` under GNU time (``%M``, the child's own peak), with the default int8
model exported to a temporary folder by ``edge-export`` first. Prints one markdown table.

Run: ``.venv/bin/python bench/rss_floor.py``
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

from common import BIN, HISTORY, ROOT, command_line, export_default_model, gnu_time_peak_mib, machine_line

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


def main() -> int:
    with tempfile.TemporaryDirectory(prefix="edge-bench-rss-") as name:
        model = export_default_model(Path(name) / "model.onnx")
        print("| process | peak RSS, MiB |")
        print("|---|---:|")
        for label, code in STEPS:
            peak = gnu_time_peak_mib([sys.executable, "-c", code.format(model=str(model))], cwd=ROOT)
            print(f"| {label} | {peak:.1f} |")
        replay = [
            BIN / "edge-agent",
            "replay",
            "--model",
            model,
            "--input",
            HISTORY,
            "--output",
            Path(name) / "out.csv",
            "--quiet",
        ]
        print(f"| `edge-agent replay` of the bundled history | {gnu_time_peak_mib(replay):.1f} |")
    print()
    print(machine_line())
    print(command_line(None))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
