"""Which addresses `sitegen serve` prints: where this machine and the devices near it open it.

Listening on a wildcard address (0.0.0.0, ::) means listening on every address of this
machine, and a phone on the same network needs one of those, never 0.0.0.0 itself. They are
read from the machine without sending anything: on Linux the interfaces' IPv4 addresses
(ioctl) and IPv6 addresses (/proc/net/if_inet6) of the interfaces that are up; elsewhere, or
when that finds none, the addresses the host name resolves to.
"""

from __future__ import annotations

import contextlib
import ipaddress
import socket
import struct
import sys
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

# Linux: <linux/sockios.h>, <linux/if.h>, <linux/if_addr.h>
_SIOCGIFFLAGS = 0x8913
_SIOCGIFADDR = 0x8915
_IFF_UP, _IFF_RUNNING = 0x1, 0x40
_IFA_F_DADFAILED, _IFA_F_DEPRECATED, _IFA_F_TENTATIVE = 0x08, 0x20, 0x40
_IF_INET6 = Path("/proc/net/if_inet6")


@dataclass(frozen=True)
class LocalAddress:
    """An address of this machine and the interface that has it ('' when unknown)."""

    address: IPAddress
    interface: str = ""


def parse_host(host: str) -> IPAddress | None:
    """`host` as an IP address (brackets allowed around IPv6), or None for a name."""
    try:
        return ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return None


def is_wildcard(host: str) -> bool:
    """Whether listening on `host` means every address of this machine."""
    address = parse_host(host)
    return host == "" or (address is not None and address.is_unspecified)


def is_loopback(host: str) -> bool:
    """Whether only this machine can reach `host`."""
    address = parse_host(host)
    return host == "localhost" or (address is not None and address.is_loopback)


def url(address: str | IPAddress, port: int, base: str = "/") -> str:
    """http://address:port/base/, with an IPv6 address in brackets."""
    host = str(address)
    shown = f"[{host}]" if ":" in host else host
    return f"http://{shown}:{port}{base}"


def local_url(host: str, port: int, base: str, accepts_ipv4: bool = True) -> str:
    """The URL to open on this machine: the address listened on, loopback for a wildcard."""
    if not is_wildcard(host):
        return url(host, port, base)
    ipv6_only = ":" in host and not accepts_ipv4
    return url("::1" if ipv6_only else "127.0.0.1", port, base)


def network_urls(
    host: str,
    port: int,
    base: str,
    addresses: Iterable[LocalAddress],
    accepts_ipv4: bool = True,
) -> list[tuple[str, str]]:
    """(URL, interface) for other devices, one per address of this machine that `host` covers.

    Only a wildcard host covers more than itself; an IPv6 wildcard covers IPv4 addresses too
    when the socket accepts IPv4 (dual stack).
    """
    if not is_wildcard(host):
        return []
    versions = {4} if ":" not in host else ({4, 6} if accepts_ipv4 else {6})
    return [
        (url(item.address, port, base), item.interface)
        for item in addresses
        if item.address.version in versions
    ]


def machine_addresses() -> list[LocalAddress]:
    """This machine's addresses that another device could reach, IPv4 first, without repeats."""
    found = [*_interface_ipv4(), *_interface_ipv6()]
    if not found:
        found = list(_host_name_addresses())
    unique: dict[IPAddress, LocalAddress] = {}
    for item in found:
        if reachable(item.address) and item.address not in unique:
            unique[item.address] = item
    return sorted(unique.values(), key=lambda item: (item.address.version, item.address.packed))


def reachable(address: IPAddress) -> bool:
    """Whether another device on the network could open `address` in a browser."""
    return not (
        address.is_loopback
        or address.is_link_local
        or address.is_unspecified
        or address.is_multicast
    )


def _interface_ipv4() -> Iterator[LocalAddress]:
    if sys.platform != "linux":
        return
    with contextlib.suppress(OSError), _probe() as probe:
        for _, name in socket.if_nameindex():
            if not _is_up(probe, name):
                continue
            with contextlib.suppress(OSError):
                reply = _ioctl(probe, _SIOCGIFADDR, name)
                yield LocalAddress(ipaddress.IPv4Address(reply[20:24]), name)


def _interface_ipv6() -> Iterator[LocalAddress]:
    if sys.platform != "linux":
        return
    try:
        lines = _IF_INET6.read_text(encoding="ascii").splitlines()
    except (OSError, UnicodeDecodeError):
        return
    with contextlib.suppress(OSError), _probe() as probe:
        for line in lines:
            item = _parse_if_inet6(line)
            if item is not None and _is_up(probe, item.interface):
                yield item


def _parse_if_inet6(line: str) -> LocalAddress | None:
    """One line of /proc/net/if_inet6: address, index, prefix, scope, flags, interface."""
    fields = line.split()
    if len(fields) != 6:
        return None
    try:
        address = ipaddress.IPv6Address(bytes.fromhex(fields[0]))
        flags = int(fields[4], 16)
    except ValueError:
        return None
    if flags & (_IFA_F_DADFAILED | _IFA_F_DEPRECATED | _IFA_F_TENTATIVE):
        return None
    return LocalAddress(address, fields[5])


def _host_name_addresses() -> Iterator[LocalAddress]:
    try:
        infos = socket.getaddrinfo(socket.gethostname(), None, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError):
        return
    for family, _, _, _, sockaddr in infos:
        if family in (socket.AF_INET, socket.AF_INET6):
            address = parse_host(str(sockaddr[0]).split("%", 1)[0])
            if address is not None:
                yield LocalAddress(address)


def _probe() -> socket.socket:
    """A socket to ask the kernel about interfaces with; it never sends anything."""
    return socket.socket(socket.AF_INET, socket.SOCK_DGRAM)


def _ioctl(probe: socket.socket, request: int, interface: str) -> bytes:
    import fcntl  # Unix only; the callers run on Linux alone

    name = interface.encode()[:15]
    return fcntl.ioctl(probe.fileno(), request, struct.pack("256s", name))


def _is_up(probe: socket.socket, interface: str) -> bool:
    """Whether the interface is up and connected (a bridge without a cable or peer is not)."""
    try:
        flags = struct.unpack_from("H", _ioctl(probe, _SIOCGIFFLAGS, interface), 16)[0]
    except OSError:
        return False
    return bool(flags & _IFF_UP and flags & _IFF_RUNNING)
