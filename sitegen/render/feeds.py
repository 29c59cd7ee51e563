"""Atom feeds (RFC 4287) of the cases and of the newsletter issues.

Entry ids are `urn:uuid:` names derived (UUID version 5) from the site's host and the content's
source file, e.g. content/cases/holbaek.md: editing a case's title, date, slug or text never
changes its id, so feed readers do not show it again as new. Renaming or moving the source file
makes it a new entry. `updated` comes from the content (`updated`, else `date`), never from the
time of the build, so an unchanged site gives an unchanged feed.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import heapq
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import TypeVar
from urllib.parse import urlsplit

from sitegen.config import Config
from sitegen.content.model import Case, NewsletterIssue, Site
from sitegen.render.files import Route

FEED_ENTRIES = 20  # newest entries in each feed
Dated = TypeVar("Dated", Case, NewsletterIssue)
FEED_TEMPLATE = "atom.xml"
_NO_ENTRIES = dt.date(1970, 1, 1)
# Characters XML 1.0 does not allow at all (autoescape cannot make them valid).
_XML_INVALID = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")
_SITE_LINK = re.compile(r"""(\s(?:href|src))="(/[^"]*)\"""")


@dataclass(frozen=True)
class FeedEntry:
    """One Atom entry; `url` is absolute, `content_html` has absolute links."""

    id: str
    title: str
    url: str
    published: dt.date
    updated: dt.date
    summary: str
    content_html: str
    categories: tuple[str, ...] = ()
    authors: tuple[str, ...] = ()


@dataclass(frozen=True)
class Feed:
    id: str
    title: str
    subtitle: str
    url: str  # the feed itself, absolute
    page_url: str  # the HTML page it follows, absolute
    updated: dt.date
    entries: tuple[FeedEntry, ...]


def cases_feed_url(config: Config) -> str:
    return config.urls.cases + "feed.xml"


def issues_feed_url(config: Config) -> str:
    return config.urls.newsletter + "feed.xml"


def content_id(config: Config, source: str) -> str:
    """A stable entry id from the site's host and the content's source file."""
    host = urlsplit(config.site.base_url).netloc
    return "urn:uuid:" + url_uuid(f"{host}{config.base_path}{source}")


# RFC 4122's namespace for URLs (uuid.NAMESPACE_URL).
_URL_NAMESPACE = bytes.fromhex("6ba7b8119dad11d180b400c04fd430c8")


def url_uuid(name: str) -> str:
    """str(uuid.uuid5(uuid.NAMESPACE_URL, name)), without importing `uuid`: it imports
    `platform` and costs more than the whole feed of a one-edit build (RFC 4122, 4.3)."""
    raw = bytearray(hashlib.sha1(_URL_NAMESPACE + name.encode("utf-8")).digest()[:16])
    raw[6] = (raw[6] & 0x0F) | 0x50  # version 5
    raw[8] = (raw[8] & 0x3F) | 0x80  # the RFC 4122 variant
    text = raw.hex()
    return f"{text[:8]}-{text[8:12]}-{text[12:16]}-{text[16:20]}-{text[20:]}"


def xml_text(text: str) -> str:
    return _XML_INVALID.sub("", text)


def absolute_links(config: Config, html: str) -> str:
    """Site-relative href/src attributes made absolute, as feed readers need."""
    return _SITE_LINK.sub(lambda m: f'{m.group(1)}="{config.origin}{m.group(2)}"', html)


def case_entry(config: Config, case: Case) -> FeedEntry:
    return FeedEntry(
        id=content_id(config, case.source),
        title=xml_text(case.title),
        url=config.absolute_url(case.url),
        published=case.date,
        updated=case.modified,
        summary=xml_text(case.lead),
        content_html=xml_text(absolute_links(config, case.body_html)),
        categories=tuple(xml_text(tag.name) for tag in case.tags),
        authors=tuple(xml_text(name) for name in case.authors),
    )


def issue_entry(config: Config, issue: NewsletterIssue) -> FeedEntry:
    """An entry for a newsletter issue; its content is the intro, then the rest of the body."""
    modified = issue.date
    return FeedEntry(
        id=content_id(config, issue.source),
        title=xml_text(issue.title),
        url=config.absolute_url(issue.url),
        published=issue.date,
        updated=modified,
        summary=xml_text(issue.preheader),
        content_html=xml_text(absolute_links(config, issue.intro_html + "\n" + issue.body_html)),
    )


def make_feed(
    config: Config, title: str, subtitle: str, path: str, page: str, entries: list[FeedEntry]
) -> Feed:
    newest = sorted(entries, key=lambda e: (e.published, e.url), reverse=True)[:FEED_ENTRIES]
    return Feed(
        id=config.absolute_url(path),
        title=xml_text(title),
        subtitle=xml_text(subtitle),
        url=config.absolute_url(path),
        page_url=config.absolute_url(page),
        updated=max((e.updated for e in newest), default=_NO_ENTRIES),
        entries=tuple(newest),
    )


def newest(items: Iterable[Dated], config: Config) -> list[Dated]:
    """The FEED_ENTRIES items a feed shows (by make_feed's order), before any entry is built."""
    return heapq.nlargest(
        FEED_ENTRIES, items, key=lambda item: (item.date, config.absolute_url(item.url))
    )


def cases_feed(site: Site) -> Iterator[Route]:
    config = site.config
    feed = make_feed(
        config,
        f"Cases – {config.site.title}",
        config.site.description,
        cases_feed_url(config),
        config.urls.cases,
        [case_entry(config, case) for case in newest(site.cases, config)],
    )
    yield Route(cases_feed_url(config), FEED_TEMPLATE, {"feed": feed})


def issues_feed(site: Site) -> Iterator[Route]:
    """The newsletter issues' feed, when the site has issues."""
    issues = site.newsletter_issues
    if not issues:
        return
    config = site.config
    feed = make_feed(
        config,
        f"Nyhedsbrev – {config.site.title}",
        "Nyhedsbreve fra " + config.site.title,
        issues_feed_url(config),
        config.urls.newsletter,
        [issue_entry(config, issue) for issue in newest(issues, config)],
    )
    yield Route(issues_feed_url(config), FEED_TEMPLATE, {"feed": feed})
