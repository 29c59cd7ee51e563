"""Search: a Pagefind index of the rendered pages, made in memory before the write stage.

Indexing is a pure step over the rendered HTML: it takes the site's RenderedFile list and returns
Pagefind's bundle (index, fragments, wasm, pagefind.js) as more RenderedFile objects under
`pagefind/`, so output/ is still swapped in whole; search_patch.py keeps one index up to date
from build to build by running Pagefind over the changed pages only. Only pages marked
`data-pagefind-body` (case and content pages) are indexed.

It runs the Pagefind binary from the `pagefind[bin]` wheel over a private copy of the pages:
the command line uses every core, while the service mode behind Pagefind's Python API answers
one page at a time (and its async client polls its pipe only every 0.1 s).
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import subprocess
import tempfile
from collections.abc import Callable, Iterable
from pathlib import Path
from time import time

from sitegen.errors import SiteError
from sitegen.render.files import RenderedFile
from sitegen.render.indexed import indexable_pages
from sitegen.render.search_stable import stable_bundle

SEARCH_DIR = "pagefind"
SHARED_MEMORY = "/dev/shm"
SCRATCH_PREFIX = "sitegen-search-"
CHUNK_SIZE_VARIABLE = "PAGEFIND_UNSTABLE_INDEX_CHUNK_SIZE"  # Pagefind reads it (options.rs)
DEFAULT_CHUNK_SIZE = 20_000  # Pagefind's default index_chunk_size
# Bundle files the site does not use (other UIs, the playground).
UNUSED = (
    "pagefind-component-ui.",
    "pagefind-modular-ui.",
    "pagefind-ui.",
    "pagefind-highlight.js",
    "playground/",
)


class SearchIndexError(Exception):
    """Pagefind failed or is missing; carries a SiteError for the build's error list."""

    def __init__(self, error: SiteError) -> None:
        super().__init__(str(error))
        self.error = error


def chunk_size() -> int:
    """The size at which Pagefind ends a chunk of its word index: its default, or what the
    environment tells it (as Pagefind reads the variable: a whole number, else the default)."""
    value = os.environ.get(CHUNK_SIZE_VARIABLE, "").strip()
    return int(value) if value.isascii() and value.isdigit() else DEFAULT_CHUNK_SIZE


def pagefind_executable() -> Path:
    """The Pagefind binary: PAGEFIND_BINARY_PATH, else the one in the pagefind_bin_extended or
    pagefind_bin wheel, else one on PATH (the order of pagefind.service.get_executable, found
    without importing the wheels' modules: pagefind.service alone takes 15 ms to import)."""
    named = os.environ.get("PAGEFIND_BINARY_PATH")
    if named is not None:
        return Path(named)
    for package in ("pagefind_bin_extended", "pagefind_bin"):
        spec = importlib.util.find_spec(package)
        for folder in (spec.submodule_search_locations or []) if spec else []:
            for name in ("pagefind_extended", "pagefind"):
                if (candidate := Path(folder, name)).is_file():
                    return candidate
    found = shutil.which("pagefind_extended") or shutil.which("pagefind")
    if found is None:
        raise SearchIndexError(
            SiteError(
                "", 0, "search", "the Pagefind binary is missing: pip install 'pagefind[bin]'"
            )
        )
    return Path(found)


def search_index(files: Iterable[RenderedFile], language: str) -> list[RenderedFile]:
    """Pagefind's files for the indexable HTML pages among `files`, in path order.

    URLs are written without the site's base path: pagefind.js prefixes the folder it is
    served from, so one index works at the root and under a sub-path.
    """
    pages = indexable_pages(files)
    if not pages:  # nothing to index yet (a new site with drafts only): no bundle
        return []
    return stable_bundle(pagefind_run(pages, language), SEARCH_DIR)


