"""The docs cannot drift: the configuration guide carries every plugin's sample.toml as it is, and links resolve.

``tools/gen_config_docs.py`` copies each ``sample.toml`` into ``docs/gateway-config.md``; these tests fail when a
copy differs from its file, when a registered plugin has no copy, or when a link in README.md or docs/ points
at a file or heading that is not there.
"""

from __future__ import annotations

import re
import runpy
from pathlib import Path
from types import SimpleNamespace

import pytest

from edge.config import sample_config
from edge.plugins import SINK_TYPES, SOURCE_TYPES, read_sample

ROOT = Path(__file__).resolve().parents[1]
GUIDE = ROOT / "docs" / "gateway-config.md"
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
PLUGINS = {**{f"source {k}": v for k, v in SOURCE_TYPES.items()}, **{f"sink {k}": v for k, v in SINK_TYPES.items()}}


def generator() -> SimpleNamespace:
    """``tools/gen_config_docs.py``'s functions (``tools`` is not a package)."""
    return SimpleNamespace(**runpy.run_path(str(ROOT / "tools" / "gen_config_docs.py")))


def sample_path(module: str) -> str:
    """``edge.sinks.log`` -> ``edge/sinks/log/sample.toml``."""
    return module.replace(".", "/") + "/sample.toml"


@pytest.mark.parametrize("plugin", sorted(PLUGINS))
def test_the_guide_shows_each_registered_plugins_sample_as_it_is(plugin: str) -> None:
    module = PLUGINS[plugin]
    copies = generator().copies(GUIDE.read_text(encoding="utf-8"))
    path = sample_path(module)
    assert path in copies, f"{plugin}: docs/gateway-config.md has no copy of {path}; add its section with markers"
    text = (ROOT / path).read_text(encoding="utf-8")
    assert text == read_sample(module), f"{plugin}: SAMPLE is not {path}"
    assert copies[path] == text, f"{plugin}: the copy in docs/gateway-config.md differs; run tools/gen_config_docs.py"


def test_the_guide_shows_the_agents_own_sample_as_sample_config_prints_it() -> None:
    copies = generator().copies(GUIDE.read_text(encoding="utf-8"))
    text = (ROOT / "edge/sample.toml").read_text(encoding="utf-8")
    assert copies["edge/sample.toml"] == text == read_sample("edge")
    assert sample_config().startswith(text)


def test_every_sample_file_is_registered_and_the_guide_is_up_to_date() -> None:
    gen = generator()
    assert gen.sample_paths() == sorted(["edge/sample.toml", *(sample_path(m) for m in PLUGINS.values())])
    guide = GUIDE.read_text(encoding="utf-8")
    assert gen.render(guide) == guide, "docs/gateway-config.md is out of date: run python tools/gen_config_docs.py"


def test_the_generator_refuses_a_sample_without_markers() -> None:
    gen = generator()
    guide = GUIDE.read_text(encoding="utf-8")
    begin = guide.index("<!-- BEGIN edge/sinks/log/sample.toml")
    end = guide.index("<!-- END edge/sinks/log/sample.toml -->") + len("<!-- END edge/sinks/log/sample.toml -->")
    with pytest.raises(ValueError, match="no markers for edge/sinks/log/sample.toml"):
        gen.render(guide[:begin] + guide[end:])


def test_the_generator_puts_a_changed_sample_back() -> None:
    gen = generator()
    guide = GUIDE.read_text(encoding="utf-8")
    copy = gen.copies(guide)["edge/sinks/log/sample.toml"]
    stale = guide.replace(copy, copy + "# an old line, since removed from the file\n", 1)
    assert stale != guide
    assert gen.render(stale) == guide


def slug(heading: str) -> str:
    """GitHub's anchor for a heading: lower case, punctuation dropped, spaces to hyphens."""
    text = re.sub(r"[^\w\- ]", "", heading.strip().lower())
    return text.replace(" ", "-")


def anchors(page: Path) -> set[str]:
    found: set[str] = set()
    for heading in re.findall(r"^#{1,6} (.+)$", without_code(page.read_text(encoding="utf-8")), re.M):
        base = slug(heading)
        name, n = base, 0
        while name in found:
            n += 1
            name = f"{base}-{n}"
        found.add(name)
    return found


def without_code(text: str) -> str:
    return re.sub(r"^```.*?^```", "", text, flags=re.S | re.M)


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.relative_to(ROOT).as_posix())
def test_links_point_at_files_and_headings_that_exist(page: Path) -> None:
    broken = []
    for target in re.findall(r"\]\(([^)\s]+)\)", without_code(page.read_text(encoding="utf-8"))):
        if re.match(r"[a-z]+:", target):
            continue  # a web address
        path, _, anchor = target.partition("#")
        file = (page.parent / path).resolve() if path else page
        if not file.exists():
            broken.append(f"{target}: no file {file.relative_to(ROOT)}")
        elif anchor and file.suffix == ".md" and anchor not in anchors(file):
            broken.append(f"{target}: no heading #{anchor} in {file.relative_to(ROOT)}")
    assert broken == []


def test_the_readme_keeps_the_set_up_commands_and_maps_every_guide() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    setup = readme.split("## Set up and run\n", 1)[1].split("\n## ", 1)[0]
    assert re.search(r"^    make demo +# ", setup, re.M) and re.search(r"^    make test +# ", setup, re.M)
    for guide in sorted((ROOT / "docs").glob("*.md")):
        assert f"](docs/{guide.name})" in readme, f"README's map does not link docs/{guide.name}"
