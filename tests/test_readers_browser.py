"""Every page type of the CfB site in Chromium: search, accessibility, CSP, no outside requests."""

from __future__ import annotations

import json
import re
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from axe_playwright_python.sync_playwright import Axe
from conftest import PAGE_TYPES, REPO, open_page, serve_directory
from playwright.sync_api import Browser, ConsoleMessage, Page, Response

from sitegen.build.pipeline import build
from sitegen.config import default_options

HOLBAEK = "Holbæk eksperimenterer med demokrati"

WIDTHS = [375, 1280]


class Watcher:
    """What a page asked for and what it complained about."""

    def __init__(self, page: Page) -> None:
        self.requests: list[str] = []
        self.console: list[str] = []
        page.on("request", lambda request: self.requests.append(request.url))
        page.on("console", self._console)
        page.on("pageerror", lambda error: self.console.append(f"pageerror: {error}"))
        page.on("response", self._response)

    def _response(self, response: Response) -> None:
        if response.status >= 400 and not response.url.endswith("/404.html"):
            self.console.append(f"HTTP {response.status}: {response.url}")

    def _console(self, message: ConsoleMessage) -> None:
        if message.type in ("error", "warning") and "Failed to load resource" not in message.text:
            self.console.append(f"{message.type}: {message.text}")

    def outside(self) -> list[str]:
        return [url for url in self.requests if urlsplit(url).hostname != "127.0.0.1"]


@pytest.fixture
def page_at(browser: Browser) -> Iterator[tuple[Page, Watcher]]:
    page = browser.new_page()
    watcher = Watcher(page)
    yield page, watcher
    page.close()


def search_for(page: Page, base: str, query: str) -> list[str]:
    page.goto(base + "soeg/")
    page.get_by_label("Søg i cases og sider").fill(query)
    page.get_by_label("Søg i cases og sider").press("Enter")
    page.get_by_role("status").filter(has_text=re.compile("resultat")).wait_for()
    return page.locator("#search-results h2 a").all_inner_texts()


def test_search_finds_holbaek_by_topic_and_by_name(
    page_at: tuple[Page, Watcher], repo_site_url: str
) -> None:
    page, watcher = page_at
    assert HOLBAEK in search_for(page, repo_site_url, "samskabelse")
    assert HOLBAEK in search_for(page, repo_site_url, "Holbæk")
    link = page.get_by_role("link", name=HOLBAEK, exact=True)
    assert link.get_attribute("href") == "/cases/holbaek-eksperimenterer-med-demokrati/"
    assert page.locator("#search-results mark").count() > 0
    assert page.url.endswith("?q=Holb%C3%A6k")
    assert watcher.outside() == [] and watcher.console == []


def test_header_search_box_leads_to_results(
    page_at: tuple[Page, Watcher], repo_site_url: str
) -> None:
    page, _ = page_at
    page.goto(repo_site_url)
    box = page.get_by_role("search").get_by_label("Søg på sitet")
    box.fill("samskabelse")
    box.press("Enter")
    page.wait_for_url("**/soeg/?q=samskabelse")
    page.locator("#search-results li").first.wait_for()
    assert HOLBAEK in page.locator("#search-results h2 a").all_inner_texts()


def test_municipality_filter_narrows_results(
    page_at: tuple[Page, Watcher], site_copy: Any, tmp_path: Path
) -> None:
    """The basic site has cases from Holbæk, Ærø and Gladsaxe all about samskabelse."""
    page, watcher = page_at
    out = tmp_path / "out"
    build(site_copy("basic"), default_options(), out)
    with serve_directory(out, "/cfb/") as base:
        everything = search_for(page, base, "samskabelse")
        assert len(everything) >= 2
        page.get_by_label("Kommune").select_option("Holbæk Kommune")
        page.get_by_role("status").filter(has_text="1 resultat").wait_for()
        narrowed = page.locator("#search-results h2 a").all_inner_texts()
        assert narrowed == [HOLBAEK]
        assert "kommune=Holb%C3%A6k+Kommune" in page.url
        href = page.get_by_role("link", name=HOLBAEK, exact=True).get_attribute("href")
        assert href == "/cfb/cases/holbaek-eksperimenterer-med-demokrati/"
        page.get_by_role("link", name=HOLBAEK, exact=True).click()
        page.wait_for_url("**/cfb/cases/holbaek-eksperimenterer-med-demokrati/")
    assert watcher.outside() == [] and watcher.console == []


