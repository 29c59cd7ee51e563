"""Which Python-Markdown extensions and inline patterns a Markdown body could use.

Converting a body with only those gives the same bytes as converting it with all of
them, and is about twice as fast: the inline processor tries every pattern on every
text node, and most bodies have no footnotes, code, emphasis or raw HTML. A feature is
left out only when its syntax cannot occur in the text; each check says why (checked
against the Python-Markdown source, 3.11).
"""

from __future__ import annotations

import functools
import re

EXTENSIONS = ("tables", "footnotes", "attr_list", "def_list", "fenced_code", "abbr", "md_in_html")
# Inline patterns that `features_of` knows how to leave out; any other is always kept.
# em_strong2 and not_strong exist in older Python-Markdown versions only.
PATTERNS = (
    "backtick",
    "escape",
    "reference",
    "link",
    "image_link",
    "image_reference",
    "short_reference",
    "short_image_ref",
    "autolink",
    "automail",
    "linebreak",
    "html",
    "entity",
    "em_strong",
    "em_strong2",
    "not_strong",
)
ALL_FEATURES = frozenset(EXTENSIONS + PATTERNS)

_COLON_SPACE = re.compile(r":[ \t]")
# Block quote and list markers, which the parser strips before it parses their content
# again (`\d` is Unicode, as in the ordered-list pattern).
_MARKERS = re.compile(r"[ \t>*+\-\d.)]*")
# A space before a newline, found by scanning for the rarer newline.
_SPACE_BEFORE_NEWLINE = re.compile(r"\n(?<= \n)")


def as_parser_sees(text: str) -> str:
    """`text` after Python-Markdown's first step: STX and ETX dropped, CR and CRLF made LF."""
    if "\x02" in text or "\x03" in text:
        text = text.replace("\x02", "").replace("\x03", "")
    if "\r" in text:
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    return text


def features_of(text: str) -> frozenset[str]:
    """The extensions and inline patterns that could change how `text` renders."""
    text = as_parser_sees(text)
    html = "<" in text
    if html and "markdown" in text.lower():
        # md_in_html parses raw HTML content as Markdown again: use everything.
        return ALL_FEATURES
    return frozenset(_extensions(text, html) | _patterns(text, html))


def _could_contain(text: str, token: str, html: bool) -> bool:
    """Whether the parser can see `token` in `text`.

    Raw HTML can join text: after a raw block, comments, empty tags and entities on the
    same line are moved into the block, so `[<!-- -->^1]` reaches the parser as `[^1]`.
    With HTML around, all the token's characters being present is enough.
    """
    if not all(char in text for char in token):
        return False
    return html or _literal(token).search(text) is not None


@functools.cache
def _literal(token: str) -> re.Pattern[str]:
    """A pattern for `token`: searching with it is faster than `in` for a few characters."""
    return re.compile(re.escape(token))


def _extensions(text: str, html: bool) -> set[str]:
    found: set[str] = set()
    if "|" in text:  # a table needs pipes in its header and separator rows
        found.add("tables")
    if _could_contain(text, "[^", html):  # definitions and references both start so
        found.add("footnotes")
    if _could_contain(text, "```", html) or _could_contain(text, "~~~", html):
        found.add("fenced_code")
    # Attribute lists are `{...}`; fenced_code also checks whether attr_list is loaded
    # (`hl_lines="1"` on a fence becomes an attribute of the code then).
    if "{" in text or "fenced_code" in found:
        found.add("attr_list")
    if _could_contain(text, "*[", html):  # `*[HTML]: ...` at the start of a line
        found.add("abbr")
    if html:
        # Without a `markdown` attribute md_in_html still handles some raw HTML differently
        # (a start tag spanning lines ends a raw block's tail); without '<' there is none.
        found.add("md_in_html")
    if _defines_terms(text, html or "footnotes" in found):
        found.add("def_list")
    return found


def _defines_terms(text: str, anywhere: bool) -> bool:
    """Whether a line could start with `: ` once block quote and list markers are stripped.

    A raw HTML block's tail starts a block mid-line (`<div>x</div>: y` is a definition
    of the block), and so does a footnote's first line: with either, any `: ` counts.
    """
    for colon in _COLON_SPACE.finditer(text):
        if anywhere:
            return True
        line_start = text.rfind("\n", 0, colon.start()) + 1
        if _MARKERS.fullmatch(text, line_start, colon.start()):
            return True
    return False


def _patterns(text: str, html: bool) -> set[str]:
    found: set[str] = set()
    if "`" in text:
        found.add("backtick")
    if "\\" in text:
        found.add("escape")
    # Reference links change nothing unless a definition (`[id]: url`) exists.
    references = _could_contain(text, "]:", html)
    if "[" in text:
        found.add("link")
        if references:
            found.update(("reference", "short_reference"))
    if _could_contain(text, "![", html):
        found.add("image_link")
        if references:
            found.update(("image_reference", "short_image_ref"))
    if html:
        found.update(("autolink", "automail", "html"))
    if "&" in text:
        found.add("entity")
    if "*" in text or "_" in text:
        found.update(("em_strong", "em_strong2", "not_strong"))
    if _could_break_line(text, html):
        found.add("linebreak")
    return found


def _could_break_line(text: str, html: bool) -> bool:
    """Whether two spaces can end a line: tabs become spaces, and the raw-HTML step
    adds line breaks of its own (`foo\\n  <div>` gives `foo\\n  \\n`)."""
    return (
        html or "\t" in text or text.endswith(" ") or _SPACE_BEFORE_NEWLINE.search(text) is not None
    )
