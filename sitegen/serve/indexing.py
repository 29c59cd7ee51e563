"""The dev server's search index: made after the pages are shown, in a thread of its own.

A save shows its pages as soon as they are rendered; the search index follows when Pagefind has
patched it, and until then the previous index is served. One update runs at a time, on the
latest good build: a build queued while an update runs replaces any queued before it, so a
burst of saves indexes only the last.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from sitegen.build.memo import search_error, update_search
from sitegen.errors import SiteError
from sitegen.render.files import RenderedFile
from sitegen.render.search import SearchIndexError
from sitegen.render.search_patch import SearchState

Update = Callable[[SearchState | None, list[RenderedFile], str], SearchState]

QUIET = 0.03  # an update starts once the server has answered no request for this long...
HEAD_START = 0.15  # ...or this long after it was queued: the reloading pages go first (the
# update would hold the interpreter while they are served: a save showed 0.07 s later)


@dataclass(frozen=True)
class IndexOutcome:
    """One update of the index: for which build, how long it took, what went wrong."""

    build: int
    seconds: float
    indexed: int  # pages Pagefind read (0: no indexed page changed)
    error: SiteError | None = None


class BackgroundIndex:
    """Keeps the search index of the latest good build, updated in a background thread.

    `publish(build, files)` receives each new index; `report(outcome)` hears of every update.
    """

    def __init__(
        self,
        publish: Callable[[int, list[RenderedFile]], None],
        report: Callable[[IndexOutcome], None] | None = None,
        update: Update = update_search,
        last_request: Callable[[], float] | None = None,
    ) -> None:
        """`last_request`: when (time.monotonic()) the server last began or ended a request;
        an update waits for the server to go quiet (the pages of a save being reloaded)."""
        self._publish, self._report, self._update = publish, report, update
        self._last_request = last_request
        self._state: SearchState | None = None  # used by the worker thread only
        self._queued: tuple[int, list[RenderedFile], str] | None = None
        self._running = False
        self._idle = threading.Condition()

    def queue(self, build: int, files: list[RenderedFile], language: str) -> None:
        """Index `files` (good build number `build`) as soon as the running update is done."""
        with self._idle:
            self._queued = (build, files, language)
            if not self._running:
                self._running = True
                threading.Thread(target=self._work, name="search-index", daemon=True).start()

    def wait(self, timeout: float) -> bool:
        """Wait until no update runs or is queued; whether that happened within `timeout`."""
        deadline = time.monotonic() + timeout
        with self._idle:
            while self._running:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return False
                self._idle.wait(remaining)
        return True

    def _wait_for_quiet(
        self,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if self._last_request is None:
            return
        deadline = clock() + HEAD_START
        while (now := clock()) < deadline:
            quiet_for = now - self._last_request()
            if quiet_for >= QUIET:
                return
            sleep(max(0.001, min(QUIET - quiet_for, deadline - now)))

    def _work(self) -> None:
        while True:
            with self._idle:
                job, self._queued = self._queued, None
                if job is None:
                    self._running = False
                    self._idle.notify_all()
                    return
            build, files, language = job
            self._wait_for_quiet()
            started = time.monotonic()
            try:
                self._state = self._update(self._state, files, language)
            except (SearchIndexError, OSError) as exc:
                outcome = IndexOutcome(build, time.monotonic() - started, 0, search_error(exc))
            except Exception as exc:  # keep serving the pages, and keep indexing later builds
                error = SiteError("sitegen", 0, "search", f"{type(exc).__name__}: {exc}")
                outcome = IndexOutcome(build, time.monotonic() - started, 0, error)
            else:
                self._publish(build, self._state.files)
                outcome = IndexOutcome(build, time.monotonic() - started, self._state.indexed)
            if self._report:
                self._report(outcome)
