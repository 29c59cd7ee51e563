"""Markdown to HTML through Python-Markdown, with Danish heading ids and content links.

Links to other Markdown files (`[se også](anden-case.md)`) are left as
`sitegen:<source path>` placeholders; the model stage turns them into URLs,
so parsing one file never needs to know the others.
"""

from __future__ import annotations

import functools
import html as htmllib
import importlib
import posixpath
import re
import xml.etree.ElementTree as etree
from dataclasses import dataclass, field
from html.parser import HTMLParser
from typing import Any
from urllib.parse import unquote, urlsplit

from markdown import Extension, Markdown
from markdown.treeprocessors import Treeprocessor
from markdown.util import AMP_SUBSTITUTE

from sitegen.content.markdown_features import ALL_FEATURES, EXTENSIONS, PATTERNS, features_of
from sitegen.content.slugs import unique_slug
from sitegen.content.typography import DanishTypography

PLACEHOLDER_SCHEME = "sitegen"  # internal links wait as `sitegen:/content/...` until the model
PLACEHOLDER = f"{PLACEHOLDER_SCHEME}:"
# Starts with a literal, so the regex engine scans for it quickly (this runs over every body).
_PLACEHOLDER_RE = re.compile(r'="sitegen:([^"#]*)((?:#[^"]*)?)"')
_STASH = re.compile("\x02[^\x03]*\x03")
_BAD_SCHEMES = ("javascript", "data", "vbscript", "file")
_SCHEME = re.compile(r"([a-z][a-z0-9+.-]*):")
# Browsers drop leading C0 controls and spaces, and every tab and newline, before the scheme.
_LEADING_JUNK = "".join(chr(c) for c in range(0x21))
_URL_WHITESPACE = re.compile("[\t\n\r]")
# Attributes of raw HTML whose value a browser follows or loads as a URL.
_URL_ATTRIBUTES = {"href", "src", "action", "formaction", "poster", "data", "xlink:href", "cite"}

# Sanitizing for untrusted editors (`markdown.safe_html`): keeps what Markdown makes (headings
# with ids, classes, tables with their alignment classes, footnotes, links, images, code) and
# the `sitegen:` placeholders; drops scripts, event handlers, iframes, forms, styles and every
# URL scheme but http(s), mailto and tel.
_GLOBAL_ATTRIBUTES = {"id", "class", "title", "lang", "dir"}
_SCHEMES = {"http", "https", "mailto", "tel", PLACEHOLDER_SCHEME}


@functools.cache
def _allowed() -> tuple[set[str], dict[str, set[str]]]:
    """The tags and attributes sanitizing keeps (nh3 is loaded only by a site that sanitizes)."""
    import nh3

    attributes = {tag: set(names) for tag, names in nh3.ALLOWED_ATTRIBUTES.items()}
    attributes["*"] = _GLOBAL_ATTRIBUTES
    attributes["a"] = attributes.get("a", set()) | {"href", "hreflang"}
    attributes["img"] = attributes.get("img", set()) | {"src", "alt", "width", "height"}
    attributes["time"] = {"datetime"}
    return set(nh3.ALLOWED_TAGS) | {"section", "figure", "figcaption"}, attributes


def sanitize_html(html: str) -> str:
    """`html` with only harmless elements, attributes and URLs left."""
    import nh3

    tags, attributes = _allowed()
    return nh3.clean(
        html,
        tags=tags,
        attributes=attributes,
        url_schemes=_SCHEMES,
        link_rel=None,
        strip_comments=True,
    )


@dataclass(frozen=True)
class Heading:
    level: int
    text: str
    id: str


@dataclass(frozen=True)
class Reference:
    """A link or image in a body: where it points and whether it is an image."""

    target: str  # what the editor wrote
    resolved: str  # site-root path of the file it names ("" for external URLs)
    image: bool
    text: str
    at: str = ""  # text to look for in the body to find its line, when not `target`
    invalid: bool = False  # not a URL at all (like 'http://[x')
    unsafe: bool = False  # a scheme that runs script or smuggles content (is_unsafe_url)


@dataclass
class _Collected:
    headings: list[Heading] = field(default_factory=list)
    references: list[Reference] = field(default_factory=list)
    source_dir: str = ""


# Table cells' column alignment (`|--:|`), as classes the theme styles: a style attribute
# would need 'unsafe-inline' in the pages' Content-Security-Policy (`style-src 'self'`).
_ALIGNMENTS = frozenset({"left", "center", "right"})
_CELLS = frozenset({"th", "td"})


def _align_by_class(cell: etree.Element) -> None:
    """Turn a cell's `align` attribute into an `align-<left|center|right>` class."""
    align = cell.get("align", "").strip().lower()
    if align not in _ALIGNMENTS:
        return
    del cell.attrib["align"]
    classes = cell.get("class")
    cell.set("class", f"{classes} align-{align}" if classes else f"align-{align}")


