"""Assemble the site: validate every parsed document and make the model of the whole site.

Slugs and URLs are assigned, references resolved, cases sorted and grouped by taxonomy. The
result is plain data; each case records the link lookups that made it, so that a memo layer
can tell what it depends on without this module knowing about caches.
"""

from __future__ import annotations

import datetime as dt
import functools
import posixpath
from collections.abc import Iterable
from typing import Any

from sitegen.config import BuildOptions, Config
from sitegen.content import fields
from sitegen.content.images import document_images
from sitegen.content.issues import build_issues
from sitegen.content.links import LinkResolver
from sitegen.content.model import (
    CARD_FIELDS,
    Case,
    CaseCard,
    Page,
    RelatedLink,
    Site,
    Taxonomy,
    Term,
    TermListing,
)
from sitegen.content.parse import ParsedDoc
from sitegen.content.slugs import MAX_SLUG, slugify
from sitegen.errors import ErrorList, SiteError

TAXONOMIES = (
    ("tag", "Emner", "Emne", "tags"),
    ("municipality", "Kommuner", "Kommune", "municipalities"),
    ("level", "Niveauer", "Niveau", "levels"),
)


def url_for(pattern: str, slug: str) -> str:
    return pattern.replace("{slug}", slug)


def term(config: Config, taxonomy: str, name: str) -> Term:
    return _term(getattr(config.urls, taxonomy), taxonomy, name)


@functools.lru_cache(maxsize=8192)  # a site names the same few tags and municipalities often
def _term(pattern: str, taxonomy: str, name: str) -> Term:
    slug = slugify(name) or "-"
    return Term(taxonomy, name, slug, url_for(pattern, slug))


def build_site(
    docs: Iterable[ParsedDoc],
    config: Config,
    options: BuildOptions,
    asset_urls: dict[str, str],
    errors: ErrorList,
) -> Site:
    """Validate every document and assemble the site model; problems go to `errors`.

    `asset_urls` maps the site-root path of each static file to its URL, for links to them.
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
    _check_alias_urls(by_kind, slugs, config, errors)
    url_of = dict(asset_urls)
    # Invalid documents still have a URL, so links to them are not reported a second time.
    url_of.update({"/" + doc.source.path: "/" for doc in invalid})
    url_of.update({"/" + path: url for path, (_, url) in slugs.items()})
    resolver = LinkResolver(config, url_of, errors)

    cases: list[Case] = []
    card_of: dict[str, CaseCard] = {}
    for doc, values in by_kind.get("case", []):
        card = _card(doc, values, *slugs[doc.source.path], config, resolver)
        case = card.with_body(resolver.check_body(doc), resolver.take_reads())
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
    shown = {*cards, *(page.source for page in pages), *(issue.source for issue in issues)}
    heroes = {card.source: card.image for card in card_of.values() if card.image}
    entries = [entry for kind in ("case", "page", "newsletter") for entry in by_kind.get(kind, [])]
    return Site(
        config,
        tuple(published),
        tuple(pages),
        _taxonomies(published, cards, config),
        issues,
        tuple(cards.values()),
        document_images(entries, heroes, shown, resolver, errors),
    )


class _Unlooked(Exception):
    """A lookup the case it is remade from did not make."""


class _KnownLinks(LinkResolver):
    """Answers only the lookups an earlier model of the case made, as they were answered."""

    def __init__(self, config: Config, known: dict[str, str | None], errors: ErrorList) -> None:
        super().__init__(config, {}, errors)
        self.known = known

    def _lookup(self, path: str) -> str | None:
        if path not in self.known:
            raise _Unlooked(path)
        return self.known[path]


def remade_case(doc: ParsedDoc, old: Case, config: Config) -> Case | None:
    """The case `doc` makes in the site that `old` (its earlier version) belongs to, when the
    two differ in their bodies alone: `doc` has the front matter of `old` byte for byte (so
    its card is the same: it was parsed without reading that YAML again), neither body shows
    an image, the body looks up no link `old` did not look up, and has no problem. Else None:
    the site's model must be made again from every document."""
    if doc.source.path != old.source or doc.source.kind != "case":
        return None
    if any(ref.image for ref in doc.markdown.references):
        return None
    if any(ref.image for ref in old.body.markdown.references):
        return None
    errors = ErrorList()
    resolver = _KnownLinks(config, dict(old.body_links), errors)
    try:
        body = resolver.check_body(doc)
    except _Unlooked:
        return None
    if errors:
        return None
    card = {name: getattr(old, name) for name in CARD_FIELDS}
    return Case(**card, body=body, body_links=resolver.take_reads())


def left_out_drafts(docs: Iterable[ParsedDoc], options: BuildOptions) -> set[str]:
    """Source paths of the drafts a build leaves out: their problems do not stop it."""
    if options.drafts:
        return set()
    return {doc.source.path for doc in docs if doc.meta.get("draft") is True}


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
    _check_aliases(doc, values, found)
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


def _check_aliases(doc: ParsedDoc, values: dict[str, Any], errors: ErrorList) -> None:
    """Each old URL in `aliases` must be a plain path on this site."""
    aliases = values.get("aliases")
    for index, alias in enumerate(aliases if isinstance(aliases, tuple) else ()):
        if problem := fields.alias_problem(alias):
            line = doc.lines.get(("aliases", index), doc.lines.get(("aliases",), doc.start_line))
            errors.add(doc.source.path, line, "aliases", problem)


def _check_alias_urls(
    by_kind: dict[str, list[tuple[ParsedDoc, dict[str, Any]]]],
    slugs: dict[str, tuple[str, str]],
    config: Config,
    errors: ErrorList,
) -> None:
    """An alias is an old URL: neither the URL of a page nor another page's alias."""
    owner = {url: path for path, (_, url) in slugs.items()}
    for name in ("cases", "tags", "municipalities", "levels", "newsletter"):
        owner[getattr(config.urls, name)] = f"the site's {name} page"
    claimed: dict[str, str] = {}
    for kind in ("case", "page"):
        for doc, values in sorted(by_kind.get(kind, []), key=lambda entry: entry[1]["draft"]):
            path = doc.source.path
            for index, alias in enumerate(values["aliases"]):
                line = doc.lines.get(("aliases", index), doc.lines.get(("aliases",), 0))
                if owner.get(alias) == path:
                    errors.add(path, line, "aliases", f"{alias} is this page's own URL; remove it")
                elif alias in owner:
                    errors.add(
                        path,
                        line,
                        "aliases",
                        f"{alias} is the URL of {owner[alias]}; an alias must be an old URL "
                        "that no page has",
                    )
                elif alias in claimed:
                    errors.add(
                        path, line, "aliases", f"{alias} is already an alias of {claimed[alias]}"
                    )
                else:
                    claimed[alias] = path


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
        # Drafts last: a slug both use stays with the published document.
        for doc, values in sorted(entries, key=lambda entry: entry[1]["draft"] is True):
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
    resolver.take_reads()  # record only this card's lookups
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
        image_focus=values["image_focus"],
        draft=values["draft"],
        updated=values["updated"],
        links=resolver.take_reads(),
        aliases=values["aliases"],
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
        body_html=resolver.check_body(doc).html,
        headings=doc.markdown.headings,
        aliases=values["aliases"],
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
