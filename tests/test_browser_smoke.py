"""The CfB site in a real Chromium: the Holbæk case is reachable from the home page by links."""

from __future__ import annotations

from pathlib import Path

from playwright.sync_api import Browser


def test_reader_reaches_the_holbaek_case_from_home(
    browser: Browser, repo_site_url: str, artifacts: Path
) -> None:
    page = browser.new_page()
    page.goto(repo_site_url)
    assert page.locator("html").get_attribute("lang") == "da"
    page.get_by_role("link", name="Holbæk eksperimenterer med demokrati").first.click()
    page.wait_for_url("**/cases/holbaek-eksperimenterer-med-demokrati/")
    assert (
        page.get_by_role("heading", level=1).inner_text() == "Holbæk eksperimenterer med demokrati"
    )
    assert page.get_by_role("heading", name="Pionér-kommune").is_visible()
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.textContent") == "Gå til indhold"
    page.screenshot(path=str(artifacts / "smoke-case.png"), full_page=True)
    page.close()
