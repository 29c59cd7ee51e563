"""The search index kept up to date: one Pagefind index, patched where pages changed.

Pagefind has no incremental mode, and its index is one whole: every page has a number, every
word chunk lists the pages of its words, and a reader's scores use the statistics of all pages
(the page count, each word's page count, the average page length). So the site keeps exactly
one index and patches it. Pagefind runs over the changed and added pages only; its small index
is decoded and spliced into the previous one: in each word's list of pages the old entries of
an edited page are replaced by its new ones (it keeps its page number; an added page gets the
next free one), the filters, the page list and the fragments likewise. Only the chunks whose
words changed are written again. The words are then cut into chunks by Pagefind's own
rule, so the chunk boundaries are a clean run's too (Pagefind's reader loads the chunks whose
from/to range holds a term, so a prefix search depends on them); only the chunks whose words
changed get new files. The result means exactly what one clean Pagefind run over the same
pages would mean, page numbering aside, and search.js ranks results without depending on page
numbers.

A removed page's number goes to the last page, which is indexed again under it, so no other
page is renumbered. Anything this does not patch is indexed afresh by Pagefind: many changed
pages, a meta field that appears or disappears, sort keys,
a fragment hash that collides, a format it does not recognise.
"""

from __future__ import annotations

import contextlib
import json
from bisect import bisect_right
from collections.abc import Callable
from dataclasses import dataclass

from sitegen.render.files import RenderedFile
from sitegen.render.search import SearchIndexError, chunk_size
from sitegen.render.search_cbor import UnsupportedCbor, cbor_decode, unpack, unpack_raw
from sitegen.render.search_join import sharded_bundle
from sitegen.render.search_parts import (
    IndexParts,
    analyse,
    meta_path,
    path_of_url,
    recut,
    unpack_fragment,
    write_chunks,
)
from sitegen.render.search_postings import (
    PageList,
    WordNew,
    WordPostings,
    new_postings,
)
from sitegen.render.search_stable import entry_json, filter_file, meta_file

PATCH_SHARE = 0.4  # more pages changed than this share: index all afresh (patching 40% of
# 1,000 pages took 1.2 s, Pagefind over all of them 1.8 s)
CHUNK_LEVEL = 1  # gzip level of a rewritten chunk: 9% larger than level 6, in a third of the time

Runner = Callable[[list[RenderedFile], str], list[RenderedFile]]  # pages -> Pagefind's bundle


class CannotPatch(Exception):
    """The change is one this module does not patch; Pagefind indexes every page instead."""


@dataclass
class SearchState:
    """The bundle of the latest build and what is needed to patch it.

    `digests` covers every indexable page (also one Pagefind left out for having no words);
    `parts` is decoded from the bundle when first patched. `indexed` counts the pages the
    latest update gave to Pagefind (0 when nothing changed), `patched` tells how.
    """

    language: str
    folder: str
    chunk_size: int  # the size Pagefind cut the word index's chunks at
    digests: dict[str, bytes]
    files: list[RenderedFile]
    parts: IndexParts | None = None
    indexed: int = 0
    patched: bool = False


def fresh_state(
    pages: list[RenderedFile],
    digests: dict[str, bytes],
    language: str,
    folder: str,
    run: Runner,
    analysed: bool = True,
) -> SearchState:
    """The state of a bundle Pagefind made from every page; `analysed`: decoded for patching
    at once (else when first patched)."""
    files, parts = (
        sharded_bundle(pages, language, folder, run, chunk_size()) if pages else ([], None)
    )
    if not analysed:
        parts = None
    elif files and parts is None:
        with contextlib.suppress(UnsupportedCbor, KeyError, IndexError, ValueError, TypeError):
            parts = analyse({item.path: item for item in files}, folder)
    return SearchState(language, folder, chunk_size(), dict(digests), files, parts, len(pages))


def updated_state(
    state: SearchState | None,
    pages: list[RenderedFile],
    digests: dict[str, bytes],
    language: str,
    folder: str,
    run: Runner,
    analysed: bool = True,
) -> SearchState:
    """The state after the pages changed to `pages` (their digests in `digests`).

    The previous state is patched where that is possible and worth it, else Pagefind indexes
    every page; `state` itself is not changed either way.
    """
    if state is None or (state.language, state.folder, state.chunk_size) != (
        language,
        folder,
        chunk_size(),
    ):
        return fresh_state(pages, digests, language, folder, run, analysed)
    changed = [page for page in pages if state.digests.get(page.path) != digests[page.path]]
    if not changed and len(pages) == len(state.digests):
        return SearchState(
            language, folder, state.chunk_size, state.digests, state.files, state.parts
        )
    gone = set(state.digests) - set(digests)
    try:
        if not state.files or len(changed) + len(gone) > max(1, PATCH_SHARE * len(pages)):
            raise CannotPatch("too much changed")
        return _patched(state, pages, changed, gone, digests, run)
    except (CannotPatch, UnsupportedCbor, KeyError, IndexError, ValueError, TypeError):
        return fresh_state(pages, digests, language, folder, run, analysed)
    except SearchIndexError:  # Pagefind refuses pages without words when they are all it reads
        return fresh_state(pages, digests, language, folder, run, analysed)


