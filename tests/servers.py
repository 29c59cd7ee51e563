"""Servers the tests start on 127.0.0.1: a free port, and an SMTP inbox (aiosmtpd)."""

from __future__ import annotations

import email
import email.policy
import signal
import socket
import subprocess
import threading
from collections import Counter
from email.message import EmailMessage
from typing import Any


class Inbox:
    """An SMTP handler that keeps every accepted message and can misbehave on cue."""

    def __init__(self) -> None:
        self.messages: list[tuple[list[str], bytes]] = []
        self.lock = threading.Lock()
        self.refuse: set[str] = set()
        self.drop_before_mail_at: int | None = None  # drop the connection at MAIL after N
        self.drop_in_data_at: int | None = None  # drop while deciding on message N+1
        self.kill_at: int | None = None  # SIGKILL the sender once N messages are in
        self.sender: subprocess.Popen[bytes] | None = None

    async def handle_MAIL(
        self, server: Any, session: Any, envelope: Any, address: str, options: list[str]
    ) -> str:
        if self.drop_before_mail_at is not None and len(self.messages) == self.drop_before_mail_at:
            self.drop_before_mail_at = None
            server.transport.close()
            return "421 4.3.0 going away"
        envelope.mail_from = address
        envelope.mail_options.extend(options)
        return "250 OK"

    async def handle_RCPT(
        self, server: Any, session: Any, envelope: Any, address: str, options: list[str]
    ) -> str:
        if address in self.refuse:
            return "550 5.1.1 no such mailbox"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        if self.drop_in_data_at is not None and len(self.messages) == self.drop_in_data_at:
            self.drop_in_data_at = None
            server.transport.close()  # the message is not kept
            return "451 4.3.0 lost"
        with self.lock:
            self.messages.append((list(envelope.rcpt_tos), envelope.original_content))
        if self.kill_at is not None and len(self.messages) == self.kill_at and self.sender:
            self.sender.send_signal(signal.SIGKILL)
            self.sender.wait()
        return "250 OK"

    def recipients(self) -> Counter[str]:
        return Counter(address for rcpt, _ in self.messages for address in rcpt)

    def parsed(self) -> list[EmailMessage]:
        return [
            email.message_from_bytes(data, policy=email.policy.default)  # type: ignore[misc]
            for _, data in self.messages
        ]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])
