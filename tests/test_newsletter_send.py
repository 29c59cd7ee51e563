"""`sitegen newsletter send` against a real SMTP server (aiosmtpd) on 127.0.0.1."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

from sitegen.cli import main
from sitegen.newsletter import send as newsletter_send
from sitegen.render.email import subscriber_id, unsubscribe_token
from tests.servers import Inbox, free_port

REPO = Path(__file__).resolve().parent.parent
SECRET = "tokenhemmelighed"
PASSWORD = "s3cret-Pa55word-xyz"


@pytest.fixture
def site(site_copy: Callable[[str], Path], monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("SITEGEN_UNSUBSCRIBE_SECRET", SECRET)
    monkeypatch.setattr(newsletter_send, "RECONNECT_DELAYS", (0.0, 0.0, 0.0))
    return site_copy("basic")


def subscribers(root: Path, count: int, extra: str = "") -> Path:
    path = root / "subscribers.csv"
    rows = [f"modtager{n:03}@example.org;Modtager {n}" for n in range(count)]
    path.write_text("email;navn\n" + "\n".join(rows) + "\n" + extra, encoding="utf-8")
    return path


def send_args(root: Path, csv: Path, port: int, *extra: str) -> list[str]:
    return [
        "newsletter",
        "send",
        "juni-2013",
        "--recipients",
        str(csv),
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


def test_dry_run_sends_nothing_and_says_what_it_would_do(
    site: Path, inbox: tuple[Inbox, int], capsys: pytest.CaptureFixture[str]
) -> None:
    server, port = inbox
    csv = subscribers(site, 3, "ikke-en-adresse;Fejl\n")
    assert main(send_args(site, csv, port)) == 0
    out, err = capsys.readouterr()
    assert "Dry run: would send 'Nyhedsbrev juni 2013: Holbæk' to 3 of 3 recipients" in out
    assert f"{csv}:5: email: 'ikke-en-adresse' is not an e-mail address" in err
    assert server.messages == []
    assert not list(site.glob("*.sendlog"))  # a dry run leaves no trace


def test_every_recipient_gets_one_intact_message_with_their_own_unsubscribe_link(
    site: Path, inbox: tuple[Inbox, int], capsys: pytest.CaptureFixture[str]
) -> None:
    server, port = inbox
    csv = subscribers(site, 12, "modtager003@EXAMPLE.org;Igen\nikke-en-adresse;Fejl\n")
    assert main(send_args(site, csv, port, "--send")) == 1  # the bad address fails the run
    out, err = capsys.readouterr()
    assert "juni-2013: sent 12, skipped 1, failed 1, uncertain 0" in out
    assert "'ikke-en-adresse' is not an e-mail address" in err
    assert set(server.recipients().values()) == {1} and len(server.recipients()) == 12
    message_ids = []
    for (rcpt,), message in zip((r for r, _ in server.messages), server.parsed(), strict=True):
        token = unsubscribe_token(SECRET.encode(), rcpt)
        subscriber = subscriber_id(rcpt)
        own = f"https://example.org/afmeld?id={subscriber}&amp;token={token}"
        assert message["To"].addresses[0].addr_spec == rcpt
        assert message["Subject"] == "Nyhedsbrev juni 2013: Holbæk"
        assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
        assert own.replace("&amp;", "&") in message["List-Unsubscribe"]
        text, html = (part.get_content() for part in message.iter_parts())  # type: ignore[attr-defined]
        assert own in html and own.replace("&amp;", "&") in text
        assert "Arrangementer" in text and html.rstrip().endswith("</html>")
        message_ids.append(str(message["Message-ID"]))
    # one Message-ID per recipient: the issue, a hash of the address, the site's domain
    assert len(set(message_ids)) == 12
    for message_id in message_ids:
        assert re.fullmatch(
            r"<nyhedsbrev\.20130601\.juni-2013\.[0-9a-f]{16}@example\.org>", message_id
        ), message_id
    # A second run sends nothing: everyone is in the send log.
    assert main(send_args(site, csv, port, "--send")) == 1
    assert "sent 0, skipped 13, failed 1" in capsys.readouterr().out
    assert len(server.messages) == 12


def test_one_refused_recipient_does_not_stop_the_others(
    site: Path, inbox: tuple[Inbox, int], capsys: pytest.CaptureFixture[str]
) -> None:
    server, port = inbox
    server.refuse = {"modtager002@example.org"}
    csv = subscribers(site, 6)
    assert main(send_args(site, csv, port, "--send")) == 1
    out, err = capsys.readouterr()
    assert "sent 5, skipped 0, failed 1, uncertain 0" in out
    assert "modtager002@example.org: refused by the server: 550 5.1.1 no such mailbox" in err
    assert sorted(server.recipients()) == [f"modtager00{n}@example.org" for n in (0, 1, 3, 4, 5)]
    server.refuse = set()  # the mailbox exists now: a new run sends to it alone
    assert main(send_args(site, csv, port, "--send")) == 0
    assert "sent 1, skipped 5, failed 0" in capsys.readouterr().out
    assert set(server.recipients().values()) == {1} and len(server.recipients()) == 6


def test_send_killed_halfway_then_run_again_delivers_each_exactly_once(
    site: Path, inbox: tuple[Inbox, int]
) -> None:
    server, port = inbox
    csv = subscribers(site, 100)
    env = dict(os.environ, PYTHONPATH=str(REPO))
    command = [sys.executable, "-m", "sitegen", *send_args(site, csv, port, "--send")]
    server.kill_at = 50
    server.sender = subprocess.Popen(
        command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    server.sender.communicate(timeout=120)
    assert server.sender.returncode == -signal.SIGKILL
    assert len(server.messages) == 50
    server.kill_at = None
    again = subprocess.run(command, env=env, capture_output=True, text=True, timeout=120)
    # The 50th was handed over when the sender died: it arrived, but the sender cannot know,
    # so it is reported as uncertain rather than sent a second time.
    assert "sent 50, skipped 49, failed 0, uncertain 1" in again.stdout
    assert "modtager049@example.org: an earlier run handed it over" in again.stderr
    assert again.returncode == 1
    assert len(server.messages) == 100
    assert set(server.recipients().values()) == {1} and len(server.recipients()) == 100


def test_connection_dropped_before_a_message_is_resumed_in_the_same_run(
    site: Path, inbox: tuple[Inbox, int], capsys: pytest.CaptureFixture[str]
) -> None:
    server, port = inbox
    server.drop_before_mail_at = 15
    csv = subscribers(site, 30)
    assert main(send_args(site, csv, port, "--send")) == 0
    assert "sent 30, skipped 0, failed 0, uncertain 0" in capsys.readouterr().out
    assert set(server.recipients().values()) == {1} and len(server.recipients()) == 30


def test_connection_dropped_while_deciding_is_uncertain_and_can_be_resent(
    site: Path, inbox: tuple[Inbox, int], capsys: pytest.CaptureFixture[str]
) -> None:
    server, port = inbox
    server.drop_in_data_at = 10
    csv = subscribers(site, 20)
    assert main(send_args(site, csv, port, "--send")) == 1
    out, err = capsys.readouterr()
    assert "sent 19, skipped 0, failed 0, uncertain 1" in out
    assert "modtager010@example.org: connection lost while the server took the message" in err
    assert main(send_args(site, csv, port, "--send")) == 1  # not resent by default
    assert "sent 0, skipped 19, failed 0, uncertain 1" in capsys.readouterr().out
    assert main(send_args(site, csv, port, "--send", "--resend-uncertain")) == 0
    assert "sent 1, skipped 19, failed 0, uncertain 0" in capsys.readouterr().out
    assert set(server.recipients().values()) == {1} and len(server.recipients()) == 20


def test_unreachable_server_stops_the_run_and_a_later_run_finishes(
    site: Path, inbox: tuple[Inbox, int], capsys: pytest.CaptureFixture[str]
) -> None:
    server, port = inbox
    csv = subscribers(site, 4)
    assert main(send_args(site, csv, free_port(), "--send")) == 1
    out, err = capsys.readouterr()
    assert "sent 0, skipped 0, failed 0, uncertain 0, not tried 4" in out
    assert "the SMTP server cannot be reached" in err
    assert main(send_args(site, csv, port, "--send")) == 0
    assert len(server.recipients()) == 4


def test_test_copy_goes_to_one_address_and_is_not_logged(
    site: Path, inbox: tuple[Inbox, int], capsys: pytest.CaptureFixture[str]
) -> None:
    server, port = inbox
    args = send_args(site, site / "none.csv", port, "--test-to", "redaktion@example.org")
    assert main(args) == 0
    assert [message["Subject"] for message in server.parsed()] == [
        "[TEST] Nyhedsbrev juni 2013: Holbæk"
    ]
    assert not list(site.glob("*.sendlog"))


def test_password_never_appears_in_output_or_log(
    site_copy: Callable[[str], Path], tmp_path: Path
) -> None:
    root = site_copy("basic")
    config = root / "sitegen.toml"
    config.write_text(config.read_text() + 'smtp_user = "cfb"\nsend_log_dir = "logs"\n')
    logins: list[tuple[bytes, bytes]] = []

    def authenticator(
        server: Any, session: Any, envelope: Any, mechanism: str, data: Any
    ) -> AuthResult:
        assert isinstance(data, LoginPassword)
        logins.append((data.login, data.password))
        ok = data.password == PASSWORD.encode()
        return AuthResult(success=ok, handled=False)

    handler = Inbox()
    port = free_port()
    controller = Controller(
        handler,
        hostname="127.0.0.1",
        port=port,
        auth_require_tls=False,
        authenticator=authenticator,
    )
    controller.start()
    try:
        env = dict(
            os.environ,
            PYTHONPATH=str(REPO),
            SITEGEN_SMTP_PASSWORD=PASSWORD,
            SITEGEN_UNSUBSCRIBE_SECRET=SECRET,
        )
        csv = subscribers(root, 3)
        command = [sys.executable, "-m", "sitegen", *send_args(root, csv, port, "--send", "-v")]
        env["SITEGEN_SMTP_PASSWORD"] = PASSWORD + "-wrong"
        bad = subprocess.run(command, env=env, capture_output=True, text=True, timeout=120)
        env["SITEGEN_SMTP_PASSWORD"] = PASSWORD
        good = subprocess.run(command, env=env, capture_output=True, text=True, timeout=120)
        assert good.returncode == 0, good.stderr
        dry = subprocess.run(command[:-2], env=env, capture_output=True, text=True, timeout=120)
    finally:
        controller.stop()
    assert logins[-1] == (b"cfb", PASSWORD.encode())
    assert "stopped: the SMTP server at 127.0.0.1:" in bad.stderr
    assert "refused the login as 'cfb': 535" in bad.stderr
    assert "not tried 3" in bad.stdout and bad.returncode == 1
    assert len(handler.messages) == 3
    logs = "".join(p.read_text() for p in (root / "logs").iterdir())
    assert '"event": "sent"' in logs
    for text in (good.stdout, good.stderr, bad.stdout, bad.stderr, dry.stdout, dry.stderr, logs):
        assert PASSWORD not in text
        assert SECRET not in text
    for _, data in handler.messages:
        assert PASSWORD.encode() not in data and SECRET.encode() not in data