def scratch(size: int) -> str | None:
    """A folder in memory (/dev/shm) for `size` bytes of pages, where there is one with room
    to spare: writing 10,000 pages there and removing them takes a sixth of the time a disk
    does (one a killed build left behind there is removed after an hour). None: the system's
    temporary folder."""
    try:
        free = shutil.disk_usage(SHARED_MEMORY).free
        with os.scandir(SHARED_MEMORY) as entries:  # left behind by a build that was killed
            for entry in entries:
                if entry.name.startswith(SCRATCH_PREFIX) and entry.stat().st_mtime < time() - 3600:
                    shutil.rmtree(entry.path, ignore_errors=True)
    except OSError:
        return None
    return SHARED_MEMORY if free > 4 * size and os.access(SHARED_MEMORY, os.W_OK) else None


def pagefind_run(pages: list[RenderedFile], language: str) -> list[RenderedFile]:
    """Pagefind's bundle for `pages` (under SEARCH_DIR, in path order), as Pagefind wrote it.

    The pages are laid out in a private temporary folder (in memory where possible) and
    Pagefind's command line indexes them there (it uses every core; its one-request-per-page
    service mode takes about twice as long).
    """
    return PagefindRun(pages, language).finish()


class PagefindRun:
    """Pagefind started over `pages`: finish() waits for its bundle, cancel() stops it. Either
    removes the temporary folder."""

    def __init__(self, pages: list[RenderedFile], language: str) -> None:
        size = sum(len(page.data) for page in pages)
        self.folder = tempfile.mkdtemp(prefix=SCRATCH_PREFIX, dir=scratch(size))
        try:
            site, self.bundle = Path(self.folder, "site"), Path(self.folder, "bundle")
            for page in pages:
                target = site / page.path
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_bytes(page.data)
            site.mkdir(exist_ok=True)
            command = [
                str(pagefind_executable()),
                "--site",
                str(site),
                "--output-path",
                str(self.bundle),
                "--force-language",
                language,
                "--silent",
            ]
            self.process = subprocess.Popen(
                command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
            )
        except BaseException:
            shutil.rmtree(self.folder, ignore_errors=True)
            raise

    def finish(self) -> list[RenderedFile]:
        try:
            out, err = self.process.communicate()
            if self.process.returncode != 0:
                message = (err or out).strip().splitlines()
                raise SearchIndexError(
                    SiteError("", 0, "search", f"Pagefind: {message[-1] if message else 'failed'}")
                )
            return [
                RenderedFile(f"{SEARCH_DIR}/{rel}", path.read_bytes())
                for path in sorted(self.bundle.rglob("*"))
                if path.is_file()
                and not (rel := path.relative_to(self.bundle).as_posix()).startswith(UNUSED)
            ]
        finally:
            shutil.rmtree(self.folder, ignore_errors=True)

    def cancel(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
        self.process.communicate()
        shutil.rmtree(self.folder, ignore_errors=True)


class HeadStart:
    """A search_index() that has already started Pagefind over the pages a build rendered
    anew, while the build reads the search index's record: after one edit those are the
    pages the patch asks for (18 ms of Pagefind at 1,000 cases, beside ~9 ms of reading).
    Asked for other pages, it stops that run and indexes them as search_index() does.
    `pages`: indexable ones (indexable_pages), in path order."""

    def __init__(
        self,
        pages: list[RenderedFile],
        language: str,
        otherwise: Callable[[list[RenderedFile], str], list[RenderedFile]] | None = None,
    ) -> None:
        self.pages, self.language = pages, language
        self.otherwise = otherwise or search_index
        self.run: PagefindRun | None = PagefindRun(self.pages, language) if self.pages else None

    def __call__(self, files: list[RenderedFile], language: str) -> list[RenderedFile]:
        pages = indexable_pages(files)
        run, self.run = self.run, None
        if run is not None and language == self.language and _same_pages(pages, self.pages):
            return stable_bundle(run.finish(), SEARCH_DIR)
        if run is not None:
            run.cancel()
        return self.otherwise(files, language)

    def close(self) -> None:
        """Stop the run if nothing asked for it."""
        run, self.run = self.run, None
        if run is not None:
            run.cancel()


def _same_pages(pages: list[RenderedFile], others: list[RenderedFile]) -> bool:
    return len(pages) == len(others) and all(
        page.path == other.path and (page.data is other.data or page.data == other.data)
        for page, other in zip(pages, others, strict=True)
    )
