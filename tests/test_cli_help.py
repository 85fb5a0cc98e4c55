"""Every option and positional of every command line says in ``--help`` what it is, and shows its default."""

from __future__ import annotations

import argparse
import importlib.util
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

EXAMPLES = Path(__file__).parents[1] / "examples"


def _agent() -> argparse.ArgumentParser:
    from edge.cli import build_parser

    return build_parser()


def _export() -> argparse.ArgumentParser:
    from export.cli import build_parser  # trains with torch: a workstation's

    return build_parser()


def _simulator() -> argparse.ArgumentParser:
    from firmware_bridge.sim_options import build_parser

    return build_parser()


def _example(name: str) -> Callable[[], argparse.ArgumentParser]:
    def build() -> argparse.ArgumentParser:
        spec = importlib.util.spec_from_file_location(name, EXAMPLES / f"{name}.py")
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        return module.build_parser()

    return build


PARSERS = [
    pytest.param(_agent, id="edge-agent"),
    pytest.param(_export, id="edge-export", marks=pytest.mark.workstation),
    pytest.param(_simulator, id="firmware_bridge.sim"),
    *(pytest.param(_example(name), id=f"examples/{name}.py") for name in sorted(p.stem for p in EXAMPLES.glob("*.py"))),
]


def walk(parser: argparse.ArgumentParser, where: str) -> Iterator[tuple[str, argparse.ArgumentParser, argparse.Action]]:
    """Every action of ``parser`` and of its subparsers, with its command (argparse keeps these private)."""
    for action in parser._actions:
        if isinstance(action, argparse._HelpAction):
            continue
        yield where, parser, action
        if isinstance(action, argparse._SubParsersAction):
            for listed in action._choices_actions:  # a subcommand's line in its parent's --help
                yield where, parser, listed
            for name, subparser in action.choices.items():
                yield from walk(subparser, f"{where} {name}")


def _name(action: argparse.Action) -> str:
    return "/".join(action.option_strings) or str(action.metavar or action.dest)


@pytest.mark.parametrize("build", PARSERS)
def test_every_option_and_positional_has_help(build) -> None:
    parser = build()
    found = list(walk(parser, parser.prog))
    assert len(found) >= 3
    missing = [f"{where}: {_name(action)}" for where, _, action in found if not (action.help or "").strip()]
    assert missing == []
    assert not [a for _, _, a in found if a.help == argparse.SUPPRESS]


@pytest.mark.parametrize("build", PARSERS)
def test_every_default_is_shown(build) -> None:
    parser = build()
    hidden = [
        f"{where}: {_name(action)} (default {action.default!r})"
        for where, _, action in walk(parser, parser.prog)
        if action.default not in (None, False, [], argparse.SUPPRESS) and "default" not in str(action.help)
    ]
    assert hidden == []


@pytest.mark.parametrize("build", PARSERS)
def test_every_help_page_renders(build) -> None:
    """A stray ``%`` in a help text would only fail when someone asks for --help."""
    parser = build()
    pages = {where: p.format_help() for where, p, _ in walk(parser, parser.prog)}
    assert all(page.startswith("usage: ") for page in pages.values())


def test_edge_agent_help_of_every_command_exits_0(capsys) -> None:
    from edge.cli import main

    commands = next(a for a in _agent()._actions if isinstance(a, argparse._SubParsersAction)).choices
    for name in commands:
        with pytest.raises(SystemExit) as stopped:
            main([name, "--help"])
        assert stopped.value.code == 0 and capsys.readouterr().out.startswith(f"usage: edge-agent {name}")


def test_replay_blocks_default_in_the_help_is_the_real_one() -> None:
    from edge.cli import REPLAY_BLOCK
    from edge.replay_file import DEFAULT_BLOCK

    assert REPLAY_BLOCK == DEFAULT_BLOCK


def test_the_network_drop_in_in_the_help_is_the_real_one() -> None:
    from edge.cli import DROP_IN
    from edge.service.network_policy import DROP_IN as REAL

    assert DROP_IN == REAL


def test_the_simulators_anomaly_flags_say_their_units_with_an_example() -> None:
    page = _simulator().format_help()
    for part in ("AT ", "CHANNEL ", "SIZE ", "LENGTH ", "x --period-ms", "channel's own units", "in samples"):
        assert part in page
    for kind in ("spike", "shift", "drift"):
        assert f"--{kind} " in page.split("anomalies:")[1]  # an example of each, in its own help


def test_a_drift_without_length_is_refused_in_one_line(capsys) -> None:
    from firmware_bridge.sim import main

    assert main(["--drift", "400:temperature:3"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("firmware_bridge.sim: error: --drift '400:temperature:3': a drift needs LENGTH")
    assert err.count("\n") == 1


@pytest.mark.parametrize("columns", ["100", "0", "junk", None])
def test_the_help_is_as_wide_as_argparse_would_make_it(monkeypatch, columns: str | None) -> None:
    import argparse

    from edge.cli import Formatter

    if columns is None:
        monkeypatch.delenv("COLUMNS", raising=False)
    else:
        monkeypatch.setenv("COLUMNS", columns)
    assert Formatter("edge-agent")._width == argparse.HelpFormatter("edge-agent")._width
