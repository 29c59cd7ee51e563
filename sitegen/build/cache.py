"""The build cache: results of pure build steps, stored by the digest of their inputs.

Lives in `.sitegen-cache/` in the site root. Everything sits under a folder named after the
cache format and `code_version()`, so another sitegen (or library) version never reads what
this one wrote. Any file may vanish or be damaged at any time: a missing or unreadable entry
is a miss, never an error, and deleting the whole folder only makes the next build slower.
"""

from __future__ import annotations

import contextlib
import functools
import os
import pickle
import shutil
import tempfile
import threading
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from sitegen.build.digest import code_version, digest_bytes

CACHE_DIR = ".sitegen-cache"
FORMAT = 1
_KEEP_VERSIONS = 2  # folders of other versions kept; older ones are removed
PAGES = "render"  # the namespace of rendered pages, whose bytes live in page files
# More page files than this (each edit adds one) and keep_pages joins them into one: a build
# holds every page file it takes pages from open.
MAX_PAGE_FILES = 16
Stat = tuple[int, int, int]  # size, mtime_ns, inode of a page file
# A page as its entry stores it: (page file, offset, length, digest, indexed, the file's stat),
# or (bytes, digest, indexed) while it is in memory only (put by this build, or no folder).
PageEntry = tuple[Any, ...]
PageRef = tuple[Callable[[], bytes], bytes, bool]  # read the bytes; their digest; indexed


