"""When the SMTP server cannot be used, `newsletter send` says why and what setting changes it.

Every server here runs on 127.0.0.1 inside the test; the unresolvable name is under `.invalid`,
which never resolves.
"""

from __future__ import annotations

import socket
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult

from sitegen.cli import main
from sitegen.newsletter import send as newsletter_send
from tests.servers import Inbox, free_port
from tests.test_newsletter_send import PASSWORD, SECRET, subscribers


@pytest.fixture
def site(site_copy: Callable[[str], Path], monkeypatch: pytest.MonkeyPatch) -> Path:
    """The basic site with STARTTLS on (the default), a secret and a password in the env."""
    monkeypatch.setenv("SITEGEN_UNSUBSCRIBE_SECRET", SECRET)
    monkeypatch.setenv("SITEGEN_SMTP_PASSWORD", PASSWORD)
    monkeypatch.setattr(newsletter_send, "RECONNECT_DELAYS", (0.0, 0.0, 0.0))
    root = site_copy("basic")
    config = root / "sitegen.toml"
    config.write_text(config.read_text().replace("smtp_starttls = false\n", ""))
    return root


def run_send(
    root: Path, host: str, port: int, capsys: pytest.CaptureFixture[str], *extra: str
) -> tuple[int, str]:
    csv = subscribers(root, 3)
    code = main(
        [
            "newsletter",
            "send",
            "juni-2013",
            "--recipients",
            str(csv),
            "--site",
            str(root),
            "--smtp-host",
            host,
            "--smtp-port",
            str(port),
            "--rate",
            "0",
            "--send",
            *extra,
        ]
    )
    out, err = capsys.readouterr()
    return code, out + err


@pytest.fixture
def plain_server() -> Iterator[tuple[Inbox, int]]:
    """aiosmtpd without TLS: it does not offer STARTTLS."""
    handler = Inbox()
    port = free_port()
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    yield handler, port
    controller.stop()


def test_a_server_without_starttls_is_named_with_the_setting_and_the_flag(
    site: Path, plain_server: tuple[Inbox, int], capsys: pytest.CaptureFixture[str]
) -> None:
    server, port = plain_server
    code, output = run_send(site, "127.0.0.1", port, capsys, "-v")
    assert code == 1
    assert f"the SMTP server at 127.0.0.1:{port} does not offer STARTTLS" in output
    assert "newsletter.smtp_starttls = false" in output and "--no-starttls" in output
    assert "not tried 3" in output and server.messages == []
    # The flag it names does what it says.
    code, output = run_send(site, "127.0.0.1", port, capsys, "--no-starttls")
    assert code == 0, output
    assert len(server.messages) == 3


class BrokenTls:
    """Says it offers STARTTLS, agrees to start it, then answers the handshake with garbage."""

    def __init__(self) -> None:
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = int(self.listener.getsockname()[1])
        self.thread = threading.Thread(target=self.serve, daemon=True)
        self.thread.start()

    def serve(self) -> None:
        while True:
            try:
                conn, _ = self.listener.accept()
            except OSError:
                return
            with conn:
                self.talk(conn)

    @staticmethod
    def talk(conn: socket.socket) -> None:
        reader = conn.makefile("rb")
        conn.sendall(b"220 broken.example ESMTP\r\n")
        for line in reader:
            command = line.strip().upper()
            if command.startswith((b"EHLO", b"HELO")):
                conn.sendall(b"250-broken.example\r\n250 STARTTLS\r\n")
            elif command == b"STARTTLS":
                conn.sendall(b"220 go ahead\r\n")
                conn.sendall(b"this is not TLS at all\r\n" * 4)
                break
            else:
                conn.sendall(b"500 what\r\n")
        reader.close()

    def close(self) -> None:
        self.listener.close()
        self.thread.join(5)


def test_a_failed_tls_handshake_is_named_with_the_setting_and_the_flag(
    site: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    server = BrokenTls()
    try:
        code, output = run_send(site, "127.0.0.1", server.port, capsys)
    finally:
        server.close()
    assert code == 1
    assert f"the TLS handshake with 127.0.0.1:{server.port} failed" in output
    assert "newsletter.smtp_starttls" in output and "--no-starttls" in output
    assert "not tried 3" in output


def test_a_refused_login_is_named_with_the_user_settings_and_the_password_variable(
    site: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    def authenticator(*args: Any) -> AuthResult:
        return AuthResult(success=False, handled=False)

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
        code, output = run_send(
            site, "127.0.0.1", port, capsys, "--no-starttls", "--smtp-user", "cfb"
        )
        assert code == 1
        assert f"the SMTP server at 127.0.0.1:{port} refused the login as 'cfb': 535" in output
        assert "newsletter.smtp_user" in output and "--smtp-user" in output
        assert "SITEGEN_SMTP_PASSWORD" in output
        assert PASSWORD not in output
        assert handler.messages == []
        # --smtp-user "" sends without logging in (this server does not require it).
        site_config = site / "sitegen.toml"
        site_config.write_text(site_config.read_text() + 'smtp_user = "cfb"\n')
        code, output = run_send(site, "127.0.0.1", port, capsys, "--no-starttls", "--smtp-user", "")
        assert code == 0, output
        assert len(handler.messages) == 3
    finally:
        controller.stop()


def test_a_closed_port_is_named_with_the_host_and_port_settings(
    site: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    port = free_port()
    code, output = run_send(site, "127.0.0.1", port, capsys, "-v")
    assert code == 1
    assert f"the connection to 127.0.0.1:{port} was refused" in output
    assert "--smtp-port" in output and "newsletter.smtp_port" in output
    assert "--smtp-host" in output and "newsletter.smtp_host" in output
    assert "not tried 3" in output


def test_a_host_name_that_does_not_resolve_is_named_with_the_host_setting(
    site: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, output = run_send(site, "smtp.sitegen-test.invalid", 587, capsys)
    assert code == 1
    assert "cannot look up the SMTP server 'smtp.sitegen-test.invalid'" in output
    assert "--smtp-host" in output and "newsletter.smtp_host" in output
    assert "not tried 3" in output


def test_a_test_copy_says_the_cause_too(
    site: Path, plain_server: tuple[Inbox, int], capsys: pytest.CaptureFixture[str]
) -> None:
    _, port = plain_server
    code = main(
        [
            "newsletter",
            "send",
            "juni-2013",
            "--site",
            str(site),
            "--smtp-host",
            "127.0.0.1",
            "--smtp-port",
            str(port),
            "--test-to",
            "redaktion@example.org",
        ]
    )
    err = capsys.readouterr().err
    assert code == 1
    assert "test copy to redaktion@example.org not sent" in err
    assert "does not offer STARTTLS" in err and "--no-starttls" in err
