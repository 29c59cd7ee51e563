"""Which pages the search index reads: the HTML pages with an indexed region.

Apart from search.py (Pagefind's runs: subprocess and all, ~5 ms to import) because every
build asks it of each page it renders, with search on or off.
"""

from __future__ import annotations

from collections.abc import Iterable

from sitegen.render.files import RenderedFile, StoredPage

INDEXED = b"data-pagefind-body"  # only pages with an indexed region go to Pagefind


def indexable_pages(files: Iterable[RenderedFile]) -> list[RenderedFile]:
    """The HTML pages with an indexed region (`data-pagefind-body`), in path order."""
    return sorted(
        (f for f in files if f.path.endswith(".html") and _indexed(f)),
        key=lambda f: f.path,
    )


def _indexed(page: RenderedFile) -> bool:
    """has_indexed_region, known without reading a page that comes from the build cache."""
    return page.indexed if isinstance(page, StoredPage) else has_indexed_region(page.data)


def has_indexed_region(html: bytes) -> bool:
    """Whether a tag of the page has the `data-pagefind-body` attribute. The words in a page's
    text do not count: Pagefind reads the whole of every page when none of the pages it is
    given has the attribute, so a small run must not get such a page."""
    start = 0
    while (at := html.find(INDEXED, start)) != -1:
        start = at + len(INDEXED)
        if (
            html[at - 1 : at].isspace()
            and html[start : start + 1] in (b"=", b">", b"/", b" ", b"\t", b"\n", b"\r")
            and html.rfind(b"<", 0, at) > html.rfind(b">", 0, at)
        ):
            return True
    return False
