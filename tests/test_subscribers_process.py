"""`sitegen subscribers serve` as a real process: concurrent signups, and SIGKILL under load.

The service is started by its command, the confirmation mails go to a real SMTP server on
127.0.0.1 (aiosmtpd), the database is a SQLite file in a temporary folder.
"""

from __future__ import annotations

import contextlib
import http.client
import os
import signal
import socket
import sqlite3
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from tests.servers import Inbox, free_port

SECRET = "tokenhemmelighed"
REPO = Path(__file__).resolve().parent.parent


def service_site(root: Path, port: int, limit: int = 0) -> Path:
    text = (root / "sitegen.toml").read_text(encoding="utf-8")
    (root / "sitegen.toml").write_text(
        text + f'\n[subscribers]\nurl = "http://127.0.0.1:{port}/"\nsignups_per_hour = {limit}\n',
        encoding="utf-8",
    )
    return root


@contextlib.contextmanager
def running_service(
    root: Path, port: int, smtp_port: int, db: Path
) -> Iterator[subprocess.Popen[bytes]]:
    """`sitegen subscribers serve` on 127.0.0.1:port, ready to take requests."""
    env = dict(os.environ, SITEGEN_UNSUBSCRIBE_SECRET=SECRET, PYTHONPATH=str(REPO))
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "sitegen",
            "subscribers",
            "serve",
            "--site",
            str(root),
            "--port",
            str(port),
            "--db",
            str(db),
            "--smtp-host",
            "127.0.0.1",
            "--smtp-port",
            str(smtp_port),
            "--no-starttls",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env,
    )
    try:
        assert process.stdout is not None
        line = process.stdout.readline().decode()
        assert f"http://127.0.0.1:{port}/" in line, line + process.stderr.read().decode()
        deadline = time.monotonic() + 20
        while True:
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 1):
                break
            assert time.monotonic() < deadline, "the service did not start listening"
            time.sleep(0.05)
        yield process
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        for stream in (process.stdout, process.stderr):
            if stream is not None:
                stream.close()


def post(url: str, fields: dict[str, str], timeout: float = 30) -> int:
    data = urllib.parse.urlencode(fields).encode()
    request = urllib.request.Request(url, data=data, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            # The status line is the acknowledgement: the service answers after its commit.
            with contextlib.suppress(http.client.HTTPException, OSError):
                response.read()
            return int(response.status)
    except urllib.error.HTTPError as error:
        return int(error.code)


def stored(db: Path) -> list[str]:
    with contextlib.closing(sqlite3.connect(db)) as connection:
        return [row[0] for row in connection.execute("SELECT address FROM subscribers")]


@pytest.fixture
def smtp() -> Iterator[tuple[Inbox, int]]:
    from aiosmtpd.controller import Controller

    handler = Inbox()
    port = free_port()
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    yield handler, port
    controller.stop()


def test_two_hundred_concurrent_signups_store_every_valid_one_exactly_once(
    site_copy: Callable[[str], Path], tmp_path: Path, smtp: tuple[Inbox, int]
) -> None:
    inbox, smtp_port = smtp
    port = free_port()
    root = service_site(site_copy("basic"), port)
    db = tmp_path / "subscribers.db"
    valid = [f"laeser{n:03}@example.org" for n in range(150)]
    requests = (
        [{"email": address} for address in valid]
        + [{"email": address.upper()} for address in valid[:30]]  # the same people again
        + [{"email": f"ugyldig{n}@"} for n in range(20)]
    )
    assert len(requests) == 200
    with running_service(root, port, smtp_port, db):
        url = f"http://127.0.0.1:{port}/tilmeld"
        started = time.monotonic()
        with ThreadPoolExecutor(max_workers=50) as pool:
            answers = list(pool.map(lambda fields: post(url, fields), requests))
        elapsed = time.monotonic() - started
    assert answers.count(200) == 180 and answers.count(400) == 20, answers
    rows = stored(db)
    assert sorted(rows) == valid  # each once
    assert sorted(inbox.recipients()) == sorted(valid)  # and one confirmation mail each
    assert all(count == 1 for count in inbox.recipients().values())
    assert elapsed < 60


def test_a_service_killed_under_load_loses_no_acknowledged_signup(
    site_copy: Callable[[str], Path], tmp_path: Path, smtp: tuple[Inbox, int]
) -> None:
    _, smtp_port = smtp
    port = free_port()
    root = service_site(site_copy("basic"), port)
    db = tmp_path / "subscribers.db"
    acknowledged: list[str] = []
    lock = threading.Lock()

    def sign_up(number: int) -> None:
        address = f"last{number:03}@example.org"
        try:
            status = post(f"http://127.0.0.1:{port}/tilmeld", {"email": address}, timeout=10)
        except (OSError, http.client.HTTPException):
            return  # the service died before it answered: not acknowledged
        if status == 200:
            with lock:
                acknowledged.append(address)

    with (
        running_service(root, port, smtp_port, db) as service,
        ThreadPoolExecutor(max_workers=16) as pool,
    ):
        futures = [pool.submit(sign_up, n) for n in range(300)]
        deadline = time.monotonic() + 30
        while len(acknowledged) < 40 and time.monotonic() < deadline:
            time.sleep(0.01)
        service.send_signal(signal.SIGKILL)
        service.wait()
        for future in futures:
            future.result()
    assert 40 <= len(acknowledged) < 300, "the kill must come while signups are under way"
    with running_service(root, port, smtp_port, db):  # starts again on the same file
        with contextlib.closing(sqlite3.connect(db)) as connection:
            assert connection.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        rows = stored(db)
        assert set(acknowledged) <= set(rows)
        assert len(rows) == len(set(rows))
        assert post(f"http://127.0.0.1:{port}/tilmeld", {"email": "efter@example.org"}) == 200
    assert "efter@example.org" in stored(db)


def test_serve_refuses_to_start_without_what_it_needs(
    site_copy: Callable[[str], Path], tmp_path: Path
) -> None:
    root = site_copy("basic")
    env = {k: v for k, v in os.environ.items() if k != "SITEGEN_UNSUBSCRIBE_SECRET"}
    env["PYTHONPATH"] = str(REPO)
    done = subprocess.run(
        [sys.executable, "-m", "sitegen", "subscribers", "serve", "--site", str(root)],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )
    assert done.returncode == 1
    assert "subscribers.url: set the public address of the service" in done.stderr
    assert "SITEGEN_UNSUBSCRIBE_SECRET: the secret that signs the links" in done.stderr
    assert not (root / "subscribers.db").exists()
