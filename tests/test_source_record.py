"""Sources a build need not read: a file with the stat the previous build recorded is taken
by its recorded digest (git's index does the same), and one saved too close to a build to
be trusted (the racily clean rule) is read again."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from sitegen.build import inputs as inputs_module
from sitegen.build.cache import BuildCache
from sitegen.build.inputs import SOURCES_RECORD, Inputs, load_inputs
from sitegen.build.pipeline import build
from sitegen.config import default_options
from sitegen.content import load as load_module
from sitegen.content.load import SourceChanged, UnchangedSource, file_stat
from tests.conftest import read_tree
from tests.search_meaning import assert_same_site
from tests.test_incremental import MakeSite, case_text, clean_build, small_site

SETTLE = 0.08  # longer than the racy window for files with fine timestamps (50 ms)


@pytest.fixture
def reads(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The site paths of the sources read from disk."""
    seen: list[str] = []
    real = load_module._read

    def reading(path: str, rel: str, errors: object) -> bytes | None:
        if rel.endswith(".md"):
            seen.append(rel)
        return real(path, rel, errors)  # type: ignore[arg-type]

    monkeypatch.setattr(load_module, "_read", reading)
    return seen


def cached(root: Path, out: Path) -> dict[str, bytes]:
    build(root, default_options(), out, cache=BuildCache.for_site(root))
    return read_tree(out)


def built_site(new_site: MakeSite, tmp_path: Path) -> tuple[Path, Path]:
    """A small site whose files are older than the racy window, built once with the cache."""
    root = small_site(new_site)
    out = tmp_path / "out"
    time.sleep(SETTLE)
    cached(root, out)
    return root, out


def test_a_build_reads_only_the_sources_that_changed(
    new_site: MakeSite, tmp_path: Path, reads: list[str]
) -> None:
    root, out = built_site(new_site, tmp_path)
    assert len(reads) == 6  # the first build reads them all
    reads.clear()
    edited = root / "content/cases/case-2.md"
    edited.write_text(case_text(2, body="Rettet."))
    time.sleep(SETTLE)
    after = cached(root, out)
    assert reads == ["content/cases/case-2.md"]
    assert_same_site(after, clean_build(root, tmp_path / "clean"))
    reads.clear()
    cached(root, out)
    assert reads == []


def test_an_edit_that_keeps_size_and_mtime_is_read(
    new_site: MakeSite, tmp_path: Path, reads: list[str]
) -> None:
    root, out = built_site(new_site, tmp_path)
    edited = root / "content/cases/case-3.md"
    before = edited.stat()
    text = edited.read_text()
    edited.write_text(text.replace("Brødtekst.", "Brødtekst!"))  # same size
    os.utime(edited, ns=(before.st_atime_ns, before.st_mtime_ns))  # ctime still tells
    time.sleep(SETTLE)
    reads.clear()
    after = cached(root, out)
    assert reads == ["content/cases/case-3.md"]
    assert_same_site(after, clean_build(root, tmp_path / "clean"))


def test_a_source_saved_just_before_the_build_is_not_trusted(
    new_site: MakeSite, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = small_site(new_site)
    time.sleep(SETTLE)
    saved = root / "content/cases/case-1.md"
    saved.write_text(case_text(1, body="Lige gemt."))
    info = saved.stat()  # the build starts 10 ms after the save, however busy the machine
    start = max(info.st_mtime_ns, info.st_ctime_ns) + 10_000_000
    monkeypatch.setattr(inputs_module.time, "time_ns", lambda: start)
    cache = BuildCache.for_site(root)
    build(root, default_options(), tmp_path / "out", cache=cache)
    cache.settle()
    record = BuildCache.for_site(root).load_record(SOURCES_RECORD)
    assert isinstance(record, dict)
    assert "content/cases/case-2.md" in record
    assert "content/cases/case-1.md" not in record  # its next change could keep its stat
    sources = load_inputs(root, BuildCache.for_site(root)).sources
    unchanged = {s.path for s in sources if isinstance(s, UnchangedSource)}
    assert "content/cases/case-2.md" in unchanged and "content/cases/case-1.md" not in unchanged


def test_an_unchanged_source_that_changes_after_all_is_not_read_as_the_old_one(
    tmp_path: Path,
) -> None:
    path = tmp_path / "case.md"
    path.write_bytes(b"---\ntitle: A\n---\nTekst.\n")
    source = UnchangedSource(
        "content/cases/case.md", "case", str(path), file_stat(path.stat()), b""
    )
    assert source.data == b"---\ntitle: A\n---\nTekst.\n"
    path.write_bytes(b"---\ntitle: B\n---\nAnden tekst.\n")
    with pytest.raises(SourceChanged, match="changed while the build read it"):
        _ = source.data


def test_whole_second_timestamps_get_a_wider_window() -> None:
    """On a file system with whole-second times a save 1 s before the build may share its
    second with a later save; with fine times it is long past."""
    start = 1_700_000_010_000_000_000
    sources = [load_module.SourceFile(f"content/cases/{n}.md", "case", b"x") for n in "abcd"]
    stats = {
        "content/cases/a.md": (1, start - 1_000_000_000, start - 1_000_000_000, 1),  # coarse
        "content/cases/b.md": (1, start - 1_000_000_001, start - 1_000_000_001, 2),  # fine
        "content/cases/c.md": (1, start - 3_000_000_000, start - 3_000_000_000, 3),  # coarse
        "content/cases/d.md": (1, start - 30_000_000, start - 30_000_000, 4),  # fine, recent
    }
    inputs = Inputs(None, sources, [], (), None, stats=stats, loaded_ns=start)  # type: ignore[arg-type]
    assert set(inputs.source_record()) == {"content/cases/b.md", "content/cases/c.md"}


def test_a_source_that_changed_after_all_is_an_error_at_the_file(tmp_path: Path) -> None:
    from sitegen.content.parse import decode
    from sitegen.errors import ErrorList

    path = tmp_path / "case.md"
    path.write_bytes(b"Tekst.\n")
    source = UnchangedSource(
        "content/cases/case.md", "case", str(path), file_stat(path.stat()), b""
    )
    path.write_bytes(b"Anden tekst.\n")
    errors = ErrorList()
    assert decode(source, errors) is None
    [error] = errors.errors
    assert (
        error.path == "content/cases/case.md" and "changed while the build read it" in error.message
    )
