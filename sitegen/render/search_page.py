"""The search page: a Danish search form over the Pagefind index, with a no-JavaScript fallback."""

from __future__ import annotations

from collections.abc import Iterator

from sitegen.content.model import Site
from sitegen.render.route import Route

SEARCH_URL = "/soeg/"
# Pagefind filter names (data-pagefind-filter on case pages) per taxonomy key.
SEARCH_FILTERS = {"municipality": "kommune", "level": "niveau", "tag": "emne"}


def search_page(site: Site) -> Iterator[Route]:
    if not site.config.search.enabled:
        return
    filters = [(SEARCH_FILTERS[t.key], t) for t in site.taxonomies if t.key in SEARCH_FILTERS]
    yield Route(SEARCH_URL, "search.html", {"filters": filters})
