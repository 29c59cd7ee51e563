"""Danish-aware slugs: æ -> ae, ø -> oe, å -> aa, other accents dropped."""

from __future__ import annotations

import functools
import re
import unicodedata

_DANISH = str.maketrans({"æ": "ae", "ø": "oe", "å": "aa", "Æ": "ae", "Ø": "oe", "Å": "aa"})
_NOT_WORD = re.compile(r"[^a-z0-9]+")

# A slug is a folder name in output/: file systems allow 255 bytes, readers' eyes far fewer.
MAX_SLUG = 120


@functools.lru_cache(maxsize=16384)  # tags and municipalities recur on every build
def slugify(text: str) -> str:
    """Return the URL slug of a Danish title ("Pionér-kommune" -> "pioner-kommune")."""
    ascii_text = (
        unicodedata.normalize("NFKD", text.translate(_DANISH))
        .encode("ascii", "ignore")
        .decode("ascii")
        .lower()
    )
    return _NOT_WORD.sub("-", ascii_text).strip("-")


def unique_slug(text: str, taken: set[str]) -> str:
    """A slug not yet in `taken` (adds -2, -3 ...), recorded in `taken`."""
    base = slugify(text) or "afsnit"
    slug, number = base, 2
    while slug in taken:
        slug, number = f"{base}-{number}", number + 1
    taken.add(slug)
    return slug


def short_slug(text: str, limit: int = MAX_SLUG) -> str:
    """The slug of `text`, cut at a word boundary to at most `limit` characters."""
    slug = slugify(text)
    if len(slug) <= limit:
        return slug
    cut = slug[: limit + 1].rsplit("-", 1)[0]
    return cut if cut and len(cut) <= limit else slug[:limit].rstrip("-")
