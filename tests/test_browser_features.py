"""Every Markdown feature the README promises, under the site's own Content-Security-Policy.

`tests/sites/features/` has a case that uses each of them. Its pages must need no inline style
or script, and in Chromium they must load without a single CSP violation, with aligned table
columns really aligned.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from html.parser import HTMLParser
from pathlib import Path

import pytest
from conftest import copy_site, serve_directory
from playwright.sync_api import Browser, ConsoleMessage, Page, Response

from sitegen.build.pipeline import build
from sitegen.config import default_options
from sitegen.content.markdown import MarkdownRenderer

CASE_PATH = "cases/odense-proever-alt-det-markdown-kan/"

ALIGNED_TABLE = """\
| Kommune | Borgere | Andel | Note |
|:--------|--------:|:-----:|------|
| Odense  | 205.000 | 12 %  | stor |
"""

# Collects every CSP violation from the first byte of the page on (before any page script).
_RECORD_VIOLATIONS = """
window.__violations = [];
document.addEventListener('securitypolicyviolation', event => {
  window.__violations.push(
    `${event.violatedDirective} blocked ${event.blockedURI || 'inline'}` +
    ` at ${event.sourceFile}:${event.lineNumber}: ${event.sample}`);
});
"""


# --- The markup: classes, never inline styles ---------------------------------------------


@pytest.mark.parametrize("safe_html", [False, True])
def test_aligned_columns_get_a_class_and_no_style(safe_html: bool) -> None:
    html = MarkdownRenderer(safe_html=safe_html).render(ALIGNED_TABLE, "content/cases/a.md").html
    assert "style" not in html
    assert '<th class="align-left">Kommune</th>' in html
    assert '<th class="align-right">Borgere</th>' in html
    assert '<td class="align-right">205.000</td>' in html
    assert '<td class="align-center">12 %</td>' in html
    assert "<td>stor</td>" in html  # a column without alignment gets no class
    full = MarkdownRenderer(safe_html=safe_html, select_features=False)
    assert full.render(ALIGNED_TABLE, "content/cases/a.md").html == html


def test_aligned_cells_keep_classes_from_an_attribute_list() -> None:
    html = MarkdownRenderer().render("| Tal |\n|--:|\n| 7 {: .vigtig } |\n", "a.md").html
    assert '<td class="vigtig align-right">7</td>' in html


class _InlineCode(HTMLParser):
    """Style attributes, <style> elements and inline scripts: what `style-src 'self'` and
    `script-src 'self'` block. JSON-LD is data, not script."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.found: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        named = dict(attrs)
        if "style" in named or tag == "style":
            self.found.append(self.get_starttag_text() or tag)
        if tag == "script" and "src" not in named and named.get("type") != "application/ld+json":
            self.found.append(self.get_starttag_text() or tag)
        self.found.extend(f"<{tag} {name}>" for name in named if name.startswith("on"))


