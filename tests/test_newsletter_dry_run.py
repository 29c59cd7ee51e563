"""The dry run checks everything a real send needs and reports every problem at once."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from sitegen.cli import main
from tests.servers import Inbox, free_port
from tests.test_newsletter_send import SECRET, subscribers


def dry_run(root: Path, csv: Path, *extra: str) -> list[str]:
    return [
        "newsletter",
        "send",
        "juni-2013",
        "--recipients",
        str(csv),
        "--site",
        str(root),
        *extra,
    ]


@pytest.mark.parametrize(
    ("name", "data", "problem"),
    [
        ("mangler.csv", None, "no such file"),
        ("tom.csv", b"email;navn\n", "no recipients: the file lists no e-mail addresses"),
        (
            "latin1.csv",
            "email\nsøren@example.org\n".encode("latin-1"),
            "not UTF-8 text; save it as CSV UTF-8",
        ),
    ],
)
def test_every_missing_setting_secret_and_recipient_problem_in_one_run(
    site_copy: Callable[[str], Path],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    name: str,
    data: bytes | None,
    problem: str,
) -> None:
    root = site_copy("basic")
    monkeypatch.delenv("SITEGEN_UNSUBSCRIBE_SECRET", raising=False)
    monkeypatch.delenv("SITEGEN_SMTP_PASSWORD", raising=False)
    config = root / "sitegen.toml"
    config.write_text(config.read_text() + 'smtp_user = "cfb"\n')
    issue = root / "content/newsletter/juni-2013.md"
    issue.write_text(issue.read_text().replace("## Arrangementer", "## UDFYLD"))
    csv = root / name
    if data is not None:
        csv.write_bytes(data)
    assert main(dry_run(root, csv)) == 1
    out, err = capsys.readouterr()
    assert err.splitlines() == [
        "content/newsletter/juni-2013.md:12: body: still has placeholder text (UDFYLD); "
        "replace it before sending",
        f"{csv}: {problem}",
        "sitegen.toml: newsletter.smtp_host: no SMTP server: set it, or pass --smtp-host HOST",
        "SITEGEN_SMTP_PASSWORD: the SMTP password is not in this environment variable "
        "(newsletter.smtp_user is 'cfb'; --smtp-user '' sends without logging in)",
        "SITEGEN_UNSUBSCRIBE_SECRET: the secret that signs the unsubscribe links is not in "
        "this environment variable (newsletter.unsubscribe_url is set)",
        "sitegen: 5 problems stop the send; nothing was sent",
    ]
    assert out == ""


def test_a_dry_run_with_everything_in_place_checks_the_server_and_exits_0(
    site_copy: Callable[[str], Path],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    inbox: tuple[Inbox, int],
) -> None:
    server, port = inbox
    root = site_copy("basic")
    monkeypatch.setenv("SITEGEN_UNSUBSCRIBE_SECRET", SECRET)
    csv = subscribers(root, 4)
    extra = ("--smtp-host", "127.0.0.1", "--smtp-port", str(port))
    assert main(dry_run(root, csv, *extra)) == 0
    out, err = capsys.readouterr()
    assert f"SMTP server 127.0.0.1:{port}: connected (no STARTTLS, no login)" in out
    assert "Dry run: would send 'Nyhedsbrev juni 2013: Holbæk' to 4 of 4 recipients" in out
    assert err == "" and server.messages == []
    # The same dry run against a server that is not there: the cause, exit 1.
    closed = free_port()
    assert main(dry_run(root, csv, "--smtp-host", "127.0.0.1", "--smtp-port", str(closed))) == 1
    err = capsys.readouterr().err
    assert f"the connection to 127.0.0.1:{closed} was refused" in err
    assert "sitegen: 1 problem stops the send; nothing was sent" in err
