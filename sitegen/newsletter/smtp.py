"""One SMTP connection that hands over a message in steps, so the send log can mark the moment.

When the session cannot be opened, ConnectFailed says why (the name does not resolve, the
connection is refused, no STARTTLS, a failed TLS handshake, a refused login) and names the
setting or flag that changes it.
"""

from __future__ import annotations

import re
import smtplib
import socket
import ssl
from collections.abc import Callable
from dataclasses import dataclass

TIMEOUT = 60.0
HOST = "the host (newsletter.smtp_host in sitegen.toml, or --smtp-host)"
PORT = "the port (newsletter.smtp_port, or --smtp-port)"
NO_STARTTLS = "newsletter.smtp_starttls = false in sitegen.toml, or --no-starttls"
USER = "the user (newsletter.smtp_user in sitegen.toml, or --smtp-user)"
NO_LOGIN = "--smtp-user '' sends without logging in"
IMPLICIT_TLS_PORT = 465


@dataclass(frozen=True)
class SmtpSettings:
    host: str
    port: int
    starttls: bool
    user: str
    password: str  # from the environment; never printed
    password_env: str = "SITEGEN_SMTP_PASSWORD"  # the variable it came from, for messages

    def __repr__(self) -> str:
        return f"SmtpSettings({self.where}, starttls={self.starttls}, user={self.user!r})"

    @property
    def where(self) -> str:
        return f"{self.host}:{self.port}"

    def describe(self) -> str:
        """How a session is opened: '(STARTTLS, logged in as 'cfb')'."""
        tls = "STARTTLS" if self.starttls else "no STARTTLS"
        login = f"logged in as {self.user!r}" if self.user else "no login"
        return f"({tls}, {login})"


class ConnectFailed(Exception):
    """The session could not be opened; the message says why and what setting changes it.

    `permanent` when trying again cannot help (a refused login, no STARTTLS); a server that
    refuses connections or does not answer may be back in a moment.
    """

    def __init__(self, cause: str, permanent: bool) -> None:
        super().__init__(cause)
        self.permanent = permanent


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
        """Open (or reopen) the session: STARTTLS and login as configured.

        Raises ConnectFailed with the cause.
        """
        self.close()
        smtp = self._open()
        try:
            self._start(smtp)
        except BaseException:
            smtp.close()
            raise
        self._smtp = smtp

    def _open(self) -> smtplib.SMTP:
        try:
            smtp = smtplib.SMTP(self.settings.host, self.settings.port, timeout=TIMEOUT)
        except (smtplib.SMTPException, OSError) as exc:
            raise ConnectFailed(*connect_cause(exc, self.settings)) from exc
        # The end of DATA goes out as its own small write: do not let Nagle hold it back.
        if smtp.sock is not None:
            smtp.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return smtp

    def _start(self, smtp: smtplib.SMTP) -> None:
        settings = self.settings
        step = "EHLO"
        try:
            smtp.ehlo()
            if settings.starttls:
                step = "STARTTLS"
                smtp.starttls(context=ssl.create_default_context())
                smtp.ehlo()
            if settings.user:
                step = "login"
                smtp.login(settings.user, settings.password)
        except (smtplib.SMTPException, OSError) as exc:
            raise ConnectFailed(*session_cause(exc, step, settings)) from exc

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


def connect_cause(exc: BaseException, settings: SmtpSettings) -> tuple[str, bool]:
    """Why the connection could not be made, and whether that is permanent."""
    where = settings.where
    if isinstance(exc, socket.gaierror):
        return (
            f"cannot look up the SMTP server {settings.host!r}: {exc.strerror}; check {HOST}",
            exc.errno == socket.EAI_NONAME,
        )
    if isinstance(exc, ConnectionRefusedError):
        return (
            f"the connection to {where} was refused: no SMTP server listens there; "
            f"check {HOST} and {PORT}",
            False,
        )
    if isinstance(exc, TimeoutError):
        return (
            f"{where} did not answer within {TIMEOUT:g} seconds; check {HOST} and {PORT}"
            + _implicit_tls_hint(settings),
            False,
        )
    if isinstance(exc, smtplib.SMTPConnectError):
        return f"the SMTP server at {where} turned the connection away: {_reply(exc)}", False
    if isinstance(exc, smtplib.SMTPServerDisconnected):
        return (
            f"the SMTP server at {where} closed the connection before it greeted"
            + _implicit_tls_hint(settings),
            False,
        )
    reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
    return f"cannot connect to {where}: {reason}; check {HOST} and {PORT}", False


