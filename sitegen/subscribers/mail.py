"""The confirmation mail (Danish, plain text) and the SMTP session that sends it.

The server settings are `sitegen.toml`'s [newsletter] ones, with the flags of `newsletter send`
(--smtp-host, --smtp-port, --smtp-user, --no-starttls) to override them; the password comes
only from the environment.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import smtplib
import ssl
from dataclasses import dataclass
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid
from urllib.parse import urlencode, urlsplit

from sitegen.config import CONFIG_FILE, Config
from sitegen.render.email import sender_address
from sitegen.render.signing import DkimKey, sign

TIMEOUT = 30.0


@dataclass(frozen=True)
class MailSettings:
    host: str
    port: int
    starttls: bool
    user: str
    password: str  # from the environment; never printed

    def __repr__(self) -> str:
        return (
            f"MailSettings({self.host}:{self.port}, starttls={self.starttls}, user={self.user!r})"
        )


def add_smtp_arguments(parser: argparse.ArgumentParser) -> None:
    """The SMTP flags of `newsletter send`, for the commands that mail confirmations."""
    parser.add_argument("--smtp-host", metavar="HOST", help="override newsletter.smtp_host")
    parser.add_argument(
        "--smtp-port", type=int, metavar="PORT", help="override newsletter.smtp_port"
    )
    parser.add_argument(
        "--smtp-user", metavar="USER", help="override newsletter.smtp_user; '' for no login"
    )
    parser.add_argument(
        "--no-starttls", action="store_true", help="do not encrypt with STARTTLS (trusted servers)"
    )


def mail_settings(config: Config, args: argparse.Namespace) -> tuple[MailSettings, list[str]]:
    """The server from sitegen.toml and the flags; what is missing to use it."""
    settings = config.newsletter
    host = args.smtp_host or settings.smtp_host
    port = args.smtp_port or settings.smtp_port
    user = settings.smtp_user if args.smtp_user is None else args.smtp_user
    password = os.environ.get(settings.smtp_password_env, "") if user else ""
    problems = []
    if not host:
        problems.append(
            f"{CONFIG_FILE}: newsletter.smtp_host: no SMTP server for the confirmation mails: "
            "set it, or pass --smtp-host HOST"
        )
    if user and not password:
        problems.append(
            f"{settings.smtp_password_env}: the SMTP password is not in this environment "
            f"variable (the SMTP user is {user!r}; --smtp-user '' sends without logging in)"
        )
    starttls = settings.smtp_starttls and not args.no_starttls
    return MailSettings(host, port, starttls, user, password), problems


def confirmation_link(config: Config, token: str) -> str:
    return config.subscribers.endpoint("bekraeft") + "?" + urlencode({"token": token})


def confirmation_message(
    config: Config, address: str, name: str, link: str, hours: int, now: dt.datetime
) -> EmailMessage:
    """The mail that asks the reader to confirm the signup, in Danish."""
    title = config.site.title
    message = EmailMessage()
    message["Subject"] = f"Bekræft din tilmelding til nyhedsbrevet fra {title}"
    message["From"] = Address(
        config.newsletter.from_name or title, addr_spec=sender_address(config)
    )
    message["To"] = Address(name, addr_spec=address)
    if config.newsletter.reply_to:
        message["Reply-To"] = config.newsletter.reply_to
    message["Date"] = format_datetime(now)
    domain = urlsplit(config.subscribers.url).hostname or "localhost"
    message["Message-ID"] = make_msgid("bekraeft", domain=domain)
    message["Auto-Submitted"] = "auto-generated"
    greeting = f"Kære {name}" if name else "Hej"
    message.set_content(
        f"{greeting}\n\n"
        f"Tak for din tilmelding til nyhedsbrevet fra {title}.\n\n"
        "Åbn linket herunder og tryk på knappen »Bekræft tilmelding« for at få nyhedsbrevet:\n\n"
        f"{link}\n\n"
        f"Linket virker i {hours} timer. Har du ikke selv tilmeldt dig, skal du ikke gøre noget: "
        "så får du ingen flere mails fra os, og vi sletter adressen.\n\n"
        f"Venlig hilsen\n{title}\n{config.site.base_url}\n",
        charset="utf-8",
        cte="quoted-printable",
    )
    return message


class MailFailed(Exception):
    """The confirmation mail could not be handed to the SMTP server."""


def send_mail(settings: MailSettings, message: EmailMessage, dkim: DkimKey | None) -> None:
    """Hand one message to the server in its own session; raises MailFailed."""
    sender = str(message["From"].addresses[0].addr_spec)
    recipient = str(message["To"].addresses[0].addr_spec)
    data = sign(message.as_bytes(policy=message.policy.clone(linesep="\r\n")), dkim)
    try:
        with smtplib.SMTP(settings.host, settings.port, timeout=TIMEOUT) as smtp:
            smtp.ehlo()
            if settings.starttls:
                smtp.starttls(context=ssl.create_default_context())
                smtp.ehlo()
            if settings.user:
                smtp.login(settings.user, settings.password)
            smtp.sendmail(sender, [recipient], data)
    except (smtplib.SMTPException, OSError) as exc:
        raise MailFailed(f"{settings.host}:{settings.port}: {exc}") from exc
