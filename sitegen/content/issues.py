"""Newsletter issues in the model: featured cases resolved, intro split off, checks at path:line."""

from __future__ import annotations

import datetime as dt
import html
import posixpath
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sitegen.config import BuildOptions
from sitegen.content.fields import SINCE_LAST
from sitegen.content.images import is_raster_file
from sitegen.content.links import LinkResolver
from sitegen.content.markdown import PLACEHOLDER
from sitegen.content.model import Case, NewsletterIssue
from sitegen.content.parse import ParsedDoc
from sitegen.errors import ErrorList, did_you_mean

PREHEADER_LENGTH = 140
_HEADING = re.compile(r"<h[1-6][\s>]")
_FIRST_PARAGRAPH = re.compile(r"\A\s*<p[\s>].*?</p>", re.DOTALL)
IMG_TAG = re.compile(r"<img\b[^>]*>")
_ATTR = re.compile(r'\b(src|width|height)="([^"]*)"')


@dataclass(frozen=True)
class _Draft:
    doc: ParsedDoc
    values: dict[str, Any]
    slug: str
    url: str


def build_issues(
    entries: Sequence[tuple[ParsedDoc, dict[str, Any]]],
    urls: dict[str, tuple[str, str]],
    all_cases: Sequence[Case],
    published: Sequence[Case],
    options: BuildOptions,
    resolver: LinkResolver,
    errors: ErrorList,
) -> tuple[NewsletterIssue, ...]:
    """Every issue in this build, newest first; bad references and duplicate dates reported."""
    included = [
        _Draft(doc, values, *urls[doc.source.path])
        for doc, values in entries
        if (options.drafts or not values["draft"])
        and (options.future or values["date"] <= options.today)
    ]
    # Published issues first, so a draft that takes a published issue's date gets the error.
    included.sort(key=lambda d: (d.values["draft"] is True, d.doc.source.path))
    seen_dates: dict[dt.date, str] = {}
    for item in included:
        date = item.values["date"]
        if date in seen_dates:
            errors.add(
                item.doc.source.path,
                item.doc.lines.get(("date",), item.doc.start_line),
                "date",
                f"{seen_dates[date]} is already the issue of {date.isoformat()}; "
                "give each issue its own date",
            )
        else:
            seen_dates[date] = item.doc.source.path
    included.sort(key=lambda d: (d.values["date"], d.values["draft"] is True, d.doc.source.path))
    issues: list[NewsletterIssue] = []
    previous: dt.date | None = None
    for item in included:
        cases = _featured(item, previous, all_cases, published, errors)
        issues.append(_issue(item, cases, resolver, errors))
        previous = item.values["date"]
    return tuple(reversed(issues))


def _issue(
    item: _Draft, cases: tuple[Case, ...], resolver: LinkResolver, errors: ErrorList
) -> NewsletterIssue:
    doc, values = item.doc, item.values
    _check_images(doc, errors)
    intro, rest = split_intro(resolver.check_body(doc).html)
    return NewsletterIssue(
        source=doc.source.path,
        slug=item.slug,
        url=item.url,
        title=values["title"],
        date=values["date"],
        preheader=values["preheader"] or preheader_from(intro or rest),
        intro_html=intro,
        body_html=rest,
        cases=cases,
        draft=values["draft"],
    )


def split_intro(body_html: str) -> tuple[str, str]:
    """(intro, rest): the body up to its first heading, or its first paragraph."""
    heading = _HEADING.search(body_html)
    if heading:
        return body_html[: heading.start()].strip(), body_html[heading.start() :].strip()
    paragraph = _FIRST_PARAGRAPH.match(body_html)
    if paragraph:
        return paragraph.group(0).strip(), body_html[paragraph.end() :].strip()
    return "", body_html.strip()


def preheader_from(fragment: str) -> str:
    """The preview line an email client shows: the start of the intro as plain text."""
    text = " ".join(html.unescape(re.sub(r"<[^>]+>", " ", fragment)).split())
    if len(text) <= PREHEADER_LENGTH:
        return text
    cut = text[:PREHEADER_LENGTH].rsplit(" ", 1)[0].rstrip(",;:.–-")
    return cut + " …"


def _featured(
    item: _Draft,
    previous: dt.date | None,
    all_cases: Sequence[Case],
    published: Sequence[Case],
    errors: ErrorList,
) -> tuple[Case, ...]:
    doc, refs = item.doc, item.values["cases"]
    date: dt.date = item.values["date"]
    key_line = doc.lines.get(("cases",), doc.start_line)
    if refs == SINCE_LAST:
        found = tuple(
            c for c in published if c.date <= date and (previous is None or c.date > previous)
        )
        if not found and not item.values["draft"]:  # a draft may be started before its cases
            since = f"the previous issue ({previous.isoformat()})" if previous else "ever"
            errors.add(
                doc.source.path,
                key_line,
                "cases",
                f"'since-last' finds no case published since {since} up to "
                f"{date.isoformat()}; list the cases to feature instead",
            )
        return found
    by_source = {"/" + c.source: c for c in all_cases}
    by_slug = {c.slug: c for c in all_cases}
    live = {c.source for c in published}
    base = "/" + posixpath.dirname(doc.source.path)
    featured: dict[str, Case] = {}
    for index, ref in enumerate(refs):
        line = doc.lines.get(("cases", index), key_line)
        is_path = ref.endswith(".md") or "/" in ref
        case = (
            by_source.get(posixpath.normpath(posixpath.join(base, ref)))
            if is_path
            else by_slug.get(ref)
        )
        if case is None:
            known = [posixpath.relpath("/" + c.source, base) for c in all_cases] if is_path else []
            errors.add(
                doc.source.path,
                line,
                "cases",
                f"{ref!r} is not a case{did_you_mean(ref, known if is_path else by_slug)}",
            )
        elif case.source not in live:
            why = "a draft" if case.draft else f"dated after today ({case.date.isoformat()})"
            errors.add(doc.source.path, line, "cases", f"{ref!r} is {why}; it cannot be featured")
        else:
            featured.setdefault(case.source, case)
    return tuple(featured.values())


def _check_images(doc: ParsedDoc, errors: ErrorList) -> None:
    """Email clients need an image's size up front: width and height are required.

    The image stage knows the size of an image file of the site; only outside images need one.
    """
    for tag in IMG_TAG.findall(doc.markdown.html):
        attrs = dict(_ATTR.findall(tag))
        if "width" in attrs and "height" in attrs:
            continue
        if attrs.get("src", "").startswith(PLACEHOLDER) and is_raster_file(attrs["src"]):
            continue
        src = attrs.get("src", "")
        target = next(
            (
                ref.target
                for ref in doc.markdown.references
                if ref.image and src in (PLACEHOLDER + ref.resolved, ref.target)
            ),
            src,
        )
        errors.add(
            doc.source.path,
            doc.line_of(target),
            "image",
            f'{target!r} needs a size for email: add {{: width="600" height="400" }} '
            "after the image",
        )