def test_search_page_without_javascript_offers_the_indexes(
    browser: Browser, repo_site_url: str
) -> None:
    context = browser.new_context(java_script_enabled=False)
    page = context.new_page()
    page.goto(repo_site_url + "soeg/?q=samskabelse")
    assert not page.locator("form.search-form").is_visible()
    assert page.get_by_text("Søgningen kræver JavaScript").is_visible()
    for name in ("Emner", "Kommuner", "Niveauer"):
        assert page.get_by_role("main").get_by_role("link", name=name).is_visible()
    context.close()


@pytest.mark.parametrize(("name", "path"), PAGE_TYPES)
def test_page_type_is_accessible_self_contained_and_fits(
    browser: Browser, repo_site_url: str, artifacts: Path, name: str, path: str
) -> None:
    page = browser.new_page(viewport={"width": WIDTHS[-1], "height": 900})
    watcher = Watcher(page)
    open_page(page, repo_site_url + path)
    csp = page.locator('meta[http-equiv="Content-Security-Policy"]').get_attribute("content")
    assert csp and "default-src 'none'" in csp
    for width in WIDTHS:
        page.set_viewport_size({"width": width, "height": 900})
        results = Axe().run(page)
        assert results.violations_count == 0, f"{width}px: {results.generate_report()}"
        scroll_width = page.evaluate("document.documentElement.scrollWidth")
        assert scroll_width <= page.evaluate("window.innerWidth"), f"overflow at {width}px"
        page.screenshot(path=str(artifacts / f"{name}-{width}.png"), full_page=True)
    assert watcher.outside() == []
    assert watcher.console == [], "CSP violations or script errors"
    page.close()


def test_keyboard_reaches_the_skip_link_first_with_a_visible_focus(
    page_at: tuple[Page, Watcher], repo_site_url: str
) -> None:
    page, _ = page_at
    page.goto(repo_site_url)
    focusable = page.evaluate(
        """[...document.querySelectorAll('a[href], input, button, select')]
             .filter(e => e.offsetParent !== null || e.classList.contains('skip-link'))
             .filter(e => e.tabIndex >= 0).map(e => e.outerHTML)"""
    )
    visited = []
    for _ in range(len(focusable)):
        page.keyboard.press("Tab")
        visited.append(page.evaluate("document.activeElement.outerHTML"))
        outline = page.evaluate(
            "[getComputedStyle(document.activeElement).outlineStyle,"
            " getComputedStyle(document.activeElement).outlineWidth]"
        )
        assert outline[0] != "none" and outline[1] != "0px", visited[-1]
    assert "skip-link" in visited[0]
    assert visited == focusable, "tab order differs from the document order"
    page.goto(repo_site_url)
    page.keyboard.press("Tab")
    page.keyboard.press("Enter")
    assert page.evaluate("document.activeElement.id") == "indhold"


def test_case_page_prints_without_the_site_chrome(
    page_at: tuple[Page, Watcher], repo_site_url: str, artifacts: Path
) -> None:
    page, _ = page_at
    page.goto(repo_site_url + "cases/holbaek-eksperimenterer-med-demokrati/")
    page.emulate_media(media="print")
    for selector in (".site-header", ".site-nav", ".header-search", ".signup-wrap", ".site-footer"):
        assert page.locator(selector).evaluate("e => getComputedStyle(e).display") == "none"
    assert page.get_by_role("heading", level=1).is_visible()
    assert page.locator(".case .body").is_visible()
    page.pdf(path=str(artifacts / "case-print.pdf"))


def test_site_under_a_sub_path_searches_and_links_within_it(
    page_at: tuple[Page, Watcher], tmp_path: Path
) -> None:
    page, watcher = page_at
    site = tmp_path / "site"
    for name in ("content", "templates"):
        shutil.copytree(REPO / name, site / name)
    (site / "sitegen.toml").write_text('[site]\nbase_url = "https://example.org/cfb/"\n')
    out = tmp_path / "out"
    build(site, default_options(), out)
    with serve_directory(out, "/cfb/") as base:
        assert HOLBAEK in search_for(page, base, "Holbæk")
        page.get_by_role("link", name=HOLBAEK, exact=True).click()
        page.wait_for_url("**/cfb/cases/holbaek-eksperimenterer-med-demokrati/")
        ld = json.loads(page.locator('script[type="application/ld+json"]').inner_text())
        assert ld["url"] == "https://example.org/cfb/cases/holbaek-eksperimenterer-med-demokrati/"
        page.get_by_role("link", name="Kommuner").first.click()
        page.wait_for_url("**/cfb/kommuner/")
    assert [url for url in watcher.requests if "/cfb/" not in url] == []
    assert watcher.outside() == [] and watcher.console == []
