"""Model: the validated, frozen content objects of a site and the site they make up.

Plain data only: assembling them from parsed documents is content/site.py's job.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from sitegen.config import Config
from sitegen.content.markdown import Heading, RenderedMarkdown, replace_placeholders

# A site path a document referred to, and the href it resolved to (None: nothing there).
LinkLookup = tuple[str, str | None]


@dataclass(frozen=True)
class Term:
    """One value of a taxonomy (a tag, a municipality, a level) with its page URL."""

    taxonomy: str
    name: str
    slug: str
    url: str


@dataclass(frozen=True)
class ImageUse:
    """An image a document shows: the file it names, and where the document names it."""

    href: str  # as pages link it: the file's URL under the base path, or an outside URL
    file: str  # the file's path inside output/ ("media/cases/foto.jpg"); "" when outside
    source: str  # the Markdown file that shows it
    line: int
    asked_width: int | None = None  # the width the body asks for ({: width="300" }), if any
    focus: tuple[float, float] | None = None  # a case image's `image_focus`; None: the centre
    hero: bool = False  # a case's `image`: its page's, card's, share and email picture


@dataclass(frozen=True)
class RelatedLink:
    title: str
    url: str


@dataclass(frozen=True)
class CaseCard:
    """What a listing or a neighbour link shows of a case: everything but its body.

    Listings hold cards, not cases, so that a page's cache key (its context) does not change
    when the body of a case it lists does.
    """

    source: str
    slug: str
    url: str
    title: str
    date: dt.date
    lead: str
    municipality: Term
    level: Term
    tags: tuple[Term, ...]
    authors: tuple[str, ...]
    related: tuple[RelatedLink, ...]
    image: str | None
    image_alt: str | None
    image_focus: tuple[float, float] | None  # the point the share picture is cut around
    draft: bool
    updated: dt.date | None
    links: tuple[LinkLookup, ...]  # what its front matter looked up (related, image)
    aliases: tuple[str, ...]  # its old URLs, each redirected to `url`

    @property
    def modified(self) -> dt.date:
        """When the case last changed: `updated`, else its date."""
        return self.updated or self.date

    def with_body(self, body: Body, body_links: tuple[LinkLookup, ...]) -> Case:
        shown = {item.name: getattr(self, item.name) for item in _CARD_FIELDS}
        return Case(**shown, body=body, body_links=body_links)


_watches: list[set[str]] = []  # the sets that body_reads() is filling, innermost last


@contextlib.contextmanager
def body_reads() -> Iterator[set[str]]:
    """The source paths of the bodies whose HTML or headings are read inside the block."""
    found: set[str] = set()
    _watches.append(found)
    try:
        yield found
    finally:
        _watches.remove(found)


class Body:
    """A body as its page shows it: the HTML with its site links resolved, and its headings.

    The links are swapped in when the HTML is first read: a build makes the model of every
    case but shows the bodies of only the pages it renders. `source` is the document's path.
    """

    __slots__ = ("_html", "_markdown", "_urls", "source")

    def __init__(
        self, markdown: RenderedMarkdown, urls: Mapping[str, str], source: str = ""
    ) -> None:
        self._markdown, self._urls = markdown, urls  # site-root path -> page href
        self._html: str | None = None
        self.source = source

    @property
    def html(self) -> str:
        if _watches:
            _watches[-1].add(self.source)
        if self._html is None:
            self._html = replace_placeholders(self._markdown.html, dict(self._urls))
        return self._html

    @property
    def headings(self) -> tuple[Heading, ...]:
        if _watches:
            _watches[-1].add(self.source)
        return self._markdown.headings

    @property
    def markdown(self) -> RenderedMarkdown:
        """The body as parsed, its site links still placeholders."""
        return self._markdown

    @property
    def urls(self) -> Mapping[str, str]:
        """The href each of its site links resolved to."""
        return self._urls

    def __reduce__(self) -> tuple[Any, ...]:
        return Body, (RenderedMarkdown(self.html, self.headings, ()), {}, self.source)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Body):
            return NotImplemented
        return (self.html, self.headings) == (other.html, other.headings)

    def __hash__(self) -> int:
        return hash(self.html)

    def __repr__(self) -> str:
        return f"Body({self.html!r})"


@dataclass(frozen=True)
class Case(CaseCard):
    body: Body
    body_links: tuple[LinkLookup, ...]  # what the links and images of its body looked up

    @property
    def body_html(self) -> str:
        return self.body.html

    @property
    def headings(self) -> tuple[Heading, ...]:
        return self.body.headings


@dataclass(frozen=True)
class Page:
    source: str
    slug: str
    url: str
    title: str
    lead: str | None
    draft: bool
    updated: dt.date | None
    body_html: str
    headings: tuple[Heading, ...]
    aliases: tuple[str, ...] = ()  # its old URLs, each redirected to `url`


@dataclass(frozen=True)
class TermListing:
    term: Term
    cases: tuple[CaseCard, ...]


@dataclass(frozen=True)
class Taxonomy:
    key: str
    label: str  # "Emner"
    singular: str  # "Emne"
    url: str
    listings: tuple[TermListing, ...]


@dataclass(frozen=True)
class NewsletterIssue:
    """One newsletter issue: a web page in the archive and an email."""

    source: str
    slug: str
    url: str
    title: str  # also the subject line
    date: dt.date
    preheader: str
    intro_html: str  # the body up to the first heading (or its first paragraph)
    body_html: str  # the rest of the body
    cases: tuple[Case, ...]  # the featured cases, in the order the issue lists them
    draft: bool


@dataclass(frozen=True)
class Site:
    """Everything the renderers need; the whole of a build's content."""

    config: Config
    cases: tuple[Case, ...]  # published, newest first
    pages: tuple[Page, ...]
    taxonomies: tuple[Taxonomy, ...]
    newsletter_issues: tuple[NewsletterIssue, ...] = ()  # newest first
    cards: tuple[CaseCard, ...] = ()  # the card of each case of `cases`, in the same order
    images: tuple[ImageUse, ...] = ()  # every image file the site's documents show


_CARD_FIELDS = dataclasses.fields(CaseCard)
CARD_FIELDS = tuple(item.name for item in _CARD_FIELDS)  # what a case has besides its body
