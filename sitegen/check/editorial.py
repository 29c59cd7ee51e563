"""Editorial checks for `sitegen check`: things a build accepts but readers stumble over.

Each finding is a SiteError at the line to fix; `check` prints them as warnings.
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Iterable
from urllib.parse import unquote, urlsplit

from sitegen.config import Config
from sitegen.content.parse import ParsedDoc
from sitegen.content.site import url_for
from sitegen.content.slugs import slugify
from sitegen.errors import SiteError

MAX_LEAD = 300
PLACEHOLDER = "UDFYLD"
# Link texts that say nothing when a screen reader lists the links of a page (WCAG 2.4.4).
VAGUE_LINK_TEXTS = {
    "læs mere",
    "læs her",
    "klik her",
    "klik",
    "her",
    "link",
    "linket",
    "mere",
    "se her",
    "se mere",
    "denne side",
}
_ATX = re.compile(r"^ {0,3}(#{1,6})(?:[ \t]|$)")
_SETEXT = re.compile(r"^ {0,3}(=+|-+)[ \t]*$")
_FENCE = re.compile(r"^ {0,3}(`{3,}|~{3,})")


def check_docs(
    docs: Iterable[ParsedDoc], config: Config, featured: Iterable[str] = ()
) -> list[SiteError]:
    """Every editorial warning for the given documents, sorted by place.

    `featured` are the source paths of the cases newsletter issues feature (`cases:`).
    """
    docs = list(docs)
    warnings: list[SiteError] = []
    for doc in docs:
        warnings += images_without_alt(doc)
        warnings += skipped_headings(doc)
        warnings += vague_links(doc)
        warnings += lead_problems(doc)
        warnings += placeholders(doc)
    warnings += unlinked_cases(docs, config, featured)
    return sorted(warnings)


def images_without_alt(doc: ParsedDoc) -> list[SiteError]:
    return [
        SiteError(
            doc.source.path,
            doc.line_of(ref.target),
            "image",
            f"{ref.target!r} has no alt text: write what it shows, like ![Kort]({ref.target})",
        )
        for ref in doc.markdown.references
        if ref.image and not ref.text.strip()
    ]


def heading_lines(doc: ParsedDoc) -> list[int]:
    """File lines of the Markdown headings of the body (ATX and setext), outside code."""
    found: list[int] = []
    fence = ""
    previous = ""
    for number, line in enumerate(doc.body.split("\n")):
        if fence:
            if line.strip().startswith(fence):
                fence = ""
        elif match := _FENCE.match(line):
            fence = match.group(1)
        elif _ATX.match(line):
            found.append(doc.body_line + number)
        elif _SETEXT.match(line) and previous.strip() and not _ATX.match(previous):
            found.append(doc.body_line + number - 1)
        previous = "" if fence else line
    return found


def skipped_headings(doc: ParsedDoc) -> list[SiteError]:
    """The page title is the h1, so the body starts at ## and goes down one level at a time."""
    headings = doc.markdown.headings
    lines = heading_lines(doc)
    if len(lines) != len(headings):
        lines = [doc.body_line] * len(headings)
    warnings = []
    previous = 1
    for heading, line in zip(headings, lines, strict=True):
        if heading.level == 1:
            message = f"heading {heading.text!r} is level 1; the title is the only h1: use ##"
            warnings.append(SiteError(doc.source.path, line, "heading", message))
        elif heading.level > previous + 1:
            message = (
                f"heading {heading.text!r} skips from level {previous} to {heading.level}: "
                f"use {'#' * (previous + 1)}"
            )
            warnings.append(SiteError(doc.source.path, line, "heading", message))
        previous = heading.level
    return warnings


def is_vague(text: str, target: str) -> str:
    """Why a link text does not say where it goes ('' when it is fine)."""
    plain = " ".join(text.lower().split()).strip(" .:!?»«\"'()")
    if plain in VAGUE_LINK_TEXTS:
        return f"link text {text!r} does not say where the link goes"
    if plain.startswith(("http://", "https://", "www.")) or (plain and plain == target.lower()):
        return f"link text is a bare URL ({text[:60]!r}): say where the link goes"
    return ""