def _patched(
    state: SearchState,
    pages: list[RenderedFile],
    changed: list[RenderedFile],
    gone: set[str],
    digests: dict[str, bytes],
    run: Runner,
) -> SearchState:
    folder, language = state.folder, state.language
    files = {item.path: item for item in state.files}
    parts = state.parts or analyse(files, folder)
    numbers = {path: number for number, path in enumerate(parts.paths)}
    meta = parts.meta
    if meta[4]:
        raise CannotPatch("the index has sort keys")
    # A removed page's number is taken by one of the last pages, so the numbers stay 0..n-1
    # without renumbering every page: that page is indexed again under its new number.
    holes = sorted(numbers[path] for path in gone if path in numbers)
    remaining = len(parts.paths) - len(holes)
    moving = [n for n in range(remaining, len(parts.paths)) if parts.paths[n] not in gone]
    page_numbers: dict[str, int] = {}
    targets = dict(zip(moving, (hole for hole in holes if hole < remaining), strict=True))
    changed_paths = {page.path for page in changed}
    by_path = {page.path: page for page in pages}
    for old_number, new_number in targets.items():
        path = parts.paths[old_number]
        page_numbers[path] = new_number
        if path not in changed_paths:
            changed = [*changed, by_path[path]]
    for page in changed:
        if page.path in page_numbers:
            continue
        if page.path in numbers:
            page_numbers[page.path] = numbers[page.path]
        elif page.path in state.digests:
            raise CannotPatch("a page Pagefind left out has changed")
    next_number = remaining
    for page in changed:
        if page.path not in page_numbers:
            page_numbers[page.path] = next_number
            next_number += 1
    small = {item.path: item.data for item in run(changed, language)}
    small_meta = unpack(small[meta_path(small, folder)])
    if small_meta[0] != meta[0] or small_meta[4]:
        raise CannotPatch("another Pagefind version, or sort keys")
    fields = [meta[5].index(name) for name in small_meta[5]]  # ValueError: a new field
    mapping: dict[int, int] = {}  # small index's page number -> the site's
    new_pages: dict[int, tuple[str, int, frozenset[str]]] = {}
    for small_number, (fragment, word_count) in enumerate(small_meta[1]):
        data = json.loads(unpack_fragment(small[f"{folder}/fragment/{fragment}.pf_fragment"]))
        number = page_numbers[path_of_url(data["url"])]
        mapping[small_number] = number
        new_pages[number] = (fragment, word_count, frozenset(data["meta"]))
    if len(new_pages) != len(changed):
        raise CannotPatch("Pagefind left out a changed page")

    # The page list, and whether the meta fields stay the same.
    pages_meta = [list(page) for page in meta[1]]
    paths, meta_keys = list(parts.paths), list(parts.meta_keys)
    for number in [*holes, *moving]:
        files.pop(f"{folder}/fragment/{pages_meta[number][0]}.pf_fragment", None)
    del pages_meta[remaining:], paths[remaining:], meta_keys[remaining:]
    for path, number in sorted(page_numbers.items(), key=lambda item: item[1]):
        fragment, word_count, keys = new_pages[number]
        if number == len(pages_meta):
            pages_meta.append([fragment, word_count])
            paths.append(path)
            meta_keys.append(keys)
        else:
            files.pop(f"{folder}/fragment/{pages_meta[number][0]}.pf_fragment", None)
            pages_meta[number] = [fragment, word_count]
            paths[number] = path
            meta_keys[number] = keys
    if sorted(frozenset().union(*meta_keys)) != meta[5]:
        raise CannotPatch("a meta field appeared or disappeared")
    fragments = [page[0] for page in pages_meta]
    if len(set(fragments)) != len(fragments):
        raise CannotPatch("two pages have the same fragment hash")
    for number in new_pages:
        path = f"{folder}/fragment/{pages_meta[number][0]}.pf_fragment"
        files[path] = RenderedFile(path, small[path])

    # The words.
    removed = sorted(
        {number for number in new_pages if number < len(parts.paths)} | set(holes) | set(moving)
    )
    incoming: dict[str, WordNew] = {}
    for _from, _to, chunk_hash in small_meta[2]:
        decoded = cbor_decode(unpack_raw(small[f"{folder}/index/{chunk_hash}.pf_index"]))
        incoming.update(new_postings(decoded, mapping, fields))
    chunks = [list(chunk) for chunk in parts.chunks]
    touched = _patch_words(chunks, removed, incoming)
    cut = recut(chunks, touched, state.chunk_size)
    chunks, chunk_files, chunk_digests, chunk_meta = write_chunks(
        cut, parts, files, folder, language, CHUNK_LEVEL
    )

    filters, filter_meta = _patched_filters(parts, files, small, removed, mapping, folder, language)

    # The metadata and the entry file.
    entry_path = f"{folder}/pagefind-entry.json"
    entry = json.loads(files[entry_path].data)
    del files[meta_path(files, folder)]
    new_meta = [meta[0], pages_meta, chunk_meta, filter_meta, [], meta[5]]
    hashed, made = meta_file(folder, language, new_meta)
    files[made.path] = made
    entry["languages"][language]["hash"] = hashed
    entry["languages"][language]["page_count"] = len(pages_meta)
    files[entry_path] = RenderedFile(entry_path, entry_json(entry))

    new_parts = IndexParts(new_meta, paths, meta_keys, chunks, chunk_files, chunk_digests, filters)
    new_digests = {path: digest for path, digest in state.digests.items() if path not in gone}
    new_digests.update((page.path, digests[page.path]) for page in changed)
    return SearchState(
        language,
        folder,
        state.chunk_size,
        new_digests,
        [files[path] for path in sorted(files)],
        new_parts,
        len(changed),
        True,
    )