@pytest.fixture(scope="module", params=[False, True], ids=["trusted", "safe_html"])
def features_site(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The features site built, with `markdown.safe_html` off and on."""
    root = copy_site("features", tmp_path_factory.mktemp("features") / "site")
    if request.param:
        with (root / "sitegen.toml").open("a", encoding="utf-8") as toml:
            toml.write("\n[markdown]\nsafe_html = true\n")
    out = root.parent / "output"
    build(root, default_options(), out)
    return out


def test_no_web_page_needs_an_inline_style_or_script(features_site: Path) -> None:
    pages = [p for p in features_site.rglob("*.html") if p.name != "email.html"]
    assert features_site / CASE_PATH / "index.html" in pages
    for path in pages:
        scan = _InlineCode()
        scan.feed(path.read_text(encoding="utf-8"))
        assert scan.found == [], path.relative_to(features_site).as_posix()


def test_the_email_inlines_the_column_alignment(features_site: Path) -> None:
    """Email has no CSP: there the classes' rules are inlined as style attributes."""
    email = (features_site / "nyhedsbrev/april-2021/email.html").read_text(encoding="utf-8")
    cells = re.findall(r'<td class="align-(\w+)" style="[^"]*text-align: (\w+);', email)
    assert cells == [("left", "left"), ("right", "right"), ("center", "center")]


# --- In Chromium ----------------------------------------------------------------------------


class _Complaints:
    """Console errors and warnings, script errors, failed requests and CSP violations."""

    def __init__(self, page: Page) -> None:
        self.page = page
        self.messages: list[str] = []
        page.add_init_script(_RECORD_VIOLATIONS)
        page.on("console", self._console)
        page.on("pageerror", lambda error: self.messages.append(f"pageerror: {error}"))
        page.on("response", self._response)

    def _console(self, message: ConsoleMessage) -> None:
        # A failed load is reported with its URL by `_response`; the console's own message
        # about it names none (and Chromium's own /favicon.ico request has no response event).
        if message.type in ("error", "warning") and "Failed to load resource" not in message.text:
            self.messages.append(f"{message.type}: {message.text}")

    def _response(self, response: Response) -> None:
        if response.status >= 400:
            self.messages.append(f"HTTP {response.status}: {response.url}")

    def all(self) -> list[str]:
        violations: list[str] = self.page.evaluate("window.__violations")
        return [*self.messages, *(f"CSP violation: {v}" for v in violations)]


@pytest.fixture
def features_page(browser: Browser, features_site: Path) -> Iterator[tuple[Page, str]]:
    page = browser.new_page()
    with serve_directory(features_site) as base:
        yield page, base
    page.close()


def text_align(page: Page, selector: str) -> list[str]:
    aligns: list[str] = page.locator(selector).evaluate_all(
        "cells => cells.map(cell => getComputedStyle(cell).textAlign)"
    )
    return aligns


def test_every_markdown_feature_loads_without_a_csp_violation(
    features_page: tuple[Page, str], artifacts: Path
) -> None:
    page, base = features_page
    complaints = _Complaints(page)
    page.goto(base + CASE_PATH, wait_until="networkidle")
    body = page.locator(".case .body")
    assert page.locator('meta[http-equiv="Content-Security-Policy"]').count() == 1
    # Each feature is there, so a violation any of them causes would show.
    assert body.locator("table td").count() == 6
    assert body.locator("sup a.footnote-ref").count() == 1
    assert body.locator("div.footnote li#fn\\:kilde").count() == 1
    assert body.locator("dl dt").all_inner_texts() == ["Borgerbudget", "Dialogmøde"]
    assert body.locator("h2#tal.maerke").count() == 1  # attribute list
    assert body.locator("h2#fodnoter-og-ordforklaringer").count() == 1  # Danish heading id
    assert "»vi vil være med« – og" in body.inner_text()  # Danish typography
    assert body.locator("pre code.language-toml").count() == 1
    assert body.locator("abbr[title='Center for Borgerdialog']").count() >= 1
    assert body.locator("div.faktaboks strong").inner_text() == "Fakta:"  # raw HTML, Markdown
    assert body.locator("aside.note em").inner_text() == "uden"  # raw HTML
    image = body.locator("img.kort")
    assert image.evaluate("img => img.complete && img.naturalWidth") == 4
    internal = body.locator("a[href^='/']").evaluate_all("links => links.map(a => a.href)")
    assert len(internal) == 3
    for url in internal:
        assert page.request.get(url).status == 200, url
    page.screenshot(path=str(artifacts / "features-case.png"), full_page=True)
    assert complaints.all() == [], "CSP violations or other errors in the console"
    # Aligned columns are aligned: the style comes from the theme's CSS, not the markup.
    assert text_align(page, "table tr > :nth-child(1)") == ["left"] * 3
    assert text_align(page, "table tr > :nth-child(2)") == ["right"] * 3
    assert text_align(page, "table tr > :nth-child(3)") == ["center"] * 3
    assert body.locator("[style]").count() == 0


def test_no_page_of_the_site_has_a_csp_violation(
    features_page: tuple[Page, str], features_site: Path
) -> None:
    """The theme's pages around the bodies too: lists, the newsletter issue, search, 404."""
    page, base = features_page
    complaints = _Complaints(page)
    paths = sorted(
        p.relative_to(features_site).as_posix().removesuffix("index.html")
        for p in features_site.rglob("*.html")
        if p.name != "email.html"
    )
    assert {"", CASE_PATH, "nyhedsbrev/april-2021/", "soeg/", "404.html"} <= set(paths)
    for path in paths:
        # Search loads Pagefind after the page; the other pages are done when loaded.
        page.goto(base + path, wait_until="networkidle" if path == "soeg/" else "load")
        assert complaints.all() == [], path