class _ContentProcessor(Treeprocessor):
    """Gives headings Danish ids, aligns table cells by class and turns relative file links
    into placeholders."""

    def __init__(self, md: Markdown, collected: _Collected) -> None:
        super().__init__(md)
        self.collected = collected

    def run(self, root: etree.Element) -> None:
        taken: set[str] = set()
        for element in root.iter():
            if element.tag in ("h1", "h2", "h3", "h4", "h5", "h6"):
                text = _STASH.sub("", "".join(element.itertext())).strip()
                heading_id = element.get("id") or unique_slug(text, taken)
                element.set("id", heading_id)
                self.collected.headings.append(Heading(int(element.tag[1]), text, heading_id))
            elif element.tag == "a" and element.get("href") is not None:
                element.set("href", self._reference(element, "href", image=False))
            elif element.tag == "img" and element.get("src") is not None:
                element.set("src", self._reference(element, "src", image=True))
            elif element.tag in _CELLS and element.get("align") is not None:
                _align_by_class(element)

    def _reference(self, element: etree.Element, attribute: str, image: bool) -> str:
        target = element.get(attribute, "")
        if AMP_SUBSTITUTE in target:  # an <address@example.org> autolink, entity-obfuscated
            target = htmllib.unescape(target.replace(AMP_SUBSTITUTE, "&"))
        text = element.get("alt", "") if image else "".join(element.itertext()).strip()
        try:
            parts = urlsplit(target)
        except ValueError:
            self.collected.references.append(Reference(target, "", image, text, invalid=True))
            return target
        if is_unsafe_url(target):
            self.collected.references.append(Reference(target, "", image, text, unsafe=True))
            return "#"
        resolved = ""
        rewritten = target
        if not parts.scheme and not parts.netloc and parts.path:
            path = unquote(parts.path)
            joined = path if path.startswith("/") else f"{self.collected.source_dir}/{path}"
            resolved = posixpath.normpath(joined) + ("/" if path.endswith("/") else "")
            resolved = resolved.replace("//", "/")
            fragment = f"#{parts.fragment}" if parts.fragment else ""
            rewritten = f"{PLACEHOLDER}{resolved}{fragment}"
        self.collected.references.append(Reference(target, resolved, image, text))
        return rewritten


class _ContentExtension(Extension):
    def __init__(self, collected: _Collected) -> None:
        super().__init__()
        self.collected = collected

    def extendMarkdown(self, md: Markdown) -> None:
        md.treeprocessors.register(_ContentProcessor(md, self.collected), "sitegen_content", 4)


class RenderedMarkdown:
    """A body's HTML, with the headings and the links and images found in it.

    The parse cache holds one for every source and a build unpickles them all, yet reads the
    HTML and headings of only the few pages it renders: pickled, the HTML is UTF-8 bytes and
    the headings plain tuples, decoded and made into objects when first read.
    """

    __slots__ = ("_headings", "_html", "references")

    def __init__(
        self,
        html: str | bytes,
        headings: tuple[Heading, ...] | tuple[tuple[int, str, str], ...],
        references: tuple[Reference, ...],
    ) -> None:
        self._html = html
        self._headings = headings
        self.references = references

    # Read once into a local: another thread may decode the same object meanwhile.
    @property
    def html(self) -> str:
        html = self._html
        if isinstance(html, bytes):
            html = self._html = html.decode("utf-8")
        return html

    @property
    def headings(self) -> tuple[Heading, ...]:
        headings = self._headings
        if headings and not isinstance(headings[0], Heading):
            headings = self._headings = tuple(Heading(*row) for row in headings)
        return headings  # type: ignore[return-value]

    def __reduce__(self) -> tuple[type[RenderedMarkdown], tuple[Any, ...]]:
        html = self._html if isinstance(self._html, bytes) else self._html.encode("utf-8")
        rows = tuple(
            (h.level, h.text, h.id) if isinstance(h, Heading) else h for h in self._headings
        )
        return RenderedMarkdown, (html, rows, self.references)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, RenderedMarkdown):
            return NotImplemented
        return (self.html, self.headings, self.references) == (
            other.html,
            other.headings,
            other.references,
        )

    def __hash__(self) -> int:
        return hash((self.html, self.headings, self.references))

    def __repr__(self) -> str:
        return f"RenderedMarkdown({self.html!r}, {self.headings!r}, {self.references!r})"


