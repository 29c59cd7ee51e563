"""The URLs a built site publishes, and the ones a new build would break.

Every build writes `.sitegen/pages.json`: each published URL (pages, feeds, aliases) with the
content file it shows, and the redirects. Comparing the list of a site already published
(the previous output/, or the live release of a deploy) with a new one finds every URL that
would stop working, and, where a page only moved (its title and so its slug changed), where
it went.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from sitegen.output.write import OutputFile

MANIFEST = ".sitegen/pages.json"


@dataclass(frozen=True)
class Published:
    urls: dict[str, str]  # site path -> the content file it shows ("" for generated pages)
    redirects: dict[str, str]  # alias -> the URL it redirects to


@dataclass(frozen=True)
class GoneUrl:
    """A published URL the new site no longer has."""

    url: str
    source: str  # the content file it showed ("" for a generated page)
    moved_to: str  # that file's new URL, when it is still published ("" otherwise)

    def advice(self) -> str:
        """What happened and what to do about it, in one line."""
        alias = f"aliases: [{self.url}]"
        if self.moved_to:
            return (
                f"{self.url} moved to {self.moved_to}; "
                f"add `{alias}` to {self.source} to keep its links working"
            )
        return f"{self.url} is no longer published; add `{alias}` to the page that replaces it"

    def report(self, label: str = "warning") -> str:
        """'content/cases/x.md: warning: /cases/x/ moved to ...' (`label` "" for none)."""
        where = f"{self.source}: " if self.source else ""
        return f"{where}{label}: {self.advice()}" if label else f"{where}{self.advice()}"


def parse_published(data: bytes) -> Published | None:
    """The list of a build, or None when it cannot be read."""
    try:
        manifest = json.loads(data)
        urls, redirects = manifest["urls"], manifest["redirects"]
    except (ValueError, TypeError, KeyError):
        return None
    if not (isinstance(urls, dict) and isinstance(redirects, dict)):
        return None
    return Published(
        {str(url): str(source) for url, source in urls.items()},
        {str(alias): str(target) for alias, target in redirects.items()},
    )


def read_published(tree: Path) -> Published | None:
    """The list of the site in `tree` (an output folder or a release), if it has one."""
    try:
        return parse_published((tree / MANIFEST).read_bytes())
    except OSError:
        return None


def published_in(files: Iterable[OutputFile]) -> Published | None:
    """The list among a build's files (only that file's bytes are read)."""
    for item in files:
        if item.path == MANIFEST:
            return parse_published(item.data)
    return None


def gone_urls(old: Published, new: Published) -> list[GoneUrl]:
    """Every URL of `old` that `new` lacks, in URL order."""
    if old.urls.keys() <= new.urls.keys():
        return []  # the usual build: nothing gone, nothing to sort
    now_at: dict[str, str] = {}
    for url, source in sorted(new.urls.items()):
        if source and url not in new.redirects:
            now_at.setdefault(source, url)
    return [
        GoneUrl(url, source, now_at.get(source, "") if source else "")
        for url, source in sorted(old.urls.items())
        if url not in new.urls
    ]


def gone_since(previous: Published | None, files: Iterable[OutputFile]) -> list[GoneUrl]:
    """The URLs of a previous build that a new build's files no longer publish."""
    new = published_in(files)
    return gone_urls(previous, new) if previous is not None and new is not None else []
