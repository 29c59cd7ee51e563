"""Everything a build reads, loaded once, and its digest for the no-change fast path.

Importing this module must stay cheap: it is all a no-change rebuild runs, so it never
pulls in the Markdown or template machinery.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sitegen.build.digest import Fingerprints, code_version, digest_bytes, digest_files, hasher
from sitegen.config import Config, load_config
from sitegen.content.load import SourceFile, StaticFile, load_sources, load_static
from sitegen.errors import ErrorList


@dataclass(frozen=True)
class Inputs:
    """The configuration, content, static files and templates of a site as read from disk."""

    config: Config
    sources: list[SourceFile]
    static: list[StaticFile]
    templates: tuple[tuple[str, bytes], ...]  # every file under templates/, by relative path
    errors: ErrorList
    digests: dict[str, Any] = field(default_factory=dict, compare=False)  # worked out once

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
    return [digest_bytes(s.path.encode(), s.kind.encode(), s.data) for s in sources]


def load_inputs(root: Path) -> Inputs:
    errors = ErrorList()
    config = load_config(root, errors)
    sources = load_sources(config, errors)
    static = load_static(config, errors)
    return Inputs(config, sources, static, read_templates(config.path("templates")), errors)


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
