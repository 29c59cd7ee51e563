"""A draft issue can be test-sent; the real send refuses drafts, future issues and UDFYLD."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from sitegen.cli import main
from sitegen.config import build_date
from sitegen.newsletter import send as newsletter_send
from tests.servers import Inbox
from tests.test_newsletter_send import SECRET, subscribers

DRAFT_ISSUE = """\
---
title: Nyhedsbrev december 2026
date: 2026-11-20
draft: true
cases:
  - ../cases/holbaek.md
---

Kære læser. Et nummer, der ikke er færdigt endnu.
"""

FUTURE_ISSUE = DRAFT_ISSUE.replace("draft: true\n", "").replace("2026-11-20", "2027-01-05")

UNFINISHED_CASE = """\
---
title: Borgerpanel i Køge
date: 2026-10-01
lead: "UDFYLD: en kort indledning på højst 300 tegn."
municipality: Køge Kommune
level: kommune
---

Køge har nedsat et borgerpanel.
"""

UNFINISHED_ISSUE = """\
---
title: "Nyhedsbrev november 2026: UDFYLD"
date: 2026-11-25
cases:
  - ../cases/koege.md
---

Kære læser.

UDFYLD: Skriv en kort indledning til nyhedsbrevet her.

## Nyt fra centret

Intet nyt.
"""


@pytest.fixture
def site(site_copy: Callable[[str], Path], monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("SITEGEN_UNSUBSCRIBE_SECRET", SECRET)
    monkeypatch.setattr(newsletter_send, "RECONNECT_DELAYS", (0.0, 0.0, 0.0))
    root = site_copy("basic")
    (root / "content/newsletter/december-2026.md").write_text(DRAFT_ISSUE, encoding="utf-8")
    (root / "content/newsletter/januar-2027.md").write_text(FUTURE_ISSUE, encoding="utf-8")
    (root / "content/cases/koege.md").write_text(UNFINISHED_CASE, encoding="utf-8")
    (root / "content/newsletter/november-2026.md").write_text(UNFINISHED_ISSUE, encoding="utf-8")
    return root


def args(root: Path, issue: str, port: int, *extra: str) -> list[str]:
    return [
        "newsletter",
        "send",
        issue,
        "--site",
        str(root),
        "--smtp-host",
        "127.0.0.1",
        "--smtp-port",
        str(port),
        "--rate",
        "0",
        *extra,
    ]


@pytest.mark.parametrize("issue", ["december-2026", "content/newsletter/januar-2027.md"])
def test_a_draft_or_future_issue_can_be_test_sent(
    site: Path,
    inbox: tuple[Inbox, int],
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    issue: str,
) -> None:
    server, port = inbox
    monkeypatch.chdir(site)
    assert main(args(site, issue, port, "--test-to", "redaktion@example.org")) == 0
    out, err = capsys.readouterr()
    [message] = server.parsed()
    title = "Nyhedsbrev december 2026"
    assert message["Subject"] == f"[TEST] {title}"
    text, html = (part.get_content() for part in message.iter_parts())  # type: ignore[attr-defined]
    assert "Holbæk eksperimenterer med demokrati" in text and title in html
    assert f"Sent a test copy of {title!r} to redaktion@example.org" in out
    assert "not on the site until it is published" in err  # its "view in browser" link
    assert not list(site.rglob("*.sendlog"))


@pytest.mark.parametrize(
    ("issue", "refusal"),
    [
        (
            "december-2026",
            "content/newsletter/december-2026.md:4: draft: the issue is a draft; "
            "remove `draft: true` to send it (--test-to sends a draft)",
        ),
        (
            "januar-2027",
            "content/newsletter/januar-2027.md:3: date: the issue is dated 2027-01-05, "
            "after today ({today}); it can be sent from that day",
        ),
    ],
)
def test_the_real_send_refuses_a_draft_or_future_issue_at_its_line(
    site: Path,
    inbox: tuple[Inbox, int],
    capsys: pytest.CaptureFixture[str],
    issue: str,
    refusal: str,
) -> None:
    server, port = inbox
    csv = subscribers(site, 3)
    for mode in ("--send", None):  # and the dry run says the same
        extra = ("--recipients", str(csv), mode) if mode else ("--recipients", str(csv))
        assert main(args(site, issue, port, *extra)) == 1
        err = capsys.readouterr().err
        assert refusal.format(today=build_date().isoformat()) in err.splitlines()
        assert "sitegen: 1 problem stops the send; nothing was sent" in err
    assert server.messages == []
    assert not list(site.rglob("*.sendlog"))


def test_the_real_send_refuses_placeholders_naming_each_file_and_line(
    site: Path, inbox: tuple[Inbox, int], capsys: pytest.CaptureFixture[str]
) -> None:
    server, port = inbox
    csv = subscribers(site, 3)
    expected = [
        "content/cases/koege.md:4: lead: still has placeholder text (UDFYLD); "
        "replace it before sending",
        "content/newsletter/november-2026.md:2: title: still has placeholder text (UDFYLD); "
        "replace it before sending",
        "content/newsletter/november-2026.md:10: body: still has placeholder text (UDFYLD); "
        "replace it before sending",
    ]
    for mode in ("--send", None):
        extra = ("--recipients", str(csv), mode) if mode else ("--recipients", str(csv))
        assert main(args(site, "november-2026", port, *extra)) == 1
        err = capsys.readouterr().err
        assert [line for line in err.splitlines() if "UDFYLD" in line] == expected
        assert "sitegen: 3 problems stop the send; nothing was sent" in err
    assert server.messages == []
    # A test copy is for proofreading: it goes out, placeholders and all.
    assert main(args(site, "november-2026", port, "--test-to", "redaktion@example.org")) == 0
    assert len(server.messages) == 1
