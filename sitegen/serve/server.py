"""`sitegen serve`: build into memory, serve it on 127.0.0.1, rebuild on save, reload the pages.

Only files of the last good build are served, from memory: no request can reach the disk.
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import json
import mimetypes
import posixpath
import signal
import socket
import sys
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import FrameType
from typing import Any
from urllib.parse import parse_qs, unquote

from sitegen.arguments import EXIT_ERRORS, EXIT_OK, add_site_arguments, site_root
from sitegen.errors import UsageError, plural
from sitegen.render.assets import is_content_named
from sitegen.serve.addresses import (
    is_loopback,
    is_wildcard,
    local_url,
    machine_addresses,
    network_urls,
)
from sitegen.serve.indexing import IndexOutcome
from sitegen.serve.livereload import (
    ENDPOINT,
    SCRIPT_PATH,
    SCRIPT_VERSION,
    inject,
    script_source,
)
from sitegen.serve.site import DevSite, RebuildOutcome
from sitegen.serve.watch import ChangeHandler, Debouncer, SourceFilter, SourceWatcher

LONG_POLL_SECONDS = 20.0
IMMUTABLE = "public, max-age=31536000, immutable"
_NO_SITE = """<!doctype html>
<html lang="da"><head><meta charset="utf-8"><title>Siden findes ikke</title></head>
<body><h1>Siden findes ikke</h1></body></html>
"""


@dataclass(frozen=True)
class Response:
    status: int
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)


def not_found(site: DevSite) -> Response:
    """The site's own 404.html, with status 404."""
    page, build = site.lookup("404.html")
    body = inject(page if page is not None else _NO_SITE.encode(), build)
    return Response(404, body, {"Content-Type": "text/html; charset=utf-8"})


def is_unsafe(raw_path: str, decoded: str) -> bool:
    """Traversal and smuggling attempts: '..', encoded slashes, backslashes, NUL."""
    lowered = raw_path.lower()
    if any(code in lowered for code in ("%2f", "%5c", "%00")):
        return True
    if "\\" in decoded or "\x00" in decoded or "//" in decoded:
        return True
    return any(part in (".", "..") for part in decoded.split("/"))


def respond(site: DevSite, target: str, if_none_match: str = "") -> Response:
    """The response to a GET of request-target `target` (path and query, as sent), with
    `if_none_match` the request's If-None-Match header.

    Caching as the deployed site's (docs/deploy.md): content-hashed theme files are kept for a
    year, every other file is revalidated by its ETag on each use, so that a page reloaded after
    a save waits for nothing but itself and never shows a stale file.
    """
    raw_path = target.split("?", 1)[0].split("#", 1)[0]
    if not raw_path.startswith("/"):
        return not_found(site)
    decoded = unquote(raw_path, errors="strict") if _decodes(raw_path) else "\x00"
    if is_unsafe(raw_path, decoded):
        return not_found(site)
    config = site.config
    base = config.base_path if config else "/"
    if not decoded.startswith(base):
        if decoded in ("/", base.rstrip("/")):
            return Response(302, headers={"Location": base})
        return not_found(site)
    relative = decoded[len(base) :]
    if relative == "" or relative.endswith("/"):
        relative += "index.html"
    data, build = site.lookup(relative)
    if data is None:
        if site.has_directory(relative):
            return Response(301, headers={"Location": raw_path + "/"})
        return not_found(site)
    content_type = mimetypes.guess_type(relative)[0] or "application/octet-stream"
    if content_type == "text/html":
        data = inject(data, build)
    if content_type.startswith("text/") or content_type in ("application/javascript",):
        content_type += "; charset=utf-8"
    headers = {"Content-Type": content_type}
    if is_content_named(relative, data):
        return Response(200, data, headers | {"Cache-Control": IMMUTABLE})
    tag = '"' + hashlib.blake2b(data, digest_size=12).hexdigest() + '"'
    headers |= {"Cache-Control": "no-cache", "ETag": tag}
    if if_none_match.strip() == "*" or tag in (
        item.strip().removeprefix("W/") for item in if_none_match.split(",")
    ):
        return Response(304, b"", headers)
    return Response(200, data, headers)


def _decodes(raw_path: str) -> bool:
    try:
        unquote(raw_path, errors="strict")
    except UnicodeDecodeError:
        return False
    return True


