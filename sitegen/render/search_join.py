"""A large site's search index made in shards: Pagefind over each SHARD_PAGES pages, joined.

Pagefind keeps every page's words in memory until it writes its index: 2.1 GB for 10,000
case pages, more than the rest of the build. So a site with more pages than one shard is
indexed shard by shard (pages in path order), each run small, and the shards' indexes are
joined into the one index a single run would make: the pages numbered shard after shard,
each word's list of pages joined (only the first entry of each shard's list gets a new page
delta; the rest is copied as Pagefind wrote it), the filters and page lists joined likewise,
and the words cut into chunks by Pagefind's own rule. Shards that disagree on the format or
the meta fields (one shard with no page that has an image, say) cannot be joined byte for
byte without decoding; then Pagefind indexes every page at once, as before.
"""

from __future__ import annotations

import json
from collections.abc import Callable

from sitegen.render.files import RenderedFile
from sitegen.render.search import SearchIndexError
from sitegen.render.search_cbor import UnsupportedCbor, unpack, unpack_raw
from sitegen.render.search_parts import (
    IndexParts,
    meta_path,
    path_of_url,
    recut,
    unpack_fragment,
    write_chunks,
)
from sitegen.render.search_postings import WordPostings, joined_words, split_chunk
from sitegen.render.search_stable import entry_json, filter_file, meta_file

SHARD_PAGES = 1_000  # pages per Pagefind run: ~235 MB and 1.7 s each (10 ms a run on top)
JOINED_LEVEL = 6  # gzip level of the joined index's chunks (made once, read by every reader)

Runner = Callable[[list[RenderedFile], str], list[RenderedFile]]  # pages -> Pagefind's bundle


class CannotJoin(Exception):
    """The shards' indexes differ in a way joining does not handle."""


def sharded_bundle(
    pages: list[RenderedFile], language: str, folder: str, run: Runner, limit: int
) -> tuple[list[RenderedFile], IndexParts | None]:
    """The bundle of every page, and its parts (None when Pagefind made it in one run)."""
    if len(pages) <= SHARD_PAGES:
        return run(pages, language), None
    shards = [pages[start : start + SHARD_PAGES] for start in range(0, len(pages), SHARD_PAGES)]
    try:
        bundles = [{item.path: item for item in run(shard, language)} for shard in shards]
        return joined_bundle(bundles, folder, language, limit)
    except (CannotJoin, SearchIndexError, UnsupportedCbor, KeyError, IndexError, ValueError):
        return run(pages, language), None  # (a shard of pages without words is refused)


def joined_bundle(
    bundles: list[dict[str, RenderedFile]], folder: str, language: str, limit: int
) -> tuple[list[RenderedFile], IndexParts]:
    """One bundle of the shards' `bundles` (their pages in this order), and its parts."""
    metas = [unpack(bundle[meta_path(bundle, folder)].data) for bundle in bundles]
    version, fields = metas[0][0], metas[0][5]
    if any(meta[0] != version or meta[5] != fields or meta[4] for meta in metas):
        raise CannotJoin("the shards differ in Pagefind's version or meta fields, or sort")
    files: dict[str, RenderedFile] = {}
    for bundle in bundles:  # the code, the fragments: every shard's as they are
        for path, item in bundle.items():
            if not path.endswith((".pf_index", ".pf_filter", ".pf_meta", "pagefind-entry.json")):
                if path.startswith(f"{folder}/fragment/") and path in files:
                    raise CannotJoin("two pages have the same fragment hash")
                files[path] = item
    pages_meta: list[list[object]] = []
    paths: list[str] = []
    meta_keys: list[frozenset[str]] = []
    words: dict[str, list[tuple[int, WordPostings]]] = {}
    filters: dict[str, dict[str, list[int]]] = {}
    for bundle, meta in zip(bundles, metas, strict=True):
        offset = len(pages_meta)
        for fragment, word_count in meta[1]:
            data = json.loads(
                unpack_fragment(bundle[f"{folder}/fragment/{fragment}.pf_fragment"].data)
            )
            pages_meta.append([fragment, word_count])
            paths.append(path_of_url(data["url"]))
            meta_keys.append(frozenset(data["meta"]))
        for _from, _to, hashed in meta[2]:
            chunk = split_chunk(unpack_raw(bundle[f"{folder}/index/{hashed}.pf_index"].data))
            for word in chunk:
                words.setdefault(word.word, []).append((offset, word))
        for name, hashed in meta[3]:
            _name, values = unpack(bundle[f"{folder}/filter/{hashed}.pf_filter"].data)
            listed = filters.setdefault(name, {})
            for value, numbers in values:
                listed.setdefault(value, []).extend(offset + n for n in numbers)
    every = [joined_words(words[name]) for name in sorted(words)]
    cut = recut([every], {0}, limit)
    chunks, chunk_files, chunk_digests, chunk_meta = write_chunks(
        cut, None, files, folder, language, JOINED_LEVEL
    )
    filter_meta = []
    for name in sorted(filters):
        hashed, made = filter_file(folder, language, name, filters[name])
        files[made.path] = made
        filter_meta.append([name, hashed])
    meta = [version, pages_meta, chunk_meta, filter_meta, [], fields]
    hashed, made = meta_file(folder, language, meta)
    files[made.path] = made
    entry_path = f"{folder}/pagefind-entry.json"
    entry = json.loads(bundles[0][entry_path].data)
    entry["languages"][language]["hash"] = hashed
    entry["languages"][language]["page_count"] = len(pages_meta)
    files[entry_path] = RenderedFile(entry_path, entry_json(entry))
    parts = IndexParts(meta, paths, meta_keys, chunks, chunk_files, chunk_digests, filters)
    return [files[path] for path in sorted(files)], parts
