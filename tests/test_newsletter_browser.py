"""The newsletter email in a real Chromium: no horizontal overflow at 600px and 375px."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import serve_directory
from playwright.sync_api import Browser


@pytest.mark.parametrize("width", [600, 375])
def test_email_fits_without_horizontal_overflow(
    browser: Browser, built_repo_site: Path, artifacts: Path, width: int
) -> None:
    with serve_directory(built_repo_site) as base:
        page = browser.new_page(viewport={"width": width, "height": 900})
        # The email's URLs are absolute to the public site: keep the test on 127.0.0.1.
        page.route(
            "**/*",
            lambda route: (
                route.continue_() if route.request.url.startswith(base) else route.abort()
            ),
        )
        page.goto(base + "nyhedsbrev/maj-2013/email.html")
        assert page.locator("html").get_attribute("lang") == "da"
        assert page.get_by_role("heading", level=1).inner_text().startswith("Nyhedsbrev maj 2013")
        overflow = page.evaluate(
            "document.documentElement.scrollWidth - document.documentElement.clientWidth"
        )
        assert overflow <= 0, f"{overflow}px of horizontal overflow at {width}px"
        assert not page.locator(".preheader").is_visible()
        assert page.get_by_role("link", name="Afmeld nyhedsbrevet").is_visible()
        page.screenshot(path=str(artifacts / f"newsletter-email-{width}.png"), full_page=True)
        page.close()


def test_archive_leads_to_the_issue_page(browser: Browser, repo_site_url: str) -> None:
    page = browser.new_page()
    page.goto(repo_site_url)
    page.get_by_role("navigation", name="Hovedmenu").get_by_role("link", name="Nyhedsbrev").click()
    page.wait_for_url("**/nyhedsbrev/")
    page.get_by_role(
        "link", name="Nyhedsbrev maj 2013: Holbæk eksperimenterer med demokrati"
    ).click()
    page.wait_for_url("**/nyhedsbrev/maj-2013/")
    assert page.get_by_role("link", name="Holbæk eksperimenterer med demokrati").first.is_visible()
    page.close()
