"""Pagefind's data files: gzip("pagefind_dcd" + CBOR), read and written byte for byte.

Pagefind (1.x) encodes its index, filters and metadata with minicbor: definite-length arrays of
arrays, strings and integers, every head in its shortest form. This small codec reads and
writes exactly that, so a file decoded and encoded again is the same bytes.
"""

from __future__ import annotations

import gzip
import hashlib
from typing import Any

MAGIC = b"pagefind_dcd"
CBOR = Any  # int | str | bytes | bool | None | list[CBOR] | dict[CBOR, CBOR]


class UnsupportedCbor(ValueError):
    """A CBOR item this small codec does not handle (then the bundle is left as it is)."""


def cbor_decode(data: bytes) -> CBOR:
    value, end = decode_at(data, 0)
    if end != len(data):
        raise UnsupportedCbor("trailing bytes")
    return value


def read_head(data: bytes, pos: int) -> tuple[int, int, int]:
    """(major type, argument, position after the head) of the item at `pos`."""
    major, info = data[pos] >> 5, data[pos] & 0x1F
    pos += 1
    if info < 24:
        return major, info, pos
    if info <= 27:
        size = 1 << (info - 24)
        return major, int.from_bytes(data[pos : pos + size], "big"), pos + size
    raise UnsupportedCbor(f"indefinite or reserved length {info}")


def decode_at(data: bytes, pos: int) -> tuple[CBOR, int]:
    """The item at `pos` and the position after it."""
    major, arg, pos = read_head(data, pos)
    if major == 0:
        return arg, pos
    if major == 1:
        return -1 - arg, pos
    if major in (2, 3):
        raw = data[pos : pos + arg]
        return (raw if major == 2 else raw.decode("utf-8")), pos + arg
    if major == 4:
        items = []
        for _ in range(arg):
            item, pos = decode_at(data, pos)
            items.append(item)
        return items, pos
    if major == 5:
        mapping = {}
        for _ in range(arg):
            key, pos = decode_at(data, pos)
            mapping[key], pos = decode_at(data, pos)
        return mapping, pos
    if major == 7 and arg in (20, 21, 22):
        return {20: False, 21: True, 22: None}[arg], pos
    raise UnsupportedCbor(f"major type {major}, argument {arg}")


def head(major: int, arg: int) -> bytes:
    """The shortest head of an item of `major` type with argument `arg`."""
    if arg < 24:
        return bytes([major << 5 | arg])
    for info, size in ((24, 1), (25, 2), (26, 4), (27, 8)):
        if arg < 1 << (8 * size):
            return bytes([major << 5 | info]) + arg.to_bytes(size, "big")
    raise UnsupportedCbor("integer too large")


def cbor_encode(value: CBOR) -> bytes:
    """Smallest-length heads, as Pagefind's encoder (minicbor) writes them."""
    kind = type(value)
    if kind is int:
        if value >= 0:
            found = _UINTS.get(value)
            if found is None:
                found = _UINTS[value] = head(0, value) if value < 1 << 16 else b""
            return found or head(0, value)
        return head(1, -1 - value)
    if kind is list:
        return head(4, len(value)) + b"".join(map(cbor_encode, value))
    if kind is str:
        raw: bytes = value.encode("utf-8")
        return head(3, len(raw)) + raw
    if kind is bytes:
        data: bytes = value
        return head(2, len(data)) + data
    if isinstance(value, bool) or value is None:
        return bytes([0xF4 if value is False else 0xF5 if value is True else 0xF6])
    if isinstance(value, dict):
        return head(5, len(value)) + b"".join(
            cbor_encode(k) + cbor_encode(v) for k, v in value.items()
        )
    raise UnsupportedCbor(type(value).__name__)


_UINTS: dict[int, bytes] = {}  # the encoding of each small unsigned integer met so far


def unpack_raw(data: bytes) -> bytes:
    """The CBOR bytes of a Pagefind data file (gzipped or not)."""
    raw = data if data.startswith(MAGIC) else gzip.decompress(data)
    if not raw.startswith(MAGIC):
        raise UnsupportedCbor("not a Pagefind data file")
    return raw[len(MAGIC) :]


def unpack(data: bytes) -> CBOR:
    """A Pagefind data file decoded; it must encode back to the same bytes."""
    raw = unpack_raw(data)
    decoded = cbor_decode(raw)
    if cbor_encode(decoded) != raw:
        raise UnsupportedCbor("does not re-encode to the same bytes")
    return decoded


def pack_raw(raw: bytes, level: int = 9) -> tuple[bytes, str]:
    """A data file of the CBOR bytes `raw`, and the hex digest of its contents."""
    contents = MAGIC + raw
    return gzip.compress(contents, compresslevel=level, mtime=0), hashlib.sha256(
        contents
    ).hexdigest()


def pack(value: CBOR, level: int = 9) -> tuple[bytes, str]:
    """The data file of `value` and the hex digest of its contents."""
    return pack_raw(cbor_encode(value), level)
