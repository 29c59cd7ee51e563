"""The decoded Pagefind index, and its word list cut into chunk files by Pagefind's rule.

Shared by the patcher (search_patch.py) and the joining of shard indexes (search_join.py).
"""

from __future__ import annotations

import gzip
import hashlib
import json
import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from itertools import pairwise
from typing import Any

from sitegen.render.files import RenderedFile
from sitegen.render.search_cbor import MAGIC, UnsupportedCbor, unpack, unpack_raw
from sitegen.render.search_postings import WordPostings, join_chunk, split_chunk

Cut = list[tuple[list[WordPostings], int | None]]  # chunks, each with the old chunk it is


@dataclass
class IndexParts:
    """The decoded index: what a patch changes, each piece in the form it is patched in."""

    meta: list[Any]  # [version, pages, chunks, filters, sorts, meta fields]
    paths: list[str]  # page number -> path of the page
    meta_keys: list[frozenset[str]]  # page number -> the meta fields the page has
    chunks: list[list[WordPostings]]
    chunk_files: list[str]  # chunk number -> its file's path in the bundle
    chunk_digests: list[str]  # chunk number -> Pagefind's hash of its bytes, in full
    filters: dict[str, dict[str, list[int]]]  # filter -> value -> page numbers


def recut(
    chunks: list[list[WordPostings]], touched: set[int], limit: int
) -> list[tuple[list[WordPostings], int | None]]:
    """The words cut into chunks by Pagefind's rule (pagefind/src/index/mod.rs, `chunk_index`):
    in word order, a chunk ends after the word that brings its size to `limit` or more.
    Each chunk comes with the number of the old chunk it is, unchanged, or None.

    The old chunks were cut by the same rule, so an untouched chunk that starts where a new
    chunk would start is that new chunk: the words are counted only from the first touched
    chunk until the cutting falls in step with the old boundaries again.
    """
    cut: list[tuple[list[WordPostings], int | None]] = []
    current: list[WordPostings] = []
    size = 0
    for number, chunk in enumerate(chunks):
        if not chunk:
            continue
        if not current and number not in touched:
            cut.append((chunk, number))
            continue
        for word in chunk:
            current.append(word)
            size += word.main.size
            if size >= limit:
                cut.append((current, None))
                current, size = [], 0
    if current:
        cut.append((current, None))
    return cut


def chunk_ranges(chunks: list[list[WordPostings]]) -> list[list[Any]]:
    """Each chunk's [from, to] as Pagefind writes them: the shortest prefixes that still tell
    neighbouring chunks apart."""
    ranges = [[chunk[0].word, chunk[-1].word] for chunk in chunks]
    for left, right in pairwise(ranges):
        common = 0
        for a, b in zip(right[0], left[1], strict=False):
            if a != b:
                break
            common += 1
        to, start = left[1][: common + 1], right[0][: common + 1]
        if to >= left[0]:
            left[1] = to
        right[0] = start
    return ranges


def pagefind_hash(raw: bytes) -> str:
    """The hex SHA-1 Pagefind names a chunk by (each byte without a leading zero)."""
    return "".join(f"{byte:x}" for byte in hashlib.sha1(raw, usedforsecurity=False).digest())


def analyse(files: dict[str, RenderedFile], folder: str) -> IndexParts:
    """The bundle's index decoded into the parts a patch changes."""
    meta = unpack(files[meta_path(files, folder)].data)
    paths: list[str] = []
    meta_keys: list[frozenset[str]] = []
    for fragment, _word_count in meta[1]:
        data = json.loads(unpack_fragment(files[f"{folder}/fragment/{fragment}.pf_fragment"].data))
        paths.append(path_of_url(data["url"]))
        meta_keys.append(frozenset(data["meta"]))
    chunk_files = [f"{folder}/index/{hashed}.pf_index" for _from, _to, hashed in meta[2]]
    raws = [unpack_raw(files[path].data) for path in chunk_files]
    chunks = [split_chunk(raw) for raw in raws]
    digests = [pagefind_hash(raw) for raw in raws]
    filters: dict[str, dict[str, list[int]]] = {}
    for name, hashed in meta[3]:
        _name, values = unpack(files[f"{folder}/filter/{hashed}.pf_filter"].data)
        filters[name] = {value: list(numbers) for value, numbers in values}
    return IndexParts(meta, paths, meta_keys, chunks, chunk_files, digests, filters)


