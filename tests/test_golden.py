"""The basic fixture site, built whole and compared with tests/golden/basic/."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

import pytest
from conftest import GOLDEN, read_tree

from sitegen.build.pipeline import build
from sitegen.config import default_options


def test_basic_site_matches_golden(
    site_copy: Callable[[str], Path], tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    root = site_copy("basic")
    out = tmp_path / "out"
    build(root, default_options(), out)
    golden = GOLDEN / "basic"
    # Pagefind's bundle (wasm, index) depends on its version; test_search.py covers it.
    shutil.rmtree(out / "pagefind")
    if request.config.getoption("--update-golden"):
        shutil.rmtree(golden, ignore_errors=True)
        shutil.copytree(out, golden)
    expected, actual = read_tree(golden), read_tree(out)
    assert sorted(actual) == sorted(expected), "the set of output files changed"
    for path, data in expected.items():
        assert actual[path] == data, f"{path} differs from the golden copy (--update-golden)"
