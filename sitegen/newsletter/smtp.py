"""One SMTP connection that hands over a message in steps, so the send log can mark the moment."""

from __future__ import annotations

import re
import smtplib
import socket
import ssl
from collections.abc import Callable
from dataclasses import dataclass

TIMEOUT = 60.0


@dataclass(frozen=True)
class SmtpSettings:
    host: str
    port: int
    starttls: bool
    user: str
    password: str  # from the environment; never printed

    def __repr__(self) -> str:
        where = f"{self.host}:{self.port}"
        return f"SmtpSettings({where}, starttls={self.starttls}, user={self.user!r})"


class Refused(Exception):
    """The server said no to this message (the connection itself is fine)."""

    def __init__(self, code: int, reply: bytes | str) -> None:
        text = reply.decode("utf-8", "replace") if isinstance(reply, bytes) else reply
        super().__init__(f"{code} {' '.join(text.split())}")
        self.code = code


class Lost(Exception):
    """The connection broke. `handed_over` is True when it broke while the server decided."""

    def __init__(self, reason: str, handed_over: bool) -> None:
        super().__init__(reason)
        self.handed_over = handed_over


class SmtpConnection:
    """An SMTP session that reconnects on demand; `deliver` sends one message to one address."""

    def __init__(self, settings: SmtpSettings) -> None:
        self.settings = settings
        self._smtp: smtplib.SMTP | None = None

    def connect(self) -> None:
        """Open (or reopen) the session: STARTTLS and login as configured."""
        self.close()
        settings = self.settings
        smtp = smtplib.SMTP(settings.host, settings.port, timeout=TIMEOUT)
        try:
            # The end of DATA goes out as its own small write: do not let Nagle hold it back.
            if smtp.sock is not None:
                smtp.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            smtp.ehlo()
            if settings.starttls:
                smtp.starttls(context=ssl.create_default_context())
                smtp.ehlo()
            if settings.user:
                smtp.login(settings.user, settings.password)
        except BaseException:
            smtp.close()
            raise
        self._smtp = smtp

    def close(self) -> None:
        if self._smtp is not None:
            try:
                self._smtp.quit()
            except (smtplib.SMTPException, OSError):
                self._smtp.close()
            self._smtp = None

    def deliver(self, sender: str, recipient: str, data: bytes, commit: Callable[[], None]) -> None:
        """Send `data` to `recipient`; `commit` runs just before the server is asked to accept.

        Raises Refused when the server rejects the message, Lost when the connection breaks.
        """
        if self._smtp is None:
            self.connect()
        smtp = self._smtp
        assert smtp is not None
        handed_over = False
        try:
            self._expect(smtp, smtp.mail(sender), (250,))
            self._expect(smtp, smtp.rcpt(recipient), (250, 251))
            self._expect(smtp, smtp.docmd("DATA"), (354,))
            smtp.send(_dot_stuffed(data))
            commit()
            handed_over = True
            smtp.send(b".\r\n")
            code, reply = smtp.getreply()
        except (smtplib.SMTPServerDisconnected, OSError) as exc:
            self._smtp = None
            raise Lost(str(exc) or type(exc).__name__, handed_over) from exc
        if code != 250:
            raise Refused(code, reply)

    @staticmethod
    def _expect(smtp: smtplib.SMTP, answer: tuple[int, bytes], codes: tuple[int, ...]) -> None:
        code, reply = answer
        if code == 421 or code == -1:
            raise smtplib.SMTPServerDisconnected(f"{code} {reply!r}")
        if code not in codes:
            smtp.rset()
            raise Refused(code, reply)


def _dot_stuffed(data: bytes) -> bytes:
    """The message as DATA content: CRLF lines, leading dots doubled, ending in CRLF."""
    data = re.sub(rb"\r?\n|\r", b"\r\n", data)
    data = re.sub(rb"(?m)^\.", b"..", data)
    return data if data.endswith(b"\r\n") else data + b"\r\n"
