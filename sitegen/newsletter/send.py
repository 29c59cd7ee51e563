"""`sitegen newsletter send`: one message per recipient over SMTP, logged so none is sent twice."""

from __future__ import annotations

import argparse
import datetime as dt
import os
import smtplib
import sys
import time
from dataclasses import dataclass, field
from email.headerregistry import Address
from functools import partial
from pathlib import Path

from sitegen.arguments import EXIT_ERRORS, EXIT_OK, print_errors, site_root
from sitegen.build.cache import BuildCache
from sitegen.build.pipeline import load_site
from sitegen.config import Config, default_options
from sitegen.content.model import NewsletterIssue, Site
from sitegen.errors import BuildError, UsageError
from sitegen.newsletter.recipients import Recipient, address_problem, read_recipients
from sitegen.newsletter.sendlog import ATTEMPT, FAILED, SENT, SendLog, SendLogBusy, read_state
from sitegen.newsletter.smtp import Lost, Refused, SmtpConnection, SmtpSettings
from sitegen.render.email import (
    EMAIL_TEMPLATE,
    compose,
    email_context,
    email_parts,
    sender_address,
    unsubscribe_for,
)
from sitegen.render.templating import make_environment, site_globals

RECONNECT_DELAYS = (0.0, 2.0, 10.0)  # seconds before each new connection after one broke


@dataclass
class Summary:
    sent: int = 0
    skipped: int = 0  # already sent in an earlier run, or listed twice
    failed: int = 0  # invalid addresses and refused messages
    uncertain: int = 0  # handed over without an answer; not sent again by default
    pending: int = 0  # not tried because the run stopped
    problems: list[str] = field(default_factory=list)

    def line(self) -> str:
        text = (
            f"sent {self.sent}, skipped {self.skipped}, failed {self.failed}, "
            f"uncertain {self.uncertain}"
        )
        return text + (f", not tried {self.pending}" if self.pending else "")


class MessageFactory:
    """Renders the issue's email for one recipient, with that recipient's unsubscribe link."""

    def __init__(self, site: Site, issue: NewsletterIssue, secret: bytes | None) -> None:
        self.config, self.issue, self.secret = site.config, issue, secret
        env = make_environment(site.config)
        env.globals.update(site_globals(site))
        self.template = env.get_template(EMAIL_TEMPLATE)

    def message(self, recipient: Recipient, subject_prefix: str = "") -> bytes:
        unsubscribe = unsubscribe_for(self.config, recipient.address, self.secret)
        rendered = self.template.render(
            email_context(self.config, self.issue, unsubscribe),
            current_url=self.issue.url + "email.html",
        )
        parts = email_parts(rendered, self.config, self.issue)
        to = Address(recipient.name, addr_spec=recipient.address)
        now = dt.datetime.now(dt.UTC)
        message = compose(self.config, self.issue, parts.html, parts.text, unsubscribe, to, now)
        if subject_prefix:
            message.replace_header("Subject", subject_prefix + self.issue.title)
        return message.as_bytes()


def send_all(
    recipients: list[Recipient],
    factory: MessageFactory,
    connection: SmtpConnection,
    log: SendLog,
    rate: float,
    summary: Summary,
    verbose: bool,
) -> None:
    """Send to each recipient in turn at most `rate` per second; stop only if the server is gone."""
    sender = sender_address(factory.config)
    started = time.monotonic()
    for index, recipient in enumerate(recipients):
        if rate > 0:
            time.sleep(max(0.0, started + index / rate - time.monotonic()))
        data = factory.message(recipient)
        address = recipient.address
        for attempt, delay in enumerate(RECONNECT_DELAYS):
            try:
                if attempt:
                    time.sleep(delay)
                    connection.connect()
                connection.deliver(sender, address, data, partial(log.record, ATTEMPT, address))
            except Lost as exc:
                if exc.handed_over:
                    summary.uncertain += 1
                    summary.problems.append(
                        f"{address}: connection lost while the server took the message ({exc}); "
                        "it may or may not have arrived"
                    )
                    break
                continue  # nothing was handed over: reconnect and try again
            except Refused as exc:
                log.record(FAILED, address, str(exc))
                summary.failed += 1
                summary.problems.append(f"{address}: refused by the server: {exc}")
                break
            except smtplib.SMTPAuthenticationError:
                raise  # retrying a refused login helps nobody
            except (smtplib.SMTPException, OSError):
                continue  # could not reconnect; wait and try again
            else:
                log.record(SENT, address)
                summary.sent += 1
                if verbose:
                    print(f"sent {address}")
                break
        else:
            summary.pending = len(recipients) - index
            summary.problems.append(
                f"stopped: the SMTP server cannot be reached; run the same command again "
                f"to send to the {summary.pending} left"
            )
            return


