"""What the render stage makes and works from: routes in, files out.

A `Route` is one output file of the site to be rendered: a destination, a template, its
context, and what the page is about (its source file, when it last changed). A
`RenderedFile` is a file of the built site as exact bytes. Neither needs Jinja2.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

Progress = Callable[[int, int], None]


@dataclass(frozen=True)
class Route:
    """One output file: `dest` is a site path ('/cases/x/' or '/404.html')."""

    dest: str
    template: str
    context: dict[str, Any] = field(default_factory=dict)
    finish: Callable[[str], bytes] | None = None  # turns rendered text into the file's bytes
    source: str | None = None  # the content file the page shows, if it is one file's page
    lastmod: dt.date | None = None  # the newest content date it shows (for the sitemap)


@dataclass(frozen=True)
class RenderedFile:
    """A file of the built site: `path` inside output/, and its exact bytes."""

    path: str
    data: bytes


def output_path(dest: str) -> str:
    """The file inside output/ for a site path: '/cases/x/' -> 'cases/x/index.html'."""
    path = dest.lstrip("/")
    return path + "index.html" if path == "" or path.endswith("/") else path


class StoredFile(RenderedFile):
    """A file of the built site whose bytes wait on disk (in the build cache) until written.

    Image copies are large: a site's worth of them is not held in memory. `digest` is the
    digest of the bytes, so writing can tell an unchanged file without reading it.
    """

    blob: Path
    digest: bytes

    def __init__(self, path: str, blob: Path, digest: bytes) -> None:
        object.__setattr__(self, "path", path)
        object.__setattr__(self, "blob", blob)
        object.__setattr__(self, "digest", digest)

    @property
    def data(self) -> bytes:
        return self.blob.read_bytes()


class StoredPage(RenderedFile):
    """A rendered page from the build cache, whose bytes are read only when needed.

    A build that changes a few pages writes only those; the others are hard-linked from the
    previous output by their `digest`, and the search index knows them by it, so their
    bytes are read only to fill an output folder afresh or to index every page anew.
    `indexed`: the page has a region the search index reads.
    """

    digest: bytes
    indexed: bool

    def __init__(self, path: str, read: Callable[[], bytes], digest: bytes, indexed: bool) -> None:
        object.__setattr__(self, "path", path)
        object.__setattr__(self, "_read", read)
        object.__setattr__(self, "digest", digest)
        object.__setattr__(self, "indexed", indexed)

    @property
    def data(self) -> bytes:
        read: Callable[[], bytes] = object.__getattribute__(self, "_read")
        return read()
