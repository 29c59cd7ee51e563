"""`sitegen check`: build errors without output/, editorial warnings, --strict, --external."""

from __future__ import annotations

import contextlib
import http.server
import json
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from sitegen.cli import main
from tests.conftest import CASE, REPO
from tests.photos import tiny_png

AEROE = """\
---
title: Ærø afprøver borgerbudgetter
date: 2020-03-01
lead: En kort indledning.
municipality: Ærø Kommune
level: lokalsamfund
related:
  - title: Læs mere
    url: https://example.org/
---

Se [Holbæk eksperimenterer](holbaek.md) og ![](kort.png).

# Stor overskrift

## Afsnit

#### For dybt

[klik her](https://example.org/a) eller <https://example.org/b>.
"""

OM = """\
---
title: Om os
---

Vi er et center.

UDFYLD: mere tekst.
"""


@pytest.fixture
def problem_site(new_site: Callable[[dict[str, str]], Path]) -> Path:
    long_lead = "Et langt indledende afsnit om borgerdialog. " * 8
    root = new_site(
        {
            "content/cases/aeroe.md": AEROE,
            "content/cases/holbaek.md": CASE.format(title="Holbæk eksperimenterer").replace(
                "En kort indledning.", long_lead.strip()
            ),
            "content/pages/om.md": OM,
        }
    )
    (root / "content/cases/kort.png").write_bytes(tiny_png())
    return root


EXPECTED_WARNINGS = [
    "content/cases/aeroe.md:2: warning: no other case, page or newsletter links to this case; link to it where it fits",
    "content/cases/aeroe.md:8: warning: related: link text 'Læs mere' does not say where the link goes",
    "content/cases/aeroe.md:12: warning: image: 'kort.png' has no alt text: write what it shows, like ![Kort](kort.png)",
    "content/cases/aeroe.md:14: warning: heading: heading 'Stor overskrift' is level 1; the title is the only h1: use ##",
    "content/cases/aeroe.md:18: warning: heading: heading 'For dybt' skips from level 2 to 4: use ###",
    "content/cases/aeroe.md:20: warning: link: link text 'klik her' does not say where the link goes",
    "content/cases/aeroe.md:20: warning: link: link text is a bare URL ('https://example.org/b'): say where the link goes",
    "content/cases/holbaek.md:4: warning: lead: lead is 351 characters; keep it under 300 (it is the teaser)",
    "content/pages/om.md:1: warning: lead: no lead: write one; it is the page's description in search results",
    "content/pages/om.md:7: warning: still has placeholder text",
]


def test_editorial_problems_are_warnings_at_their_lines(
    problem_site: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["check", "--site", str(problem_site)]) == 0
    captured = capsys.readouterr()
    assert captured.err.splitlines() == EXPECTED_WARNINGS
    assert captured.out == "sitegen check: 0 errors, 10 warnings\n"
    assert not (problem_site / "output").exists()


def test_strict_turns_warnings_into_errors(
    problem_site: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["check", "--strict", "--site", str(problem_site)]) == 1
    lines = capsys.readouterr().err.splitlines()
    assert lines[:-1] == [line.replace(" warning:", "") for line in EXPECTED_WARNINGS]
    assert lines[-1] == (
        "sitegen check: 0 errors, 10 warnings (--strict: warnings count as errors)"
    )


def test_build_errors_fail_the_check_and_nothing_is_written(
    new_site: Callable[[dict[str, str]], Path], capsys: pytest.CaptureFixture[str]
) -> None:
    root = new_site(
        {"content/cases/a.md": CASE.format(title="A").replace("level:", "niveau: x\nlevel:")}
    )
    assert main(["check", "--site", str(root)]) == 1
    err = capsys.readouterr().err
    assert "content/cases/a.md:6: niveau: unknown field" in err
    assert err.endswith("sitegen check: 1 error, 1 warning\n")  # the case is linked from nowhere
    assert not (root / "output").exists()