def add_newsletter(parser: argparse.ArgumentParser) -> None:
    commands = parser.add_subparsers(dest="newsletter_command", metavar="ACTION", required=True)
    send = commands.add_parser(
        "send",
        help="send an issue to a list of recipients (a dry run unless --send)",
        description="Send a newsletter issue by e-mail, one message per recipient. Without "
        "--send or --test-to it only says what would be sent.",
    )
    send.add_argument("issue", metavar="ISSUE", help="the issue's slug or its .md file")
    send.add_argument("--recipients", metavar="CSV", help="CSV file with an 'email' column")
    send.add_argument("--send", action="store_true", help="really send (default: a dry run)")
    send.add_argument("--test-to", metavar="ADDRESS", help="send one test copy to ADDRESS only")
    send.add_argument("--rate", type=float, metavar="N", help="at most N messages per second")
    send.add_argument("--smtp-host", metavar="HOST", help="override newsletter.smtp_host")
    send.add_argument("--smtp-port", type=int, metavar="PORT", help="override newsletter.smtp_port")
    send.add_argument(
        "--resend-uncertain",
        action="store_true",
        help="also send to addresses whose earlier copy may or may not have arrived",
    )
    send.add_argument("--site", metavar="DIR", help="site root; default: current folder")
    send.add_argument("-v", "--verbose", action="store_true", help="print every address sent to")


def run_newsletter(args: argparse.Namespace) -> int:
    root = site_root(args)
    try:
        site = load_site(root, default_options(), BuildCache.for_site(root))
    except BuildError as error:
        print_errors(error)
        return EXIT_ERRORS
    issue = find_issue(site, args.issue, root)
    config = site.config
    settings = smtp_settings(config, args, needed=args.send or bool(args.test_to))
    secret = unsubscribe_secret(config, needed=args.send or bool(args.test_to))
    factory = MessageFactory(site, issue, secret)
    if args.test_to:
        return send_test(args.test_to, factory, settings)
    if not args.recipients:
        raise UsageError("--recipients CSV is required (or --test-to ADDRESS for one test copy)")
    csv_path = Path(args.recipients)
    if not csv_path.is_file():
        raise UsageError(f"--recipients {csv_path}: no such file")
    listed = read_recipients(csv_path, args.recipients)
    log_dir = root / config.newsletter.send_log_dir if config.newsletter.send_log_dir else None
    log_path = (log_dir or csv_path.parent) / f"nyhedsbrev-{issue.slug}.sendlog"
    rate = args.rate if args.rate is not None else float(config.newsletter.rate)
    summary = Summary(skipped=len(listed.duplicates), failed=len(listed.invalid))
    summary.problems.extend(str(item) for item in listed.invalid)
    try:
        log = SendLog(log_path) if args.send else None
    except SendLogBusy as exc:
        raise UsageError(str(exc)) from None
    state = log.state if log else read_state(log_path)
    try:
        todo: list[Recipient] = []
        for recipient in listed.recipients:
            key = recipient.address.lower()
            if key in state.sent:
                summary.skipped += 1
            elif key in state.uncertain and not args.resend_uncertain:
                summary.uncertain += 1
                summary.problems.append(
                    f"{recipient.address}: an earlier run handed it over without hearing back; "
                    "not sent again (use --resend-uncertain to send it anyway)"
                )
            else:
                todo.append(recipient)
        if log is None:
            print(
                f"Dry run: would send {issue.title!r} to {len(todo)} of "
                f"{len(listed.recipients)} recipients in {args.recipients} "
                f"through {settings.host or '(no SMTP host set)'}:{settings.port} "
                f"from {sender_address(config)} ({summary.line()}). "
                f"Send log: {log_path}. Add --send to send."
            )
            _report(summary)
            return EXIT_OK
        connection = SmtpConnection(settings)
        invalid = summary.failed
        try:
            send_all(todo, factory, connection, log, rate, summary, args.verbose)
        except smtplib.SMTPAuthenticationError as exc:
            tried = summary.sent + summary.failed - invalid + summary.uncertain
            summary.pending = len(todo) - tried
            summary.problems.append(f"stopped: the SMTP server refused the login: {exc.smtp_code}")
        finally:
            connection.close()
    finally:
        if log is not None:
            log.close()
    _report(summary)
    print(f"{issue.slug}: {summary.line()}. Send log: {log_path}")
    problems = summary.failed or summary.uncertain or summary.pending
    return EXIT_ERRORS if problems else EXIT_OK


