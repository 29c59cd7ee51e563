"""Model: validated, frozen content objects and the site they make up."""

from __future__ import annotations

import dataclasses
import datetime as dt
import functools
import pickle
import posixpath
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from sitegen.build.digest import Fingerprints, digest_bytes
from sitegen.config import Config
from sitegen.content import fields
from sitegen.content.issues import NewsletterIssue, build_issues
from sitegen.content.markdown import Heading, is_unsafe_url, replace_placeholders
from sitegen.content.parse import ParsedDoc
from sitegen.content.slugs import slugify
from sitegen.errors import ErrorList, SiteError
from sitegen.options import BuildOptions as BuildOptions


@dataclass(frozen=True)
class Term:
    """One value of a taxonomy (a tag, a municipality, a level) with its page URL."""

    taxonomy: str
    name: str
    slug: str
    url: str


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
    draft: bool
    updated: dt.date | None

    @property
    def modified(self) -> dt.date:
        """When the case last changed: `updated`, else its date."""
        return self.updated or self.date

    def with_body(self, body_html: str, headings: tuple[Heading, ...]) -> Case:
        shown = {item.name: getattr(self, item.name) for item in _CARD_FIELDS}
        return Case(**shown, body_html=body_html, headings=headings)


@dataclass(frozen=True)
class Case(CaseCard):
    body_html: str
    headings: tuple[Heading, ...]


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
class Site:
    """Everything the renderers need; the whole of a build's content."""

    config: Config
    cases: tuple[Case, ...]  # published, newest first
    pages: tuple[Page, ...]
    taxonomies: tuple[Taxonomy, ...]
    newsletter_issues: tuple[NewsletterIssue, ...] = ()  # newest first
    cards: tuple[CaseCard, ...] = ()  # the card of each case of `cases`, in the same order


_CARD_FIELDS = dataclasses.fields(CaseCard)

TAXONOMIES = (
    ("tag", "Emner", "Emne", "tags"),
    ("municipality", "Kommuner", "Kommune", "municipalities"),
    ("level", "Niveauer", "Niveau", "levels"),
)


# A slug is a folder name in output/: file systems allow 255 bytes, readers' eyes far fewer.
MAX_SLUG = 120


def url_for(pattern: str, slug: str) -> str:
    return pattern.replace("{slug}", slug)


def term(config: Config, taxonomy: str, name: str) -> Term:
    return _term(getattr(config.urls, taxonomy), taxonomy, name)


@functools.lru_cache(maxsize=8192)  # a site names the same few tags and municipalities often
def _term(pattern: str, taxonomy: str, name: str) -> Term:
    slug = slugify(name) or "-"
    return Term(taxonomy, name, slug, url_for(pattern, slug))


class LinkResolver:
    """Turns file references (Markdown links, images, front matter URLs) into site URLs."""

    def __init__(self, config: Config, url_of: dict[str, str], errors: ErrorList) -> None:
        self.config = config
        self.url_of = url_of  # "/content/cases/x.md" -> "/cases/x/"
        self.errors = errors
        self.reads: list[tuple[str, str | None]] = []  # every lookup made, in order

    def site_url(self, path: str) -> str:
        """A site path ("/cases/x/") as the href used on pages (with the base path)."""
        return self.config.base_path + path.lstrip("/")

    def check_body(self, doc: ParsedDoc) -> str:
        """The body HTML with every internal reference resolved; bad ones reported."""
        resolved: dict[str, str] = {}
        for ref in doc.markdown.references:
            what = "image" if ref.image else "link"
            if ref.invalid:
                self.errors.add(
                    doc.source.path,
                    doc.line_of(ref.target),
                    what,
                    f"{ref.target[:60]!r} is not a valid URL",
                )
            elif is_unsafe_url(ref.target):
                self.errors.add(
                    doc.source.path,
                    doc.line_of(ref.at or ref.target),
                    what,
                    f"unsafe URL {ref.target[:60]!r}: only http(s), mailto and "
                    "site links are allowed",
                )
            elif ref.resolved:
                url = self.lookup(ref.resolved)
                if url is None:
                    self.errors.add(
                        doc.source.path,
                        doc.line_of(ref.target),
                        what,
                        f"{ref.target!r} points to a file that does not exist",
                    )
                else:
                    resolved[ref.resolved] = url
        return replace_placeholders(doc.markdown.html, resolved)

    def lookup(self, path: str) -> str | None:
        """The page href of a site-root path, or None when nothing is there."""
        found = self._lookup(path)
        self.reads.append((path, found))
        return found

    def _lookup(self, path: str) -> str | None:
        if path in self.url_of:
            return self.site_url(self.url_of[path])
        if path.endswith(".md") or posixpath.splitext(path)[1]:
            return None
        return self.site_url(path)  # a page URL written directly, like /kontakt/

    def front_matter_url(
        self, doc: ParsedDoc, key: str, line_key: tuple[Any, ...], url: str
    ) -> str:
        line = doc.lines.get(line_key, doc.start_line)
        if is_unsafe_url(url):
            self.errors.add(
                doc.source.path,
                line,
                key,
                f"unsafe URL {url[:60]!r}: only http(s), mailto and site links are allowed",
            )
            return "#"
        try:
            parts = urlsplit(url)
        except ValueError:
            self.errors.add(doc.source.path, line, key, f"{url[:60]!r} is not a valid URL")
            return "#"
        if parts.scheme or parts.netloc:
            return url
        base = "/" + posixpath.dirname(doc.source.path)
        trailing = "/" if url.endswith("/") else ""
        path = posixpath.normpath(posixpath.join(base, parts.path)) + trailing
        target = self.lookup(path)
        if target is None:
            self.errors.add(
                doc.source.path, line, key, f"{url!r} points to a file that does not exist"
            )
            return "#"
        return target + (f"#{parts.fragment}" if parts.fragment else "")