def test_the_repo_site_passes_a_strict_check(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["check", "--strict", "--site", str(REPO)]) == 0
    assert capsys.readouterr().out == "sitegen check: 0 errors, 0 warnings\n"


def test_a_link_from_another_case_or_page_counts(
    new_site: Callable[[dict[str, str]], Path], capsys: pytest.CaptureFixture[str]
) -> None:
    root = new_site(
        {
            "content/cases/a.md": CASE.format(title="A") + "\nSe [case B](/cases/b/).\n",
            "content/cases/b.md": CASE.format(title="B") + "\nSe [case A](a.md).\n",
            "content/cases/c.md": CASE.format(title="C") + "\nSe [case C](c.md).\n",
            "content/pages/om.md": "---\ntitle: Om\nlead: Om os.\n---\n\n[C](../cases/c.md)\n",
            "content/cases/d.md": CASE.format(title="D").replace("---\n\n", "draft: true\n---\n\n"),
        }
    )
    assert main(["check", "--strict", "--site", str(root)]) == 0, capsys.readouterr().err


# --- External links, against servers on 127.0.0.1 ---------------------------------------


class _LinkHandler(http.server.BaseHTTPRequestHandler):
    requests: list[str] = []  # noqa: RUF012 - shared by the test server's handlers

    def do_HEAD(self) -> None:
        self._answer()

    def do_GET(self) -> None:
        self._answer()

    def _answer(self) -> None:
        type(self).requests.append(self.path)
        if self.path == "/langsom":
            time.sleep(2)
        if self.path == "/kun-get" and self.command == "HEAD":
            self.send_response(405)
        else:
            self.send_response(200 if self.path in ("/ok", "/kun-get", "/langsom") else 404)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, format: str, *args: object) -> None:
        pass


@contextlib.contextmanager
def link_server() -> Iterator[str]:
    _LinkHandler.requests = []
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _LinkHandler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def test_external_links_report_broken_and_slow_ones(
    new_site: Callable[[dict[str, str]], Path], capsys: pytest.CaptureFixture[str]
) -> None:
    with link_server() as origin:
        case = CASE.format(title="A").replace(
            "---\n\n",
            f"related:\n  - title: Kommunens side\n    url: {origin}/mangler\n---\n\n",
        )
        body = (
            f"\nSe [Holbæk Kommune]({origin}/ok) og [Demokratieksperimentariet]({origin}/kun-get).\n"
            f"\nOg [en langsom side]({origin}/langsom).\n"
        )
        root = new_site({"content/cases/a.md": case + body})
        page = "---\ntitle: Om\nlead: Om os.\n---\n\n[Case A](../cases/a.md)\n"
        (root / "content/pages").mkdir()
        (root / "content/pages/om.md").write_text(page)
        argv = ["check", "--external", "--timeout", "0.5", "--site", str(root)]

        assert main(argv) == 0
        captured = capsys.readouterr()
        assert captured.err.splitlines() == [
            f"content/cases/a.md:10: warning: related: {origin}/mangler is broken: HTTP 404",
            f"content/cases/a.md:17: warning: link: {origin}/langsom is broken: timed out after 0.5 s",
        ]
        assert captured.out.splitlines() == [
            "Checking 4 external links ...",
            "sitegen check: 0 errors, 2 warnings",
        ]
        cache = json.loads((root / ".sitegen-cache/links.json").read_text())
        assert sorted(cache) == [f"{origin}/kun-get", f"{origin}/ok"]

        _LinkHandler.requests = []
        assert main([*argv, "--strict"]) == 1
        assert capsys.readouterr().err.splitlines() == [
            f"content/cases/a.md:10: related: {origin}/mangler is broken: HTTP 404",
            f"content/cases/a.md:17: link: {origin}/langsom is broken: timed out after 0.5 s",
            "sitegen check: 0 errors, 2 warnings (--strict: warnings count as errors)",
        ]
        # working links are remembered for a day; broken ones are asked again
        assert sorted(set(_LinkHandler.requests)) == ["/langsom", "/mangler"]
