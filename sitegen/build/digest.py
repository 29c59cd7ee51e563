"""Digests of build inputs: bytes, files and in-memory values, for memoizing pure steps.

`Fingerprints` hashes plain data (dataclasses, tuples, dicts, dates, text) structurally and
remembers the digest of each dataclass instance, so a Case shown on a hundred listing pages is
hashed once per build. `code_version()` names the sitegen code and the libraries whose
behaviour shapes the output; a change to any of them gives every cache key a new value.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import enum
import functools
import hashlib
import io
import os
import pickle
import re
import sys
from collections.abc import Callable, Iterable
from pathlib import Path, PurePath
from typing import Any

DIGEST_SIZE = 20
# Libraries whose versions change what a build writes.
OUTPUT_LIBRARIES = (
    "markdown",
    "jinja2",
    "markupsafe",
    "babel",
    "PyYAML",
    "nh3",
    "css-inline",
    "pagefind",
    "pagefind-bin",
    "pillow",
)


def hasher() -> Any:
    return hashlib.blake2b(digest_size=DIGEST_SIZE)


def digest_bytes(*parts: bytes) -> bytes:
    """Digest of a sequence of byte strings; lengths are mixed in so parts cannot shift."""
    h = hasher()
    for part in parts:
        h.update(len(part).to_bytes(8, "little"))
        h.update(part)
    return bytes(h.digest())


@functools.cache
def code_version() -> str:
    """Hex digest of sitegen's own source files, Python's version and the output libraries."""
    h = hasher()
    package = Path(__file__).resolve().parent.parent  # all of sitegen/
    for path in sorted(package.rglob("*.py")):
        h.update(path.relative_to(package).as_posix().encode() + b"\0")
        h.update(path.read_bytes() + b"\0")
    h.update(sys.version.encode() + b"\0")
    for name in installed_versions():
        h.update(name.encode() + b"\0")
    return str(h.hexdigest())


def _normalize(name: str) -> str:
    return re.sub(r"[-_.]+", "_", name).lower()


def installed_versions() -> list[str]:
    """The dist-info names (which carry the versions) of the output libraries.

    Listing the folders on sys.path is much cheaper than importlib.metadata, which
    matters for a no-change rebuild that should finish in a few hundredths of a second.
    """
    wanted = {_normalize(name) for name in OUTPUT_LIBRARIES}
    found: list[str] = []
    for entry in sys.path:
        try:
            names = os.listdir(entry or ".")
        except OSError:
            continue
        for name in names:
            if name.endswith((".dist-info", ".egg-info")):
                project = _normalize(name.split("-", 1)[0])
                if project in wanted:
                    found.append(name)
    return sorted(found)


Sources = frozenset[str] | None  # the names a fingerprint depends on; None: not known


class Fingerprints:
    """Structural digests of values; dataclass instances are memoized by identity.

    Memoizing by identity is sound only while the values are alive and unchanged, so one
    instance lives for one build, over frozen data. A dataclass remembered with `sources`
    (a case, by its source file) passes them on: `traced` tells which of them a value holds
    (None where an object it could not look into might hold one).
    """

    def __init__(self) -> None:
        self._memo: dict[int, tuple[object, bytes, Sources]] = {}
        self._walking: set[str] | None = None  # the sources found by the walk going on

    def of(self, value: object) -> bytes:
        return self.traced(value)[0]

    def traced(self, value: object) -> tuple[bytes, Sources]:
        """The fingerprint of `value`, and the sources remembered with the dataclasses inside
        it, pickled or walked (None when one of them is not known)."""
        h = hasher()
        found: set[str] = set()
        sources: Sources
        try:
            h.update(b"p" + self._pickle(value, None, found))
            sources = None if _UNKNOWN in found else frozenset(found)
        except Exception:  # closures and the like cannot be pickled: walk the value instead
            h = hasher()
            sources = self._walk(lambda: self._feed(h, value))
        return bytes(h.digest()), sources

    def _walk(self, feed: Callable[[], None]) -> Sources:
        """Run `feed` (which walks a value) and return the sources of what it met."""
        outer, self._walking = self._walking, set()
        try:
            feed()
            found = self._walking
        finally:
            self._walking = outer
        return None if _UNKNOWN in found else frozenset(found)

    def _note(self, sources: Sources) -> None:
        if self._walking is not None:
            self._walking |= {_UNKNOWN} if sources is None else sources

    def remember(self, value: object, digest: bytes, sources: Iterable[str] = ()) -> None:
        """Take `digest` as the fingerprint of the dataclass `value`: the digest of what
        made it, when the maker knows that more cheaply than hashing the value."""
        self._memo[id(value)] = (value, digest, frozenset(sources))

    def _pickle(self, value: object, root: object, found: set[str] | None) -> bytes:
        """Pickle bytes of `value` with every dataclass inside it (except `root`) as its digest.

        Pickling runs in C, far quicker than walking the value, and as exact; standing in the
        digest for a nested dataclass keeps a listing of a thousand cases cheap to hash. The
        sources of the nested dataclasses go to `found` (None: not wanted).
        """
        buffer = io.BytesIO()
        _DigestPickler(buffer, self, root, found).dump(value)
        return buffer.getvalue()

    def _feed(self, h: Any, value: object) -> None:
        kind = type(value)
        if value is None or kind is bool:
            h.update(b"c" + repr(value).encode())
        elif isinstance(value, str):
            encoded = value.encode("utf-8", "surrogatepass")
            tag = b"s" if kind is str else b"S" + kind.__qualname__.encode()  # Markup differs
            h.update(tag + len(encoded).to_bytes(8, "little") + encoded)
        elif isinstance(value, bytes | bytearray):
            h.update(b"b" + len(value).to_bytes(8, "little") + bytes(value))
        elif isinstance(value, int | float | complex | enum.Enum):
            h.update(b"n" + kind.__qualname__.encode() + b":" + repr(value).encode() + b";")
        elif isinstance(value, dt.date | dt.time | dt.timedelta | PurePath):
            h.update(b"d" + kind.__qualname__.encode() + b":" + repr(value).encode() + b";")
        elif dataclasses.is_dataclass(value) and not isinstance(value, type):
            digest, sources = self._traced_dataclass(value)
            self._note(sources)
            h.update(b"D" + digest)
        elif isinstance(value, tuple | list):
            h.update(b"l" + len(value).to_bytes(8, "little"))
            for item in value:
                self._feed(h, item)
        elif isinstance(value, dict):
            h.update(b"m" + len(value).to_bytes(8, "little"))
            for key, item in value.items():  # insertion order is what templates iterate
                self._feed(h, key)
                self._feed(h, item)
        elif isinstance(value, set | frozenset):
            members = [self.traced(item) for item in value]
            for _digest, sources in members:
                self._note(sources)
            h.update(b"e" + b"".join(sorted(digest for digest, _sources in members)))
        elif callable(value):
            h.update(b"f" + self._callable(value))
        else:
            raise TypeError(f"cannot fingerprint a {kind.__qualname__}")

    def _dataclass(self, value: Any) -> bytes:
        return self._traced_dataclass(value)[0]

    def _traced_dataclass(self, value: Any) -> tuple[bytes, Sources]:
        known = self._memo.get(id(value))
        if known is not None and known[0] is value:
            return known[1], known[2]
        h = hasher()
        h.update(type(value).__module__.encode() + b"." + type(value).__qualname__.encode())
        found: set[str] = set()
        sources: Sources
        try:
            h.update(b"p" + self._pickle(value, value, found))
            sources = None if _UNKNOWN in found else frozenset(found)
        except Exception:  # functions in closures and the like: walk the fields

            def fields() -> None:
                for item in dataclasses.fields(value):
                    h.update(item.name.encode() + b"=")
                    self._feed(h, getattr(value, item.name))

            sources = self._walk(fields)
        result = bytes(h.digest())
        self._memo[id(value)] = (value, result, sources)
        return result, sources

    def _callable(self, value: Callable[..., Any]) -> bytes:
        """A function by its name and whatever its closure or partial arguments hold."""
        h = hasher()
        if isinstance(value, functools.partial):
            self._feed(h, (self._callable(value.func), value.args, value.keywords))
            return bytes(h.digest())
        name = f"{getattr(value, '__module__', '')}.{getattr(value, '__qualname__', '')}"
        h.update(name.encode())
        cells = getattr(value, "__closure__", None) or ()
        for cell in cells:
            self._feed(h, cell.cell_contents)
        bound = getattr(value, "__self__", None)
        if bound is not None and not isinstance(bound, type(sys)):
            self._feed(h, bound)
        return bytes(h.digest())


def _by_digest(digest: bytes) -> bytes:
    """Stands in for a nested dataclass inside fingerprint pickles (never unpickled)."""
    return digest


_UNKNOWN = "\0"  # among a value's sources: a dataclass inside it had to be walked


class _DigestPickler(pickle.Pickler):
    def __init__(
        self, buffer: io.BytesIO, prints: Fingerprints, root: object, found: set[str] | None
    ) -> None:
        super().__init__(buffer, protocol=pickle.HIGHEST_PROTOCOL)
        self.prints = prints
        self.root = root
        self.found = found

    def reducer_override(self, obj: Any) -> Any:
        # Called only for objects that are not plain str, int, tuple, dict and the like.
        kind = type(obj)
        if obj is not self.root and hasattr(kind, "__dataclass_fields__") and not _is_leaf(kind):
            digest, sources = self.prints._traced_dataclass(obj)
            if self.found is not None:
                self.found |= {_UNKNOWN} if sources is None else sources
            return _by_digest, (digest,)
        return NotImplemented


_PLAIN = re.compile(r"(str|int|float|bool|None|dt\.date|date|tuple|\.\.\.|[\[\], |])*")


_LEAVES: dict[type, bool] = {}


def _is_leaf(kind: type) -> bool:
    """A dataclass of plain fields (a Term, a Heading): cheaper to pickle inline than by digest."""
    known = _LEAVES.get(kind)
    if known is None:
        annotations = getattr(kind, "__annotations__", {}).values()
        known = all(isinstance(a, str) and bool(_PLAIN.fullmatch(a)) for a in annotations)
        _LEAVES[kind] = known
    return known


def digest_files(paths: Iterable[tuple[str, bytes]]) -> bytes:
    """Digest of named byte strings, e.g. every template file by its relative path."""
    h = hasher()
    for name, data in paths:
        encoded = name.encode()
        h.update(len(encoded).to_bytes(8, "little") + encoded)
        h.update(len(data).to_bytes(8, "little") + data)
    return bytes(h.digest())