def unpack_fragment(data: bytes) -> bytes:
    """The JSON of a fragment file."""
    raw = gzip.decompress(data)
    if not raw.startswith(b"pagefind_dcd"):
        raise UnsupportedCbor("not a Pagefind fragment")
    return raw[len(b"pagefind_dcd") :]


def path_of_url(url: str) -> str:
    """The page's path in output/ for the URL Pagefind gave it."""
    path = url.lstrip("/")
    return path + "index.html" if not path or path.endswith("/") else path


def meta_path(files: dict[str, Any], folder: str) -> str:
    found = [
        path
        for path in files
        if path.startswith(f"{folder}/pagefind.") and path.endswith(".pf_meta")
    ]
    if len(found) != 1:
        raise UnsupportedCbor("the bundle has no single metadata file")
    return found[0]


def write_chunks(
    cut: Cut,
    parts: IndexParts | None,
    files: dict[str, RenderedFile],
    folder: str,
    language: str,
    level: int,
) -> tuple[list[list[WordPostings]], list[str], list[str], list[list[Any]]]:
    """Put the files of the chunks of `cut` into `files` (taking out those of `parts`'s old
    chunks that are not kept): the chunks, their paths, their hashes and their metadata
    entries ([from, to, file hash]). A rewritten chunk whose bytes did not change keeps its
    file; the others are compressed at gzip `level`, named as Pagefind names them."""
    old_files = parts.chunk_files if parts else []
    old_hashes = parts.chunk_digests if parts else []
    kept = {number for _words, number in cut if number is not None}
    old_chunks = {path: files.pop(path) for n, path in enumerate(old_files) if n not in kept}
    taken = {old_files[number] for number in kept}
    old_digests = dict(zip(old_files, old_hashes, strict=True))
    chunks = [words for words, _number in cut]
    chunk_files = [old_files[n] if n is not None else "" for _words, n in cut]
    chunk_digests = [old_hashes[n] if n is not None else "" for _words, n in cut]
    rewritten = [position for position, (_words, n) in enumerate(cut) if n is None]

    def encoded(position: int) -> tuple[bytes, str]:
        raw = join_chunk(chunks[position])
        return raw, pagefind_hash(raw)

    with ThreadPoolExecutor(os.cpu_count() or 1) as pool:  # zlib and hashlib let go of the GIL
        made: dict[int, RenderedFile] = {}
        to_pack: list[tuple[int, str, bytes]] = []
        for position, (raw, digest) in zip(rewritten, pool.map(encoded, rewritten), strict=True):
            length = 7
            while (path := f"{folder}/index/{language}_{digest[:length]}.pf_index") in taken:
                length += 1
            taken.add(path)
            chunk_files[position] = path
            chunk_digests[position] = digest
            old = old_chunks.get(path)
            if old is not None and old_digests[path] == digest:
                made[position] = old  # the same words as before: the file stays as it is
            else:
                to_pack.append((position, path, raw))
        packed = pool.map(
            lambda item: gzip.compress(MAGIC + item[2], compresslevel=level, mtime=0), to_pack
        )
        for (position, path, _raw), data in zip(to_pack, packed, strict=True):
            made[position] = RenderedFile(path, data)
    for position, item in made.items():
        files[chunk_files[position]] = item
    chunk_meta = chunk_ranges(chunks)
    for position, path in enumerate(chunk_files):
        chunk_meta[position].append(path.rsplit("/", 1)[1].removesuffix(".pf_index"))
    return chunks, chunk_files, chunk_digests, chunk_meta
