"""`sitegen serve --host 0.0.0.0`: the addresses printed are ones a phone can open.

Traffic goes only to this machine: loopback, or addresses a socket here can bind to.
"""

from __future__ import annotations

import http.client
import ipaddress
import os
import queue
import re
import signal
import socket
import struct
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO

import pytest

from sitegen.config import default_options
from sitegen.serve import addresses, server
from sitegen.serve.addresses import (
    LocalAddress,
    is_loopback,
    is_wildcard,
    local_url,
    machine_addresses,
    network_urls,
)
from sitegen.serve.server import DevServer
from sitegen.serve.site import DevSite
from tests.conftest import CASE, REPO

V4 = LocalAddress(ipaddress.IPv4Address("192.168.1.23"), "wlan0")
V6 = LocalAddress(ipaddress.IPv6Address("2001:db8::5"), "wlan0")
BIG_SIZE = 8 * 1024 * 1024


def ipv6_works() -> bool:
    if not socket.has_ipv6:
        return False
    try:
        with socket.socket(socket.AF_INET6, socket.SOCK_STREAM) as probe:
            probe.bind(("::1", 0))
    except OSError:
        return False
    return True


def is_this_machines(address: str) -> bool:
    """Whether `address` belongs to this machine: only then can a socket bind to it."""
    family = socket.AF_INET6 if ":" in address else socket.AF_INET
    try:
        with socket.socket(family, socket.SOCK_STREAM) as probe:
            probe.bind((address, 0))
    except OSError:
        return False
    return True


@pytest.mark.parametrize("host", ["", "0.0.0.0", "::", "[::]", "0:0::0"])
def test_wildcard_hosts(host: str) -> None:
    assert is_wildcard(host) and not is_loopback(host)


@pytest.mark.parametrize("host", ["127.0.0.1", "127.0.0.2", "::1", "localhost"])
def test_loopback_hosts(host: str) -> None:
    assert is_loopback(host) and not is_wildcard(host)


def test_a_wildcard_host_lists_the_machines_addresses_never_the_wildcard() -> None:
    found = [V4, V6]
    assert local_url("0.0.0.0", 8002, "/") == "http://127.0.0.1:8002/"
    assert network_urls("0.0.0.0", 8002, "/", found) == [("http://192.168.1.23:8002/", "wlan0")]
    assert network_urls("::", 8002, "/cfb/", found, accepts_ipv4=True) == [
        ("http://192.168.1.23:8002/cfb/", "wlan0"),
        ("http://[2001:db8::5]:8002/cfb/", "wlan0"),
    ]
    assert local_url("::", 8002, "/cfb/", accepts_ipv4=True) == "http://127.0.0.1:8002/cfb/"
    assert network_urls("::", 8002, "/", found, accepts_ipv4=False) == [
        ("http://[2001:db8::5]:8002/", "wlan0")
    ]
    assert local_url("::", 8002, "/", accepts_ipv4=False) == "http://[::1]:8002/"


@pytest.mark.parametrize(
    ("host", "shown"),
    [
        ("192.168.1.23", "http://192.168.1.23:8002/cfb/"),
        ("2001:db8::5", "http://[2001:db8::5]:8002/cfb/"),
        ("127.0.0.1", "http://127.0.0.1:8002/cfb/"),
    ],
)
def test_a_specific_host_is_printed_as_it_is(host: str, shown: str) -> None:
    assert local_url(host, 8002, "/cfb/") == shown
    assert network_urls(host, 8002, "/cfb/", [V4, V6]) == []


def test_the_machines_addresses_are_its_own_and_reachable_from_outside() -> None:
    found = machine_addresses()
    assert len({item.address for item in found}) == len(found)
    assert [item.address.version for item in found] == sorted(
        item.address.version for item in found
    )
    for item in found:
        assert not (item.address.is_loopback or item.address.is_link_local), item
        assert not (item.address.is_unspecified or item.address.is_multicast), item
        assert is_this_machines(str(item.address)), item


def test_the_ipv4_addresses_of_the_interfaces_are_found() -> None:
    """The kernel's own list of local addresses (/proc/net/fib_trie) agrees."""
    trie = Path("/proc/net/fib_trie")
    if not trie.exists():
        pytest.skip("no /proc/net/fib_trie on this system")
    local = {
        ipaddress.IPv4Address(address)
        for address in re.findall(r"\|-- (\S+)\n\s+/32 host LOCAL", trie.read_text())
    }
    found = {item.address for item in machine_addresses() if item.address.version == 4}
    assert found <= local
    reachable = {address for address in local if addresses.reachable(address)}
    interfaces_up = [
        path.name
        for path in Path("/sys/class/net").iterdir()
        if path.name != "lo" and (path / "operstate").read_text().strip() == "up"
    ]
    if reachable and interfaces_up:
        assert found, (reachable, interfaces_up)