class DevServer(ThreadingHTTPServer):
    """Serves one DevSite; request threads never keep the process alive."""

    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, address: tuple[str, int], site: DevSite, verbose: bool = False) -> None:
        self.address_family = socket.AF_INET6 if ":" in address[0] else socket.AF_INET
        self.site = site
        self.verbose = verbose
        self.long_poll_seconds = LONG_POLL_SECONDS
        super().__init__(address, DevRequestHandler)

    def server_bind(self) -> None:
        """Listening on '::' takes IPv4 as well, so a phone on an IPv4 network reaches it."""
        if self.address_family == socket.AF_INET6 and is_wildcard(str(self.server_address[0])):
            with contextlib.suppress(AttributeError, OSError):
                self.socket.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
        super().server_bind()

    @property
    def accepts_ipv4(self) -> bool:
        """Whether IPv4 clients can connect (an IPv4 socket, or a dual-stack IPv6 one)."""
        if self.address_family != socket.AF_INET6:
            return True
        try:
            return not self.socket.getsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY)
        except (AttributeError, OSError):
            return False


class DevRequestHandler(BaseHTTPRequestHandler):
    server: DevServer
    server_version = "sitegen"

    def handle(self) -> None:
        """Serve the connection; a reader who closes it early is not an error.

        A stopped download, a closed tab, a page left during its long poll or half a request
        end in BrokenPipeError, ConnectionResetError or ConnectionAbortedError on the socket;
        without this they would print a traceback in the editor's terminal.
        """
        try:
            super().handle()
        except ConnectionError:
            self.close_connection = True

    def do_GET(self) -> None:
        self._handle(send_body=True)

    def do_HEAD(self) -> None:
        self._handle(send_body=False)

    def _handle(self, send_body: bool) -> None:
        site = self.server.site
        path, _, query = self.path.partition("?")
        if path != ENDPOINT:  # a long poll waits; it is its answer that counts
            site.note_request()
        try:
            self._answer(path, query, send_body)
        finally:
            site.note_request()

    def _answer(self, path: str, query: str, send_body: bool) -> None:
        if path == ENDPOINT:
            response = self._livereload(query)
        elif path == SCRIPT_PATH:
            current = parse_qs(query).get("v") == [SCRIPT_VERSION]
            response = Response(
                200,
                script_source(),
                {
                    "Content-Type": "text/javascript; charset=utf-8",
                    "Cache-Control": IMMUTABLE if current else "no-store",
                },
            )
        else:
            response = respond(self.server.site, self.path, self.headers.get("If-None-Match", ""))
        self.send_response(response.status)
        headers = {"Cache-Control": "no-store"} | response.headers
        for name, value in headers.items():
            self.send_header(name, value)
        if response.status != 304:
            self.send_header("Content-Length", str(len(response.body)))
        self.end_headers()
        if send_body:
            self.wfile.write(response.body)

    def _livereload(self, query: str) -> Response:
        """Long poll: answers when a rebuild after `epoch` happened, or after a while."""
        try:
            epoch = int(parse_qs(query).get("epoch", ["-1"])[0])
        except ValueError:
            return Response(400, b"epoch must be a number\n", {"Content-Type": "text/plain"})
        state = self.server.site.wait_for_change(epoch, self.server.long_poll_seconds)
        body = json.dumps(
            {"epoch": state.epoch, "build": state.build, "errors": list(state.errors)}
        ).encode()
        return Response(200, body, {"Content-Type": "application/json"})

    def log_message(self, format: str, *args: Any) -> None:
        if self.server.verbose:
            sys.stderr.write(f"{self.address_string()} {format % args}\n")


def add_serve(parser: argparse.ArgumentParser) -> None:
    helps = {
        "drafts": "include drafts (the default while serving)",
        "future": "include cases dated after today (the default while serving)",
        "verbose": "print every request",
    }
    add_site_arguments(parser, helps)
    parser.set_defaults(drafts=True, future=True)
    parser.add_argument(
        "--no-drafts", dest="drafts", action="store_false", help="leave out drafts, as build does"
    )
    parser.add_argument(
        "--no-future",
        dest="future",
        action="store_false",
        help="leave out cases dated after today, as build does",
    )
    parser.add_argument(
        "--host", default="127.0.0.1", help="address to listen on (default: 127.0.0.1)"
    )
    parser.add_argument(
        "--port", type=int, default=8000, help="port (default: 8000; 0 picks a free one)"
    )
    parser.add_argument(
        "--poll", action="store_true", help="watch files by polling instead of inotify"
    )


