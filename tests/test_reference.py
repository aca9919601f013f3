"""docs/reference.md, the page the docstrings cite, names every primitive of the default
space with the constants the code uses; nothing cites a file the repository lacks."""
import os
import re

import pytest

from deap_nos import integrity
from deap_nos.spaces.nos.space import SearchSpace

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PAGE = os.path.join(ROOT, "docs", "reference.md")


@pytest.fixture(scope="module")
def page():
    with open(PAGE, encoding="utf-8") as stream:
        return stream.read()


def table_names(text):
    """Every `name` written in the first cell of a Markdown table row."""
    names = set()
    for line in text.splitlines():
        if line.startswith("|"):
            for cell in line.strip("|").split("|"):
                names.update(re.findall(r"`([A-Za-z_][A-Za-z0-9_]*)`", cell))
    return names


def test_every_primitive_of_the_default_space_is_in_a_table(page):
    space = SearchSpace.default()
    named = table_names(page)
    for table in ("operands", "ops", "schedules", "decay_ops"):
        missing = sorted(set(getattr(space, table)) - named)
        assert not missing, f"{table} missing from docs/reference.md: {missing}"
    for name, (_, alias) in __import__("deap_nos.spaces.nos.primitives",
                                       fromlist=["SCHEDULES"]).SCHEDULES.items():
        assert f"`{alias}`" in page


def test_integrity_constants_match_the_code(page):
    assert "7.1525" in page and "f < 3.5" in page
    x0 = "(" + ", ".join(f"{v:g}" if v != int(v) else f"{v:.1f}"
                         for v in integrity.X0) + ")"
    assert x0 in page
    shift = "(" + ", ".join(f"{v:g}".replace("-", "−") for v in integrity.SHIFT) + ")"
    assert shift in page
    assert "{1, 0.1, 0.01, 0.001, 1e-4, 1e-5}" in page
    assert tuple(integrity.LEARNING_RATES) == (1.0, 0.1, 0.01, 0.001, 1e-4, 1e-5)


def cited_files():
    found = []
    for folder in ("deap_nos", "tests", "examples", "benchmarks"):
        for base, _, files in os.walk(os.path.join(ROOT, folder)):
            for name in files:
                if name.endswith(".py") and name != "test_reference.py":
                    path = os.path.join(base, name)
                    with open(path, encoding="utf-8") as stream:
                        if "SEARCH_SPACE.md" in stream.read():
                            found.append(os.path.relpath(path, ROOT))
    return found


def test_nothing_cites_the_missing_search_space_file():
    assert not os.path.exists(os.path.join(ROOT, "SEARCH_SPACE.md"))
    assert cited_files() == []
