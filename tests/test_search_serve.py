"""`sitegen serve` shows a saved page at once; the search index follows from a background thread."""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path

import pytest

from sitegen.build.memo import update_search
from sitegen.config import default_options
from sitegen.render.files import RenderedFile
from sitegen.render.search_patch import SearchState
from sitegen.serve.indexing import IndexOutcome
from sitegen.serve.site import DevSite
from tests.conftest import CASE
from tests.search_meaning import bundle_meaning, current_bundle

CASE_PATH = "content/cases/holbaek.md"
PAGE = "cases/holbaek-eksperimenterer/index.html"
ENTRY = "pagefind/pagefind-entry.json"


@pytest.fixture
def site_root(new_site: Callable[[dict[str, str]], Path]) -> Path:
    return new_site(
        {
            CASE_PATH: CASE.format(title="Holbæk eksperimenterer"),
            "content/cases/aeroe.md": CASE.format(title="Ærø vælger"),
        }
    )


class GatedIndex:
    """The real index update, each call held back until the test lets it go."""

    def __init__(self) -> None:
        self.gates = [threading.Event() for _ in range(4)]  # one per update, in order
        self.calls = 0
        self.started = threading.Semaphore(0)
        self.outcomes: list[IndexOutcome] = []

    def update(
        self, state: SearchState | None, files: list[RenderedFile], language: str
    ) -> SearchState:
        gate = self.gates[self.calls]
        self.calls += 1
        self.started.release()
        assert gate.wait(60)
        return update_search(state, files, language)


def index_words(site: DevSite) -> dict[str, object]:
    words: dict[str, object] = bundle_meaning(current_bundle(site.files_under("pagefind")))["words"]
    return words


def test_a_save_shows_the_page_before_the_search_index_is_made(site_root: Path) -> None:
    index = GatedIndex()
    site = DevSite(site_root, default_options(), index.outcomes.append, index.update)
    assert site.rebuild().ok
    assert index.started.acquire(timeout=30)
    assert site.file(PAGE) is not None and site.file(ENTRY) is None  # pages first
    index.gates[0].set()
    assert site.index.wait(60)
    assert site.file(ENTRY) is not None and "zebrafink" not in index_words(site)
    first_entry, build = site.file(ENTRY), site.snapshot().build

    case = site_root / CASE_PATH
    case.write_text(CASE.format(title="Holbæk eksperimenterer") + "\nZebrafinker i haven.\n")
    assert site.rebuild().ok
    assert index.started.acquire(timeout=30)
    page = site.file(PAGE)
    assert page is not None and b"Zebrafinker i haven" in page  # the new page, at once
    assert site.file(ENTRY) == first_entry  # the previous index meanwhile
    assert site.snapshot().build == build + 1
    index.gates[1].set()
    assert site.index.wait(60)
    assert "zebrafink" in index_words(site)
    assert site.snapshot().build == build + 1  # a new index reloads no page
    assert [outcome.error for outcome in index.outcomes] == [None, None]
    assert index.outcomes[-1].indexed == 1  # only the edited page went to Pagefind


def test_an_index_for_an_older_build_is_never_published(site_root: Path) -> None:
    index = GatedIndex()
    site = DevSite(site_root, default_options(), index.outcomes.append, index.update)
    assert site.rebuild().ok
    assert index.started.acquire(timeout=30)  # build 1's index is held back
    case = site_root / CASE_PATH
    case.write_text(CASE.format(title="Holbæk eksperimenterer") + "\nZebrafinker i haven.\n")
    assert site.rebuild().ok  # build 2 is served while build 1's index is being made
    index.gates[0].set()
    assert index.started.acquire(timeout=30)  # build 1's index is done, build 2's has begun
    assert [outcome.build for outcome in index.outcomes] == [1]
    assert site.file(ENTRY) is None  # build 1's index does not go with build 2's pages
    index.gates[1].set()
    assert site.index.wait(60)
    assert [outcome.build for outcome in index.outcomes] == [1, 2]
    assert "zebrafink" in index_words(site)  # build 2's index
    assert site.snapshot().build == 2


def test_a_failed_index_keeps_serving_the_pages(site_root: Path) -> None:
    from sitegen.errors import SiteError
    from sitegen.render.search import SearchIndexError

    outcomes: list[IndexOutcome] = []

    def failing(state: SearchState | None, files: list[RenderedFile], language: str) -> SearchState:
        raise SearchIndexError(SiteError("", 0, "search", "Pagefind: out of memory"))

    site = DevSite(site_root, default_options(), outcomes.append, failing)
    assert site.rebuild().ok
    assert site.index.wait(60)
    assert site.file(PAGE) is not None and site.file(ENTRY) is None
    assert [str(outcome.error) for outcome in outcomes] == ["search: Pagefind: out of memory"]


def test_a_search_begun_on_the_previous_index_still_finds_its_files(site_root: Path) -> None:
    site = DevSite(site_root, default_options())
    case = site_root / CASE_PATH
    generations: list[set[str]] = []
    for number, words in enumerate(["", "Zebrafinker i haven.", "Solsorte på taget."]):
        case.write_text(CASE.format(title="Holbæk eksperimenterer") + f"\n{words}\n")
        assert site.rebuild().ok and site.index.wait(60)
        entry = site.file(ENTRY)
        assert entry is not None
        generations.append(set(site.files_under("pagefind")))
        if number:  # the edit changed content-named files of the index
            assert generations[-1] != generations[-2]
    served = generations[-1]
    # the index before the last one is still served beside it; the one before that is gone
    assert site.files_under("pagefind").keys() == served
    first_only = generations[0] - generations[2]  # the first index's files the third dropped
    assert first_only and first_only <= generations[1]  # kept while the second was served
    assert generations[1] - generations[0] <= served
    assert "solsort" in index_words(site) and "zebrafink" not in index_words(site)


class FakeClock:
    """time.monotonic and time.sleep for indexing.py, without waiting."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.slept = 0.0

    def monotonic(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds
        self.slept += seconds


@pytest.mark.parametrize("busy", [False, True])
def test_the_index_lets_the_reloading_pages_go_first(busy: bool) -> None:
    """An update waits until the server has answered no request for a moment (the pages a
    save reloads), but never longer than its head start."""
    from sitegen.serve import indexing

    clock = FakeClock()
    last = [clock.now]  # a request just ended

    def last_request() -> float:
        if busy:  # a request ends every few milliseconds
            last[0] = clock.now - 0.005
        return last[0]

    index = indexing.BackgroundIndex(lambda build, files: None, last_request=last_request)
    index._wait_for_quiet(clock.monotonic, clock.sleep)
    if busy:
        assert clock.slept == pytest.approx(indexing.HEAD_START, abs=0.002)
    else:
        assert clock.slept == pytest.approx(indexing.QUIET, abs=0.002)
    clock.slept, last[0] = 0.0, clock.now - 10  # quiet for long: no wait at all
    if not busy:
        index._wait_for_quiet(clock.monotonic, clock.sleep)
        assert clock.slept == 0


def test_the_site_counts_its_requests_for_the_index(new_site: Callable[..., Path]) -> None:
    from sitegen.serve.server import respond

    root = new_site({"content/cases/a.md": CASE.format(title="A")})
    site = DevSite(root, default_options())
    before = site._last_request
    respond(site, "/")
    site.note_request()
    assert site._last_request > before
