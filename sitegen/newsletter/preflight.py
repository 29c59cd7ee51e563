"""What must be right before an issue is sent, each problem on the file or setting to change.

The dry run, --send and --test-to all ask these questions first and report every answer at
once, so an editor fixes everything in one round instead of one problem per attempt.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sitegen.config import CONFIG_FILE, Config
from sitegen.content.model import NewsletterIssue, Site
from sitegen.content.parse import Location, ParsedDoc
from sitegen.errors import SiteError
from sitegen.new import PLACEHOLDER
from sitegen.newsletter.smtp import SmtpSettings
from sitegen.subscribers.recipients import RecipientList, read_recipients

PLACEHOLDER_LEFT = f"still has placeholder text ({PLACEHOLDER}); replace it before sending"


@dataclass(frozen=True)
class FoundIssue:
    """The issue to send, the site it belongs to, and the parsed files (for their lines)."""

    site: Site
    issue: NewsletterIssue
    docs: dict[str, ParsedDoc]  # source path -> document
    published: bool  # among the issues a build publishes (not a draft, not after today)


def issue_problems(found: FoundIssue, today: dt.date) -> list[SiteError]:
    """Why the issue cannot go to the list: a draft, a future date, placeholder text left."""
    issue = found.issue
    doc = found.docs[issue.source]
    problems = []
    if issue.draft:
        problems.append(
            SiteError(
                issue.source,
                doc.lines.get(("draft",), doc.start_line),
                "draft",
                "the issue is a draft; remove `draft: true` to send it (--test-to sends a draft)",
            )
        )
    if issue.date > today:
        problems.append(
            SiteError(
                issue.source,
                doc.lines.get(("date",), doc.start_line),
                "date",
                f"the issue is dated {issue.date.isoformat()}, after today "
                f"({today.isoformat()}); it can be sent from that day",
            )
        )
    for source in dict.fromkeys([issue.source, *(case.source for case in issue.cases)]):
        problems += placeholders(found.docs[source])
    return sorted(problems)


def placeholders(doc: ParsedDoc) -> list[SiteError]:
    """Every front matter value and body line of `doc` that still says UDFYLD."""
    path = doc.source.path
    found = []
    for where, text in _texts(doc.meta):
        if PLACEHOLDER in text:
            line = doc.lines.get(where, doc.lines.get(where[:1], doc.start_line))
            found.append(SiteError(path, line, str(where[0]), PLACEHOLDER_LEFT))
    for number, text in enumerate(doc.body.split("\n")):
        if PLACEHOLDER in text:
            found.append(SiteError(path, doc.body_line + number, "body", PLACEHOLDER_LEFT))
    return found


def _texts(value: Any, where: Location = ()) -> Iterator[tuple[Location, str]]:
    """(location, text) of every string in front matter, lists and mappings included."""
    if isinstance(value, str) and where:
        yield where, value
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from _texts(item, (*where, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _texts(item, (*where, index))


def smtp_settings(config: Config, args: argparse.Namespace) -> tuple[SmtpSettings, list[str]]:
    """Server settings from sitegen.toml and the flags, the password from the environment."""
    settings = config.newsletter
    host = args.smtp_host or settings.smtp_host
    port = args.smtp_port or settings.smtp_port
    user = settings.smtp_user if args.smtp_user is None else args.smtp_user
    starttls = settings.smtp_starttls and not args.no_starttls
    password_env = settings.smtp_password_env
    problems = []
    if not host:
        problems.append(
            f"{CONFIG_FILE}: newsletter.smtp_host: no SMTP server: set it, or pass --smtp-host HOST"
        )
    password = os.environ.get(password_env, "") if user else ""
    if user and not password:
        named = "--smtp-user" if args.smtp_user is not None else "newsletter.smtp_user"
        problems.append(
            f"{password_env}: the SMTP password is not in this environment variable "
            f"({named} is {user!r}; --smtp-user '' sends without logging in)"
        )
    return SmtpSettings(host, port, starttls, user, password, password_env), problems


def unsubscribe_secret(config: Config) -> tuple[bytes | None, list[str]]:
    """The key that signs the unsubscribe links; needed when there is an unsubscribe page."""
    if not (config.newsletter.unsubscribe_url or config.subscribers.url):
        return None, []
    variable = config.newsletter.unsubscribe_secret_env
    secret = os.environ.get(variable, "")
    if secret:
        return secret.encode(), []
    setting = "subscribers.url" if config.subscribers.url else "newsletter.unsubscribe_url"
    return None, [
        f"{variable}: the secret that signs the unsubscribe links is not in this environment "
        f"variable ({setting} is set)"
    ]


def recipients(path: Path, shown_as: str) -> tuple[RecipientList | None, list[str]]:
    """The recipients file read, or why it cannot be sent to."""
    if not path.is_file():
        return None, [f"{shown_as}: no such file"]
    try:
        listed = read_recipients(path, shown_as)
    except UnicodeDecodeError:
        return None, [f"{shown_as}: not UTF-8 text; save it as CSV UTF-8"]
    except OSError as exc:
        return None, [f"{shown_as}: cannot be read: {exc.strerror or exc}"]
    if not listed.recipients:
        return listed, [f"{shown_as}: no recipients: the file lists no e-mail addresses"]
    return listed, []
