"""Search: a Pagefind index of the rendered pages, made in memory before the write stage.

Indexing is a pure step over the rendered HTML: it takes the site's RenderedFile list and returns
Pagefind's bundle (index, fragments, wasm, pagefind.js) as more RenderedFile objects under
`pagefind/`, so output/ is still swapped in whole and the step can be memoized by the digest of
its inputs. Only pages marked `data-pagefind-body` (case and content pages) are indexed.

It talks to the Pagefind binary from the `pagefind[bin]` wheel in its `--service` mode, the
same line protocol the official Python and Node APIs use (base64 JSON messages ended by ","),
but synchronously: the official async client polls its pipe once every 0.1 s per message
(five seconds for fifty pages) and stalls on responses above 2 MiB.
"""

from __future__ import annotations

import base64
import io
import json
import subprocess
from collections.abc import Iterable
from pathlib import Path
from typing import Any, cast

from sitegen.cache import BuildCache
from sitegen.digest import digest_bytes
from sitegen.errors import ErrorList, SiteError
from sitegen.render import RenderedFile
from sitegen.search_stable import stable_bundle

SEARCH_DIR = "pagefind"
# Bundle files the site does not use (other UIs, the playground).
UNUSED = (
    "pagefind-component-ui.",
    "pagefind-modular-ui.",
    "pagefind-ui.",
    "pagefind-highlight.js",
    "playground/",
)


class SearchIndexError(Exception):
    """Pagefind failed or is missing; carries a SiteError for the build's error list."""

    def __init__(self, error: SiteError) -> None:
        super().__init__(str(error))
        self.error = error


def pagefind_executable() -> Path:
    """The Pagefind binary shipped in the pagefind_bin wheel (or PAGEFIND_BINARY_PATH)."""
    from pagefind.service import get_executable

    executable = get_executable()
    if executable is None:
        raise SearchIndexError(
            SiteError(
                "", 0, "search", "the Pagefind binary is missing: pip install 'pagefind[bin]'"
            )
        )
    return executable


def page_url(path: str) -> str:
    """The site path of an HTML file inside output/: 'cases/x/index.html' -> '/cases/x/'."""
    url = "/" + path
    return url[: -len("index.html")] if url.endswith("/index.html") else url


def _memoized_index(
    files: list[RenderedFile], language: str, cache: BuildCache | None
) -> list[RenderedFile]:
    if cache is None:
        return search_index(files, language)
    pages = sorted((f for f in files if f.path.endswith(".html")), key=lambda f: f.path)
    key = digest_bytes(
        b"search", language.encode(), *(p.path.encode() + cache.digest_of(p.data) for p in pages)
    )
    found = cache.get("search", key)
    if not isinstance(found, list):
        found = search_index(pages, language)
        cache.put("search", key, found)
    cache.keep("search", [key])
    return found


def search_index(files: Iterable[RenderedFile], language: str) -> list[RenderedFile]:
    """Pagefind's files for the HTML pages among `files`, in path order.

    URLs are given without the site's base path: pagefind.js prefixes the folder it is served
    from, so one index works at the root and under a sub-path.
    """
    pages = sorted((f for f in files if f.path.endswith(".html")), key=lambda f: f.path)
    config = {"force_language": language, "keep_index_url": False}
    with _Service(pagefind_executable()) as service:
        index_id = service.send({"type": "NewIndex", "config": config})["index_id"]
        for page in pages:
            service.send(
                {
                    "type": "AddFile",
                    "index_id": index_id,
                    "url": page_url(page.path),
                    "file_path": None,
                    "file_contents": page.data.decode("utf-8"),
                }
            )
        bundle = service.send({"type": "GetFiles", "index_id": index_id})["files"]
    result = [
        RenderedFile(f"{SEARCH_DIR}/{item['path']}", base64.b64decode(item["content"]))
        for item in bundle
        if not item["path"].startswith(UNUSED)
    ]
    return stable_bundle(sorted(result, key=lambda f: f.path), SEARCH_DIR)


class _Service:
    """One `pagefind --service` process: send a request, read its response."""

    def __init__(self, executable: Path) -> None:
        self.executable = executable
        self.message_id = 0

    def __enter__(self) -> _Service:
        self.process = subprocess.Popen(
            [str(self.executable), "--service"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
        )
        return self

    def __exit__(self, *exc: object) -> None:
        assert self.process.stdin is not None
        self.process.stdin.close()
        self.process.terminate()
        self.process.wait()
        assert self.process.stdout is not None
        self.process.stdout.close()

    def send(self, payload: dict[str, Any]) -> dict[str, Any]:
        self.message_id += 1
        request = {"message_id": self.message_id, "payload": payload}
        assert self.process.stdin is not None and self.process.stdout is not None
        self.process.stdin.write(base64.b64encode(json.dumps(request).encode("utf-8")) + b",")
        self.process.stdin.flush()
        response = json.loads(base64.b64decode(self._read_message()))
        answer: dict[str, Any] = response["payload"]
        if answer.get("type") == "Error":
            raise SearchIndexError(
                SiteError("", 0, "search", f"Pagefind: {answer.get('message', answer)}")
            )
        return answer

    def _read_message(self) -> bytes:
        """One response: base64 never contains ',', so it ends at the first comma."""
        assert self.process.stdout is not None
        message = bytearray()
        while not message.endswith(b","):
            chunk = cast(io.BufferedReader, self.process.stdout).read1(1 << 20)
            if not chunk:
                raise SearchIndexError(
                    SiteError("", 0, "search", "Pagefind stopped before it answered")
                )
            message += chunk
        return bytes(message[:-1])


def with_search_index(
    files: list[RenderedFile], language: str, errors: ErrorList, cache: BuildCache | None = None
) -> list[RenderedFile]:
    """The site's files plus its search index, in path order; a Pagefind failure is an error.

    With a `cache`, the index is reused while every HTML page has the same bytes.
    """
    try:
        index = _memoized_index(files, language, cache)
    except (SearchIndexError, OSError) as exc:
        error = exc.error if isinstance(exc, SearchIndexError) else None
        errors.errors.append(error or SiteError("", 0, "search", f"Pagefind: {exc}"))
        return files
    return sorted([*files, *index], key=lambda f: f.path)