class _RawUrlFinder(HTMLParser):
    """Collects the URLs in raw HTML that an editor wrote into a Markdown body."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.found: list[Reference] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        written = self.get_starttag_text() or ""
        for name, value in attrs:
            if name in _URL_ATTRIBUTES and value and is_unsafe_url(value):
                self.found.append(Reference(value, "", tag == "img", "", at=written, unsafe=True))

    handle_startendtag = handle_starttag


def _unsafe_raw_urls(blocks: list[str]) -> list[Reference]:
    finder = _RawUrlFinder()
    for block in blocks:
        finder.feed(block)
    finder.close()
    return finder.found


class MarkdownRenderer:
    """Python-Markdown instances, reset between documents.

    Each body is converted by an instance with only the extensions and inline patterns
    its text could use (`features_of`); the output is the same as with all of them.
    `select_features=False` always uses all of them. With `safe_html`, the HTML is
    sanitized (nh3) after rendering: raw HTML from untrusted editors keeps its
    structure but loses scripts, event handlers and styles.
    """

    def __init__(self, safe_html: bool = False, select_features: bool = True) -> None:
        self.safe_html = safe_html
        self.select_features = select_features
        self._collected = _Collected()
        self._instances: dict[frozenset[str], Markdown] = {}

    def render(self, text: str, source_path: str) -> RenderedMarkdown:
        """HTML of a Markdown body; `source_path` (site-root relative) anchors relative links."""
        self._collected.headings.clear()
        self._collected.references.clear()
        self._collected.source_dir = "/" + posixpath.dirname(source_path)
        md = self._instance_for(text)
        md.reset()
        html = md.convert(text)
        references = self._collected.references
        references += _unsafe_raw_urls([str(block) for block in md.htmlStash.rawHtmlBlocks])
        if self.safe_html:
            html = sanitize_html(html)
        return RenderedMarkdown(html, tuple(self._collected.headings), tuple(references))

    def _instance_for(self, text: str) -> Markdown:
        features = features_of(text) if self.select_features else ALL_FEATURES
        md = self._instances.get(features)
        if md is None:
            md = self._instances[features] = _markdown_with(features, self._collected)
        return md


# Extensions by module and class: naming them as strings would make Python-Markdown scan
# every installed package's entry points for each instance (tens of milliseconds).
_EXTENSION_CLASSES = {
    "tables": ("tables", "TableExtension"),
    "footnotes": ("footnotes", "FootnoteExtension"),
    "attr_list": ("attr_list", "AttrListExtension"),
    "def_list": ("def_list", "DefListExtension"),
    "fenced_code": ("fenced_code", "FencedCodeExtension"),
    "abbr": ("abbr", "AbbrExtension"),
    "md_in_html": ("md_in_html", "MarkdownInHtmlExtension"),
}
_EXTENSION_SETTINGS: dict[str, dict[str, str | bool]] = {
    # `align="right"` rather than `style="text-align: right;"`; _ContentProcessor makes a class.
    "tables": {"use_align_attribute": True},
    "footnotes": {
        "BACKLINK_TITLE": "Tilbage til fodnote %d i teksten",
        "SUPERSCRIPT_TEXT": "{}",
    },
}


def _extension(name: str) -> Extension:
    """A standard extension, its module imported only when a document needs it."""
    module, class_name = _EXTENSION_CLASSES[name]
    kind = getattr(importlib.import_module(f"markdown.extensions.{module}"), class_name)
    extension: Extension = kind(**_EXTENSION_SETTINGS.get(name, {}))
    return extension


def _markdown_with(features: frozenset[str], collected: _Collected) -> Markdown:
    """A Markdown instance with the extensions and inline patterns in `features` only."""
    md = Markdown(
        extensions=[
            *(_extension(name) for name in EXTENSIONS if name in features),
            DanishTypography(),
            _ContentExtension(collected),
        ],
        output_format="html",
    )
    for name in PATTERNS:
        if name not in features and name in md.inlinePatterns:
            md.inlinePatterns.deregister(name)
    return md


def url_scheme(url: str) -> str:
    """The scheme a browser would see in `url`, after entities, controls and case."""
    text = _URL_WHITESPACE.sub("", htmllib.unescape(url).lstrip(_LEADING_JUNK)).lower()
    match = _SCHEME.match(text)
    return match.group(1) if match else ""


def is_unsafe_url(url: str) -> bool:
    """URLs that would run script or smuggle content: javascript:, data: and the like."""
    return url_scheme(url) in _BAD_SCHEMES


def replace_placeholders(html: str, url_of: dict[str, str]) -> str:
    """Swap `sitegen:<path>` placeholders for the URLs in `url_of` (path -> URL)."""

    def swap(match: re.Match[str]) -> str:
        before = html[max(0, match.start() - 4) : match.start()]
        if not (before == "href" or before.endswith("src")):
            return match.group(0)
        url = url_of.get(match.group(1), match.group(1))
        return f'="{url}{match.group(2)}"'

    if PLACEHOLDER not in html:
        return html
    return _PLACEHOLDER_RE.sub(swap, html)
