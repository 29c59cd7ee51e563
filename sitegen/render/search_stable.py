"""Make Pagefind's filter index byte-identical from build to build.

Pagefind (1.x) writes its filter index from a Rust HashMap, so the order of filter values, the
filter files' hashes, the metadata that names them and pagefind-entry.json change on every run
(an upstream TODO in pagefind/src/index/mod.rs). Everything else it writes is stable. This
module rewrites just those files in a canonical order: the filter values sorted by value, the
metadata's filter list sorted by name, files named by the hash of their new contents.
Each file is gzip("pagefind_dcd" + CBOR of plain arrays, strings and integers).
"""

from __future__ import annotations

import gzip
import hashlib
import json
from typing import Any

from sitegen.render.files import RenderedFile

MAGIC = b"pagefind_dcd"
CBOR = Any  # int | str | bytes | bool | None | list[CBOR] | dict[CBOR, CBOR]


class UnsupportedCbor(ValueError):
    """A CBOR item this small codec does not handle (then the bundle is left as it is)."""


def cbor_decode(data: bytes) -> CBOR:
    value, end = _decode(data, 0)
    if end != len(data):
        raise UnsupportedCbor("trailing bytes")
    return value


def _decode(data: bytes, pos: int) -> tuple[CBOR, int]:
    major, info = data[pos] >> 5, data[pos] & 0x1F
    pos += 1
    if info < 24:
        arg = info
    elif info <= 27:
        size = 1 << (info - 24)
        arg = int.from_bytes(data[pos : pos + size], "big")
        pos += size
    else:
        raise UnsupportedCbor(f"indefinite or reserved length {info}")
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
            item, pos = _decode(data, pos)
            items.append(item)
        return items, pos
    if major == 5:
        mapping = {}
        for _ in range(arg):
            key, pos = _decode(data, pos)
            mapping[key], pos = _decode(data, pos)
        return mapping, pos
    if major == 7 and info in (20, 21, 22):
        return {20: False, 21: True, 22: None}[info], pos
    raise UnsupportedCbor(f"major type {major}, info {info}")


def _head(major: int, arg: int) -> bytes:
    if arg < 24:
        return bytes([major << 5 | arg])
    for info, size in ((24, 1), (25, 2), (26, 4), (27, 8)):
        if arg < 1 << (8 * size):
            return bytes([major << 5 | info]) + arg.to_bytes(size, "big")
    raise UnsupportedCbor("integer too large")


def cbor_encode(value: CBOR) -> bytes:
    """Smallest-length heads, as Pagefind's encoder (minicbor) writes them."""
    if isinstance(value, bool) or value is None:
        return bytes([0xF4 if value is False else 0xF5 if value is True else 0xF6])
    if isinstance(value, int):
        return _head(0, value) if value >= 0 else _head(1, -1 - value)
    if isinstance(value, bytes):
        return _head(2, len(value)) + value
    if isinstance(value, str):
        raw = value.encode("utf-8")
        return _head(3, len(raw)) + raw
    if isinstance(value, list):
        return _head(4, len(value)) + b"".join(cbor_encode(item) for item in value)
    if isinstance(value, dict):
        return _head(5, len(value)) + b"".join(
            cbor_encode(k) + cbor_encode(v) for k, v in value.items()
        )
    raise UnsupportedCbor(type(value).__name__)


def _unpack(data: bytes) -> CBOR:
    raw = gzip.decompress(data)
    if not raw.startswith(MAGIC):
        raise UnsupportedCbor("not a Pagefind data file")
    decoded = cbor_decode(raw[len(MAGIC) :])
    if cbor_encode(decoded) != raw[len(MAGIC) :]:
        raise UnsupportedCbor("does not re-encode to the same bytes")
    return decoded


def _pack(value: CBOR) -> tuple[bytes, str]:
    """The file's bytes and the hex digest of its contents."""
    raw = MAGIC + cbor_encode(value)
    return gzip.compress(raw, compresslevel=9, mtime=0), hashlib.sha256(raw).hexdigest()


def stable_bundle(files: list[RenderedFile], folder: str) -> list[RenderedFile]:
    """The bundle with its filter files, metadata and entry rewritten in canonical order."""
    try:
        return _stable_bundle(files, folder)
    except (UnsupportedCbor, OSError, ValueError, KeyError, IndexError):
        return files  # an unknown Pagefind format: correct, only not reproducible


def _stable_bundle(files: list[RenderedFile], folder: str) -> list[RenderedFile]:
    by_path = {f.path: f for f in files}
    entry_path = f"{folder}/pagefind-entry.json"
    entry = json.loads(by_path[entry_path].data)
    renamed: dict[str, str] = {}  # old file hash ("da_43112e7") -> new
    result: dict[str, RenderedFile] = {}
    for path, item in by_path.items():
        if path.startswith(f"{folder}/filter/") and path.endswith(".pf_filter"):
            name, values = _unpack(item.data)
            values = sorted(([value, sorted(pages)] for value, pages in values), key=str)
            data, digest = _pack([name, values])
            old = path.rsplit("/", 1)[1].removesuffix(".pf_filter")
            new = f"{old.split('_', 1)[0]}_{digest[:7]}"
            renamed[old] = new
            result[f"{folder}/filter/{new}.pf_filter"] = RenderedFile(
                f"{folder}/filter/{new}.pf_filter", data
            )
        elif not path.endswith(".pf_meta") and path != entry_path:
            result[path] = item
    for language in entry["languages"].values():
        old_meta = f"{folder}/pagefind.{language['hash']}.pf_meta"
        meta = _unpack(by_path[old_meta].data)
        data, digest = _pack(_rename_filters(meta, renamed))
        language["hash"] = f"{language['hash'].rsplit('_', 1)[0]}_{digest[:10]}"
        new_meta = f"{folder}/pagefind.{language['hash']}.pf_meta"
        result[new_meta] = RenderedFile(new_meta, data)
    entry_data = json.dumps(entry, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    result[entry_path] = RenderedFile(entry_path, entry_data)
    return [result[path] for path in sorted(result)]


def _rename_filters(value: CBOR, renamed: dict[str, str]) -> CBOR:
    """Filter hashes replaced, and every list of [name, filter hash] pairs sorted by name."""
    if isinstance(value, str):
        return renamed.get(value, value)
    if isinstance(value, list):
        items = [_rename_filters(item, renamed) for item in value]
        new_hashes = set(renamed.values())
        if items and all(
            isinstance(i, list) and len(i) == 2 and isinstance(i[1], str) and i[1] in new_hashes
            for i in items
        ):
            items.sort(key=str)
        return items
    return value