def report(outcome: RebuildOutcome, site: DevSite, quiet: bool) -> None:
    if outcome.ok:
        if not quiet:
            number = site.snapshot().build
            print(f"Built {outcome.files} files in {outcome.seconds:.2f} s (build {number})")
        return
    for error in outcome.errors:
        print(error, file=sys.stderr)
    count = len(outcome.errors)
    kept = "the last good build" if site.snapshot().build else "an error page"
    print(
        f"sitegen: {plural(count, 'error')}; still serving {kept}",
        file=sys.stderr,
        flush=True,
    )


def report_index_error(outcome: IndexOutcome) -> None:
    """A search index that could not be made is said in the terminal; the pages are served."""
    if outcome.error is not None:
        print(f"{outcome.error} (the search index of build {outcome.build})", file=sys.stderr)


def _stop_on_sigterm() -> None:
    """SIGTERM stops the server like Ctrl-C does (only the main thread can install it)."""

    def interrupt(signum: int, frame: FrameType | None) -> None:
        raise KeyboardInterrupt

    if _is_main():
        signal.signal(signal.SIGTERM, interrupt)


def run_serve(args: argparse.Namespace) -> int:
    root = site_root(args)
    if not 0 <= args.port <= 65535:
        raise UsageError(f"--port {args.port}: must be 0-65535")
    from sitegen.config import default_options

    site = DevSite(
        root, default_options(drafts=args.drafts, future=args.future), report_index_error
    )
    report(site.rebuild(), site, args.quiet)
    try:
        server = DevServer((args.host, args.port), site, verbose=args.verbose)
    except OSError as error:
        print(
            f"sitegen: cannot listen on {args.host}:{args.port}: {error.strerror}", file=sys.stderr
        )
        return EXIT_ERRORS
    sources = SourceFilter(root)
    watcher: SourceWatcher | None = None

    def rebuild(paths: list[str]) -> None:
        if not args.quiet:
            # files that exist first: an atomic save's temporary name is not news
            ordered = sorted(paths, key=lambda p: not Path(p).exists())
            names = [posixpath.relpath(p, root) for p in ordered]
            more = f" and {len(names) - 1} more" if len(names) > 1 else ""
            print(f"Changed: {names[0]}{more}", flush=True)
        report(site.rebuild(), site, args.quiet)
        if watcher is not None:
            watcher.refresh()
        sys.stdout.flush()

    debouncer = Debouncer(rebuild)
    watcher = SourceWatcher(root, ChangeHandler(sources, debouncer), poll=args.poll)
    serving = threading.Thread(target=server.serve_forever, name="sitegen-http", daemon=True)
    config = site.config
    base = config.base_path if config else "/"
    try:
        _stop_on_sigterm()
        debouncer.start()
        watcher.start()
        serving.start()
        announce(server, base, "polling" if watcher.polling else "watching")
        while serving.is_alive():
            serving.join(timeout=0.5)
    except KeyboardInterrupt:
        pass
    finally:
        if _is_main():
            signal.signal(signal.SIGTERM, signal.SIG_DFL)
        site.close()  # releases the long polls
        if serving.ident is not None:  # shutdown() waits forever for a loop never started
            server.shutdown()
            serving.join()
        server.server_close()
        watcher.stop()
        debouncer.stop()
    print("Stopped.", flush=True)
    return EXIT_OK


def announce(server: DevServer, base: str, how: str) -> None:
    """Where to open the site: here, and for a wildcard host on every address of the machine."""
    host, port = str(server.server_address[0]), int(server.server_address[1])
    here = local_url(host, port, base, server.accepts_ipv4)
    print(f"Serving {here} ({how} for changes; Ctrl-C stops)")
    if is_wildcard(host):
        found = network_urls(host, port, base, machine_addresses(), server.accepts_ipv4)
        if found:
            print("On a phone or another computer on the same network, open:")
            for address, interface in found:
                print(f"  {address}" + (f" ({interface})" if interface else ""))
        else:
            print("sitegen: found no network address of this machine to open on other devices")
    if not is_loopback(host):
        where = f"every address ({host})" if is_wildcard(host) else host
        print(f"sitegen: listening on {where}: others on the network can see drafts")
    sys.stdout.flush()


def _is_main() -> bool:
    return threading.current_thread() is threading.main_thread()
