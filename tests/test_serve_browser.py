"""`sitegen serve` in a real Chromium: an edit shows by itself, a broken edit shows an overlay."""

from __future__ import annotations

import os
import queue
import re
import shutil
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, expect

from tests.conftest import REPO

CASE = "content/cases/holbaek-eksperimenterer-med-demokrati.md"
OLD = "Holbæk Kommune er udvalgt som case på kommune-niveau."
NEW = "Holbæk Kommune blev i 2013 valgt som case på kommune-niveau."
FIXED = "Holbæk Kommune er siden blevet et forbillede for andre kommuner."


class Serving:
    """A `sitegen serve` subprocess and the lines it prints."""

    def __init__(self, site: Path) -> None:
        env = dict(os.environ, PYTHONPATH=str(REPO), PYTHONUNBUFFERED="1")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "sitegen", "serve", "--site", str(site), "--port", "0"],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
        )
        self.lines: queue.Queue[str] = queue.Queue()
        self.stderr: list[str] = []
        assert self.process.stdout is not None and self.process.stderr is not None
        self.readers = [
            threading.Thread(target=self._read, args=(self.process.stdout, None), daemon=True),
            threading.Thread(
                target=self._read, args=(self.process.stderr, self.stderr), daemon=True
            ),
        ]
        for reader in self.readers:
            reader.start()

    def _read(self, stream: object, keep: list[str] | None) -> None:
        for line in stream:  # type: ignore[attr-defined]
            (keep.append if keep is not None else self.lines.put)(line)

    def url(self) -> str:
        while True:
            line = self.lines.get(timeout=60)
            if match := re.match(r"Serving (http://\S+)", line):
                return match.group(1)

    def stop(self) -> int:
        self.process.send_signal(signal.SIGINT)
        return self.close()

    def close(self) -> int:
        """Wait for the process (killing it if it hangs), then close its pipes."""
        try:
            code = self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            code = self.process.wait()
        for reader in self.readers:
            reader.join(timeout=10)
        for stream in (self.process.stdout, self.process.stderr):
            if stream is not None:
                stream.close()
        return code


@pytest.fixture
def serving(tmp_path: Path) -> Iterator[tuple[Serving, Path]]:
    site = tmp_path / "site"
    site.mkdir()
    shutil.copy(REPO / "sitegen.toml", site)
    shutil.copytree(REPO / "content", site / "content")
    shutil.copytree(REPO / "templates", site / "templates")
    server = Serving(site)
    try:
        yield server, site
    finally:
        if server.process.poll() is None:
            server.process.kill()
        server.close()


def save_atomically(path: Path, text: str) -> None:
    """How many editors save: a temporary file renamed over the real one."""
    temporary = path.with_name(f".{path.name}.tmp")
    temporary.write_text(text, encoding="utf-8")
    temporary.replace(path)


def test_an_open_page_follows_edits_and_shows_build_errors(
    browser: Browser, serving: tuple[Serving, Path], artifacts: Path
) -> None:
    server, site = serving
    case = site / CASE
    page = browser.new_page()
    page.goto(server.url() + "cases/holbaek-eksperimenterer-med-demokrati/")
    expect(page.get_by_text(OLD)).to_be_visible()

    case.write_text(case.read_text(encoding="utf-8").replace(OLD, NEW), encoding="utf-8")
    expect(page.get_by_text(NEW)).to_be_visible(timeout=15_000)
    expect(page.get_by_text(OLD)).to_have_count(0)

    good = case.read_text(encoding="utf-8")
    level_line = good.split("\n").index("level: kommune") + 1
    case.write_text(good.replace("level: kommune", "level: kommunal"), encoding="utf-8")
    overlay = page.locator("#sitegen-fejl")
    expect(overlay).to_be_visible(timeout=15_000)
    expect(overlay).to_contain_text(
        f"{CASE}:{level_line}: level: must be one of individ, lokalsamfund, kommune"
    )
    expect(page.get_by_text(NEW)).to_be_visible()  # the last good page stays
    page.screenshot(path=str(artifacts / "serve-overlay.png"))

    save_atomically(case, good.replace(NEW, FIXED))
    expect(page.get_by_text(FIXED)).to_be_visible(timeout=15_000)
    expect(overlay).to_have_count(0)

    assert server.stop() in (0, 130)
    errors = "".join(server.stderr)
    assert f"{CASE}:{level_line}: level:" in errors
    assert "Traceback" not in errors
    page.close()