def _patched_filters(
    parts: IndexParts,
    files: dict[str, RenderedFile],
    small: dict[str, bytes],
    removed: list[int],
    mapping: dict[int, int],
    folder: str,
    language: str,
) -> tuple[dict[str, dict[str, list[int]]], list[list[str]]]:
    """The filters with the `removed` pages taken out and the small index's put in (`files`
    updated); a filter whose pages stayed the same keeps its file."""
    gone = set(removed)
    changed: dict[str, dict[str, list[int]]] = {}
    for path, data in small.items():
        if path.startswith(f"{folder}/filter/"):
            name, entries = unpack(data)
            listed = changed.setdefault(name, {})
            for value, small_numbers in entries:
                listed.setdefault(value, []).extend(mapping[n] for n in small_numbers)
    old_files = dict(parts.meta[3])
    filters: dict[str, dict[str, list[int]]] = {}
    filter_meta: list[list[str]] = []
    for name in sorted(set(parts.filters) | set(changed)):
        values: dict[str, list[int]] = {}
        for value, numbers in parts.filters.get(name, {}).items():
            values[value] = [number for number in numbers if number not in gone]
        for value, numbers in changed.get(name, {}).items():
            values[value] = sorted([*values.get(value, []), *numbers])
        values = {value: numbers for value, numbers in values.items() if numbers}
        if not values:
            continue
        filters[name] = values
        if values == parts.filters.get(name):
            filter_meta.append([name, old_files[name]])
            continue
        files.pop(f"{folder}/filter/{old_files.get(name)}.pf_filter", None)
        hashed, made = filter_file(folder, language, name, values)
        files[made.path] = made
        filter_meta.append([name, hashed])
    for name in set(old_files) - set(filters):
        files.pop(f"{folder}/filter/{old_files[name]}.pf_filter", None)
    return filters, filter_meta


def _patch_words(
    chunks: list[list[WordPostings]], removed: list[int], incoming: dict[str, WordNew]
) -> set[int]:
    """Take the `removed` pages out of every word and put the `incoming` entries in; the
    numbers of the chunks that changed. Words left without pages are dropped."""
    touched: set[int] = set()
    gone = set(removed)
    placed: set[str] = set()
    for number, chunk in enumerate(chunks):
        changed = False
        for position, word in enumerate(chunk):
            new = incoming.get(word.word)
            if new is None and not word.has_any(removed):
                continue
            chunk[position] = word.replaced(
                gone, new.pages if new else {}, new.variants if new else {}
            )
            placed.add(word.word)
            changed = True
        if changed:
            chunk[:] = [word for word in chunk if not word.is_empty()]
            touched.add(number)
    filled = [number for number, chunk in enumerate(chunks) if chunk]
    if not filled:
        raise CannotPatch("no words are left")
    firsts = [chunks[number][0].word for number in filled]
    for name in sorted(set(incoming) - placed):
        new = incoming[name]
        made = WordPostings(name, PageList(), []).replaced(set(), new.pages, new.variants)
        number = filled[max(0, bisect_right(firsts, name) - 1)]
        chunk = chunks[number]
        chunk.insert(bisect_right([w.word for w in chunk], name), made)
        touched.add(number)
    return touched
