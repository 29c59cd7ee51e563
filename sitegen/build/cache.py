"""The build cache: results of pure build steps, stored by the digest of their inputs.

Lives in `.sitegen-cache/` in the site root. Everything sits under a folder named after the
cache format and `code_version()`, so another sitegen (or library) version never reads what
this one wrote. Any file may vanish or be damaged at any time: a missing or unreadable entry
is a miss, never an error, and deleting the whole folder only makes the next build slower.
"""

from __future__ import annotations

import contextlib
import os
import pickle
import shutil
import tempfile
import threading
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from sitegen.build.digest import code_version, digest_bytes

CACHE_DIR = ".sitegen-cache"
FORMAT = 1
_KEEP_VERSIONS = 2  # folders of other versions kept; older ones are removed


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
        pack = self._pack(namespace)
        live = {key: pack[key] for key in keys if key in pack}
        self._packs[namespace] = live
        if self.folder is None or namespace not in self._dirty:
            return
        self._dirty.discard(namespace)
        delta = {key: live[key] for key in self._delta.get(namespace, set()) if key in live}
        base = self.folder / f"{namespace}.pack"
        if len(delta) * 8 <= len(live) and base.exists():
            self._write(self.folder / f"{namespace}.delta", delta)
            self._delta[namespace] = set(delta)
            return
        self._write(base, live)
        with contextlib.suppress(OSError):
            (self.folder / f"{namespace}.delta").unlink()
        self._delta[namespace] = set()

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

    def _write(self, path: Path, value: Any) -> None:
        """Write atomically (temp file + rename) so a killed build leaves no half entry."""
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
