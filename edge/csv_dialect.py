"""Which field separator a CSV uses: ``,`` ``;`` or tab, told from its header line (pure).

A spreadsheet in a comma-decimal locale saves ``;``-separated files, a logger often writes tabs;
edge-export and the replay source read all three and can be told which one to use.

>>> detect_delimiter("datetime;Accelerometer1RMS;Current")
';'
>>> detect_delimiter('"time","a;b"')
','
>>> detect_delimiter("value")
','
"""

from __future__ import annotations

DELIMITERS = {",": "comma", ";": "semicolon", "\t": "tab"}
NAMES = {"auto": None, "comma": ",", "semicolon": ";", "tab": "\t", ",": ",", ";": ";", "\\t": "\t"}


def detect_delimiter(header: str) -> str:
    """The separator that occurs most often outside quotes in ``header`` (a comma when there is none)."""
    counts = dict.fromkeys(DELIMITERS, 0)
    quoted = False
    for char in header:
        if char == '"':
            quoted = not quoted
        elif not quoted and char in counts:
            counts[char] += 1
    best = max(counts, key=lambda d: counts[d])
    return best if counts[best] else ","


def delimiter_named(name: str) -> str | None:
    """``auto`` (None: detect), ``comma``, ``semicolon`` or ``tab``; raise ``ValueError`` otherwise."""
    if name not in NAMES:
        raise ValueError(f"delimiter {name!r} is not one of auto, comma, semicolon, tab")
    return NAMES[name]
