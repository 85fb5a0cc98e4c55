"""The compiled parts, where the install built them (setup.py; optional: without a C compiler the Python runs).

``EDGE_PURE_PYTHON=1`` in the environment runs the Python classes even where the build is there: they are the
reference, and give the same results to the last bit.
"""

from __future__ import annotations

import importlib
import os
from types import ModuleType


def compiled_module(name: str) -> ModuleType | None:
    """The extension module ``name``, or None where it was not built (or ``EDGE_PURE_PYTHON`` is set)."""
    if os.environ.get("EDGE_PURE_PYTHON"):
        return None
    try:
        return importlib.import_module(name)
    except ImportError:
        return None