class BuildCache:
    """Memoized step results: `namespace -> {key: value}`, in memory and (optionally) on disk.

    Each namespace is one pack file, read once when first used and rewritten by `keep()`
    with exactly the entries the build used: one read and one write per build instead of one
    per page, and the cache never grows beyond the current site.
    """

    def __init__(self, folder: Path | None) -> None:
        self.root = folder
        self.folder = folder / f"v{FORMAT}-{code_version()[:16]}" if folder else None
        self._packs: dict[str, dict[bytes, Any]] = {}
        self._dirty: set[str] = set()
        self._delta: dict[str, set[bytes]] = {}  # keys stored in the delta file (or to be)
        self._records: dict[str, Any] = {}
        self._digests: dict[int, tuple[bytes, bytes]] = {}  # id(bytes) -> (bytes, digest)
        self._blobs: dict[bytes, bytes] = {}  # stored bytes of an in-memory cache
        self._pruned = False
        self._writers: list[tuple[threading.Thread, list[BaseException]]] = []
        self._page_files: dict[str, _PageFile | None] = {}  # page files opened by this build
        # Compiled templates of a cache without a folder (a server's session), by Jinja's key.
        self.compiled_templates: dict[str, tuple[str, Any]] = {}

    @classmethod
    def for_site(cls, root: Path) -> BuildCache:
        return cls(root / CACHE_DIR)

    @classmethod
    def in_memory(cls) -> BuildCache:
        """A cache that lives as long as the object: for a server rebuilding in one process."""
        return cls(None)

    def _pack(self, namespace: str) -> dict[bytes, Any]:
        pack = self._packs.get(namespace)
        if pack is None:
            pack = {}
            self._delta[namespace] = set()
            if self.folder is not None:
                for suffix in ("pack", "delta"):
                    found = self._read(self.folder / f"{namespace}.{suffix}")
                    if isinstance(found, dict):
                        pack.update(found)
                        if suffix == "delta":
                            self._delta[namespace] = set(found)
            self._packs[namespace] = pack
        return pack

    def get(self, namespace: str, key: bytes) -> Any | None:
        """The stored value, or None when it is missing or could not be read."""
        return self._pack(namespace).get(key)

    def put(self, namespace: str, key: bytes, value: Any) -> None:
        self._pack(namespace)[key] = value
        self._delta.setdefault(namespace, set()).add(key)
        self._dirty.add(namespace)

    def keep(self, namespace: str, keys: Iterable[bytes]) -> None:
        """Keep only the entries of `keys` and store the namespace if anything changed.

        A few new entries go to a small delta file beside the pack, so that one edited case
        does not rewrite the whole pack; the pack is rewritten once the delta has grown.
        """
        live = self._live(namespace, keys)
        if live is not None:
            delta = self._delta_keys(namespace, live)
            self._store(namespace, live, delta, self._whole(namespace, live, delta))

    def _live(self, namespace: str, keys: Iterable[bytes]) -> dict[bytes, Any] | None:
        """The entries of `keys`, now the namespace's; None when there is nothing to store."""
        pack = self._pack(namespace)
        live = {key: pack[key] for key in keys if key in pack}
        self._packs[namespace] = live
        if self.folder is None or namespace not in self._dirty:
            return None
        self._dirty.discard(namespace)
        return live

    def _delta_keys(self, namespace: str, live: dict[bytes, Any]) -> list[bytes]:
        return [key for key in self._delta.get(namespace, set()) if key in live]

    def _whole(self, namespace: str, live: dict[bytes, Any], delta: list[bytes]) -> bool:
        """Whether to rewrite the pack rather than the delta beside it."""
        assert self.folder is not None
        return len(delta) * 8 > len(live) or not (self.folder / f"{namespace}.pack").exists()

    def _store(
        self, namespace: str, live: dict[bytes, Any], delta: list[bytes], whole: bool
    ) -> bool:
        """Write the whole pack (and drop the delta) or only the delta; False if not written."""
        assert self.folder is not None
        if not whole:
            if not self._write(self.folder / f"{namespace}.delta", {k: live[k] for k in delta}):
                return False
            self._delta[namespace] = set(delta)
            return True
        if not self._write(self.folder / f"{namespace}.pack", live):
            return False
        with contextlib.suppress(OSError):
            (self.folder / f"{namespace}.delta").unlink()
        self._delta[namespace] = set()
        return True

    def get_page(self, key: bytes) -> PageRef | None:
        """A rendered page by its key: how to read its bytes, their digest and whether the
        search index reads the page. On disk the bytes stay in their page file until read.

        The pages of a site are ~18 MB at 1,000 cases: unpickling them all on every build
        cost more than rendering the few that changed, and a build reads almost none of
        them (an unchanged page is hard-linked, not written).
        """
        entry = self.get(PAGES, key)
        if not isinstance(entry, tuple):
            return None
        if len(entry) == 3:
            data, digest, indexed = entry
            return functools.partial(bytes, data), digest, indexed
        name, offset, length, digest, indexed, stat = entry
        opened = self._page_file(name)
        if opened is None or opened.stat != stat or offset + length > stat[0]:
            return None  # gone, changed since it was written, or a damaged entry
        return functools.partial(opened.read, offset, length), digest, indexed

    def put_page(self, key: bytes, data: bytes, digest: bytes, indexed: bool) -> None:
        self.put(PAGES, key, (data, digest, indexed))

    def keep_pages(self, keys: Iterable[bytes]) -> None:
        """keep() for pages: the bytes of new pages go to a new page file, then their entries
        to the delta (or, when the whole pack is rewritten, every page to one file). Page
        files no entry names any more are removed."""
        live = self._live(PAGES, keys)
        if live is None:
            return
        assert self.folder is not None
        delta = self._delta_keys(PAGES, live)
        whole = self._whole(PAGES, live, delta) or len(_page_files(live)) >= MAX_PAGE_FILES
        moved = list(live) if whole else [key for key in delta if len(live[key]) == 3]
        stored = self._store_pages({key: live[key] for key in moved})
        if stored is None:  # no room: the next build renders these pages again
            return
        live.update(stored)
        if not self._store(PAGES, live, delta, whole):
            return  # the page files the old pack names stay
        named = _page_files(live)
        with contextlib.suppress(OSError), os.scandir(self.folder / "pages") as listing:
            for item in listing:
                if item.name not in named:
                    with contextlib.suppress(OSError):
                        os.unlink(item.path)

    def _store_pages(self, entries: dict[bytes, PageEntry]) -> dict[bytes, PageEntry] | None:
        """Write the bytes of `entries` into one new page file; their entries pointing there."""
        assert self.folder is not None
        if not entries:
            return {}
        name = os.urandom(8).hex()  # a fresh name; the secrets module would import hmac too
        path = self.folder / "pages" / name
        pieces: list[tuple[bytes, bytes, bool]] = []
        for entry in entries.values():
            if len(entry) == 3:
                pieces.append(entry)
                continue
            found = self._page_file(entry[0])
            try:
                if found is None or found.stat != entry[5]:
                    return None  # a page file went away while the build ran
                pieces.append((found.read(entry[1], entry[2]), entry[3], entry[4]))
            except OSError:
                return None
        if not self._write_bytes(path, b"".join(data for data, _digest, _indexed in pieces)):
            return None
        opened = self._page_file(name)
        if opened is None:
            return None
        stored: dict[bytes, PageEntry] = {}
        offset = 0
        for key, (data, digest, indexed) in zip(entries, pieces, strict=True):
            stored[key] = (name, offset, len(data), digest, indexed, opened.stat)
            offset += len(data)
        return stored

    def _page_file(self, name: str) -> _PageFile | None:
        """A page file, opened once per build; None if it cannot be opened."""
        if name not in self._page_files:
            assert self.folder is not None
            try:
                self._page_files[name] = _PageFile(self.folder / "pages" / name)
            except OSError:
                self._page_files[name] = None
        return self._page_files[name]

    def forget_digests(self) -> None:
        """Start a build afresh (a long-lived session must not keep old pages alive)."""
        self._digests.clear()

    def remember_digest(self, data: bytes, digest: bytes) -> None:
        """Note the digest of a bytes object this build holds (a page from the cache)."""
        self._digests[id(data)] = (data, digest)

    def digest_of(self, data: bytes) -> bytes:
        """digest_bytes(data), without hashing again a page that came from the cache."""
        known = self._digests.get(id(data))
        if known is not None and known[0] is data:
            return known[1]
        digest = digest_bytes(data)
        self._digests[id(data)] = (data, digest)
        return digest

    def blob(self, key: bytes) -> Path | bytes | None:
        """A stored file's bytes (in memory) or where they are (on disk); None if missing."""
        if self.folder is None:
            return self._blobs.get(key)
        path = self.folder / "blobs" / key.hex()
        return path if path.is_file() else None

    def store_blob(self, key: bytes, data: bytes) -> Path | bytes:
        """Keep `data` (an image copy, say) by `key`; safe to call from forked workers."""
        if self.folder is None:
            self._blobs[key] = data
            return data
        path = self.folder / "blobs" / key.hex()
        return path if self._write_bytes(path, data) else data

    def keep_blobs(self, keys: Iterable[bytes]) -> None:
        """Remove every stored blob but those of `keys` (what the current site uses)."""
        wanted = set(keys)
        if self.folder is None:
            self._blobs = {key: data for key, data in self._blobs.items() if key in wanted}
            return
        names = {key.hex() for key in wanted}
        with contextlib.suppress(OSError), os.scandir(self.folder / "blobs") as listing:
            for entry in listing:
                if entry.name not in names:
                    with contextlib.suppress(OSError):
                        os.unlink(entry.path)

    def load_record(self, name: str) -> Any | None:
        """A named record (such as the output manifest); None when missing or damaged."""
        if self.folder is not None and name not in self._records:
            # Read once per build: a record is only trusted after checking output/ against it.
            self._records[name] = self._read(self.folder / "records" / name)
        return self._records.get(name)

    def has_record(self, name: str) -> bool:
        """Whether a record of that name is there to load (without reading it)."""
        if name in self._records:
            return self._records[name] is not None
        return self.folder is not None and (self.folder / "records" / name).is_file()

    def save_record(self, name: str, value: Any, later: bool = False) -> None:
        """Keep a named record; `later`: written by a thread while the build goes on (its
        pickling is mostly copying bytes, its writing lets go of the GIL), done by `settle()`."""
        self._records[name] = value
        if self.folder is None:
            return
        path = self.folder / "records" / name
        if not later:
            self._write(path, value)
            return
        self._prune_other_versions()  # here, not in the thread
        failed: list[BaseException] = []

        def write() -> None:
            try:
                self._write(path, value)
            except BaseException as exc:  # raised again by settle(), as a direct write would
                failed.append(exc)

        writer = threading.Thread(target=write, name="record")
        writer.start()
        self._writers.append((writer, failed))

    def settle(self) -> None:
        """Wait for the records being written by `save_record(..., later=True)`; an error in
        one (other than a disk error, which only leaves the record out) is raised here."""
        writers, self._writers = self._writers, []
        for writer, failed in writers:
            writer.join()
            if failed:
                raise failed[0]

    def templates_folder(self) -> Path:
        """Where Jinja keeps compiled templates (it checks each against its source)."""
        assert self.folder is not None
        folder = self.folder / "templates"
        folder.mkdir(parents=True, exist_ok=True)
        return folder

    def spare_folder(self, name: str) -> Path | None:
        """A folder inside the cache for a spare copy of an output tree (see write.py)."""
        return self.root / f"spare-{name}" if self.root else None

    @staticmethod
    def _read(path: Path) -> Any | None:
        try:
            with open(path, "rb") as handle:
                return pickle.load(handle)
        except FileNotFoundError:
            return None
        except Exception:  # a damaged file is a miss; it is rewritten by this build
            with contextlib.suppress(OSError):
                path.unlink()
            return None

    def _write(self, path: Path, value: Any) -> bool:
        """Write atomically (temp file + rename) so a killed build leaves no half entry;
        False when it could not be written (a full disk: the old file, if any, stays)."""
        self._prune_other_versions()
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            handle, temp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
            with os.fdopen(handle, "wb") as stream:
                pickle.dump(value, stream, protocol=pickle.HIGHEST_PROTOCOL)
            os.replace(temp, path)
        except BaseException as exc:
            with contextlib.suppress(OSError, UnboundLocalError):
                os.unlink(temp)
            if not isinstance(exc, OSError):
                raise
            return False
        return True

    def _write_bytes(self, path: Path, data: bytes) -> bool:
        """Write atomically; False when it could not be written (the caller keeps the bytes)."""
        self._prune_other_versions()
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            handle, temp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
            with os.fdopen(handle, "wb") as stream:
                stream.write(data)
            os.replace(temp, path)
        except OSError:
            with contextlib.suppress(OSError, UnboundLocalError):
                os.unlink(temp)
            return False
        return True

    def _prune_other_versions(self) -> None:
        """Remove cache folders of old versions, keeping the newest few for switching back."""
        if self._pruned or self.root is None or self.folder is None:
            return
        self._pruned = True
        with contextlib.suppress(OSError):
            others = [
                p
                for p in self.root.iterdir()
                if p.is_dir() and p.name.startswith("v") and p != self.folder
            ]
            others.sort(key=lambda p: p.stat().st_mtime, reverse=True)
            for old in others[_KEEP_VERSIONS:]:
                shutil.rmtree(old, ignore_errors=True)
        with contextlib.suppress(OSError):
            self.folder.mkdir(parents=True, exist_ok=True)
            os.utime(self.folder)


def _page_files(entries: dict[bytes, PageEntry]) -> set[str]:
    """The page files that the entries (those stored in one) name."""
    return {entry[0] for entry in entries.values() if len(entry) == 6}


class _PageFile:
    """An open page file and its stat as opened. It stays readable while the build cache or a
    page from it is alive, even after keep_pages() has removed it; closed when both are gone.
    (keep_pages keeps their number small: MAX_PAGE_FILES.)"""

    __slots__ = ("fd", "path", "stat")

    def __init__(self, path: Path) -> None:
        self.path = path
        self.fd = os.open(path, os.O_RDONLY | getattr(os, "O_CLOEXEC", 0))
        info = os.fstat(self.fd)
        self.stat: Stat = (info.st_size, info.st_mtime_ns, info.st_ino)

    def read(self, offset: int, length: int) -> bytes:
        data = os.pread(self.fd, length, offset)
        if len(data) != length:
            raise OSError(f"{self.path}: the build cache's page file was cut short")
        return data

    def __del__(self) -> None:
        with contextlib.suppress(OSError, AttributeError):
            os.close(self.fd)

    def __reduce__(self) -> tuple[Any, ...]:
        raise TypeError("an open page file cannot be pickled")