def vague_links(doc: ParsedDoc) -> list[SiteError]:
    warnings = []
    for ref in doc.markdown.references:
        if not ref.image and (problem := is_vague(ref.text, ref.target)):
            warnings.append(SiteError(doc.source.path, doc.line_of(ref.target), "link", problem))
    related = doc.meta.get("related")
    if isinstance(related, list):
        for index, item in enumerate(related):
            if isinstance(item, dict) and isinstance(item.get("title"), str):
                problem = is_vague(item["title"], str(item.get("url", "")))
                line = doc.lines.get(("related", index, "title"), doc.start_line)
                if problem:
                    warnings.append(SiteError(doc.source.path, line, "related", problem))
    return warnings


def lead_problems(doc: ParsedDoc) -> list[SiteError]:
    if doc.source.kind not in ("case", "page"):
        return []
    lead = doc.meta.get("lead")
    line = doc.lines.get(("lead",), doc.start_line)
    if not isinstance(lead, str) or not lead.strip():
        if doc.source.kind == "page" and "lead" not in doc.meta:
            message = "no lead: write one; it is the page's description in search results"
            return [SiteError(doc.source.path, doc.start_line, "lead", message)]
        return []  # a case without a lead is already a build error
    length = len(" ".join(lead.split()))
    if length > MAX_LEAD:
        message = f"lead is {length} characters; keep it under {MAX_LEAD} (it is the teaser)"
        return [SiteError(doc.source.path, line, "lead", message)]
    return []


def placeholders(doc: ParsedDoc) -> list[SiteError]:
    """UDFYLD texts left by `sitegen new` in content that is not a draft."""
    if doc.meta.get("draft") is True:
        return []
    warnings = []
    for key, value in doc.meta.items():
        if isinstance(value, str) and PLACEHOLDER in value:
            line = doc.lines.get((key,), doc.start_line)
            warnings.append(SiteError(doc.source.path, line, key, "still has placeholder text"))
    for number, line_text in enumerate(doc.body.split("\n")):
        if PLACEHOLDER in line_text:
            warnings.append(
                SiteError(doc.source.path, doc.body_line + number, "", "still has placeholder text")
            )
    return warnings


def unlinked_cases(
    docs: list[ParsedDoc], config: Config, featured: Iterable[str] = ()
) -> list[SiteError]:
    """Published cases that no other case, page or newsletter issue links to or features.

    The generated lists (home, case list, topics) do not count: a case only they reach is
    easy to miss. Drafts are neither reported nor counted as linking.
    """
    published = [d for d in docs if d.meta.get("draft") is not True]
    cases = [d for d in published if d.source.kind == "case"]
    names: dict[str, str] = {}  # every way to name a case -> its source path
    for doc in cases:
        names["/" + doc.source.path] = doc.source.path
        slug = doc.meta.get("slug") or slugify(str(doc.meta.get("title", "")))
        if isinstance(slug, str) and slug:
            url = url_for(config.urls.case, slug)
            names[url] = names[url.rstrip("/")] = doc.source.path
            names[config.href(url)] = doc.source.path
    linked: set[str] = set(featured)
    for doc in published:
        for target in _link_targets(doc):
            found = names.get(target) or names.get(target.rstrip("/") + "/")
            if found and found != doc.source.path:
                linked.add(found)
    return [
        SiteError(
            doc.source.path,
            doc.lines.get(("title",), doc.start_line),
            "",
            "no other case, page or newsletter links to this case; link to it where it fits",
        )
        for doc in cases
        if doc.source.path not in linked
    ]


def _link_targets(doc: ParsedDoc) -> list[str]:
    """Site paths a document links to: body links and front matter `related` URLs."""
    targets = [ref.resolved for ref in doc.markdown.references if ref.resolved and not ref.image]
    related = doc.meta.get("related")
    if isinstance(related, list):
        for item in related:
            url = item.get("url") if isinstance(item, dict) else None
            parts = urlsplit(url) if isinstance(url, str) else None
            if parts and not parts.scheme and not parts.netloc and parts.path:
                base = "/" + posixpath.dirname(doc.source.path)
                targets.append(posixpath.normpath(posixpath.join(base, unquote(parts.path))))
    return targets
