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
    return subprocess.run([sys.executable, "-c", BLOCKER + textwrap.dedent(code)],
                          capture_output=True, text=True, timeout=120)


def test_blocker_really_blocks() -> None:
    result = _run("import torch")
    assert result.returncode != 0 and "gateway code imported torch" in result.stderr


def test_loading_and_scoring_a_model_needs_no_torch(exported) -> None:
    result = _run(
        f"""
        import numpy as np
        import edge, edge.cli
        from edge.calibration import ErrorScorer
        from edge.forecaster import StreamingForecaster
        from edge.model_file import load_model
        model = load_model({str(exported.model.path)!r})
        stream = StreamingForecaster.from_model(model)
        scorer = ErrorScorer(model.metadata.calibration)
        forecast = stream.step(np.array([20.0, 1.0]))
        overall, per_channel = scorer.score_one(stream.normalize([21.0, 1.1]) - stream.normalize(forecast))
        assert 0.0 <= overall <= 1.0 and per_channel.shape == (2,)
        assert not any(m.split(".")[0] in ("torch", "onnx") for m in sys.modules)
        print("scored", overall)
        """
    )
    assert result.returncode == 0, result.stderr
    assert "scored" in result.stdout
