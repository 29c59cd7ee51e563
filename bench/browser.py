"""What the browser benchmarks share: Debian's Chromium through Playwright, a static server.

The server serves a built output/ folder on 127.0.0.1 with the cache policy of the nginx and
Caddy configurations in docs/deploy.md: content-hashed theme files (`name.0123456789.css`)
for a year, everything else `no-cache` (kept, but revalidated with If-Modified-Since on every
visit). No latency is added: 127.0.0.1 answers in well under a millisecond, so the figures
are the browser's and Pagefind's own work, not a network's.
"""

from __future__ import annotations

import contextlib
import functools
import http.server
import re
import shutil
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any, ClassVar

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
# As tests/conftest.py launches it.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
]
HASHED = re.compile(r"\.[0-9a-f]{10}\.(css|js)$")


class _Handler(http.server.SimpleHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as a real server
    extensions_map: ClassVar[dict[str, str]] = {
        **http.server.SimpleHTTPRequestHandler.extensions_map,
        ".wasm": "application/wasm",
        ".js": "text/javascript",
        ".json": "application/json",
    }

    def end_headers(self) -> None:
        hashed = HASHED.search(self.path.split("?", 1)[0])
        policy = "public, max-age=31536000, immutable" if hashed else "no-cache"
        self.send_header("Cache-Control", policy)
        super().end_headers()

    def handle(self) -> None:
        # the browser may close a connection it no longer needs
        with contextlib.suppress(ConnectionResetError, BrokenPipeError):
            super().handle()

    def log_message(self, format: str, *args: Any) -> None:
        pass


@contextlib.contextmanager
def static_server(folder: Path) -> Iterator[str]:
    """Serve `folder` on a free port of 127.0.0.1 in threads; yields the base URL."""
    handler = functools.partial(_Handler, directory=str(folder))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


@contextlib.contextmanager
def chromium() -> Iterator[Any]:
    """A headless Debian Chromium driven by Playwright (a Browser)."""
    from playwright.sync_api import sync_playwright

    if not Path(CHROMIUM).exists():
        raise SystemExit("Debian's chromium is required (apt-get install chromium)")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


def chromium_version(browser: Any) -> str:
    return f"Chromium {browser.version}"
