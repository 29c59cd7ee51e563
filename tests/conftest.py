"""Shared fixtures: fixture sites copied to a temporary folder with the repo's theme."""

from __future__ import annotations

import contextlib
import functools
import http.server
import json
import os
import shutil
import subprocess
import textwrap
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import pytest

from tests.servers import Inbox, free_port

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page

REPO = Path(__file__).resolve().parent.parent
SITES = Path(__file__).resolve().parent / "sites"
GOLDEN = Path(__file__).resolve().parent / "golden"


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--update-golden",
        action="store_true",
        help="rewrite tests/golden/ from the current output instead of comparing",
    )
    parser.addoption(
        "--update-screenshots",
        action="store_true",
        help="rewrite tests/screenshots/ from the current theme instead of comparing",
    )


TODAY = "1796083200"  # SOURCE_DATE_EPOCH of 2026-11-30


@pytest.fixture(autouse=True)
def _reproducible(monkeypatch: pytest.MonkeyPatch) -> None:
    """Builds in tests see a fixed 'today' (2026-11-30)."""
    monkeypatch.setenv("SOURCE_DATE_EPOCH", TODAY)


def copy_site(name: str, dest: Path) -> Path:
    """Copy tests/sites/<name> to `dest`, adding the repo's templates if it has none."""
    shutil.copytree(SITES / name, dest, symlinks=True)
    if not (dest / "templates").exists():
        shutil.copytree(REPO / "templates", dest / "templates")
    return dest


@pytest.fixture
def site_copy(tmp_path: Path) -> Callable[[str], Path]:
    def make(name: str) -> Path:
        return copy_site(name, tmp_path / name)

    return make


@pytest.fixture
def new_site(tmp_path: Path) -> Callable[[dict[str, str]], Path]:
    """A site made of the given files (path -> text), with the repo's theme."""

    def make(files: dict[str, str]) -> Path:
        root = tmp_path / "site"
        for rel, text in files.items():
            path = root / rel
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")
        if not (root / "templates").exists():
            shutil.copytree(REPO / "templates", root / "templates")
        return root

    return make


CASE = """\
---
title: {title}
date: 2020-03-01
lead: En kort indledning.
municipality: Aarhus Kommune
level: lokalsamfund
tags: [samskabelse]
---

Brødtekst.
"""