def _report(summary: Summary) -> None:
    for problem in summary.problems:
        print(problem, file=sys.stderr)


def send_test(address: str, factory: MessageFactory, settings: SmtpSettings) -> int:
    problem = address_problem(address)
    if problem:
        raise UsageError(f"--test-to {problem}")
    data = factory.message(Recipient(address, "", 0), subject_prefix="[TEST] ")
    connection = SmtpConnection(settings)
    try:
        connection.deliver(sender_address(factory.config), address, data, lambda: None)
    except (Refused, Lost, smtplib.SMTPException, OSError) as exc:
        print(f"sitegen: test copy to {address} not sent: {exc}", file=sys.stderr)
        return EXIT_ERRORS
    finally:
        connection.close()
    print(f"Sent a test copy of {factory.issue.title!r} to {address}")
    return EXIT_OK


def find_issue(site: Site, wanted: str, root: Path) -> NewsletterIssue:
    """The published issue named by its slug or by its Markdown file."""
    for issue in site.newsletter_issues:
        if wanted == issue.slug:
            return issue
        path = Path(wanted)
        if path.suffix == ".md" and (root / issue.source).resolve() in (
            path.resolve(),
            (root / path).resolve(),
        ):
            return issue
    known = ", ".join(issue.slug for issue in site.newsletter_issues) or "none"
    raise UsageError(
        f"no published newsletter issue {wanted!r} (drafts and issues dated after today "
        f"cannot be sent); issues: {known}"
    )


def smtp_settings(config: Config, args: argparse.Namespace, needed: bool) -> SmtpSettings:
    """Server settings from sitegen.toml and the command line; the password from the environment."""
    settings = config.newsletter
    host = args.smtp_host or settings.smtp_host
    port = args.smtp_port or settings.smtp_port
    password = ""
    if needed and not host:
        raise UsageError("no SMTP server: set newsletter.smtp_host or pass --smtp-host")
    if needed and settings.smtp_user:
        password = os.environ.get(settings.smtp_password_env, "")
        if not password:
            raise UsageError(
                f"newsletter.smtp_user is set: put the password in the environment variable "
                f"{settings.smtp_password_env}"
            )
    return SmtpSettings(host, port, settings.smtp_starttls, settings.smtp_user, password)


def unsubscribe_secret(config: Config, needed: bool) -> bytes | None:
    """The key that signs unsubscribe tokens; required to send when there is an unsubscribe page."""
    if not config.newsletter.unsubscribe_url:
        return None
    secret = os.environ.get(config.newsletter.unsubscribe_secret_env, "")
    if needed and not secret:
        raise UsageError(
            f"newsletter.unsubscribe_url is set: put the token secret in the environment "
            f"variable {config.newsletter.unsubscribe_secret_env}"
        )
    return secret.encode() or None
