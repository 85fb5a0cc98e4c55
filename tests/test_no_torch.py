"""The gateway side never imports torch (nor onnx): proven with both blocked."""

from __future__ import annotations

import subprocess
import sys
import textwrap

BLOCKER = textwrap.dedent(
    """
    import sys
    class Block:
        def find_spec(self, name, path=None, target=None):
            if name.split(".")[0] in ("torch", "onnx", "export"):
                raise ImportError(f"gateway code imported {name}")
            return None
    sys.meta_path.insert(0, Block())
    """
)


def _run(code: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", BLOCKER + textwrap.dedent(code)], capture_output=True, text=True, timeout=120
    )


def test_blocker_really_blocks() -> None:
    result = _run("import torch")
    assert result.returncode != 0 and "gateway code imported torch" in result.stderr


def test_loading_and_scoring_a_model_needs_no_torch() -> None:
    from conftest import FIXTURE_MODEL

    result = _run(
        f"""
        import numpy as np
        import edge, edge.cli
        from edge.core.calibration import ErrorScorer
        from edge.core.forecaster import StreamingForecaster
        from edge.model.loader import load_model
        model = load_model({str(FIXTURE_MODEL)!r})
        stream = StreamingForecaster.from_model(model)
        scorer = ErrorScorer(model.metadata.calibration)
        forecast = stream.step(np.array([20.0, 1.0]))
        overall, per_channel = scorer.score_one(stream.normalize([21.0, 1.1]) - stream.normalize(forecast))
        assert 0.0 <= overall <= 1.0 and len(per_channel) == 2
        assert not any(m.split(".")[0] in ("torch", "onnx") for m in sys.modules)
        print("scored", overall)
        """
    )
    assert result.returncode == 0, result.stderr
    assert "scored" in result.stdout


def test_every_runtime_module_and_a_whole_replay_need_no_torch(tmp_path) -> None:
    """Import every module of ``edge`` and run a replay with torch, onnx and export blocked."""
    from conftest import FIXTURE_MODEL, live_rows, write_history

    csv = write_history(tmp_path / "live.csv", live_rows(100), "timestamp,temperature,vibration")
    result = _run(
        f"""
        import importlib, pkgutil, edge
        for module in pkgutil.walk_packages(edge.__path__, "edge."):
            if module.name != "edge.plot":  # matplotlib is optional and not installed on a gateway
                importlib.import_module(module.name)
        from edge.cli import main
        code = main(["replay", "--model", {str(FIXTURE_MODEL)!r}, "--input", {str(csv)!r},
                     "--output", {str(tmp_path / "out.csv")!r}, "--quiet"])
        assert code == 0
        assert not any(m.split(".")[0] in ("torch", "onnx", "matplotlib") for m in sys.modules)
        print("replayed")
        """
    )
    assert result.returncode == 0, result.stderr
    assert "replayed" in result.stdout


def test_the_layers_import_only_downwards() -> None:
    """Reading a config loads no onnxruntime, no detector and no service; the plugin registry is a leaf (no hardware library)."""
    code = """
        import sys
        {imports}
        print(" ".join(sorted(m for m in sys.modules if m.startswith(("edge", "onnxruntime", "serial", "smbus2", "gpiod")))))
    """
    loaded = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code.format(imports="import edge.config"))],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    ).stdout.split()
    assert "onnxruntime" not in loaded and "edge.core.detector" not in loaded
    assert not [m for m in loaded if m.startswith(("edge.service", "edge.model.loader", "edge.running"))]
    registry = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code.format(imports="import edge.plugins"))],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    ).stdout.split()
    assert set(registry) == {
        "edge",
        "edge.privacy",
        "edge.version",
        "edge.plugins",
        "edge.config_types",
        "edge.errors",
        "edge.files",  # config_relative: the one rule for paths in a config
        "edge.sinks",
        "edge.sinks.delivery",
        "edge.hardware",  # the seam plugins open devices through; the hardware libraries load only on open
        "edge.hardware.buses",
        "edge.hardware.chips",
        "edge.hardware.clock",
        "edge.hardware.ports",
    }
