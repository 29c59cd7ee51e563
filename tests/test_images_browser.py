"""A case page with a 4000x3000 phone photo, in real Chromium and in Lighthouse, at phone size.

The photo is the case's `image` and appears in its body. The page must stay light (under
250 KB in all), take an AVIF or WebP copy, and never shift its layout.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser

from sitegen.build.pipeline import build
from sitegen.config import default_options
from tests.conftest import run_lighthouse, serve_directory
from tests.photos import phone_jpeg
from tests.test_images import photo_site

pytestmark = pytest.mark.browser

CASE_PAGE = "cases/havnen-i-holbaek/"
BUDGET = 250 * 1024  # bytes a phone may transfer for the whole page
# Sums the layout shifts a reader did not cause, from the start of the page's load.
WATCH_SHIFTS = """
window.__layoutShift = 0;
new PerformanceObserver((list) => {
  for (const entry of list.getEntries()) {
    if (!entry.hadRecentInput) window.__layoutShift += entry.value;
  }
}).observe({ type: "layout-shift", buffered: true });
"""
TRANSFERRED = """
performance.getEntriesByType("navigation")[0].transferSize +
performance.getEntriesByType("resource").reduce((sum, entry) => sum + entry.transferSize, 0)
"""


@pytest.fixture(scope="module")
def photo_site_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    root = photo_site(tmp_path_factory.mktemp("photo") / "site", phone_jpeg(4000, 3000))
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("SOURCE_DATE_EPOCH", "1796083200")
        build(root, default_options(), root / "output", jobs=2)
    with serve_directory(root / "output", "/cfb/") as url:
        yield url


def test_phone_gets_a_light_modern_copy_and_no_layout_shift(
    browser: Browser, photo_site_url: str
) -> None:
    context = browser.new_context(viewport={"width": 375, "height": 812}, device_scale_factor=3)
    try:
        page = context.new_page()
        page.add_init_script(WATCH_SHIFTS)
        page.goto(photo_site_url + CASE_PAGE, wait_until="networkidle")
        page.evaluate("window.scrollTo(0, document.body.scrollHeight)")  # lazy images load
        page.wait_for_load_state("networkidle")
        page.wait_for_timeout(300)
        chosen = page.evaluate(
            "[...document.querySelectorAll('article img')].map((img) => img.currentSrc)"
        )
        assert len(chosen) == 3
        for url in chosen:
            assert url.endswith((".avif", ".webp")), url
        assert chosen[0].endswith("/media/cases/havnen.1200w.avif")  # 335 css px at 3x
        assert page.evaluate(TRANSFERRED) < BUDGET
        assert page.evaluate("window.__layoutShift") == 0
    finally:
        context.close()


def test_lighthouse_scores_the_case_page(photo_site_url: str, tmp_path: Path) -> None:
    result = run_lighthouse(
        photo_site_url + CASE_PAGE, tmp_path / "lighthouse", "--only-categories=performance"
    )
    audits = result["audits"]
    assert result["categories"]["performance"]["score"] >= 0.95
    assert audits["cumulative-layout-shift"]["numericValue"] == 0
    assert audits["total-byte-weight"]["numericValue"] < BUDGET
    images = [
        item
        for item in audits["network-requests"]["details"]["items"]
        if item.get("resourceType") == "Image" and "/media/" in item["url"]
    ]
    assert images
    assert all(item["mimeType"] in ("image/avif", "image/webp") for item in images), images
