"""Copy the agent's and every plugin's sample.toml into docs/gateway-config.md, between their marker comments.

Each plugin folder (``edge/sources/<name>/``, ``edge/sinks/<name>/``) holds a ``sample.toml`` that
``edge-agent sample-config`` prints. The configuration guide shows each one verbatim, in a block like::

    <!-- BEGIN edge/sinks/log/sample.toml (copied by tools/gen_config_docs.py: edit that file) -->
    ```toml
    ...
    ```
    <!-- END edge/sinks/log/sample.toml -->

This script rewrites what stands between the markers; ``tests/test_docs.py`` fails when a copy differs. A
sample without markers in the guide, or markers naming a file that does not exist, is an error: a new plugin
needs its own section of prose, written by hand, with the two marker lines in it.

Run: ``python tools/gen_config_docs.py`` (``--check``: change nothing, exit 1 if the guide is out of date)
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
GUIDE = Path("docs/gateway-config.md")
BLOCK = re.compile(
    r"(?P<begin><!-- BEGIN (?P<path>\S*sample\.toml)\b[^\n]*-->\n)(?P<body>.*?)(?P<end><!-- END (?P=path) -->)",
    re.S,
)


def sample_paths(root: Path = ROOT) -> list[str]:
    """The agent's sample.toml and every plugin's, relative to the repository (``edge/sinks/log/sample.toml``)."""
    found = [
        root / "edge/sample.toml",
        *root.glob("edge/sources/*/sample.toml"),
        *root.glob("edge/sinks/*/sample.toml"),
    ]
    return sorted(path.relative_to(root).as_posix() for path in found)


def fenced(sample: str) -> str:
    """A sample as the guide shows it: a TOML code block, the file's text unchanged."""
    body = sample if sample.endswith("\n") else sample + "\n"
    return "```toml\n" + body + "```\n"


def copies(guide: str) -> dict[str, str]:
    """The guide's copy of each sample, by path: the text inside its code block."""
    found = {}
    for match in BLOCK.finditer(guide):
        body = match["body"]
        if not (body.startswith("```toml\n") and body.endswith("```\n")):
            raise ValueError(f"{GUIDE}: the block of {match['path']} is not one ```toml code block")
        found[match["path"]] = body[len("```toml\n") : -len("```\n")]
    return found


def render(guide: str, root: Path = ROOT) -> str:
    """The guide with every block holding the current text of its sample.toml."""
    wanted = sample_paths(root)
    named = [match["path"] for match in BLOCK.finditer(guide)]
    problems = [f"no markers for {path}" for path in wanted if path not in named]
    problems += [f"markers for {path}, which does not exist" for path in named if path not in wanted]
    problems += [f"{path} has markers twice" for path in sorted(set(named)) if named.count(path) > 1]
    if problems:
        raise ValueError(f"{GUIDE}: " + "; ".join(problems) + " (each plugin's section has one BEGIN/END pair)")

    def fill(match: re.Match[str]) -> str:
        sample = (root / match["path"]).read_text(encoding="utf-8")
        return match["begin"] + fenced(sample) + match["end"]

    return BLOCK.sub(fill, guide)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="change nothing; exit 1 if the guide is out of date")
    args = parser.parse_args(argv)
    path = ROOT / GUIDE
    old = path.read_text(encoding="utf-8")
    try:
        new = render(old)
    except ValueError as exc:
        print(f"gen_config_docs: error: {exc}", file=sys.stderr)
        return 2
    if new == old:
        print(f"{GUIDE}: up to date ({len(sample_paths())} samples)")
        return 0
    if args.check:
        print(f"{GUIDE}: out of date; run python tools/gen_config_docs.py", file=sys.stderr)
        return 1
    path.write_text(new, encoding="utf-8")
    print(f"{GUIDE}: samples copied in ({len(sample_paths())})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
