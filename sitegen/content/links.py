"""Link resolution: file references in Markdown and front matter turned into site URLs."""

from __future__ import annotations

import posixpath
from typing import Any
from urllib.parse import urlsplit

from sitegen.config import Config
from sitegen.content.markdown import is_unsafe_url
from sitegen.content.model import Body, LinkLookup
from sitegen.content.parse import ParsedDoc
from sitegen.errors import ErrorList


class LinkResolver:
    """Turns file references (Markdown links, images, front matter URLs) into site URLs."""

    def __init__(self, config: Config, url_of: dict[str, str], errors: ErrorList) -> None:
        self.config = config
        self.url_of = url_of  # "/content/cases/x.md" -> "/cases/x/"
        self.errors = errors
        self.reads: list[LinkLookup] = []  # every lookup made, in order

    def site_url(self, path: str) -> str:
        """A site path ("/cases/x/") as the href used on pages (with the base path)."""
        return self.config.href(path)

    def check_body(self, doc: ParsedDoc) -> Body:
        """The body, its internal references resolved (when its HTML is read); bad ones
        reported now."""
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
            elif ref.unsafe:
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
        return Body(doc.markdown, resolved, doc.source.path)

    def lookup(self, path: str) -> str | None:
        """The page href of a site-root path, or None when nothing is there."""
        found = self._lookup(path)
        self.reads.append((path, found))
        return found

    def take_reads(self) -> tuple[LinkLookup, ...]:
        """The lookups made since the last call, in order (the record of what made an object)."""
        taken = tuple(self.reads)
        self.reads.clear()
        return taken

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
