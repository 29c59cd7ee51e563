"""In Chromium, a patched search index answers every query as a clean one does, through search.js."""

from __future__ import annotations

import urllib.parse
from collections.abc import Callable
from pathlib import Path

from playwright.sync_api import Browser, Page

from sitegen.build.cache import BuildCache
from sitegen.build.memo import SEARCH_RECORD
from sitegen.build.pipeline import build
from sitegen.config import default_options
from sitegen.render.search_patch import SearchState
from tests.conftest import serve_directory
from tests.test_search_incremental import case_text, search_site

QUERIES: list[dict[str, str]] = [
    {"q": "borgerne"},
    {"q": "borger"},  # an inflected form Danish stemming joins with borgerne, borgere
    {"q": "havn"},
    {"q": "havnefronten"},
    {"q": "klimaet"},
    {"q": "ærø"},
    {"q": "aero"},
    {"q": "skolen"},
    {"q": "fællesskabet"},
    {"q": "borgere byen"},
    {"q": "unge klimaet"},
    {"q": "cykelstier"},
    {"q": "borgerne", "kommune": "Aarhus Kommune"},
    {"q": "byen", "niveau": "Kommune-niveau"},
    {"q": "", "emne": "klima"},
    {"q": "", "kommune": "Ærø Kommune"},
]


def top_ten(page: Page, base: str, query: dict[str, str]) -> list[str]:
    page.goto(f"{base}soeg/?{urllib.parse.urlencode(query)}")
    status = page.locator("#search-status")
    status.filter(has_text="resultat").wait_for()
    links = page.locator("#search-results h2 a")
    return [links.nth(n).get_attribute("href") or "" for n in range(min(links.count(), 10))]


def test_a_patched_index_gives_the_same_top_ten_as_a_clean_one(
    new_site: Callable[[dict[str, str]], Path], tmp_path: Path, browser: Browser
) -> None:
    root = search_site(new_site, 40)
    patched_out, clean_out = tmp_path / "patched", tmp_path / "clean"
    build(root, default_options(), patched_out, cache=BuildCache.for_site(root))
    for number, extra in [
        (4, "Havnefronten får cykelstier, siger borgerne på Ærø."),
        (41, "En ny case: borgere i Aero og Ærø vil have cykelstier ved havnen."),
        (9, "Klimaet er emnet for de unge borgere i byen."),
    ]:
        (root / f"content/cases/case-{number}.md").write_text(case_text(number, extra))
        build(root, default_options(), patched_out, cache=BuildCache.for_site(root))
        state = BuildCache.for_site(root).load_record(SEARCH_RECORD)
        assert isinstance(state, SearchState) and state.patched
    build(root, default_options(), clean_out)

    page = browser.new_page()
    try:
        with serve_directory(patched_out) as patched, serve_directory(clean_out) as clean:
            answers = [(top_ten(page, patched, q), top_ten(page, clean, q)) for q in QUERIES]
    finally:
        page.close()
    for query, (from_patched, from_clean) in zip(QUERIES, answers, strict=True):
        assert from_patched == from_clean, query
    assert sum(len(found) >= 3 for found, _ in answers) >= len(QUERIES) // 2  # real rankings
    assert any("case-41" in url for found, _ in answers for url in found)  # the added case
