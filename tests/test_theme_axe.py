"""axe finds no accessibility violation on any page type, on a phone, a tablet or a desktop,
in light and in dark mode; and no page scrolls sideways at those widths.

One page per page type, laid out again at each width and colour scheme.
"""

from __future__ import annotations

from typing import Any

import pytest
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import Page

from tests.conftest import COLOR_SCHEMES, PAGE_TYPES, VIEWPORTS, open_page, show

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def axe() -> Axe:
    return Axe()


def describe(violation: dict[str, Any]) -> str:
    """A violation's rule, impact and help, and the elements it found (at most five)."""
    nodes = violation["nodes"]
    lines = [f"    {violation['id']} ({violation['impact']}): {violation['help']}"]
    for node in nodes[:5]:
        summary = node.get("failureSummary", "").replace("\n", " ")
        lines.append(f"      {' '.join(map(str, node['target']))}  {node['html'][:160]}  {summary}")
    if len(nodes) > 5:
        lines.append(f"      ... and {len(nodes) - 5} more")
    return "\n".join(lines)


@pytest.mark.parametrize(("name", "path"), PAGE_TYPES, ids=[name for name, _ in PAGE_TYPES])
def test_page_type_is_accessible_at_every_width_and_colour_scheme(
    still_page: Page, axe: Axe, repo_site_url: str, name: str, path: str
) -> None:
    open_page(still_page, repo_site_url + path)
    failures = []
    for scheme in COLOR_SCHEMES:
        for width in VIEWPORTS:
            show(still_page, width, scheme)
            found = [
                describe(violation) for violation in axe.run(still_page).response["violations"]
            ]
            scroll_width = still_page.evaluate("document.documentElement.scrollWidth")
            if scroll_width > width:  # WCAG 1.4.10, reflow
                found.append(f"    scrolls sideways: the page is {scroll_width}px wide")
            if found:
                failures.append(f"  {name} at {width}px, {scheme}:\n" + "\n".join(found))
    if failures:
        pytest.fail(f"accessibility problems on /{path}:\n" + "\n".join(failures), pytrace=False)