def build_site(
    docs: Iterable[ParsedDoc],
    config: Config,
    options: BuildOptions,
    asset_urls: dict[str, str],
    errors: ErrorList,
    prints: Fingerprints | None = None,
    digests: dict[str, bytes] | None = None,
) -> Site:
    """Validate every document and assemble the site model.

    With `prints` and `digests` (source path -> digest of the source), each case's
    fingerprint is told to `prints` as the digest of what made it (its source, slug, URL,
    the config and every link lookup), so rendering never has to hash a case's body again.
    """
    by_kind: dict[str, list[tuple[ParsedDoc, dict[str, Any]]]] = {}
    invalid: list[ParsedDoc] = []
    for doc in docs:
        if doc.source.kind not in FIELDS_OF_KIND:
            continue
        values, found = doc.checked if doc.checked is not None else check_fields(doc)
        errors.extend(found)
        if not found:
            by_kind.setdefault(doc.source.kind, []).append((doc, values))
        else:
            invalid.append(doc)

    slugs = _assign_slugs(by_kind, config, errors)
    url_of = dict(asset_urls)
    # Invalid documents still have a URL, so links to them are not reported a second time.
    url_of.update({"/" + doc.source.path: "/" for doc in invalid})
    url_of.update({"/" + path: url for path, (_, url) in slugs.items()})
    resolver = LinkResolver(config, url_of, errors)

    config_print = prints.of(config) if prints and digests else b""
    cases: list[Case] = []
    card_of: dict[str, CaseCard] = {}
    for doc, values in by_kind.get("case", []):
        resolver.reads.clear()
        slug, url = slugs[doc.source.path]
        card = _card(doc, values, slug, url, config, resolver)
        card_reads = list(resolver.reads)
        case = card.with_body(resolver.check_body(doc), doc.markdown.headings)
        if prints and digests:  # what made each: its inputs and every lookup it made
            made_of = pickle.dumps((slug, url, config_print, card_reads))
            front = (doc.source.path, doc.source.kind, doc.front_matter)
            prints.remember(card, digest_bytes(b"card", pickle.dumps(front), made_of))
            made_of = pickle.dumps((slug, url, config_print, resolver.reads))
            prints.remember(case, digest_bytes(b"case", digests[doc.source.path], made_of))
        cases.append(case)
        card_of[case.source] = card
    pages = [
        _page(doc, values, *slugs[doc.source.path], resolver)
        for doc, values in by_kind.get("page", [])
    ]
    published = sorted(
        (c for c in cases if _is_published(c.draft, c.date, options)),
        key=lambda c: (c.date, c.slug),
        reverse=True,
    )
    pages = sorted((p for p in pages if options.drafts or not p.draft), key=lambda p: p.slug)
    issues = build_issues(
        by_kind.get("newsletter", []), slugs, cases, published, options, resolver, errors
    )
    cards = {case.source: card_of[case.source] for case in published}
    return Site(
        config,
        tuple(published),
        tuple(pages),
        _taxonomies(published, cards, config),
        issues,
        tuple(cards.values()),
    )


FIELDS_OF_KIND = {
    "case": fields.CASE_FIELDS,
    "page": fields.PAGE_FIELDS,
    "newsletter": fields.NEWSLETTER_FIELDS,
}


def check_fields(doc: ParsedDoc) -> tuple[dict[str, Any], tuple[SiteError, ...]]:
    """A document's front matter converted by its kind's fields, and every problem found.

    A pure function of the document, so the parse step memoizes it with the parse.
    """
    if doc.source.kind not in FIELDS_OF_KIND:
        return {}, ()
    found = ErrorList()
    values = fields.validate(doc, FIELDS_OF_KIND[doc.source.kind], found)
    _check_image(doc, values, found)
    _check_term_slugs(doc, values, found)
    return values, tuple(found.errors)


def _is_published(draft: bool, date: dt.date, options: BuildOptions) -> bool:
    return (options.drafts or not draft) and (options.future or date <= options.today)


