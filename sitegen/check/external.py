"""External link checks for `sitegen check --external`.

Every http(s) link of the content is requested once (HEAD, then GET where a server
refuses HEAD), with a timeout, a limit on requests at once and a smaller limit per host.
Good results are remembered for a day in .sitegen-cache/links.json; broken ones are
checked again on every run, so a fixed link stops being reported at once.
"""

from __future__ import annotations

import json
import os
import tempfile
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from sitegen import __version__
from sitegen.content.parse import ParsedDoc

CACHE_FILE = Path(".sitegen-cache") / "links.json"
CACHE_SECONDS = 24 * 60 * 60


@dataclass(frozen=True)
class ExternalLink:
    url: str
    path: str
    line: int
    field: str


@dataclass(frozen=True)
class LinkStatus:
    ok: bool
    detail: str  # "HTTP 404", "timed out after 5 s", ...


def external_links(docs: Iterable[ParsedDoc]) -> list[ExternalLink]:
    """Every http(s) URL in bodies and front matter, at the line that names it."""
    found: list[ExternalLink] = []
    for doc in docs:
        for ref in doc.markdown.references:
            if _is_http(ref.target):
                field = "image" if ref.image else "link"
                found.append(
                    ExternalLink(ref.target, doc.source.path, doc.line_of(ref.target), field)
                )
        related = doc.meta.get("related")
        for index, item in enumerate(related if isinstance(related, list) else []):
            url = item.get("url") if isinstance(item, dict) else None
            if isinstance(url, str) and _is_http(url):
                line = doc.lines.get(("related", index, "url"), doc.start_line)
                found.append(ExternalLink(url, doc.source.path, line, "related"))
        image = doc.meta.get("image")
        if isinstance(image, str) and _is_http(image):
            line = doc.lines.get(("image",), doc.start_line)
            found.append(ExternalLink(image, doc.source.path, line, "image"))
    return found


def _is_http(url: str) -> bool:
    parts = urlsplit(url.strip())
    return parts.scheme in ("http", "https") and bool(parts.netloc)


class LinkCache:
    """URLs that worked, with when they were checked; written atomically."""

    def __init__(self, file: Path, max_age: float = CACHE_SECONDS) -> None:
        self.file = file
        self.max_age = max_age
        self.checked: dict[str, float] = {}
        try:
            raw = json.loads(file.read_text(encoding="utf-8"))
            if isinstance(raw, dict):
                self.checked = {
                    str(url): float(when)
                    for url, when in raw.items()
                    if isinstance(when, int | float)
                }
        except (OSError, ValueError):
            pass

    def fresh(self, url: str, now: float) -> bool:
        return now - self.checked.get(url, float("-inf")) < self.max_age

    def save(self, now: float) -> None:
        keep = {url: when for url, when in self.checked.items() if now - when < self.max_age}
        self.file.parent.mkdir(parents=True, exist_ok=True)
        handle, temporary = tempfile.mkstemp(dir=self.file.parent, prefix=".links-")
        with os.fdopen(handle, "w", encoding="utf-8") as out:
            json.dump(keep, out, indent=0, sort_keys=True)
        os.replace(temporary, self.file)


def fetch_status(url: str, timeout: float) -> LinkStatus:
    """Whether `url` answers with a success (after redirects) within `timeout` seconds."""
    headers = {"User-Agent": f"sitegen/{__version__} link check"}
    for method in ("HEAD", "GET"):
        request = urllib.request.Request(url, method=method, headers=headers)
        try:
            with urllib.request.urlopen(request, timeout=timeout) as response:
                return LinkStatus(True, f"HTTP {response.status}")
        except urllib.error.HTTPError as error:
            if method == "HEAD" and error.code in (403, 405, 501):
                continue  # some servers only refuse HEAD
            return LinkStatus(False, f"HTTP {error.code}")
        except TimeoutError:
            return LinkStatus(False, f"timed out after {timeout:g} s")
        except urllib.error.URLError as error:
            if isinstance(error.reason, TimeoutError):
                return LinkStatus(False, f"timed out after {timeout:g} s")
            return LinkStatus(False, f"cannot connect: {error.reason}")
        except (OSError, ValueError) as error:
            return LinkStatus(False, f"cannot connect: {error}")
    return LinkStatus(False, "no answer")


def check_urls(
    urls: Iterable[str], timeout: float, concurrency: int = 8, per_host: int = 2
) -> dict[str, LinkStatus]:
    """Status of each URL; at most `concurrency` requests at once, `per_host` per host."""
    unique = list(dict.fromkeys(urls))
    hosts: dict[str, threading.Semaphore] = {}
    for url in unique:
        hosts.setdefault(urlsplit(url).netloc.lower(), threading.Semaphore(per_host))

    def check(url: str) -> LinkStatus:
        with hosts[urlsplit(url).netloc.lower()]:
            return fetch_status(url, timeout)

    ordered = _interleave_hosts(unique)
    with ThreadPoolExecutor(max_workers=max(1, concurrency)) as pool:
        return dict(zip(ordered, pool.map(check, ordered), strict=True))


def _interleave_hosts(urls: list[str]) -> list[str]:
    """Round-robin over hosts, so that workers seldom wait for one host's slots."""
    by_host: dict[str, list[str]] = {}
    for url in urls:
        by_host.setdefault(urlsplit(url).netloc.lower(), []).append(url)
    queues = list(by_host.values())
    ordered: list[str] = []
    for index in range(max((len(q) for q in queues), default=0)):
        ordered += [queue[index] for queue in queues if index < len(queue)]
    return ordered


def check_links(
    links: list[ExternalLink], root: Path, timeout: float, use_cache: bool = True
) -> list[tuple[ExternalLink, LinkStatus]]:
    """The broken links, each with why; good results are cached in the site root."""
    cache = LinkCache(root / CACHE_FILE)
    now = time.time()
    wanted = [link.url for link in links if not (use_cache and cache.fresh(link.url, now))]
    results = check_urls(wanted, timeout)
    for url, status in results.items():
        if status.ok:
            cache.checked[url] = now
        else:
            cache.checked.pop(url, None)
    if use_cache:
        cache.save(now)
    return [(link, results[link.url]) for link in links if not results.get(link.url, _OK).ok]


_OK = LinkStatus(True, "cached")
