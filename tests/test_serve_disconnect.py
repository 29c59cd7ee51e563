"""`sitegen serve` when readers leave early: a closed connection is not an error.

A reader who aborts a download, leaves a page during its long poll, or sends half a request
and goes must not print a traceback (or anything else) in the editor's terminal.
"""

from __future__ import annotations

import contextlib
import socket
import struct
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from sitegen.config import default_options
from sitegen.serve.livereload import ENDPOINT
from sitegen.serve.server import DevServer
from sitegen.serve.site import DevSite
from tests.conftest import CASE

BIG_FILE = "stor.bin"  # from the site's static/ folder, served at /stor.bin
BIG_SIZE = 8 * 1024 * 1024  # far more than the socket buffers hold on loopback
Address = tuple[str, int]


@pytest.fixture
def site(new_site: Callable[[dict[str, str]], Path]) -> DevSite:
    root = new_site(
        {
            "sitegen.toml": '[site]\nbase_url = "https://example.dk/"\n',
            "content/cases/holbaek.md": CASE.format(title="Holbæk"),
        }
    )
    (root / "static").mkdir()
    (root / "static" / BIG_FILE).write_bytes(bytes(BIG_SIZE))
    dev = DevSite(root, default_options())
    assert dev.rebuild().ok
    return dev


@contextlib.contextmanager
def running(site: DevSite, long_poll_seconds: float = 5) -> Iterator[Address]:
    """The real server on 127.0.0.1; on exit every request thread has finished."""
    server = DevServer(("127.0.0.1", 0), site)
    server.long_poll_seconds = long_poll_seconds
    server.daemon_threads = False  # so that server_close() waits for every request thread
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield "127.0.0.1", int(server.server_address[1])
    finally:
        site.close()
        server.shutdown()
        thread.join()
        server.server_close()


def client(address: Address, small_buffer: bool = False) -> socket.socket:
    connection = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    if small_buffer:  # set before connecting, so the server sees a small window at once
        connection.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    connection.settimeout(10)
    connection.connect(address)
    return connection


def reset(connection: socket.socket) -> None:
    """Close with a TCP reset, as a browser tab that is closed mid-download may."""
    connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    connection.close()


def request(method: str, target: str) -> bytes:
    return f"{method} {target} HTTP/1.1\r\nHost: localhost\r\n\r\n".encode()


def get(address: Address, target: str) -> tuple[int, bytes]:
    with client(address) as connection:
        connection.sendall(request("GET", target))
        chunks = []
        while chunk := connection.recv(1 << 20):
            chunks.append(chunk)
    response = b"".join(chunks)
    return int(response.split(b" ", 2)[1]), response.split(b"\r\n\r\n", 1)[1]


def assert_nothing_printed(capfd: pytest.CaptureFixture[str]) -> None:
    out, err = capfd.readouterr()
    for word in ("Traceback", "BrokenPipe", "ConnectionReset", "ConnectionAborted"):
        assert word not in err, err
    assert (out, err) == ("", ""), err


@pytest.mark.parametrize("close", [reset, socket.socket.close], ids=["reset", "close"])
def test_a_reader_who_aborts_a_download_prints_nothing(
    site: DevSite, capfd: pytest.CaptureFixture[str], close: Callable[[socket.socket], None]
) -> None:
    capfd.readouterr()
    with running(site) as address:
        for _ in range(3):
            connection = client(address, small_buffer=True)
            connection.sendall(request("GET", "/" + BIG_FILE))
            assert connection.recv(4096).startswith(b"HTTP/1.0 200 ")
            close(connection)
        status, body = get(address, "/" + BIG_FILE)  # the server goes on serving
        assert status == 200 and len(body) == BIG_SIZE
    assert_nothing_printed(capfd)


def test_a_reader_who_leaves_during_the_long_poll_prints_nothing(
    site: DevSite, capfd: pytest.CaptureFixture[str]
) -> None:
    capfd.readouterr()
    epoch = site.snapshot().epoch
    with running(site, long_poll_seconds=0.3) as address:
        for close in (reset, socket.socket.close):
            connection = client(address)
            connection.sendall(request("GET", f"{ENDPOINT}?epoch={epoch}"))
            time.sleep(0.05)  # the poll is waiting now
            close(connection)
        time.sleep(0.6)  # the polls answer into closed connections
        assert get(address, f"{ENDPOINT}?epoch=-1")[0] == 200
    assert_nothing_printed(capfd)


@pytest.mark.parametrize(
    "sent",
    [
        b"",
        b"GET /stat",
        b"GET /" + BIG_FILE.encode() + b" HTTP/1.1\r\nHost: lo",
        request("HEAD", "/" + BIG_FILE),
        request("GET", "/" + BIG_FILE),
    ],
    ids=["nothing", "half-a-request-line", "half-the-headers", "head", "get"],
)
@pytest.mark.parametrize("close", [reset, socket.socket.close], ids=["reset", "close"])
def test_a_reader_who_sends_part_of_a_request_and_goes_prints_nothing(
    site: DevSite,
    capfd: pytest.CaptureFixture[str],
    sent: bytes,
    close: Callable[[socket.socket], None],
) -> None:
    capfd.readouterr()
    with running(site) as address:
        connection = client(address, small_buffer=True)
        connection.sendall(sent)
        time.sleep(0.05)
        close(connection)
        time.sleep(0.1)
        assert get(address, "/")[0] == 200
    assert_nothing_printed(capfd)


def test_a_head_request_gets_the_headers_and_no_body(site: DevSite) -> None:
    with running(site) as address, client(address) as connection:
        connection.sendall(request("HEAD", "/" + BIG_FILE))
        chunks = []
        while chunk := connection.recv(65536):
            chunks.append(chunk)
    head, _, body = b"".join(chunks).partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.0 200 ")
    assert f"Content-Length: {BIG_SIZE}".encode() in head.split(b"\r\n")
    assert body == b""
