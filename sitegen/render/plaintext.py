"""HTML to readable plain text for the email's text part: headings, paragraphs, lists, URLs."""

from __future__ import annotations

import re
import textwrap
from dataclasses import dataclass, field
from html.parser import HTMLParser

WIDTH = 72
_BLOCKS = {
    "p", "div", "table", "tr", "td", "th", "ul", "ol", "li", "blockquote", "pre", "dl", "dt", "dd",
    "h1", "h2", "h3", "h4", "h5", "h6", "hr", "section", "article", "header", "footer",
    "figure", "figcaption", "address", "center",
}  # fmt: skip
_SKIP = {"head", "style", "script", "title", "template"}
_VOID = {"br", "img", "hr", "meta", "link", "input", "col", "area", "base", "source", "wbr"}
_HIDDEN = re.compile(r"display\s*:\s*none", re.IGNORECASE)


@dataclass
class _Block:
    kind: str  # "p", "h1".."h6", "li", "pre", "hr"
    prefix: str = ""  # list marker or quote marks
    indent: int = 0
    text: list[str] = field(default_factory=list)


class _TextParser(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.blocks: list[_Block] = []
        self.current = _Block("p")
        self.stack: list[str] = []
        self.hidden_depth = 0  # inside elements that are not shown (skipped)
        self.lists: list[list[int]] = []  # per open list: [next number] or [] for bullets
        self.quote = 0
        self.links: list[tuple[str | None, int]] = []  # open links: href, start in text

    def _flush(self) -> None:
        if "".join(self.current.text).strip() or self.current.kind == "hr":
            self.blocks.append(self.current)
        self.current = _Block("p", "> " * self.quote, 2 * max(0, len(self.lists) - 1))

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = dict(attrs)
        if tag not in _VOID:
            self.stack.append(tag)
        if self.hidden_depth or tag in _SKIP or _HIDDEN.search(attributes.get("style") or ""):
            if tag not in _VOID:
                self.hidden_depth += 1
            return
        if tag == "br":
            self.current.text.append("\n")
        elif tag == "img":
            alt = (attributes.get("alt") or "").strip()
            if alt:
                self.current.text.append(f"[{alt}]")
        elif tag == "a":
            self.links.append((attributes.get("href"), len(self.current.text)))
        elif tag in _BLOCKS:
            self._flush()
            if tag == "blockquote":
                self.quote += 1
                self.current.prefix = "> " * self.quote
            elif tag in ("ul", "ol"):
                self.lists.append([1] if tag == "ol" else [])
            elif tag == "li":
                counter = self.lists[-1] if self.lists else []
                marker = f"{counter[0]}. " if counter else "- "
                if counter:
                    counter[0] += 1
                self.current = _Block("li", self.current.prefix + marker, self.current.indent)
            elif tag in ("pre", "hr") or (tag[0] == "h" and tag[1:].isdigit()):
                self.current.kind = tag

    def handle_endtag(self, tag: str) -> None:
        if tag in _VOID or tag not in self.stack:
            return
        while self.stack:
            opened = self.stack.pop()
            if self.hidden_depth:
                self.hidden_depth -= 1
            else:
                self._close(opened)
            if opened == tag:
                break

    def _close(self, tag: str) -> None:
        if tag == "a":
            href, start = self.links.pop() if self.links else (None, 0)
            label = "".join(self.current.text[start:]).strip()
            if href and not href.startswith("#"):
                url = href if "?" in href else href.removeprefix("mailto:")
                if label != url and label != href:
                    self.current.text.append(f" <{url}>" if label else url)
        elif tag in _BLOCKS:
            self._flush()
            if tag == "blockquote":
                self.quote -= 1
            elif tag in ("ul", "ol") and self.lists:
                self.lists.pop()
            self.current = _Block("p", "> " * self.quote, 2 * max(0, len(self.lists) - 1))

    def handle_data(self, data: str) -> None:
        if not self.hidden_depth:
            self.current.text.append(data)


def html_to_text(html: str, width: int = WIDTH) -> str:
    """Plain text of an HTML document, wrapped at `width`; URLs are never broken."""
    parser = _TextParser()
    parser.feed(html)
    parser.close()
    parser._flush()
    out: list[str] = []
    previous = ""
    for block in parser.blocks:
        text = _format(block, width)
        if text:
            tight = block.kind == "li" and previous == "li"  # list items stay together
            out.append(("\n" if tight else "\n\n") + text if out else text)
            previous = block.kind
    return "".join(out).strip() + "\n"


def _format(block: _Block, width: int) -> str:
    raw = "".join(block.text)
    if block.kind == "hr":
        return "-" * 20
    if block.kind == "pre":
        return "\n".join("    " + line for line in raw.strip("\n").split("\n"))
    lines = [" ".join(line.split()) for line in raw.split("\n")]
    lines = [line for line in lines if line]
    if block.kind.startswith("h") and block.kind[1:].isdigit():
        title = " ".join(lines)
        underline = "=" if block.kind in ("h1", "h2") else "-"
        return f"{title}\n{underline * min(len(title), width)}"
    indent = " " * block.indent
    first = indent + block.prefix
    rest = indent + (block.prefix if block.prefix.startswith(">") else " " * len(block.prefix))
    wrapped: list[str] = []
    for number, line in enumerate(lines):
        wrapped.extend(
            textwrap.wrap(
                line,
                width=width,
                initial_indent=first if number == 0 else rest,
                subsequent_indent=rest,
                break_long_words=False,
                break_on_hyphens=False,
            )
        )
    return "\n".join(wrapped)