def test_if_inet6_lines_are_read_and_unusable_addresses_left_out() -> None:
    parse = addresses._parse_if_inet6
    assert parse("fd000000000000000000000000000002 04 40 00 82     eth0") == LocalAddress(
        ipaddress.IPv6Address("fd00::2"), "eth0"
    )
    assert parse("20010db8000000000000000000000005 03 40 00 40 wlan0") is None  # tentative
    assert parse("20010db8000000000000000000000005 03 40 00 20 wlan0") is None  # deprecated
    assert parse("20010db8000000000000000000000005 03 40 00 08 wlan0") is None  # DAD failed
    assert parse("not an address line") is None


def test_without_interfaces_the_host_names_addresses_are_used(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(addresses, "_interface_ipv4", lambda: iter(()))
    monkeypatch.setattr(addresses, "_interface_ipv6", lambda: iter(()))
    monkeypatch.setattr(socket, "gethostname", lambda: "redaktion")

    def getaddrinfo(host: str, *args: object, **kwargs: object) -> list[object]:
        assert host == "redaktion"
        stream = socket.SOCK_STREAM
        return [
            (socket.AF_INET, stream, 6, "", ("127.0.1.1", 0)),
            (socket.AF_INET, stream, 6, "", ("10.0.0.7", 0)),
            (socket.AF_INET6, stream, 6, "", ("fe80::1%wlan0", 0, 0, 3)),
            (socket.AF_INET6, stream, 6, "", ("2001:db8::7", 0, 0, 0)),
        ]

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    assert [str(item.address) for item in machine_addresses()] == ["10.0.0.7", "2001:db8::7"]

    def fails(*args: object, **kwargs: object) -> None:
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")

    monkeypatch.setattr(socket, "getaddrinfo", fails)
    assert machine_addresses() == []


def announced(
    root: Path,
    found: list[LocalAddress],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> list[str]:
    """What `serve --host 0.0.0.0` prints when the machine has `found`, with port 8000."""
    monkeypatch.setattr(server, "machine_addresses", lambda: found)
    dev = DevServer(("0.0.0.0", 0), DevSite(root, default_options()))
    try:
        server.announce(dev, "/", "watching")
    finally:
        dev.server_close()
    printed = capsys.readouterr().out.replace(f":{dev.server_address[1]}/", ":8000/")
    return printed.splitlines()


@pytest.fixture
def root(new_site: Callable[[dict[str, str]], Path]) -> Path:
    return new_site({"content/cases/a.md": CASE.format(title="A")})


def test_no_address_found_says_so_and_still_warns(
    root: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    assert announced(root, [], monkeypatch, capsys) == [
        "Serving http://127.0.0.1:8000/ (watching for changes; Ctrl-C stops)",
        "sitegen: found no network address of this machine to open on other devices",
        "sitegen: listening on every address (0.0.0.0): others on the network can see drafts",
    ]


def test_the_editors_guide_shows_what_serve_prints(
    root: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    guide = (REPO / "docs/redaktoer.md").read_text(encoding="utf-8")
    section = guide.split("\n## Se siden på din telefon\n", 1)[1].split("\n## ", 1)[0]
    assert "`sitegen serve --host 0.0.0.0`" in section and "Ctrl-C" in section
    example = re.search(r"```text\n(.*?)```", section, re.DOTALL)
    assert example, section
    shown = example.group(1).splitlines()
    assert re.fullmatch(r"Built \d+ files in \d+\.\d\d s \(build 1\)", shown[0])
    assert shown[1:] == announced(root, [V4], monkeypatch, capsys)
    quoted = re.findall(r"`([^`\n]+)`", section.replace(example.group(0), ""))
    assert shown[2] in quoted and "http://192.168.1.23:8000/" in quoted
    nothing = announced(root, [], monkeypatch, capsys)[1]
    assert any(nothing.startswith("sitegen: " + phrase) for phrase in quoted)


# --- the command, as an editor runs it ----------------------------------------------------


class Serve:
    """`sitegen serve` as a subprocess; its stdout lines arrive in a queue, stderr is kept."""

    def __init__(self, site: Path, *options: str) -> None:
        env = dict(os.environ, PYTHONPATH=str(REPO), PYTHONUNBUFFERED="1")
        command = [sys.executable, "-m", "sitegen", "serve", "--site", str(site), *options]
        self.process = subprocess.Popen(
            command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env
        )
        assert self.process.stdout is not None and self.process.stderr is not None
        self.lines: queue.Queue[str] = queue.Queue()
        self.stderr: list[str] = []
        self.readers = [
            threading.Thread(target=self._read, args=(self.process.stdout, self.lines.put)),
            threading.Thread(target=self._read, args=(self.process.stderr, self.stderr.append)),
        ]
        for reader in self.readers:
            reader.start()

    @staticmethod
    def _read(stream: IO[str], keep: Callable[[str], None]) -> None:
        for line in stream:
            keep(line.rstrip("\n"))

    def until(self, pattern: str) -> list[str]:
        """The lines printed up to and including the first that matches `pattern`."""
        lines = []
        while not re.search(pattern, lines[-1] if lines else "\x00"):
            lines.append(self.lines.get(timeout=60))
        return lines

    def stop(self) -> int:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
        try:
            code = self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            code = self.process.wait()
        for reader in self.readers:
            reader.join(timeout=10)
        for stream in (self.process.stdout, self.process.stderr):
            if stream is not None:
                stream.close()
        return code


@pytest.fixture
def serve(new_site: Callable[[dict[str, str]], Path]) -> Iterator[Callable[..., Serve]]:
    root = new_site(
        {
            "sitegen.toml": '[site]\nbase_url = "https://example.dk/cfb/"\n',
            "content/cases/holbaek.md": CASE.format(title="Holbæk"),
        }
    )
    (root / "static").mkdir()
    (root / "static/stor.bin").write_bytes(bytes(BIG_SIZE))
    started: list[Serve] = []

    def start(*options: str) -> Serve:
        started.append(Serve(root, *options))
        return started[-1]

    yield start
    for process in started:
        process.stop()


def get(url: str) -> int:
    """The status of a GET of `url`, straight to its host (never through a proxy)."""
    match = re.fullmatch(r"http://\[?([^\]]+?)\]?:(\d+)(/.*)", url)
    assert match, url
    host, port, path = match.groups()
    assert ipaddress.ip_address(host).is_loopback or is_this_machines(host), url
    connection = http.client.HTTPConnection(host, int(port), timeout=10)
    try:
        connection.request("GET", path)
        response = connection.getresponse()
        response.read()
        return response.status
    finally:
        connection.close()


def abort_download(host: str, port: int) -> None:
    """Start downloading a large file and close the connection with a reset."""
    with socket.create_connection((host, port), timeout=10) as connection:
        connection.sendall(b"GET /cfb/stor.bin HTTP/1.1\r\nHost: localhost\r\n\r\n")
        assert connection.recv(4096).startswith(b"HTTP/1.0 200 ")
        connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))


@pytest.mark.parametrize("host", ["0.0.0.0", "::"])
def test_serving_on_every_address_prints_what_a_phone_can_open(
    serve: Callable[..., Serve], host: str
) -> None:
    if ":" in host and not ipv6_works():
        pytest.skip("this machine has no IPv6")
    running = serve("--host", host, "--port", "0", "-q")
    lines = running.until(r"others on the network can see drafts")
    first = re.fullmatch(
        r"Serving (http://127\.0\.0\.1:(\d+)/cfb/) \(\w+ for changes; .*\)", lines[0]
    )
    assert first, lines
    port = int(first.group(2))
    urls = re.findall(r"http://\S+", "\n".join(lines))
    assert not any(wildcard in url for url in urls for wildcard in ("0.0.0.0", "[::]"))
    expected = network_urls(host, port, "/cfb/", machine_addresses())
    if expected:
        assert lines[1] == "On a phone or another computer on the same network, open:"
        assert lines[2:-1] == [f"  {url} ({interface})" for url, interface in expected]
    else:
        assert (
            lines[1] == "sitegen: found no network address of this machine to open on other devices"
        )
    assert lines[-1] == (
        f"sitegen: listening on every address ({host}): others on the network can see drafts"
    )
    for url in urls:
        assert get(url) == 200, url
    abort_download("127.0.0.1", port)
    assert get(first.group(1)) == 200
    assert running.stop() == 0
    assert "Traceback" not in "\n".join(running.stderr)
    assert running.stderr == []


def test_serving_on_loopback_prints_one_address_and_no_warning(
    serve: Callable[..., Serve],
) -> None:
    running = serve("--port", "0", "-q")
    lines = running.until(r"^Serving ")
    assert re.fullmatch(r"Serving http://127\.0\.0\.1:\d+/cfb/ \(\w+ for changes; .*\)", lines[0])
    assert running.stop() == 0
    assert running.lines.get(timeout=10) == "Stopped."
    assert running.stderr == []
