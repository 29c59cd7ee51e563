"""For search engines: sitemap.xml (sitemaps.org 0.9) and robots.txt pointing to it."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from sitegen.content.model import Site
from sitegen.render.route import Route
from sitegen.render.search_page import SEARCH_URL

SITEMAP_URL = "/sitemap.xml"
ROBOTS_URL = "/robots.txt"
# Pages that are not content: the search page has no text of its own.
UNLISTED = (SEARCH_URL,)


@dataclass(frozen=True)
class SitemapUrl:
    path: str
    lastmod: dt.date | None


def _modified(content: Any) -> dt.date | None:
    """When a content object last changed: its `updated`, else its `date`."""
    return getattr(content, "updated", None) or getattr(content, "date", None)


def lastmod(context: dict[str, Any]) -> dt.date | None:
    """The newest content date of what a page shows (neighbour links do not count)."""
    shown: list[Any] = [context[key] for key in ("case", "page", "issue") if key in context]
    shown += [*context.get("cases", ()), *context.get("issues", ())]
    if "listing" in context:
        shown += context["listing"].cases
    if "taxonomy" in context and "listing" not in context:
        shown += [case for listing in context["taxonomy"].listings for case in listing.cases]
    dates = [date for item in shown if (date := _modified(item))]
    return max(dates, default=None)


def sitemap_urls(routes: Iterable[Route]) -> list[SitemapUrl]:
    """Every HTML page among the site's routes (not 404 or search), in URL order."""
    pages = {
        route.dest: SitemapUrl(route.dest, lastmod(route.context))
        for route in routes
        if route.dest.endswith("/") and route.dest not in UNLISTED
    }
    return [pages[dest] for dest in sorted(pages)]


def sitemap(routes: Iterable[Route]) -> Iterator[Route]:
    """sitemap.xml over the routes every other producer made (so they are made only once)."""
    yield Route(SITEMAP_URL, "sitemap.xml", {"urls": sitemap_urls(routes)})


def robots(site: Site) -> Iterator[Route]:
    yield Route(ROBOTS_URL, "robots.txt", {"sitemap": SITEMAP_URL})
