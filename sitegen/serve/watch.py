"""Watch the site's sources with watchdog and turn a burst of saves into one rebuild."""

from __future__ import annotations

import contextlib
import os
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

from watchdog.events import (
    DirCreatedEvent,
    DirDeletedEvent,
    DirMovedEvent,
    FileCreatedEvent,
    FileDeletedEvent,
    FileModifiedEvent,
    FileMovedEvent,
    FileSystemEvent,
    FileSystemEventHandler,
)
from watchdog.observers import Observer
from watchdog.observers.api import BaseObserver, ObservedWatch
from watchdog.observers.polling import PollingObserver

from sitegen.config import CONFIG_FILE, SOURCE_FOLDERS, load_config
from sitegen.content.load import is_editor_litter
from sitegen.errors import ErrorList

# Only changes of content matter; opened/closed events fire whenever a build reads a file.
CHANGE_EVENTS: list[type[FileSystemEvent]] = [
    FileCreatedEvent,
    FileModifiedEvent,
    FileDeletedEvent,
    FileMovedEvent,
    DirCreatedEvent,
    DirDeletedEvent,
    DirMovedEvent,
]
WATCHED_FOLDERS = SOURCE_FOLDERS


class SourceFilter:
    """Which paths belong to the site's sources: sitegen.toml and the watched folders."""

    def __init__(self, root: Path) -> None:
        self.root = root.absolute()
        self.folders = source_folders(self.root)

    def refresh(self) -> None:
        """Re-read sitegen.toml: its `paths` may have moved a folder."""
        self.folders = source_folders(self.root)

    def matters(self, path: str) -> bool:
        absolute = Path(os.path.abspath(path))
        if absolute == self.root / CONFIG_FILE:
            return True
        for folder in self.folders:
            if absolute == folder or absolute.is_relative_to(folder):
                parts = absolute.relative_to(self.root).parts
                return not any(is_editor_litter(part) for part in parts)
        return False


def source_folders(root: Path) -> tuple[Path, ...]:
    config = load_config(root, ErrorList())  # a broken sitegen.toml falls back to defaults
    return tuple(config.path(name).absolute() for name in WATCHED_FOLDERS)


class Debouncer:
    """Collects changed paths and calls `action` once the saves have been quiet for `delay`.

    A burst that never goes quiet is still built every `longest` seconds. `action` runs on
    the debouncer's own thread, one call at a time; changes during a call make another call.
    """

    def __init__(
        self, action: Callable[[list[str]], None], delay: float = 0.025, longest: float = 2.0
    ) -> None:
        self.action = action
        self.delay = delay
        self.longest = longest
        self._pending: dict[str, None] = {}
        self._first = 0.0
        self._last = 0.0
        self._stopping = False
        self._wake = threading.Condition()
        self._thread = threading.Thread(target=self._run, name="sitegen-rebuild", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def add(self, path: str, now: float | None = None) -> None:
        with self._wake:
            now = time.monotonic() if now is None else now
            if not self._pending:
                self._first = now
            self._pending[path] = None
            self._last = now
            self._wake.notify_all()

    def due(self, now: float) -> bool:
        """Whether the pending changes should be built at time `now`."""
        if not self._pending:
            return False
        return now - self._last >= self.delay or now - self._first >= self.longest

    def take(self) -> list[str]:
        with self._wake:
            paths, self._pending = list(self._pending), {}
            return paths

    def stop(self) -> None:
        with self._wake:
            self._stopping = True
            self._wake.notify_all()
        if self._thread.is_alive():
            self._thread.join()

    def _run(self) -> None:
        while True:
            with self._wake:
                while not self._stopping and not self.due(time.monotonic()):
                    if self._pending:
                        wait = (
                            min(self._last + self.delay, self._first + self.longest)
                            - time.monotonic()
                        )
                        self._wake.wait(max(wait, 0.001))
                    else:
                        self._wake.wait()
                if self._stopping:
                    return
            try:
                self.action(self.take())
            except Exception as error:  # the watcher must outlive any one rebuild
                print(f"sitegen: rebuild failed: {type(error).__name__}: {error}", file=sys.stderr)


class ChangeHandler(FileSystemEventHandler):
    """Feeds the debouncer with the source paths an event touches."""

    def __init__(self, sources: SourceFilter, debouncer: Debouncer) -> None:
        self.sources = sources
        self.debouncer = debouncer

    def on_any_event(self, event: FileSystemEvent) -> None:
        if not isinstance(event, tuple(CHANGE_EVENTS)):
            return
        paths = [event.src_path, getattr(event, "dest_path", "")]
        for raw in paths:
            path = os.fsdecode(raw)
            if path and self.sources.matters(path):
                self.debouncer.add(path)


class SourceWatcher:
    """A watchdog observer on the site root and its source folders.

    inotify where the system has it; polling when forced or when inotify fails (for
    example when the system's limit of watches is used up).
    """

    def __init__(self, root: Path, handler: ChangeHandler, poll: bool = False) -> None:
        self.root = root.absolute()
        self.handler = handler
        self.polling = poll
        self.observer: BaseObserver = PollingObserver(timeout=0.5) if poll else Observer()
        self._watches: dict[Path, ObservedWatch] = {}

    def start(self) -> None:
        try:
            self._schedule()
            self.observer.start()
        except OSError as error:
            if self.polling:
                raise
            print(
                f"sitegen: cannot watch with inotify ({error.strerror or error}); polling instead",
                file=sys.stderr,
            )
            with contextlib.suppress(Exception):
                self.observer.stop()
            self.polling = True
            self.observer = PollingObserver(timeout=0.5)
            self._watches = {}
            self._schedule()
            self.observer.start()

    def refresh(self) -> None:
        """Watch folders that appeared or moved since the last call (after each rebuild)."""
        self.handler.sources.refresh()
        with contextlib.suppress(OSError):
            self._schedule()

    def _schedule(self) -> None:
        wanted = {self.root: False} | {
            folder: True for folder in self.handler.sources.folders if folder.is_dir()
        }
        for folder in [f for f in self._watches if f not in wanted]:
            self.observer.unschedule(self._watches.pop(folder))
        for folder, recursive in wanted.items():
            if folder not in self._watches:
                self._watches[folder] = self.observer.schedule(
                    self.handler, str(folder), recursive=recursive, event_filter=CHANGE_EVENTS
                )

    def stop(self) -> None:
        self.observer.stop()
        if self.observer.is_alive():
            self.observer.join()
