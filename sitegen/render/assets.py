"""Theme assets under content-hashed names, so a server may cache them for a year.

`static/cfb.css` is published as `static/cfb.<hash>.css`: any change to the file gives it a
new name, so a reader never sees a stale style sheet or script. Templates name an asset by
its plain path through the `asset` filter: `{{ url('/static/cfb.css'|asset) }}`.
"""

from __future__ import annotations

import hashlib
import posixpath
import re
from dataclasses import replace

from sitegen.config import Config
from sitegen.content.load import StaticFile

HASHED_SUFFIXES = (".css", ".js")
HASH_LENGTH = 10
_CONTENT_NAMED = re.compile(
    rf"(.*)\.[0-9a-f]{{{HASH_LENGTH}}}({'|'.join(re.escape(s) for s in HASHED_SUFFIXES)})"
)


def hashed_name(dest: str, data: bytes) -> str:
    """'static/cfb.css' -> 'static/cfb.0123456789.css' (the hash of its bytes)."""
    stem, suffix = posixpath.splitext(dest)
    digest = hashlib.blake2b(data, digest_size=8).hexdigest()[:HASH_LENGTH]
    return f"{stem}.{digest}{suffix}"


def is_content_named(path: str, data: bytes) -> bool:
    """Whether `path` is the content-hashed name of `data` (`static/cfb.0123456789.css`)."""
    named = _CONTENT_NAMED.fullmatch(path)
    return named is not None and hashed_name(named[1] + named[2], data) == path


def hash_theme_assets(
    static: list[StaticFile], config: Config
) -> tuple[list[StaticFile], tuple[tuple[str, str], ...]]:
    """The static files with the theme's CSS and JS renamed, and (plain URL, hashed URL).

    Only the theme's own files are renamed (the site's static/ and content files keep their
    names, since pages and other sites link to them by name).
    """
    theme = f"{config.paths.templates}/static/"
    renamed: list[StaticFile] = []
    names: list[tuple[str, str]] = []
    for item in static:
        if item.source.startswith(theme) and item.dest.endswith(HASHED_SUFFIXES):
            hashed = hashed_name(item.dest, item.data)
            names.append(("/" + item.dest, "/" + hashed))
            item = replace(item, dest=hashed)
        renamed.append(item)
    return renamed, tuple(names)
