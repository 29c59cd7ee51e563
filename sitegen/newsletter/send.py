"""`sitegen newsletter send`: one message per recipient over SMTP, logged so none is sent twice."""

from __future__ import annotations

import argparse
import datetime as dt
import smtplib
import sys
import time
from dataclasses import dataclass, field
from email.headerregistry import Address
from functools import partial
from pathlib import Path

from sitegen.arguments import EXIT_ERRORS, EXIT_OK, print_errors, site_root
from sitegen.build.cache import BuildCache
from sitegen.build.inputs import load_inputs
from sitegen.build.memo import Memo
from sitegen.build.pipeline import Model, load_model
from sitegen.config import BuildOptions, default_options
from sitegen.content.model import NewsletterIssue, Site
from sitegen.errors import BuildError, UsageError, plural
from sitegen.newsletter.preflight import (
    FoundIssue,
    issue_problems,
    recipients,
    smtp_settings,
    unsubscribe_secret,
)
from sitegen.newsletter.sendlog import (
    ATTEMPT,
    FAILED,
    SENT,
    SendLog,
    SendLogBusy,
    SendState,
    read_state,
)
from sitegen.newsletter.smtp import ConnectFailed, Lost, Refused, SmtpConnection, SmtpSettings
from sitegen.render.email import (
    EMAIL_TEMPLATE,
    compose,
    email_context,
    email_parts,
    sender_address,
    unsubscribe_for,
)
from sitegen.render.signing import DkimKey, dkim_key, sign
from sitegen.render.templating import make_environment, site_globals
from sitegen.subscribers.audience import confirmed_list, without_leavers
from sitegen.subscribers.recipients import Recipient, RecipientList, address_problem
from sitegen.subscribers.store import database_path

RECONNECT_DELAYS = (0.0, 2.0, 10.0)  # seconds before each new connection after one broke


@dataclass
class Summary:
    sent: int = 0
    skipped: int = 0  # already sent in an earlier run, or listed twice
    failed: int = 0  # invalid addresses and refused messages
    uncertain: int = 0  # handed over without an answer; not sent again by default
    pending: int = 0  # not tried because the run stopped
    unsubscribed: int = 0  # in the recipients file, but unsubscribed or removed
    problems: list[str] = field(default_factory=list)

    def line(self) -> str:
        text = (
            f"sent {self.sent}, skipped {self.skipped}, failed {self.failed}, "
            f"uncertain {self.uncertain}"
        )
        text += f", not tried {self.pending}" if self.pending else ""
        return text + (f", unsubscribed {self.unsubscribed}" if self.unsubscribed else "")


class MessageFactory:
    """Renders the issue's email for one recipient, with that recipient's unsubscribe link."""

    def __init__(
        self,
        site: Site,
        issue: NewsletterIssue,
        secret: bytes | None,
        dkim: DkimKey | None = None,
    ) -> None:
        self.config, self.issue, self.secret, self.dkim = site.config, issue, secret, dkim
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
        return sign(message.as_bytes(), self.dkim)


def send_all(
    recipients: list[Recipient],
    factory: MessageFactory,
    connection: SmtpConnection,
    log: SendLog,
    rate: float,
    summary: Summary,
    verbose: bool,
) -> None:
    """Send to each recipient in turn at most `rate` per second; stop only if the server is gone.

    Raises ConnectFailed when the server can never take the messages (a refused login, no
    STARTTLS): trying again helps nobody.
    """
    sender = sender_address(factory.config)
    started = time.monotonic()
    for index, recipient in enumerate(recipients):
        if rate > 0:
            time.sleep(max(0.0, started + index / rate - time.monotonic()))
        data = factory.message(recipient)
        address = recipient.address
        cause = ""
        for attempt, delay in enumerate(RECONNECT_DELAYS):
            try:
                if attempt:
                    if verbose:
                        print(f"{cause}; connecting again in {delay:g} s", file=sys.stderr)
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
                cause = f"the connection broke ({exc})"
                continue  # nothing was handed over: reconnect and try again
            except Refused as exc:
                log.record(FAILED, address, str(exc))
                summary.failed += 1
                summary.problems.append(f"{address}: refused by the server: {exc}")
                break
            except ConnectFailed as exc:
                if exc.permanent:
                    raise
                cause = str(exc)
                continue  # could not reconnect; wait and try again
            except (smtplib.SMTPException, OSError) as exc:
                cause = f"the SMTP session failed ({exc})"
                continue
            else:
                log.record(SENT, address)
                summary.sent += 1
                if verbose:
                    print(f"sent {address}")
                break
        else:
            summary.pending = len(recipients) - index
            summary.problems.append(
                f"stopped: the SMTP server cannot be reached: {cause}; run the same command "
                f"again to send to the {summary.pending} left"
            )
            return


