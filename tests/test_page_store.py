"""Rendered pages in the build cache: their bytes wait in page files until a build needs them.

A build that changes one case reads none of the other pages' bytes (they are hard-linked from
the previous output); an output folder filled afresh reads them from the page files; a page
file that changed or went away is a miss, never wrong bytes in the output.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

from sitegen.build import cache as cache_module
from sitegen.build.cache import CACHE_DIR, BuildCache
from sitegen.build.pipeline import build
from sitegen.config import default_options
from sitegen.output.published import MANIFEST
from sitegen.render.files import StoredPage
from tests.conftest import read_tree
from tests.search_meaning import assert_same_site
from tests.test_incremental import MakeSite, case_text, clean_build, small_site


def cached(root: Path, out: Path) -> dict[str, bytes]:
    build(root, default_options(), out, cache=BuildCache.for_site(root))
    return read_tree(out)


def page_files(root: Path) -> list[Path]:
    return sorted((root / CACHE_DIR).glob("v*/pages/*"))


@pytest.fixture
def reads(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, int]]:
    """Every read of a page's bytes from a page file, as (file name, offset)."""
    seen: list[tuple[str, int]] = []
    real: Callable[..., bytes] = cache_module._PageFile.read

    def reading(self: cache_module._PageFile, offset: int, length: int) -> bytes:
        seen.append((self.path.name, offset))
        return real(self, offset, length)

    monkeypatch.setattr(cache_module._PageFile, "read", reading)
    return seen


@pytest.fixture
def pages_read(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The paths of the pages from the cache whose bytes were read."""
    seen: list[str] = []
    real: property = StoredPage.__dict__["data"]

    def data(self: StoredPage) -> bytes:
        seen.append(self.path)
        assert real.fget is not None
        found: bytes = real.fget(self)
        return found

    monkeypatch.setattr(StoredPage, "data", property(data))
    return seen


def edit(root: Path, number: int, body: str) -> None:
    (root / f"content/cases/case-{number}.md").write_text(case_text(number, body=body))


def test_one_edit_reads_no_other_page(
    new_site: MakeSite, tmp_path: Path, reads: list[tuple[str, int]], pages_read: list[str]
) -> None:
    root = small_site(new_site)
    out = tmp_path / "out"
    cached(root, out)
    assert len(page_files(root)) == 1 and reads == []  # a cold build holds its pages
    edit(root, 3, "Rettet en gang.")
    result = build(root, default_options(), out, cache=BuildCache.for_site(root))
    assert pages_read == [MANIFEST]  # the list of URLs, to tell any that went away
    assert len(reads) == 1
    assert sum(isinstance(item, StoredPage) for item in result.files) > 10
    assert_same_site(read_tree(out), clean_build(root, tmp_path / "clean"))


def test_an_output_folder_filled_afresh_reads_the_page_files(
    new_site: MakeSite, tmp_path: Path, reads: list[tuple[str, int]]
) -> None:
    root = small_site(new_site)
    out = tmp_path / "out"
    expected = cached(root, out)
    edit(root, 2, "Rettet.")
    expected = cached(root, out)
    shutil.rmtree(out)
    reads.clear()
    assert cached(root, out) == expected
    assert len(reads) > 10  # every unchanged page came from its page file
    assert len({name for name, _offset in reads}) == 2  # the cold build's and the edit's


@pytest.mark.parametrize("damage", ["rewritten", "cut short", "removed"])
def test_a_changed_or_missing_page_file_is_a_miss(
    new_site: MakeSite, tmp_path: Path, damage: str
) -> None:
    root = small_site(new_site)
    out = tmp_path / "out"
    cached(root, out)
    [pages] = page_files(root)
    data = pages.read_bytes()
    if damage == "rewritten":  # the same size, other bytes
        pages.write_bytes(data.replace(b"Case nummer", b"Ydmyget nr."))
    elif damage == "cut short":
        pages.write_bytes(data[: len(data) // 2])
    else:
        pages.unlink()
    shutil.rmtree(out)  # so that every page is written, not hard-linked
    assert cached(root, out) == clean_build(root, tmp_path / "clean")


def test_page_files_no_page_needs_are_removed(new_site: MakeSite, tmp_path: Path) -> None:
    root = small_site(new_site)
    out = tmp_path / "out"
    cached(root, out)
    for round_ in range(5):  # the same case edited again and again
        edit(root, 4, f"Rettet {round_} gange.")
        cached(root, out)
        assert len(page_files(root)) == 2  # the cold build's file and the latest edit's
    template = root / "templates/base.html"
    template.write_text(template.read_text().replace("</footer>", "<!-- ny --></footer>"))
    cached(root, out)  # every page changed: the pack and one page file are written anew
    assert len(page_files(root)) == 1
    assert_same_site(cached(root, out), clean_build(root, tmp_path / "clean"))


def _page(number: int) -> bytes:
    return f"<html><body>side {number}</body></html>\n".encode() * (number % 5 + 1)


def _put(cache: BuildCache, numbers: range) -> None:
    for number in numbers:
        data = _page(number)
        cache.put_page(b"key-%d" % number, data, b"digest-%d" % number, number % 2 == 0)


def test_a_page_stays_readable_after_its_file_is_joined_into_a_new_one(tmp_path: Path) -> None:
    first = BuildCache(tmp_path / "cache")
    _put(first, range(10))
    first.keep_pages([b"key-%d" % n for n in range(10)])
    [old_file] = sorted((tmp_path / "cache").glob("v*/pages/*"))
    later = BuildCache(tmp_path / "cache")
    kept = {n: later.get_page(b"key-%d" % n) for n in range(10)}
    _put(later, range(10, 15))  # many new pages: every page is written to one new file
    later.keep_pages([b"key-%d" % n for n in range(15)])
    assert not old_file.exists()
    for number, found in kept.items():
        assert found is not None
        read, digest, indexed = found
        assert (read(), digest, indexed) == (_page(number), b"digest-%d" % number, number % 2 == 0)
    again = BuildCache(tmp_path / "cache")
    assert [again.get_page(b"key-%d" % n)[0]() for n in range(15)] == [  # type: ignore[index]
        _page(n) for n in range(15)
    ]


def test_page_files_are_joined_before_there_are_many(tmp_path: Path) -> None:
    """One page file per edit would leave a 10,000-case site with ~1,250 files, all opened."""
    cache = BuildCache(tmp_path / "cache")
    _put(cache, range(400))
    cache.keep_pages([b"key-%d" % n for n in range(400)])
    most = 0
    for edit in range(40):  # each adds one page: far below the share that rewrites the pack
        cache = BuildCache(tmp_path / "cache")
        _put(cache, range(400 + edit, 401 + edit))
        cache.keep_pages([b"key-%d" % n for n in range(401 + edit)])
        most = max(most, len(list((tmp_path / "cache").glob("v*/pages/*"))))
    assert 2 < most <= cache_module.MAX_PAGE_FILES
    cache = BuildCache(tmp_path / "cache")
    for number in range(440):
        found = cache.get_page(b"key-%d" % number)
        assert found is not None and found[0]() == _page(number)
