"""For search engines: sitemap.xml (sitemaps.org 0.9) and robots.txt pointing to it."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from sitegen.content.model import Site
from sitegen.render.files import Route

SITEMAP_URL = "/sitemap.xml"
ROBOTS_URL = "/robots.txt"


@dataclass(frozen=True)
class SitemapUrl:
    path: str
    lastmod: dt.date | None


def sitemap_urls(routes: Iterable[Route], unlisted: Iterable[str] = ()) -> list[SitemapUrl]:
    """Every HTML page among the site's routes (not 404 or the `unlisted`), in URL order."""
    skipped = set(unlisted)
    pages = {
        route.dest: SitemapUrl(route.dest, route.lastmod)
        for route in routes
        if route.dest.endswith("/") and route.dest not in skipped
    }
    return [pages[dest] for dest in sorted(pages)]


def sitemap(routes: Iterable[Route], unlisted: Iterable[str] = ()) -> Iterator[Route]:
    """sitemap.xml over the routes every other producer made (so they are made only once)."""
    yield Route(SITEMAP_URL, "sitemap.xml", {"urls": sitemap_urls(routes, unlisted)})


def robots(site: Site) -> Iterator[Route]:
    yield Route(ROBOTS_URL, "robots.txt", {"sitemap": SITEMAP_URL})
