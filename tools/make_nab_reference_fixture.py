"""Write tests/fixtures/nab_reference.json from NAB's published HTM results in ../shared/data/nab/reference.

The fixture keeps, per file, what NAB's scorer needs at the published thresholds: the row count, the
probationary rows, the labelled windows as row indices, and every row whose HTM score reaches the lowest of
the three profiles' thresholds (the rest never detect there); with NAB's expected per-file scores.

Run: ``python tools/make_nab_reference_fixture.py --data ../shared/data/nab``
"""

from __future__ import annotations

import argparse
import csv
import json
import math
from datetime import datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, required=True, help="NAB's data folder, e.g. ../shared/data/nab")
    args = parser.parse_args()
    expected = json.loads((args.data / "reference" / "numenta_expected.json").read_text())
    labels = json.loads((args.data / "labels.json").read_text())
    lowest = min(p["threshold"] for p in expected["profiles"].values())
    files = {}
    for name in expected["files"]:
        with (args.data / "reference" / "numenta_scores" / name).open(newline="") as handle:
            rows = list(csv.DictReader(handle))
        stamps = [datetime.fromisoformat(r["timestamp"]) for r in rows]
        windows = []
        for start, end in labels[name]:
            first, last = datetime.fromisoformat(start), datetime.fromisoformat(end)
            inside = [i for i, t in enumerate(stamps) if first <= t <= last]
            windows.append([inside[0], inside[-1]])
        high = [[i, float(r["anomaly_score"])] for i, r in enumerate(rows) if float(r["anomaly_score"]) >= lowest]
        files[name] = {
            "rows": len(rows),
            "probation": min(math.floor(0.15 * len(rows)), 750),
            "windows": windows,
            "high_scores": high,
        }
    profiles = {
        name: {
            "threshold": p["threshold"],
            "cost_matrix": p["cost_matrix"],
            "score": {f: v["Score"] for f, v in p["per_file"].items()},
            **{k: v for k, v in p.items() if k not in ("threshold", "cost_matrix", "per_file")},
        }
        for name, p in expected["profiles"].items()
    }
    out = ROOT / "tests" / "fixtures" / "nab_reference.json"
    out.write_text(json.dumps({"source": expected["detector"], "files": files, "profiles": profiles}) + "\n")
    print(f"wrote {out} ({out.stat().st_size:,} bytes)")


if __name__ == "__main__":
    main()
