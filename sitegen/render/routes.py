"""Which files a site has: every page as a template, a context and a destination.

Each producer yields the routes of one kind of page; `site_routes` lists them all, in output
order, with the sitemap last (it lists the pages of all the others).
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass

from sitegen.content.model import CaseCard, Site, body_reads
from sitegen.render.feeds import cases_feed, issues_feed
from sitegen.render.files import Route
from sitegen.render.redirects import REDIRECT_TEMPLATE, alias_pages, server_files
from sitegen.render.sitemap import robots, sitemap

SEARCH_URL = "/soeg/"
# Pagefind filter names (data-pagefind-filter on case pages) per taxonomy key.
SEARCH_FILTERS = {"municipality": "kommune", "level": "niveau", "tag": "emne"}
# Pages that are not content: the search page has no text of its own.
UNLISTED = (SEARCH_URL,)


def newest_change(cards: Iterable[CaseCard]) -> dt.date | None:
    """When the newest of the listed cases last changed (a listing page's lastmod)."""
    return max((card.modified for card in cards), default=None)


def home(site: Site) -> Iterator[Route]:
    latest_issue = site.newsletter_issues[0] if site.newsletter_issues else None
    cases = site.cards[: site.config.site.home_cases]
    context = {"cases": cases, "latest_issue": latest_issue}
    yield Route("/", "home.html", context, lastmod=newest_change(cases))


def case_pages(site: Site) -> Iterator[Route]:
    cards = site.cards  # the neighbours' links show their cards, not their bodies
    for index, case in enumerate(site.cases):
        newer = cards[index - 1] if index > 0 else None
        older = cards[index + 1] if index + 1 < len(cards) else None
        context = {"case": case, "newer": newer, "older": older}
        yield Route(case.url, "case.html", context, source=case.source, lastmod=case.modified)


def case_list(site: Site) -> Iterator[Route]:
    per_page = site.config.pagination.per_page
    base = site.config.urls.cases
    total = max(1, math.ceil(len(site.cases) / per_page))

    def page_url(number: int) -> str:
        return base if number == 1 else f"{base}side/{number}/"

    for number in range(1, total + 1):
        pagination = {
            "number": number,
            "total": total,
            "previous": page_url(number - 1) if number > 1 else None,
            "next": page_url(number + 1) if number < total else None,
            "window": page_window(number, total, page_url),
        }
        cases = site.cards[(number - 1) * per_page : number * per_page]
        context = {"cases": cases, "pagination": pagination}
        yield Route(page_url(number), "list.html", context, lastmod=newest_change(cases))


def page_window(
    number: int, total: int, page_url: Callable[[int], str], around: int = 2
) -> list[tuple[int, str] | None]:
    """The page links a pager shows: first, last and a few around the current; None is a gap.

    Linking every page from every page would make a list of 1,000 pages quadratic to build
    and useless to read.
    """
    shown = sorted(
        {1, total} | set(range(max(1, number - around), min(total, number + around) + 1))
    )
    window: list[tuple[int, str] | None] = []
    for index, page in enumerate(shown):
        if index and page - shown[index - 1] > 1:
            window.append(None)
        window.append((page, page_url(page)))
    return window


@dataclass(frozen=True)
class TaxonomyName:
    """What a term page shows of its taxonomy: not the other terms' listings.

    A page's context is what its cache key covers, so giving a topic page every listing
    would make it depend on every case of the site.
    """

    key: str
    label: str
    singular: str
    url: str


def taxonomy_pages(site: Site) -> Iterator[Route]:
    for taxonomy in site.taxonomies:
        shown = (card for listing in taxonomy.listings for card in listing.cases)
        yield Route(
            taxonomy.url, "terms.html", {"taxonomy": taxonomy}, lastmod=newest_change(shown)
        )
        name = TaxonomyName(taxonomy.key, taxonomy.label, taxonomy.singular, taxonomy.url)
        for listing in taxonomy.listings:
            context = {"taxonomy": name, "listing": listing}
            lastmod = newest_change(listing.cases)
            yield Route(listing.term.url, "term.html", context, lastmod=lastmod)


def content_pages(site: Site) -> Iterator[Route]:
    for page in site.pages:
        yield Route(page.url, "page.html", {"page": page}, source=page.source, lastmod=page.updated)


def newsletter(site: Site) -> Iterator[Route]:
    """The archive, a web page per issue, and each issue's email files beside it."""
    config = site.config
    issues = site.newsletter_issues
    lastmod = max((issue.date for issue in issues), default=None)
    yield Route(
        config.urls.newsletter, "newsletter_archive.html", {"issues": issues}, lastmod=lastmod
    )
    if not issues:
        return
    # The email machinery (css-inline, the email package) is loaded only for a site with issues.
    from sitegen.render.email import (
        EMAIL_TEMPLATE,
        email_context,
        email_file_finishers,
        unsubscribe_for,
    )

    general = unsubscribe_for(config, None, None)
    for index, issue in enumerate(issues):
        newer = issues[index - 1] if index > 0 else None
        older = issues[index + 1] if index + 1 < len(issues) else None
        context = {"issue": issue, "newer": newer, "older": older}
        yield Route(issue.url, "newsletter_issue.html", context, None, issue.source, issue.date)
        email = email_context(config, issue, general)
        for name, finish in email_file_finishers(config, issue).items():
            yield Route(issue.url + name, EMAIL_TEMPLATE, email, finish, issue.source, issue.date)


def not_found(site: Site) -> Iterator[Route]:
    yield Route("/404.html", "404.html", {})


def search_page(site: Site) -> Iterator[Route]:
    """The search form over the Pagefind index, with filters per taxonomy."""
    if not site.config.search.enabled:
        return
    filters = [(SEARCH_FILTERS[t.key], t) for t in site.taxonomies if t.key in SEARCH_FILTERS]
    yield Route(SEARCH_URL, "search.html", {"filters": filters})


# Every producer of routes, in output order; a new output kind is one more entry.
PRODUCERS: list[Callable[[Site], Iterator[Route]]] = [
    home,
    case_pages,
    case_list,
    taxonomy_pages,
    content_pages,
    newsletter,
    not_found,
    search_page,
    alias_pages,
    cases_feed,
    issues_feed,
    robots,
]


# A producer's part of the routes: its number in PRODUCERS, where its routes start and end,
# and the source paths of the bodies it read to make them.
Span = tuple[int, int, int, frozenset[str]]


def site_routes(site: Site, spans: list[Span] | None = None) -> list[Route]:
    """Every route of the site; the sitemap and the server's files, made last, list the
    pages of all the others (an alias is not a page of its own: the sitemap leaves it out).
    Each producer's Span goes to `spans`."""
    routes: list[Route] = []
    for number, produce in enumerate(PRODUCERS):
        with body_reads() as read:
            made = list(produce(site))
        if spans is not None:
            spans.append((number, len(routes), len(routes) + len(made), frozenset(read)))
        routes += made
    aliases = [route.dest for route in routes if route.template == REDIRECT_TEMPLATE]
    routes += sitemap(routes, (*UNLISTED, *aliases))
    return [*routes, *server_files(routes)]