def session_cause(exc: BaseException, step: str, settings: SmtpSettings) -> tuple[str, bool]:
    """Why EHLO, STARTTLS or the login failed, and whether that is permanent."""
    if step == "STARTTLS":
        return _starttls_cause(exc, settings), True
    if step == "login":
        return _login_cause(exc, settings)
    if isinstance(exc, smtplib.SMTPServerDisconnected | OSError):
        return f"the SMTP server at {settings.where} closed the connection after greeting", False
    return f"the SMTP server at {settings.where} refused EHLO: {_reply(exc)}", True


def _starttls_cause(exc: BaseException, settings: SmtpSettings) -> str:
    where = settings.where
    if isinstance(exc, smtplib.SMTPNotSupportedError):
        return (
            f"the SMTP server at {where} does not offer STARTTLS, so the connection cannot be "
            f"encrypted; use a server or port that offers it, or (only for a server you trust, "
            f"such as one on this machine) turn it off with {NO_STARTTLS}"
        )
    if isinstance(exc, ssl.SSLCertVerificationError):
        return (
            f"the TLS handshake with {where} failed: its certificate is not accepted "
            f"({exc.verify_message}); check that {HOST} is the name on its certificate"
        )
    if isinstance(exc, smtplib.SMTPResponseException):
        return (
            f"the SMTP server at {where} offers STARTTLS but refused it: {_reply(exc)}; "
            f"only for a server you trust, turn it off with {NO_STARTTLS}"
        )
    reason = exc.reason if isinstance(exc, ssl.SSLError) and exc.reason else str(exc)
    return (
        f"the TLS handshake with {where} failed after STARTTLS ({reason or type(exc).__name__}): "
        f"the server's TLS does not work with this client; ask its administrator, or, only for "
        f"a server you trust, turn STARTTLS off with {NO_STARTTLS}"
    )


def _login_cause(exc: BaseException, settings: SmtpSettings) -> tuple[str, bool]:
    where, user = settings.where, settings.user
    if isinstance(exc, smtplib.SMTPAuthenticationError):
        return (
            f"the SMTP server at {where} refused the login as {user!r}: {_reply(exc)}; check "
            f"{USER} and the password in the environment variable {settings.password_env} "
            f"({NO_LOGIN})",
            True,
        )
    if isinstance(exc, smtplib.SMTPNotSupportedError):
        tls = "" if settings.starttls else f" (many only after STARTTLS, off here: {NO_STARTTLS})"
        return (
            f"the SMTP server at {where} does not offer a login (AUTH){tls}; "
            f"{USER} is {user!r}, and {NO_LOGIN}",
            True,
        )
    if isinstance(exc, smtplib.SMTPServerDisconnected | OSError):
        return f"the SMTP server at {where} closed the connection during the login", False
    return f"the SMTP server at {where} offers no login sitegen can use ({exc}); {NO_LOGIN}", True


def _reply(exc: BaseException) -> str:
    """'535 5.7.8 Authentication credentials invalid' from an SMTP error."""
    if isinstance(exc, smtplib.SMTPResponseException):
        error = exc.smtp_error
        text = error.decode("utf-8", "replace") if isinstance(error, bytes) else str(error)
        return f"{exc.smtp_code} {' '.join(text.split())}".strip()
    return str(exc)


def _implicit_tls_hint(settings: SmtpSettings) -> str:
    if settings.port != IMPLICIT_TLS_PORT:
        return ""
    return (
        f"; port {IMPLICIT_TLS_PORT} expects TLS from the first byte, which sitegen does not "
        "speak: use the submission port 587 with STARTTLS"
    )