def add_newsletter(parser: argparse.ArgumentParser) -> None:
    commands = parser.add_subparsers(dest="newsletter_command", metavar="ACTION", required=True)
    send = commands.add_parser(
        "send",
        help="send an issue to a list of recipients (a dry run unless --send)",
        description="Send a newsletter issue by e-mail, one message per recipient. Without "
        "--send or --test-to it checks everything a send needs and says what would be sent.",
    )
    send.add_argument("issue", metavar="ISSUE", help="the issue's slug or its .md file")
    send.add_argument(
        "--recipients",
        metavar="CSV",
        help="CSV file with an 'email' column (default: the confirmed subscribers in the "
        "database); addresses that unsubscribed or were removed are left out",
    )
    send.add_argument(
        "--db", metavar="PATH", help="the subscribers database (default: subscribers.database)"
    )
    send.add_argument("--send", action="store_true", help="really send (default: a dry run)")
    send.add_argument(
        "--test-to",
        metavar="ADDRESS",
        help="send one test copy to ADDRESS only (also of a draft or an issue dated later)",
    )
    send.add_argument("--rate", type=float, metavar="N", help="at most N messages per second")
    send.add_argument("--smtp-host", metavar="HOST", help="override newsletter.smtp_host")
    send.add_argument("--smtp-port", type=int, metavar="PORT", help="override newsletter.smtp_port")
    send.add_argument(
        "--smtp-user",
        metavar="USER",
        help="override newsletter.smtp_user; '' sends without logging in",
    )
    send.add_argument(
        "--no-starttls",
        action="store_true",
        help="do not encrypt with STARTTLS (newsletter.smtp_starttls = false), "
        "only for a server you trust",
    )
    send.add_argument(
        "--resend-uncertain",
        action="store_true",
        help="also send to addresses whose earlier copy may or may not have arrived",
    )
    send.add_argument("--site", metavar="DIR", help="site root; default: current folder")
    send.add_argument(
        "-v", "--verbose", action="store_true", help="print every address sent to and every retry"
    )


def run_newsletter(args: argparse.Namespace) -> int:
    root = site_root(args)
    if args.test_to:
        problem = address_problem(args.test_to)
        if problem:
            raise UsageError(f"--test-to {problem}")
    try:
        found = find_issue(root, args.issue)
    except BuildError as error:
        print_errors(error)
        return EXIT_ERRORS
    config = found.site.config
    settings, problems = smtp_settings(config, args)
    secret, missing = unsubscribe_secret(config)
    dkim, unsigned = dkim_key(config)
    problems += missing + unsigned
    if args.test_to:
        if problems:
            return _refuse(problems, "the test copy")
        _note_unpublished(found)
        factory = MessageFactory(found.site, found.issue, secret, dkim)
        return send_test(args.test_to, factory, settings)
    return send_issue(args, root, found, settings, (secret, dkim), problems)


def send_issue(
    args: argparse.Namespace,
    root: Path,
    found: FoundIssue,
    settings: SmtpSettings,
    keys: tuple[bytes | None, DkimKey | None],
    setting_problems: list[str],
) -> int:
    """The dry run, or with --send the real send, once nothing stands in the way.

    The recipients are the CSV file's, less who left, or else the confirmed subscribers.
    """
    issue, config = found.issue, found.site.config
    database = database_path(config, args.db)
    left = 0
    if args.recipients:
        source, log_folder = args.recipients, Path(args.recipients).parent
        listed, recipient_problems = recipients(Path(args.recipients), args.recipients)
        if listed is not None:
            listed, left, leaver_problems = without_leavers(listed, database, config)
            recipient_problems += leaver_problems
    else:
        source, log_folder = f"the subscribers database {database}", database.parent
        listed, recipient_problems = confirmed_list(database)
    problems = [str(item) for item in issue_problems(found, default_options().today)]
    problems += recipient_problems + setting_problems
    checked = ""
    if not args.send and not setting_problems:
        try:
            check_server(settings)
            checked = f"SMTP server {settings.where}: connected {settings.describe()}"
        except ConnectFailed as exc:
            problems.append(str(exc))
    invalid = [str(item) for item in listed.invalid] if listed else []  # not sent to; no stop
    if problems or listed is None:
        _report(invalid)
        return _refuse(problems, "the send")
    log_dir = root / config.newsletter.send_log_dir if config.newsletter.send_log_dir else None
    log_path = (log_dir or log_folder) / f"nyhedsbrev-{issue.slug}.sendlog"
    summary = Summary(
        skipped=len(listed.duplicates), failed=len(invalid), unsubscribed=left, problems=invalid
    )
    if not args.send:
        todo = _to_send(listed, read_state(log_path), args.resend_uncertain, summary)
        print(checked)
        print(
            f"Dry run: would send {issue.title!r} to {len(todo)} of "
            f"{len(listed.recipients)} recipients in {source} "
            f"through {settings.where} from {sender_address(config)} ({summary.line()}). "
            f"Send log: {log_path}. Add --send to send."
        )
        _report(summary.problems)
        return EXIT_OK
    try:
        log = SendLog(log_path)
    except SendLogBusy as exc:
        raise UsageError(str(exc)) from None
    try:
        todo = _to_send(listed, log.state, args.resend_uncertain, summary)
        rate = args.rate if args.rate is not None else float(config.newsletter.rate)
        factory = MessageFactory(found.site, issue, *keys)
        _deliver(todo, factory, SmtpConnection(settings), log, rate, summary, args.verbose)
    finally:
        log.close()
    _report(summary.problems)
    print(f"{issue.slug}: {summary.line()}. Send log: {log_path}")
    return EXIT_ERRORS if summary.failed or summary.uncertain or summary.pending else EXIT_OK


