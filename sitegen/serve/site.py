"""The dev server's site: the last good build in memory, a build counter and the current errors.

Socket-free, so the whole live-reload cycle (rebuild, count, wait for a change) is testable
without a server. Every build while serving goes through `DevSite.rebuild()`.
"""

from __future__ import annotations

import os
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from sitegen.build.cache import BuildCache
from sitegen.build.pipeline import BuildResult, build_files
from sitegen.config import BuildOptions, Config
from sitegen.errors import BuildError, SiteError


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
    """The files of the last good build, by path inside output/, and the state of the latest."""

    def __init__(self, root: Path, options: BuildOptions) -> None:
        self.root = root
        self.options = options
        self._files: dict[str, bytes] = {}
        self._config: Config | None = None
        self._epoch = 0
        self._build = 0
        self._errors: tuple[SiteError, ...] = ()
        self._closing = False
        self._changed = threading.Condition()
        self._building = threading.Lock()
        self._cache = BuildCache.in_memory()

    def rebuild(self) -> RebuildOutcome:
        """Build into memory; on success the new files replace the old, else the old stay."""
        with self._building:
            started = time.monotonic()
            try:
                result = self._build_files()
            except BuildError as error:
                outcome = RebuildOutcome(False, time.monotonic() - started, 0, tuple(error.errors))
            except Exception as error:  # a file vanished mid-build, or worse: keep serving
                outcome = RebuildOutcome(False, time.monotonic() - started, 0, (self._why(error),))
            else:
                files = {item.path: item.data for item in result.files}
                outcome = RebuildOutcome(True, time.monotonic() - started, len(files), ())
            with self._changed:
                self._epoch += 1
                self._errors = outcome.errors
                if outcome.ok:
                    self._files = files
                    self._config = result.site.config
                    self._build += 1
                self._changed.notify_all()
            return outcome

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
        return build_files(self.root, self.options, cache=self._cache)

    def file(self, path: str) -> bytes | None:
        """The bytes of `path` (inside output/) in the last good build."""
        with self._changed:
            return self._files.get(path)

    def lookup(self, path: str) -> tuple[bytes | None, int]:
        """The bytes of `path` and the number of the good build they belong to."""
        with self._changed:
            return self._files.get(path), self._build

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
