"""The case list's pager links the first, last and nearby pages, not all of them."""

from __future__ import annotations

from sitegen.render.routes import page_window


def url(number: int) -> str:
    return f"/cases/side/{number}/"


def test_short_lists_link_every_page() -> None:
    assert page_window(1, 3, url) == [(1, url(1)), (2, url(2)), (3, url(3))]


def test_long_lists_show_gaps_around_the_current_page() -> None:
    window = page_window(50, 1000, url)
    numbers = [item[0] if item else None for item in window]
    assert numbers == [1, None, 48, 49, 50, 51, 52, None, 1000]


def test_no_gap_for_a_single_missing_neighbour_run() -> None:
    numbers = [item[0] if item else None for item in page_window(4, 6, url)]
    assert numbers == [1, 2, 3, 4, 5, 6]
