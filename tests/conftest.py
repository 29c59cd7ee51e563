"""Shared fixtures: fixture sites copied to a temporary folder with the repo's theme."""

from __future__ import annotations

import shutil
import textwrap
from collections.abc import Callable
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
SITES = Path(__file__).resolve().parent / "sites"
GOLDEN = Path(__file__).resolve().parent / "golden"


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--update-golden",
        action="store_true",
        help="rewrite tests/golden/ from the current output instead of comparing",
    )


@pytest.fixture(autouse=True)
def _reproducible(monkeypatch: pytest.MonkeyPatch) -> None:
    """Builds in tests see a fixed 'today' (2026-11-30)."""
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1796083200")


def copy_site(name: str, dest: Path) -> Path:
    """Copy tests/sites/<name> to `dest`, adding the repo's templates if it has none."""
    shutil.copytree(SITES / name, dest, symlinks=True)
    if not (dest / "templates").exists():
        shutil.copytree(REPO / "templates", dest / "templates")
    return dest


@pytest.fixture
def site_copy(tmp_path: Path) -> Callable[[str], Path]:
    def make(name: str) -> Path:
        return copy_site(name, tmp_path / name)

    return make


@pytest.fixture
def new_site(tmp_path: Path) -> Callable[[dict[str, str]], Path]:
    """A site made of the given files (path -> text), with the repo's theme."""

    def make(files: dict[str, str]) -> Path:
        root = tmp_path / "site"
        for rel, text in files.items():
            path = root / rel
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")
        if not (root / "templates").exists():
            shutil.copytree(REPO / "templates", root / "templates")
        return root

    return make


CASE = """\
---
title: {title}
date: 2020-03-01
lead: En kort indledning.
municipality: Aarhus Kommune
level: lokalsamfund
tags: [samskabelse]
---

Brødtekst.
"""


def read_tree(root: Path) -> dict[str, bytes]:
    """Every file under `root` by relative path."""
    return {
        p.relative_to(root).as_posix(): p.read_bytes()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }
