"""Make Pagefind's filter index byte-identical from build to build.

Pagefind (1.x) writes its filter index from a Rust HashMap, so the order of filter values, the
filter files' hashes, the metadata that names them and pagefind-entry.json change on every run
(an upstream TODO in pagefind/src/index/mod.rs). Everything else it writes is stable. This
module rewrites just those files in a canonical order: the filter values sorted by value, the
metadata's filter list sorted by name, files named by the hash of their new contents.
Each file is gzip("pagefind_dcd" + CBOR), read and written by search_cbor.py.
"""

from __future__ import annotations

import json

from sitegen.render.files import RenderedFile
from sitegen.render.search_cbor import CBOR, UnsupportedCbor, pack, unpack


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
            name, values = unpack(item.data)
            old = path.rsplit("/", 1)[1].removesuffix(".pf_filter")
            new, made = filter_file(folder, old.split("_", 1)[0], name, dict(values))
            renamed[old] = new
            result[made.path] = made
        elif not path.endswith(".pf_meta") and path != entry_path:
            result[path] = item
    for language in entry["languages"].values():
        old_meta = f"{folder}/pagefind.{language['hash']}.pf_meta"
        meta = _rename_filters(unpack(by_path[old_meta].data), renamed)
        language["hash"], made = meta_file(folder, language["hash"].rsplit("_", 1)[0], meta)
        result[made.path] = made
    result[entry_path] = RenderedFile(entry_path, entry_json(entry))
    return [result[path] for path in sorted(result)]


def filter_file(
    folder: str, language: str, name: str, values: dict[str, list[int]]
) -> tuple[str, RenderedFile]:
    """A filter's file, its values and their pages in sorted order, and its hash (its name)."""
    ordered = sorted(([value, sorted(pages)] for value, pages in values.items()), key=str)
    data, digest = pack([name, ordered])
    hashed = f"{language}_{digest[:7]}"
    return hashed, RenderedFile(f"{folder}/filter/{hashed}.pf_filter", data)


def meta_file(folder: str, language: str, meta: CBOR) -> tuple[str, RenderedFile]:
    """The metadata file and its hash (its name)."""
    data, digest = pack(meta)
    hashed = f"{language}_{digest[:10]}"
    return hashed, RenderedFile(f"{folder}/pagefind.{hashed}.pf_meta", data)


def entry_json(entry: CBOR) -> bytes:
    """pagefind-entry.json, compact as Pagefind writes it."""
    return json.dumps(entry, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


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
