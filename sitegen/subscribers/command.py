"""`sitegen subscribers`: run the subscription service, and list, export, import and remove.

serve   the service (signup, confirmation, unsubscribe) on --host/--port
list    the confirmed addresses, one per line
export  everything, consent records included (--format csv|json)
import  an existing list from a CSV file (recorded as imported on that day)
remove  erase an address; only its keyed hash stays, so it is never mailed again
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import json
import socket
import sys
import time
from pathlib import Path
from typing import Any

from sitegen.arguments import EXIT_ERRORS, EXIT_OK, print_errors, site_root
from sitegen.build.inputs import load_inputs
from sitegen.build.pipeline import load_model
from sitegen.config import CONFIG_FILE, Config, default_options, load_config
from sitegen.errors import BuildError, ErrorList, UsageError, plural
from sitegen.render.signing import dkim_key
from sitegen.subscribers.app import RateLimit, Service, create_app
from sitegen.subscribers.mail import (
    MailFailed,
    add_smtp_arguments,
    confirmation_link,
    confirmation_message,
    mail_settings,
    send_mail,
)
from sitegen.subscribers.pages import make_pages
from sitegen.subscribers.recipients import read_recipients
from sitegen.subscribers.store import (
    REMOVED,
    Store,
    StoreTooNew,
    StoreUnavailable,
    database_path,
    open_existing,
)
from sitegen.subscribers.tokens import (
    confirmation_token,
    new_nonce,
    secret_from_environment,
    suppression_key,
)

EXPORT_FIELDS = (
    "address",
    "name",
    "status",
    "source",
    "signed_up_at",
    "page",
    "consent_text",
    "consent_version",
    "ip_prefix",
    "confirmed_at",
)


def add_subscribers(parser: argparse.ArgumentParser) -> None:
    actions = parser.add_subparsers(dest="subscribers_command", metavar="ACTION", required=True)

    def action(name: str, text: str) -> argparse.ArgumentParser:
        sub = actions.add_parser(name, help=text, description=text[0].upper() + text[1:] + ".")
        sub.add_argument("--site", metavar="DIR", help="site root; default: current folder")
        sub.add_argument(
            "--db", metavar="PATH", help="the database file (default: subscribers.database)"
        )
        return sub

    serve = action("serve", "run the subscription service: signup, confirmation, unsubscribe")
    serve.add_argument("--host", default="127.0.0.1", help="address to listen on (127.0.0.1)")
    serve.add_argument("--port", type=int, default=8001, help="port (8001; 0: any free port)")
    add_smtp_arguments(serve)
    action("list", "print the confirmed addresses, one per line")
    export = action("export", "print every subscriber with its consent record")
    export.add_argument("--format", choices=("csv", "json"), default="csv", help="csv or json")
    imported = action("import", "add the addresses of a CSV file, as imported today")
    imported.add_argument("file", metavar="FILE.csv", help="CSV file with an 'email' column")
    imported.add_argument(
        "--confirm",
        action="store_true",
        help="do not subscribe them yet: mail each a confirmation request",
    )
    add_smtp_arguments(imported)
    remove = action("remove", "erase an address; it is never mailed again unless it signs up")
    remove.add_argument("address", metavar="EMAIL")


def run_subscribers(args: argparse.Namespace) -> int:
    root = site_root(args)
    errors = ErrorList()
    config = load_config(root, errors)
    if errors:
        print_errors(BuildError(errors.errors))
        return EXIT_ERRORS
    run = {
        "serve": serve,
        "list": list_confirmed,
        "export": export,
        "import": import_file,
        "remove": remove,
    }[args.subscribers_command]
    try:
        return run(args, config)
    except (StoreUnavailable, StoreTooNew) as exc:
        print(f"sitegen: {exc}", file=sys.stderr)
        return EXIT_ERRORS


def _secret(config: Config) -> bytes:
    secret = secret_from_environment(config)
    if secret is None:
        raise UsageError(
            f"{config.newsletter.unsubscribe_secret_env}: the secret that signs the links is not "
            "in this environment variable (newsletter.unsubscribe_secret_env names it)"
        )
    return secret


def _problems(problems: list[str]) -> int:
    for problem in problems:
        print(problem, file=sys.stderr)
    print(f"sitegen: {plural(len(problems), 'problem')}; nothing was started", file=sys.stderr)
    return EXIT_ERRORS


def serve(args: argparse.Namespace, config: Config) -> int:
    """Check everything the service needs, then serve until Ctrl-C or SIGTERM."""
    problems = []
    if not config.subscribers.url:
        problems.append(
            f"{CONFIG_FILE}: subscribers.url: set the public address of the service, e.g. "
            "https://nyhedsbrev.borgerdialog.dk/ (the site's forms and links point there)"
        )
    secret = secret_from_environment(config)
    if secret is None:
        problems.append(
            f"{config.newsletter.unsubscribe_secret_env}: the secret that signs the links is "
            "not in this environment variable"
        )
    settings, mail_problems = mail_settings(config, args)
    key, key_problems = dkim_key(config)
    problems += mail_problems + key_problems
    inputs = load_inputs(config.root)
    model = load_model(inputs, default_options())
    if model.errors:
        print_errors(BuildError(model.errors))
        return EXIT_ERRORS
    if problems or secret is None:
        return _problems(problems)
    store = Store(database_path(config, args.db))
    hours = config.subscribers.confirm_hours
    store.purge_expired(time.time() - hours * 3600)

    def mailer(message: Any) -> None:
        send_mail(settings, message, key)

    service = Service(
        config,
        store,
        secret,
        mailer,
        make_pages(config, model.site, inputs),
        RateLimit(config.subscribers.signups_per_hour),
    )
    listener = _listen(args.host, args.port)
    host, port = listener.getsockname()[:2]
    shown = f"[{host}]" if ":" in host else host
    print(
        f"Subscription service on http://{shown}:{port}/ (public address "
        f"{config.subscribers.url}; database {store.path}); Ctrl-C stops it",
        flush=True,
    )
    import uvicorn

    server = uvicorn.Server(
        uvicorn.Config(create_app(service), log_level="warning", proxy_headers=True)
    )
    try:
        server.run(sockets=[listener])
    finally:
        store.close()
    return EXIT_OK


def _listen(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    listener = socket.socket(family, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        listener.bind((host, port))
    except OSError as exc:
        listener.close()
        raise UsageError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from None
    listener.listen(128)
    return listener


def list_confirmed(args: argparse.Namespace, config: Config) -> int:
    store = _existing(config, args)
    if store is None:
        return EXIT_OK
    for subscriber in store.confirmed():
        print(subscriber.address)
    return EXIT_OK


def _existing(config: Config, args: argparse.Namespace) -> Store | None:
    path = database_path(config, args.db)
    store = open_existing(path)
    if store is None:
        print(f"no subscribers yet: {path} does not exist", file=sys.stderr)
    return store


def export(args: argparse.Namespace, config: Config) -> int:
    store = _existing(config, args)
    records = store.records() if store else []
    if args.format == "json":
        document = {
            "exported_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
            "subscribers": records,
            "suppressed": store.suppressed_counts() if store else {},
        }
        print(json.dumps(document, ensure_ascii=False, indent=2))
        return EXIT_OK
    writer = csv.DictWriter(sys.stdout, fieldnames=EXPORT_FIELDS, lineterminator="\n")
    writer.writeheader()
    writer.writerows(records)
    return EXIT_OK


def import_file(args: argparse.Namespace, config: Config) -> int:
    """Add a list; addresses that unsubscribed or were removed are not added again."""
    secret = _secret(config)
    path = Path(args.file)
    if not path.is_file():
        raise UsageError(f"{args.file}: no such file")
    try:
        listed = read_recipients(path, args.file)
    except UnicodeDecodeError:
        print(f"{args.file}: not UTF-8 text; save it as CSV UTF-8", file=sys.stderr)
        return EXIT_ERRORS
    for problem in listed.invalid:
        print(problem, file=sys.stderr)
    settings, key = None, None
    if args.confirm:
        settings, problems = mail_settings(config, args)
        key, key_problems = dkim_key(config)
        if not config.subscribers.url:
            problems.append(f"{CONFIG_FILE}: subscribers.url: needed for the confirmation links")
        if problems + key_problems:
            return _problems(problems + key_problems)
    store = Store(database_path(config, args.db))
    now = time.time()
    day = dt.datetime.fromtimestamp(now, dt.UTC).date().isoformat()
    consent = (f"Importeret fra {path.name} den {day}", f"import {day}")
    suppressed = store.suppressed_keys()
    added = present = left_out = mailed = 0
    for recipient in listed.recipients:
        if suppression_key(secret, recipient.address) in suppressed:
            left_out += 1
            continue
        nonce = new_nonce() if args.confirm else None
        if not store.add_imported(recipient.address, recipient.name, consent, now, nonce):
            present += 1
            continue
        added += 1
        if settings is not None and nonce is not None:
            hours = config.subscribers.confirm_hours
            token = confirmation_token(secret, recipient.address, nonce, int(now + hours * 3600))
            message = confirmation_message(
                config,
                recipient.address,
                recipient.name,
                confirmation_link(config, token),
                hours,
                dt.datetime.now(dt.UTC),
            )
            try:
                send_mail(settings, message, key)
                mailed += 1
            except MailFailed as exc:
                print(f"{recipient.address}: confirmation not sent: {exc}", file=sys.stderr)
    how = f"asked to confirm ({mailed} mailed)" if args.confirm else "subscribed as imported"
    print(
        f"{args.file}: {added} added, {how}; {present} already in the database; "
        f"{left_out} left out (unsubscribed or removed earlier); {len(listed.invalid)} invalid"
    )
    return EXIT_ERRORS if args.confirm and mailed < added else EXIT_OK


def remove(args: argparse.Namespace, config: Config) -> int:
    """Erasure: the record goes; a keyed hash keeps the address from being mailed again."""
    secret = _secret(config)
    address = args.address.strip()
    store = Store(database_path(config, args.db))
    found = store.forget(address, suppression_key(secret, address), REMOVED, time.time())
    store.checkpoint()  # no copy of the record stays behind in the write-ahead log
    store.close()
    if found:
        print(f"{address}: removed; it will not be mailed again unless it signs up again")
    else:
        print(f"{address}: was not in the database; it will not be mailed (suppressed)")
    return EXIT_OK
