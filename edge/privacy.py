"""Nothing leaves the gateway unasked: onnxruntime's own telemetry is switched off before it loads.

onnxruntime 1.32's Linux wheels carry a telemetry client (1DS) that, at import, writes a device id and an
event database under ``$XDG_CACHE_HOME`` or ``~/.cache/Microsoft/DeveloperTools/.onnxruntime/`` and may
send events. Its opt-out is the environment variable ``ORT_DISABLE_TELEMETRY`` (read when it loads;
``ORT_TELEMETRY_DISABLED`` and ``disable_telemetry_events()`` do not stop the files). Importing ``edge`` or
``export`` sets it unless the user set it, so any later ``import onnxruntime`` in the process is quiet.
"""

from __future__ import annotations

import os

TELEMETRY_OPT_OUT = "ORT_DISABLE_TELEMETRY"


def opt_out_of_telemetry() -> None:
    """Set onnxruntime's opt-out for this process (and its children) unless already set either way."""
    os.environ.setdefault(TELEMETRY_OPT_OUT, "1")
