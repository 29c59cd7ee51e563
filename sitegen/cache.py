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
from pathlib import Path
from typing import Any

from sitegen.digest import code_version

CACHE_DIR = ".sitegen-cache"
FORMAT = 1
_KEEP_VERSIONS = 2  # folders of other versions kept; older ones are removed


class BuildCache:
    """Memoized step results: `namespace/key -> value`, in memory and (optionally) on disk."""

    def __init__(self, folder: Path | None) -> None:
        self.root = folder
        self.folder = folder / f"v{FORMAT}-{code_version()[:16]}" if folder else None
        self._memory: dict[tuple[str, bytes], Any] = {}
        self._pruned = False

    @classmethod
    def for_site(cls, root: Path) -> BuildCache:
        return cls(root / CACHE_DIR)

    @classmethod
    def in_memory(cls) -> BuildCache:
        """A cache that lives as long as the object: for a server rebuilding in one process."""
        return cls(None)

    def get(self, namespace: str, key: bytes) -> Any | None:
        """The stored value, or None when it is missing or cannot be read."""
        found = self._memory.get((namespace, key))
        if found is not None or self.folder is None:
            return found
        value = self._read(self._path(namespace, key))
        if value is not None:
            self._memory[(namespace, key)] = value
        return value

    def put(self, namespace: str, key: bytes, value: Any) -> None:
        self._memory[(namespace, key)] = value
        if self.folder is not None:
            self._write(self._path(namespace, key), value)

    def forget(self, namespace: str, keep: set[bytes]) -> None:
        """Drop in-memory entries of `namespace` not in `keep`, so a long session stays small."""
        for entry in [e for e in self._memory if e[0] == namespace and e[1] not in keep]:
            del self._memory[entry]

    def load_record(self, name: str) -> Any | None:
        """A named record (such as the output manifest); None when missing or damaged."""
        if self.folder is None:
            return self._memory.get(("record", name.encode()))
        return self._read(self.folder / "records" / name)

    def save_record(self, name: str, value: Any) -> None:
        if self.folder is None:
            self._memory[("record", name.encode())] = value
            return
        self._write(self.folder / "records" / name, value)

    def spare_folder(self, name: str) -> Path | None:
        """A folder inside the cache for a spare copy of an output tree (see write.py)."""
        return self.root / f"spare-{name}" if self.root else None

    def _path(self, namespace: str, key: bytes) -> Path:
        assert self.folder is not None
        hexkey = key.hex()
        return self.folder / namespace / hexkey[:2] / hexkey[2:]

    @staticmethod
    def _read(path: Path) -> Any | None:
        try:
            with open(path, "rb") as handle:
                return pickle.load(handle)
        except FileNotFoundError:
            return None
        except Exception:  # a damaged entry is a miss; it is rewritten by this build
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
        except OSError:
            with contextlib.suppress(OSError, UnboundLocalError):
                os.unlink(temp)

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
