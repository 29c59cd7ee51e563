"""The dev server's site: the last good build in memory, a build counter and the current errors.

Socket-free, so the whole live-reload cycle (rebuild, count, wait for a change) is testable
without a server. Every build while serving goes through `DevSite.rebuild()`.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from sitegen.build.cache import BuildCache
from sitegen.build.memo import update_search
from sitegen.build.pipeline import BuildResult, build_files
from sitegen.config import BuildOptions, Config
from sitegen.errors import BuildError, SiteError
from sitegen.render.files import RenderedFile
from sitegen.render.search import SEARCH_DIR
from sitegen.serve.indexing import BackgroundIndex, IndexOutcome, Update


@dataclass(frozen=True)
class Snapshot:
    """What the live-reload endpoint reports.

    `epoch` counts rebuild attempts (good or failed), `build` counts good builds only.
    """

    epoch: int
    build: int
    errors: tuple[str, ...]


@dataclass(frozen=True)
class RebuildOutcome:
    ok: bool
    seconds: float
    files: int
    errors: tuple[SiteError, ...]


class DevSite:
    """The files of the last good build, by path inside output/, and the state of the latest.

    A good build's pages replace the old ones at once; its search index follows from a
    background thread (`index`), and until it is ready the previous index is served.
    """

    def __init__(
        self,
        root: Path,
        options: BuildOptions,
        report_index: Callable[[IndexOutcome], None] | None = None,
        update_index: Update = update_search,
    ) -> None:
        self.root = root
        self.options = options
        self._files: dict[str, bytes] = {}
        self._last_index: set[str] = set()  # the paths of the index published last
        self._config: Config | None = None
        self._epoch = 0
        self._build = 0
        self._errors: tuple[SiteError, ...] = ()
        self._closing = False
        self._changed = threading.Condition()
        self._building = threading.Lock()
        self._cache = BuildCache.in_memory()
        self._last_request = 0.0
        self.index = BackgroundIndex(
            self._publish_index, report_index, update_index, lambda: self._last_request
        )

    def note_request(self) -> None:
        """A request began or ended (the search index waits for a quiet moment)."""
        self._last_request = time.monotonic()

    def rebuild(self) -> RebuildOutcome:
        """Build into memory; on success the new files replace the old, else the old stay."""
        with self._building:
            started = time.monotonic()
            indexed = False
            try:
                result = self._build_files()
            except BuildError as error:
                outcome = RebuildOutcome(False, time.monotonic() - started, 0, tuple(error.errors))
            except Exception as error:  # a file vanished mid-build, or worse: keep serving
                outcome = RebuildOutcome(False, time.monotonic() - started, 0, (self._why(error),))
            else:
                files = {item.path: item.data for item in result.files}
                outcome = RebuildOutcome(True, time.monotonic() - started, len(files), ())
                indexed = result.site.config.search.enabled
            with self._changed:
                self._epoch += 1
                self._errors = outcome.errors
                if outcome.ok:
                    if indexed:  # the previous index, until this build's is made
                        files.update(self._index_files())
                    self._files = files
                    self._config = result.site.config
                    self._build += 1
                build = self._build
                self._changed.notify_all()
            if outcome.ok and indexed:
                self.note_request()  # open pages are told now: let their reload come first
                self.index.queue(build, result.files, result.site.config.site.language)
            return outcome

    def _index_files(self) -> dict[str, bytes]:
        """The search index files being served (call with the lock held)."""
        prefix = f"{SEARCH_DIR}/"
        return {path: data for path, data in self._files.items() if path.startswith(prefix)}

    def _publish_index(self, build: int, index: list[RenderedFile]) -> None:
        """Serve `index`, the search index of good build `build`, unless a newer build came
        since (its own index is queued)."""
        with self._changed:
            if build != self._build or self._closing:
                return
            files = dict(self._files)
            # The index files are named by their content, so the previous index's stay
            # served beside the new one: a search that began on the previous index (its
            # pagefind-entry.json already read) still finds its chunks. Older ones go.
            new = {item.path for item in index}
            for path in self._index_files():
                if path not in new and path not in self._last_index:
                    del files[path]
            files.update((item.path, item.data) for item in index)
            self._files, self._last_index = files, new

    def _why(self, error: Exception) -> SiteError:
        if isinstance(error, OSError) and error.filename:
            path = Path(os.fsdecode(error.filename))
            shown = (
                path.relative_to(self.root).as_posix() if path.is_relative_to(self.root) else path
            )
            return SiteError(str(shown), 0, "", f"could not read the file: {error.strerror}")
        return SiteError("sitegen", 0, "", f"the build failed: {type(error).__name__}: {error}")

    def _build_files(self) -> BuildResult:
        # The one place the dev server builds: an in-memory cache makes a rebuild after an
        # edit parse only the changed files and render only the pages whose inputs changed.
        # The search index is left to `self.index`, so the pages are shown before it is made.
        return build_files(self.root, self.options, cache=self._cache, search=False)

    def file(self, path: str) -> bytes | None:
        """The bytes of `path` (inside output/) in the last good build."""
        with self._changed:
            return self._files.get(path)

    def lookup(self, path: str) -> tuple[bytes | None, int]:
        """The bytes of `path` and the number of the good build they belong to."""
        with self._changed:
            return self._files.get(path), self._build

    def files_under(self, folder: str) -> dict[str, bytes]:
        """Every file of the last good build inside `folder` (such as the search index)."""
        with self._changed:
            prefix = folder.rstrip("/") + "/"
            return {path: data for path, data in self._files.items() if path.startswith(prefix)}

    def has_directory(self, path: str) -> bool:
        """Whether `path/index.html` exists, so `path` should redirect to `path/`."""
        return self.file(path.rstrip("/") + "/index.html") is not None

    @property
    def config(self) -> Config | None:
        """The configuration of the last good build (None before the first one)."""
        with self._changed:
            return self._config

    def snapshot(self) -> Snapshot:
        with self._changed:
            return Snapshot(self._epoch, self._build, tuple(str(e) for e in self._errors))

    def wait_for_change(self, epoch: int, timeout: float) -> Snapshot:
        """Block until a rebuild after `epoch` happened (or timeout, or close); the state then."""
        deadline = time.monotonic() + timeout
        with self._changed:
            while self._epoch == epoch and not self._closing:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    break
                self._changed.wait(remaining)
        return self.snapshot()

    def close(self) -> None:
        """Release every waiting long poll, so that the server can stop at once."""
        with self._changed:
            self._closing = True
            self._changed.notify_all()