def read_tree(root: Path) -> dict[str, bytes]:
    """Every file under `root` by relative path."""
    return {
        p.relative_to(root).as_posix(): p.read_bytes()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


# --- Browser tests: a real Chromium (Debian's) through Playwright ----------------------------

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
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
ARTIFACTS = REPO / "test-artifacts"
LIGHTHOUSE = REPO / "tools/lighthouse/node_modules/.bin/lighthouse"

# Every page type of the CfB site (name, path under the site).
PAGE_TYPES = [
    ("home", ""),
    ("case", "cases/holbaek-eksperimenterer-med-demokrati/"),
    ("case-list", "cases/"),
    ("tag", "emner/samskabelse/"),
    ("tags", "emner/"),
    ("municipality", "kommuner/holbaek-kommune/"),
    ("municipalities", "kommuner/"),
    ("level", "niveauer/kommune/"),
    ("levels", "niveauer/"),
    ("page", "om/"),
    ("accessibility", "tilgaengelighed/"),
    ("404", "404.html"),
    ("search", "soeg/?q=samskabelse"),
    ("newsletter", "nyhedsbrev/"),
    ("newsletter-issue", "nyhedsbrev/maj-2013/"),
]
# Phone, tablet and desktop widths, each with a fixed height (full-page shots grow below it).
VIEWPORTS = {375: 812, 768: 1024, 1280: 800}
ColorScheme = Literal["light", "dark"]
COLOR_SCHEMES: list[ColorScheme] = ["light", "dark"]
# Waits for web fonts and for every finite CSS transition or animation, then for two frames.
SETTLE = """async () => {
  await document.fonts.ready;
  const finite = document.getAnimations().filter(
    (animation) => animation.effect?.getComputedTiming().endTime !== Infinity);
  await Promise.all(finite.map((animation) => animation.finished.catch(() => null)));
  await new Promise((done) => requestAnimationFrame(() => requestAnimationFrame(done)));
}"""


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    """One headless Chromium for the whole run. Missing Chromium is a failure, never a skip."""
    from playwright.sync_api import sync_playwright

    assert Path(CHROMIUM).exists(), "Debian's chromium is required: bash scripts/test installs it"
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture(scope="module")
def still_page(browser: Browser) -> Iterator[Page]:
    """One page for a module's tests: device scale 1, reduced motion; see `show`."""
    context = browser.new_context(device_scale_factor=1, reduced_motion="reduce")
    yield context.new_page()
    context.close()


@pytest.fixture
def artifacts() -> Path:
    """Folder for screenshots and other test artifacts (ignored by git)."""
    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS


def run_lighthouse(url: str, report: Path, *options: str) -> dict[str, Any]:
    """Lighthouse's default (mobile) run of `url` in Debian's Chromium; its JSON result.

    Writes `report`.report.json and `report`.report.html.
    """
    assert LIGHTHOUSE.exists(), "bash scripts/test installs Lighthouse into tools/lighthouse/"
    report.parent.mkdir(parents=True, exist_ok=True)
    subprocess.run(
        [
            str(LIGHTHOUSE),
            url,
            "--quiet",
            "--chrome-flags=--headless --no-sandbox --disable-gpu",
            "--output=json",
            "--output=html",
            f"--output-path={report}",
            *options,
        ],
        env={**os.environ, "CHROME_PATH": CHROMIUM},
        check=True,
        timeout=300,
    )
    result: dict[str, Any] = json.loads(report.with_name(report.name + ".report.json").read_text())
    return result


def open_page(page: Page, url: str) -> None:
    """Go to `url` and wait until it is complete, search results included."""
    page.goto(url, wait_until="networkidle")
    if "/soeg/" in url:
        page.locator("#search-results li").first.wait_for()


def show(page: Page, width: int, color_scheme: ColorScheme) -> None:
    """Lay the open page out at `width` in the given colour scheme and wait until it is still."""
    page.set_viewport_size({"width": width, "height": VIEWPORTS[width]})
    page.emulate_media(color_scheme=color_scheme)
    page.evaluate(SETTLE)


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        pass


@contextlib.contextmanager
def serve_directory(directory: Path, prefix: str = "/") -> Iterator[str]:
    """Serve `directory` on 127.0.0.1 at a free port, under `prefix`; yields the base URL."""
    handler = functools.partial(_PrefixHandler, prefix, directory=str(directory))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}{prefix}"
    finally:
        server.shutdown()
        server.server_close()


class _PrefixHandler(_QuietHandler):
    def __init__(self, prefix: str, *args: Any, **kwargs: Any) -> None:
        self.prefix = prefix
        super().__init__(*args, **kwargs)

    def translate_path(self, path: str) -> str:
        if not path.startswith(self.prefix):
            return str(Path(self.directory) / "__missing__")
        return super().translate_path("/" + path[len(self.prefix) :])


@pytest.fixture(scope="session")
def built_repo_site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The repo's own CfB site, built once per test run (on the same fixed 'today')."""
    from sitegen.build.pipeline import build
    from sitegen.config import default_options

    out = tmp_path_factory.mktemp("repo-site") / "output"
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("SOURCE_DATE_EPOCH", TODAY)
        build(REPO, default_options(), out)
    return out


@pytest.fixture(scope="session")
def repo_site_url(built_repo_site: Path) -> Iterator[str]:
    """Base URL of the repo's built site, served on 127.0.0.1."""
    with serve_directory(built_repo_site) as url:
        yield url


@pytest.fixture
def inbox() -> Iterator[tuple[Inbox, int]]:
    """A real SMTP server on 127.0.0.1 that keeps what it is sent: (the inbox, its port)."""
    from aiosmtpd.controller import Controller

    handler = Inbox()
    port = free_port()
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    yield handler, port
    controller.stop()