def _check_image(doc: ParsedDoc, values: dict[str, Any], errors: ErrorList) -> None:
    if "image" in values and values.get("image") and not values.get("image_alt"):
        errors.add(
            doc.source.path,
            doc.lines.get(("image",), doc.start_line),
            "image_alt",
            "an image needs alt text: add image_alt describing it",
        )


def _check_term_slugs(doc: ParsedDoc, values: dict[str, Any], errors: ErrorList) -> None:
    """Tags and municipalities become folder names: keep their slugs short enough."""
    for key in ("tags", "municipality"):
        names = values.get(key)
        for name in (
            (names,) if isinstance(names, str) else names if isinstance(names, tuple) else ()
        ):
            if len(slugify(name)) > MAX_SLUG:
                errors.add(
                    doc.source.path,
                    doc.lines.get((key,), doc.start_line),
                    key,
                    f"{name[:40]!r}... is too long for a page name; "
                    f"keep it under {MAX_SLUG} characters",
                )


def _assign_slugs(
    by_kind: dict[str, list[tuple[ParsedDoc, dict[str, Any]]]],
    config: Config,
    errors: ErrorList,
) -> dict[str, tuple[str, str]]:
    """source path -> (slug, URL); a URL used twice is an error at the second file."""
    patterns = {
        "case": config.urls.case,
        "page": config.urls.page,
        "newsletter": config.urls.newsletter_issue,
    }
    reserved = {
        getattr(config.urls, name): name
        for name in ("cases", "tags", "municipalities", "levels", "newsletter")
    }
    taken: dict[str, str] = {}
    result: dict[str, tuple[str, str]] = {}
    for kind, entries in sorted(by_kind.items()):
        for doc, values in entries:
            # An issue is named by its file (content/newsletter/<slug>.md), a case by its title.
            named = posixpath.splitext(posixpath.basename(doc.source.path))[0]
            fallback = named if kind == "newsletter" else values["title"]
            slug = values.get("slug") or slugify(fallback)
            key = "slug" if values.get("slug") or kind == "newsletter" else "title"
            line = doc.lines.get((key,), doc.start_line)
            url = url_for(patterns[kind], slug)
            if not slug:
                errors.add(doc.source.path, line, key, "gives an empty slug; set 'slug'")
            elif len(slug) > MAX_SLUG:
                errors.add(
                    doc.source.path,
                    line,
                    key,
                    f"gives a slug of {len(slug)} characters; set a 'slug' of at most {MAX_SLUG}",
                )
            elif url in taken:
                errors.add(
                    doc.source.path,
                    line,
                    "slug",
                    f"{slug!r} is already used by {taken[url]}; set another 'slug'",
                )
            elif url in reserved:
                errors.add(
                    doc.source.path,
                    line,
                    "slug",
                    f"{url} is the site's {reserved[url]} page; set another 'slug'",
                )
            else:
                taken[url] = doc.source.path
            result[doc.source.path] = (slug, url)
    return result


def _card(
    doc: ParsedDoc,
    values: dict[str, Any],
    slug: str,
    url: str,
    config: Config,
    resolver: LinkResolver,
) -> CaseCard:
    related = tuple(
        RelatedLink(title, resolver.front_matter_url(doc, "related", ("related", i, "url"), link))
        for i, (title, link) in enumerate(values["related"])
    )
    image = values["image"]
    if image:
        image = resolver.front_matter_url(doc, "image", ("image",), image)
    return CaseCard(
        source=doc.source.path,
        slug=slug,
        url=url,
        title=values["title"],
        date=values["date"],
        lead=values["lead"],
        municipality=term(config, "municipality", values["municipality"]),
        level=Term(
            "level",
            fields.LEVELS[values["level"]],
            values["level"],
            url_for(config.urls.level, values["level"]),
        ),
        tags=tuple(term(config, "tag", tag) for tag in values["tags"]),
        authors=values["authors"],
        related=related,
        image=image,
        image_alt=values["image_alt"],
        draft=values["draft"],
        updated=values["updated"],
    )


def _page(
    doc: ParsedDoc, values: dict[str, Any], slug: str, url: str, resolver: LinkResolver
) -> Page:
    return Page(
        source=doc.source.path,
        slug=slug,
        url=url,
        title=values["title"],
        lead=values["lead"],
        draft=values["draft"],
        updated=values["updated"],
        body_html=resolver.check_body(doc),
        headings=doc.markdown.headings,
    )


def _taxonomies(
    cases: list[Case], cards: dict[str, CaseCard], config: Config
) -> tuple[Taxonomy, ...]:
    result = []
    for key, label, singular, index_key in TAXONOMIES:
        grouped: dict[str, tuple[Term, list[CaseCard]]] = {}
        for case in cases:
            terms = case.tags if key == "tag" else (getattr(case, key),)
            for item in terms:
                grouped.setdefault(item.slug, (item, []))[1].append(cards[case.source])
        listings = tuple(
            TermListing(item, tuple(members))
            for item, members in sorted(grouped.values(), key=lambda g: g[0].name.lower())
        )
        result.append(Taxonomy(key, label, singular, getattr(config.urls, index_key), listings))
    return tuple(result)