def _to_send(
    listed: RecipientList, state: SendState, resend_uncertain: bool, summary: Summary
) -> list[Recipient]:
    """The recipients still to send to; those sent before are skipped, uncertain ones held."""
    todo: list[Recipient] = []
    for recipient in listed.recipients:
        key = recipient.address.lower()
        if key in state.sent:
            summary.skipped += 1
        elif key in state.uncertain and not resend_uncertain:
            summary.uncertain += 1
            summary.problems.append(
                f"{recipient.address}: an earlier run handed it over without hearing back; "
                "not sent again (use --resend-uncertain to send it anyway)"
            )
        else:
            todo.append(recipient)
    return todo


def _deliver(
    todo: list[Recipient],
    factory: MessageFactory,
    connection: SmtpConnection,
    log: SendLog,
    rate: float,
    summary: Summary,
    verbose: bool,
) -> None:
    """send_all, turning a server that can never take the messages into the reason it stopped."""
    done = summary.sent + summary.failed + summary.uncertain
    try:
        send_all(todo, factory, connection, log, rate, summary, verbose)
    except ConnectFailed as exc:
        summary.pending = len(todo) - (summary.sent + summary.failed + summary.uncertain - done)
        summary.problems.append(f"stopped: {exc}")
    finally:
        connection.close()


def _refuse(problems: list[str], what: str) -> int:
    _report(problems)
    verb = "stops" if len(problems) == 1 else "stop"
    print(
        f"sitegen: {plural(len(problems), 'problem')} {verb} {what}; nothing was sent",
        file=sys.stderr,
    )
    return EXIT_ERRORS


def _report(problems: list[str]) -> None:
    for problem in problems:
        print(problem, file=sys.stderr)


def check_server(settings: SmtpSettings) -> None:
    """Open a session as a send would (STARTTLS, login) and close it; raises ConnectFailed."""
    connection = SmtpConnection(settings)
    try:
        connection.connect()
    finally:
        connection.close()


def send_test(address: str, factory: MessageFactory, settings: SmtpSettings) -> int:
    data = factory.message(Recipient(address, "", 0), subject_prefix="[TEST] ")
    connection = SmtpConnection(settings)
    try:
        connection.deliver(sender_address(factory.config), address, data, lambda: None)
    except (ConnectFailed, Refused, Lost, smtplib.SMTPException, OSError) as exc:
        print(f"sitegen: test copy to {address} not sent: {exc}", file=sys.stderr)
        return EXIT_ERRORS
    finally:
        connection.close()
    print(f"Sent a test copy of {factory.issue.title!r} to {address}")
    return EXIT_OK


def _note_unpublished(found: FoundIssue) -> None:
    """A test copy of a draft: say what differs from the site as it is now."""
    if found.published:
        return
    issue = found.issue
    state = "a draft" if issue.draft else "dated after today"
    print(
        f'note: {issue.source} is {state}: its web page, the email\'s "view in browser" link, '
        "is not on the site until it is published",
        file=sys.stderr,
    )
    today = default_options().today
    for case in issue.cases:
        if case.draft or case.date > today:
            print(
                f"note: {case.source} is {'a draft' if case.draft else 'dated after today'}: "
                "this test copy features it, but a sent issue features published cases only",
                file=sys.stderr,
            )


def find_issue(root: Path, wanted: str) -> FoundIssue:
    """The issue named by its slug or its Markdown file: published, else draft or future.

    Raises BuildError when the site has errors, UsageError when there is no such issue.
    """
    model = _load(root, default_options())
    issue = _named(model.site, wanted, root)
    if issue is not None:
        return _found(model, issue, published=True)
    everything = _load(root, default_options(drafts=True, future=True))
    issue = _named(everything.site, wanted, root)
    if issue is not None:
        return _found(everything, issue, published=False)
    known = ", ".join(
        issue.slug + ("" if issue in model.site.newsletter_issues else " (not published)")
        for issue in everything.site.newsletter_issues
    )
    raise UsageError(f"no newsletter issue {wanted!r}; issues: {known or 'none'}")


def _load(root: Path, options: BuildOptions) -> Model:
    inputs = load_inputs(root)
    model = load_model(inputs, options, Memo(inputs, BuildCache.for_site(root)))
    if model.errors:
        raise BuildError(model.errors)
    return model


def _found(model: Model, issue: NewsletterIssue, published: bool) -> FoundIssue:
    docs = {doc.source.path: doc for doc in model.docs}
    return FoundIssue(model.site, issue, docs, published)


def _named(site: Site, wanted: str, root: Path) -> NewsletterIssue | None:
    for issue in site.newsletter_issues:
        if wanted == issue.slug:
            return issue
        path = Path(wanted)
        if path.suffix == ".md" and (root / issue.source).resolve() in (
            path.resolve(),
            (root / path).resolve(),
        ):
            return issue
    return None
