"""What a Pagefind bundle means to a reader, independent of page numbers.

Two bundles with equal meaning answer every query alike (up to the order of results of equal
score, which search.js settles by the result's id): the same words on the same pages at the
same locations, the same page lengths and fragments, the same filters and meta fields, and the
same words in each chunk (Pagefind's reader expands a prefix to the words of the chunks whose
from/to range holds it, so the boundaries matter to a prefix search).
"""

from __future__ import annotations

import gzip
import json
from itertools import accumulate, pairwise
from typing import Any

from sitegen.render.search_cbor import cbor_decode, unpack_raw

FOLDER = "pagefind"


def bundle_meaning(files: dict[str, bytes]) -> dict[str, Any]:
    """The bundle decoded by URL; asserts that it is consistent in itself."""
    entry = json.loads(files[f"{FOLDER}/pagefind-entry.json"])
    languages = entry["languages"]
    assert len(languages) == 1, languages
    (language,) = languages.values()
    meta_path = f"{FOLDER}/pagefind.{language['hash']}.pf_meta"
    metas = [p for p in files if p.startswith(f"{FOLDER}/pagefind.") and p.endswith(".pf_meta")]
    assert metas == [meta_path], metas
    version, pages, chunks, filters, sorts, fields = cbor_decode(unpack_raw(files[meta_path]))
    assert language["page_count"] == len(pages)
    urls: list[str] = []
    fragments: dict[str, Any] = {}
    for fragment, word_count in pages:
        data = json.loads(_fragment(files[f"{FOLDER}/fragment/{fragment}.pf_fragment"]))
        assert data["word_count"] == word_count
        urls.append(data["url"])
        fragments[data["url"]] = data
    assert len(set(urls)) == len(urls)
    assert sorted({key for page in fragments.values() for key in page["meta"]}) == fields
    words: dict[str, dict[str, Any]] = {}
    chunk_words: list[list[str]] = []
    for _from, _to, hashed in chunks:
        (entries,) = cbor_decode(unpack_raw(files[f"{FOLDER}/index/{hashed}.pf_index"]))
        chunk_words.append([entry[0] for entry in entries])
        for word, word_pages, variants in entries:
            assert word not in words, f"{word!r} is in two chunks"
            spellings = {"": word_pages} | dict(variants)
            words[word] = {
                form: _postings(form_pages, urls, fields)
                for form, form_pages in spellings.items()
                if form_pages
            }
            assert words[word], f"{word!r} is on no page"
    flat = [word for listed in chunk_words for word in listed]
    assert flat == sorted(flat), "the words are not in order across the chunks"
    assert all(chunk_words), "an empty chunk"
    assert [chunk[:2] for chunk in chunks] == chunk_ranges(chunk_words)
    referenced = {f"{FOLDER}/index/{chunk[2]}.pf_index" for chunk in chunks}
    referenced |= {f"{FOLDER}/filter/{hashed}.pf_filter" for _name, hashed in filters}
    referenced |= {f"{FOLDER}/fragment/{page[0]}.pf_fragment" for page in pages}
    data_files = {
        p for p in files if p.rsplit(".", 1)[-1] in ("pf_index", "pf_filter", "pf_fragment")
    }
    assert data_files == referenced, "files that are missing or not referenced"
    filter_values: dict[str, dict[str, list[str]]] = {}
    for name, hashed in filters:
        filter_name, values = cbor_decode(unpack_raw(files[f"{FOLDER}/filter/{hashed}.pf_filter"]))
        assert filter_name == name
        filter_values[name] = {value: sorted(urls[n] for n in numbers) for value, numbers in values}
        assert all(filter_values[name].values())
    return {
        "version": version,
        "fields": fields,
        "sorts": sorts,
        "pages": {url: (fragments[url], pages[n][1]) for n, url in enumerate(urls)},
        "words": words,
        "filters": filter_values,
        "chunks": chunk_words,
    }


def _fragment(data: bytes) -> bytes:
    raw = gzip.decompress(data)
    assert raw.startswith(b"pagefind_dcd")
    return raw[len(b"pagefind_dcd") :]


def _postings(pages: list[Any], urls: list[str], fields: list[str]) -> dict[str, Any]:
    numbers = list(accumulate(page[0] for page in pages))
    assert numbers == sorted(set(numbers)), "page numbers out of order"
    found = {}
    for number, (_delta, locations, meta) in zip(numbers, pages, strict=True):
        named = [fields[-value - 1] if value < 0 else value for value in meta]
        found[urls[number]] = (locations, named)
    return found


def chunk_ranges(chunk_words: list[list[str]]) -> list[list[str]]:
    """Pagefind's [from, to] of each chunk (pagefind/src/index/mod.rs, chunk_meta)."""
    ranges = [[words[0], words[-1]] for words in chunk_words]
    for left, right in pairwise(ranges):
        common = 0
        while common < min(len(left[1]), len(right[0])) and left[1][common] == right[0][common]:
            common += 1
        if left[1][: common + 1] >= left[0]:
            left[1] = left[1][: common + 1]
        right[0] = right[0][: common + 1]
    return ranges


def assert_same_site(built: dict[str, bytes], clean: dict[str, bytes]) -> None:
    """`built` (an incremental build's output) is `clean`'s, its search index in meaning.

    Every file outside pagefind/ must be byte for byte the same; the search bundles must mean
    the same, and their code (pagefind.js, the wasm files) must be the same bytes.
    """
    prefix = f"{FOLDER}/"
    assert {p: d for p, d in built.items() if not p.startswith(prefix)} == {
        p: d for p, d in clean.items() if not p.startswith(prefix)
    }
    index = {p: d for p, d in built.items() if p.startswith(prefix)}
    clean_index = {p: d for p, d in clean.items() if p.startswith(prefix)}
    assert bool(index) == bool(clean_index)
    if index:
        code = ("pagefind.js", "pagefind-worker.js", "wasm.da.pagefind", "wasm.unknown.pagefind")
        for name in code:
            assert index.get(prefix + name) == clean_index.get(prefix + name), name
        assert bundle_meaning(index) == bundle_meaning(clean_index)


def current_bundle(files: dict[str, bytes]) -> dict[str, bytes]:
    """The files a search begun now reads: those the entry and its metadata name, and the rest
    of the bundle that is not content-named (a server may also serve a previous index)."""
    entry = json.loads(files[f"{FOLDER}/pagefind-entry.json"])
    (language,) = entry["languages"].values()
    meta_path = f"{FOLDER}/pagefind.{language['hash']}.pf_meta"
    _version, pages, chunks, filters, _sorts, _fields = cbor_decode(unpack_raw(files[meta_path]))
    named = {meta_path}
    named |= {f"{FOLDER}/index/{chunk[2]}.pf_index" for chunk in chunks}
    named |= {f"{FOLDER}/filter/{hashed}.pf_filter" for _name, hashed in filters}
    named |= {f"{FOLDER}/fragment/{page[0]}.pf_fragment" for page in pages}
    hashed = ("pf_meta", "pf_index", "pf_filter", "pf_fragment")
    return {p: d for p, d in files.items() if p in named or p.rsplit(".", 1)[-1] not in hashed}
