"""Everything a build reads, loaded once, and its digest for the no-change fast path.

Importing this module must stay cheap: it is all a no-change rebuild runs, so it never
pulls in the Markdown or template machinery.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from sitegen.build.digest import Fingerprints, code_version, digest_bytes, digest_files, hasher
from sitegen.build.stamp import COARSE_RACY_NS, RACY_NS
from sitegen.config import Config, load_config
from sitegen.content.load import (
    SourceFile,
    StaticFile,
    UnchangedSource,
    file_stat,
    load_sources,
    load_static,
)
from sitegen.errors import ErrorList

SOURCES_RECORD = "sources"  # the build cache's record: each source's stat and digest when read
SourceEntry = tuple[tuple[int, int, int, int], bytes]  # (file_stat, digest)


class RecordStore(Protocol):
    def load_record(self, name: str) -> Any | None: ...


@dataclass(frozen=True)
class Inputs:
    """The configuration, content, static files and templates of a site as read from disk."""

    config: Config
    sources: list[SourceFile]
    static: list[StaticFile]
    templates: tuple[tuple[str, bytes], ...]  # every file under templates/, by relative path
    errors: ErrorList
    digests: dict[str, Any] = field(default_factory=dict, compare=False)  # worked out once
    # The stat of each source as the build found it, and when it began reading them.
    stats: dict[str, tuple[int, int, int, int]] = field(default_factory=dict, compare=False)
    loaded_ns: int = 0

    def source_record(self) -> dict[str, SourceEntry]:
        """What the next build may take from this one without reading a file: each source's
        stat and digest, but for a source saved too close to the build to be trusted (git's
        racily clean rule: its next change could keep the same stat)."""
        record: dict[str, SourceEntry] = {}
        for source, digest in zip(self.sources, self.source_digests(), strict=True):
            stat = self.stats.get(source.path)
            if stat is None:
                continue
            newest = max(stat[1], stat[2])
            window = RACY_NS if newest % 1_000_000_000 else COARSE_RACY_NS
            if newest < self.loaded_ns - window:
                record[source.path] = (stat, digest)
        return record

    def theme_digest(self) -> bytes:
        """One digest of every file of the theme (templates/)."""
        found: bytes | None = self.digests.get("theme")
        if found is None:
            found = self.digests["theme"] = digest_files(self.templates)
        return found

    def source_digests(self) -> list[bytes]:
        found: list[bytes] | None = self.digests.get("sources")
        if found is None:
            found = self.digests["sources"] = source_digests(self.sources)
        return found

    def static_digests(self) -> list[bytes]:
        """The digest of each static file's bytes (photos are large: hashed once a build)."""
        found: list[bytes] | None = self.digests.get("static")
        if found is None:
            found = self.digests["static"] = [digest_bytes(s.data) for s in self.static]
        return found


def source_digests(sources: list[SourceFile]) -> list[bytes]:
    """The digest of each source's path, kind and bytes (hashed once, used twice)."""
    return [
        s.digest
        if isinstance(s, UnchangedSource)
        else digest_bytes(s.path.encode(), s.kind.encode(), s.data)
        for s in sources
    ]


def load_inputs(root: Path, cache: RecordStore | None = None) -> Inputs:
    """Everything the build reads. With `cache`, a source whose stat is what the previous
    build recorded is not read: its digest is taken from the record (SOURCES_RECORD)."""
    errors = ErrorList()
    config = load_config(root, errors)
    known = cache.load_record(SOURCES_RECORD) if cache is not None else None
    record: dict[str, SourceEntry] = known if isinstance(known, dict) else {}
    stats: dict[str, tuple[int, int, int, int]] = {}
    loaded_ns = time.time_ns()

    def unchanged(rel: str, kind: str, path: str, info: os.stat_result) -> SourceFile | None:
        stat = stats[rel] = file_stat(info)
        entry = record.get(rel)
        if entry is None or entry[0] != stat:
            return None
        return UnchangedSource(rel, kind, path, stat, entry[1])

    sources = load_sources(config, errors, unchanged)
    static = load_static(config, errors)
    templates = read_templates(config.path("templates"))
    return Inputs(config, sources, static, templates, errors, stats=stats, loaded_ns=loaded_ns)


def read_templates(folder: Path) -> tuple[tuple[str, bytes], ...]:
    """Every file of the theme, in a stable order (editor litter included: it is harmless)."""
    found: list[tuple[str, bytes]] = []
    for directory, subdirs, names in os.walk(folder):
        subdirs.sort()
        for name in sorted(names):
            path = Path(directory, name)
            try:
                found.append((path.relative_to(folder).as_posix(), path.read_bytes()))
            except OSError:
                continue
    return tuple(found)


def inputs_digest(inputs: Inputs, options: object, out: Path) -> bytes:
    """One digest of everything that decides the output: same digest, same site."""
    memo_key = Fingerprints().of((options, str(out))).hex()
    known = inputs.digests.get(memo_key)
    if known is None:
        h = hasher()
        h.update(code_version().encode())
        h.update(Fingerprints().of((inputs.config, options, str(out))))
        h.update(inputs.theme_digest())
        h.update(b"".join(inputs.source_digests()))
        static = zip(inputs.static, inputs.static_digests(), strict=True)
        h.update(digest_files((f"{s.source}>{s.dest}", digest) for s, digest in static))
        known = inputs.digests[memo_key] = bytes(h.digest())
    return known
