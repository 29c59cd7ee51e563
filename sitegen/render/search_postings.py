"""One word of a Pagefind index chunk, kept as its own CBOR bytes and patched in place.

A chunk is `[[word, pages, variants], ...]`; `pages` lists `[page delta, locations, meta
locations]` in page order, each page number written as the difference to the previous one, and
`variants` lists `[spelling, pages]` for the word's spellings with diacritics. Each list of
pages is kept as its encoded bytes plus the absolute page numbers, so taking a page out or
putting one in rewrites only the entries around it: the rest is copied, never decoded. Entry
boundaries are found with a regular expression over the bytes (every head's first byte tells
an integer from an array), which runs at C speed.
"""

from __future__ import annotations

import re
from array import array
from bisect import bisect_left
from dataclasses import dataclass, field
from itertools import accumulate
from operator import itemgetter
from typing import Any

from sitegen.render.search_cbor import UnsupportedCbor, cbor_encode, decode_at, head, read_head

_INT = rb"(?:[\x00-\x17\x20-\x37]|[\x18\x38].|[\x19\x39]..|[\x1a\x3a]....)"
_ARRAY = rb"(?:[\x80-\x97]|\x98.|\x99..|\x9a....)"
_BODY = _ARRAY + _INT + b"*" + _ARRAY + _INT + b"*"  # [locations..], [meta locations..]
_BODY_HEADS = rb"(" + _ARRAY + rb")" + _INT + rb"*(" + _ARRAY + rb")" + _INT + b"*"
# (delta, the rest, the head of [locations..], the head of [meta locations..])
_ENTRY = re.compile(rb"\x83(" + _INT + rb")(" + _BODY_HEADS + rb")", re.S)
_SIZE = re.compile(rb"(?:\x83" + _INT + rb")?" + _BODY_HEADS, re.S)  # an entry, or its body
_WHOLE_ENTRY = re.compile(rb"\x83" + _INT + _BODY, re.S)
_ENTRIES = re.compile(rb"(?:\x83" + _INT + _BODY + rb")*", re.S)


class _DeltaValues(dict[bytes, int]):
    """The value of an encoded page delta, decoded once per distinct encoding."""

    def __missing__(self, token: bytes) -> int:
        value = read_head(token, 0)[1]
        self[token] = value
        return value


_DELTAS = _DeltaValues()
_LENGTHS = _DeltaValues()  # an array's head -> its length (the same decoding)


def _entry_size(data: bytes, pos: int = 0) -> int:
    """What the entry (or the entry's body) at `pos` adds to its chunk's size in Pagefind's
    rule: its locations, its meta locations and one."""
    match = _SIZE.match(data, pos)
    if match is None:
        raise UnsupportedCbor("a page entry that does not parse")
    return _LENGTHS[match[1]] + _LENGTHS[match[2]] + 1


@dataclass(slots=True)
class PageList:
    """Encoded page entries (deltas included) and the absolute page number of each.

    `size` is what the list adds to a chunk in Pagefind's rule for cutting chunks
    (pagefind/src/index/mod.rs, `chunk_index`): per page, its locations + its meta
    locations + 1.
    """

    entries: bytes = b""
    pages: array[int] = field(default_factory=lambda: array("I"))
    offsets: array[int] | None = None  # where each entry starts in `entries`, once needed
    size: int = 0

    def encode(self) -> bytes:
        return head(4, len(self.pages)) + self.entries

    def has_any(self, numbers: list[int]) -> bool:
        """Whether any of `numbers` is among the pages."""
        pages = self.pages
        for number in numbers:
            index = bisect_left(pages, number)
            if index < len(pages) and pages[index] == number:
                return True
        return False

    def replaced(self, removed: set[int], added: dict[int, bytes]) -> PageList:
        """The list without the entries of `removed` pages and with the `added` ones
        (page -> encoded [locations] + [meta locations])."""
        offsets = self.entry_offsets()
        old, pages, size = self.entries, self.pages, len(self.entries)
        made = PageList(b"", array("I"), array("I"), self.size)
        assert made.offsets is not None
        pieces: list[bytes] = []
        length = 0
        previous = 0  # the last page number written (the first entry counts from 0)
        start = 0  # the next old entry to copy

        def copy(until: int) -> None:
            nonlocal start, previous, length
            if until <= start:
                return
            # The first entry of a run gets its delta anew; the rest are copied as they are.
            first_end = offsets[start + 1] if start + 1 < len(offsets) else size
            token_end = offsets[start] + 1 + _token_length(old[offsets[start] + 1])
            first = b"\x83" + head(0, pages[start] - previous) + old[token_end:first_end]
            pieces.append(first)
            made.offsets.append(length)  # type: ignore[union-attr]
            if until > start + 1:
                rest_end = offsets[until] if until < len(offsets) else size
                pieces.append(old[first_end:rest_end])
                shift = length + len(first) - first_end
                made.offsets.extend(  # type: ignore[union-attr]
                    array("I", map(shift.__add__, offsets[start + 1 : until]))
                )
                length += len(first) + rest_end - first_end
            else:
                length += len(first)
            made.pages.extend(pages[start:until])
            previous = pages[until - 1]
            start = until

        for number in sorted(removed | set(added)):
            index = bisect_left(pages, number)
            copy(index)
            if index < len(pages) and pages[index] == number:
                start = index + 1  # the old entry of a changed page is left out
                made.size -= _entry_size(old, offsets[index])
            body = added.get(number)
            if body is not None:
                made.size += _entry_size(body)
                entry = b"\x83" + head(0, number - previous) + body
                pieces.append(entry)
                made.offsets.append(length)
                length += len(entry)
                made.pages.append(number)
                previous = number
        copy(len(pages))
        made.entries = b"".join(pieces)
        return made

    def entry_offsets(self) -> array[int]:
        if self.offsets is None:
            lengths = map(len, _WHOLE_ENTRY.findall(self.entries))
            self.offsets = array("I", accumulate(lengths, initial=0))
            self.offsets.pop()
            if len(self.offsets) != len(self.pages):
                raise UnsupportedCbor("page entries that do not parse")
        return self.offsets


@dataclass(slots=True)
class WordPostings:
    """A word's entry: its pages, and the pages of each spelling with diacritics."""

    word: str
    main: PageList
    variants: list[tuple[str, PageList]]

    def encode(self) -> bytes:
        parts = [b"\x83", cbor_encode(self.word), self.main.encode(), head(4, len(self.variants))]
        for form, pages in self.variants:
            parts += (b"\x82", cbor_encode(form), pages.encode())
        return b"".join(parts)

    def is_empty(self) -> bool:
        return not self.main.pages and not self.variants

    def has_any(self, numbers: list[int]) -> bool:
        """Whether any of `numbers` (sorted) is on the word's pages, in any spelling."""
        return self.main.has_any(numbers) or any(p.has_any(numbers) for _, p in self.variants)

    def replaced(
        self, removed: set[int], added: dict[int, bytes], spellings: dict[str, dict[int, bytes]]
    ) -> WordPostings:
        """The word without the `removed` pages, with the `added` entries (page -> body bytes)
        and the new entries of each spelling with diacritics."""
        main = self.main.replaced(removed, added) if removed or added else self.main
        if not self.variants and not spellings:
            return WordPostings(self.word, main, [])
        numbers = sorted(removed)
        forms = dict(self.variants)
        for form in set(forms) | set(spellings):
            pages = forms.get(form, PageList())
            if form in spellings or pages.has_any(numbers):
                forms[form] = pages.replaced(removed, spellings.get(form, {}))
        return WordPostings(self.word, main, _in_pagefind_order(forms))


def _in_pagefind_order(forms: dict[str, PageList]) -> list[tuple[str, PageList]]:
    """Spellings as Pagefind lists them: by the first page they are on, those in the page's
    text before those only in its meta fields, then by spelling."""
    ranked = []
    for form, pages in forms.items():
        if pages.pages:
            first = pages.entries[1 + _token_length(pages.entries[1]) :][:1]
            ranked.append(((pages.pages[0], first == b"\x80", form), form, pages))
    ranked.sort(key=lambda item: item[0])
    return [(form, pages) for _rank, form, pages in ranked]


def _token_length(first: int) -> int:
    """Bytes of an unsigned integer whose head starts with `first`."""
    info = first & 0x1F
    return 1 if info < 24 else 1 + (1 << (info - 24))


def _page_list(raw: bytes, pos: int) -> tuple[PageList, int]:
    """The list of page entries at `pos` (its head included) and the position after it."""
    major, count, pos = read_head(raw, pos)
    match = _ENTRIES.match(raw, pos)
    if major != 4 or match is None:
        raise UnsupportedCbor("not a list of pages")
    region = raw[pos : match.end()]
    entries = _ENTRY.findall(region)  # one pass at C speed; the rest are C-level iterators
    pages = array("I", accumulate(map(_DELTAS.__getitem__, map(itemgetter(0), entries))))
    lengths = map(len, map(b"\x83".join, map(itemgetter(0, 1), entries)))  # "\x83"+delta+rest
    offsets = array("I", accumulate(lengths, initial=0))
    offsets.pop()
    if len(pages) != count:
        raise UnsupportedCbor("page entries that do not parse")
    size = count + sum(map(_LENGTHS.__getitem__, map(itemgetter(2), entries)))
    size += sum(map(_LENGTHS.__getitem__, map(itemgetter(3), entries)))
    return PageList(region, pages, offsets, size), match.end()


def split_chunk(raw: bytes) -> list[WordPostings]:
    """The words of one chunk (its CBOR bytes), each with its own bytes."""
    if raw[:1] != b"\x81":
        raise UnsupportedCbor("not a word index chunk")
    major, count, pos = read_head(raw, 1)
    if major != 4:
        raise UnsupportedCbor("not a list of words")
    words: list[WordPostings] = []
    for _ in range(count):
        if raw[pos] != 0x83:
            raise UnsupportedCbor("not a word entry")
        word, pos = decode_at(raw, pos + 1)
        main, pos = _page_list(raw, pos)
        major, spellings, pos = read_head(raw, pos)
        variants = []
        for _ in range(spellings):
            if raw[pos] != 0x82:
                raise UnsupportedCbor("not a spelling")
            form, pos = decode_at(raw, pos + 1)
            pages, pos = _page_list(raw, pos)
            variants.append((form, pages))
        words.append(WordPostings(word, main, variants))
    if pos != len(raw):
        raise UnsupportedCbor("trailing bytes in a chunk")
    return words


def join_chunk(words: list[WordPostings]) -> bytes:
    """The CBOR bytes of a chunk of `words` (in word order)."""
    return b"\x81" + head(4, len(words)) + b"".join(word.encode() for word in words)


@dataclass
class WordNew:
    """A word's entries in a small index: page -> body bytes, and the same per spelling."""

    pages: dict[int, bytes]
    variants: dict[str, dict[int, bytes]]


def new_postings(chunk: Any, numbers: dict[int, int], fields: list[int]) -> dict[str, WordNew]:
    """The words of a small index's decoded chunk, with its page numbers mapped to `numbers`
    and its meta field ids to `fields` (both ascending, so no order changes)."""
    found: dict[str, WordNew] = {}
    for word, pages, variants in chunk[0]:
        entry = found.setdefault(word, WordNew({}, {}))
        entry.pages.update(_bodies(pages, numbers, fields))
        for form, form_pages in variants:
            entry.variants.setdefault(form, {}).update(_bodies(form_pages, numbers, fields))
    return found


def _bodies(pages: list[Any], numbers: dict[int, int], fields: list[int]) -> dict[int, bytes]:
    bodies: dict[int, bytes] = {}
    number = 0
    for delta, locations, meta in pages:
        number += delta
        meta = [-fields[-value - 1] - 1 if value < 0 else value for value in meta]
        bodies[numbers[number]] = cbor_encode(locations) + cbor_encode(meta)
    return bodies


def joined(lists: list[tuple[int, PageList]]) -> PageList:
    """One list of the `(offset, list)` pairs, each list's pages moved up by its offset (the
    offsets ascending and each list's pages below the next offset): only the first entry of
    each list gets a new delta, the rest is copied."""
    pieces: list[bytes] = []
    pages: array[int] = array("I")
    offsets: array[int] = array("I")
    size = length = previous = 0
    for offset, listed in lists:
        if not listed.pages:
            continue
        old, starts = listed.entries, listed.entry_offsets()
        first_end = starts[1] if len(starts) > 1 else len(old)
        token_end = 1 + _token_length(old[1])
        first = b"\x83" + head(0, listed.pages[0] + offset - previous) + old[token_end:first_end]
        pieces += (first, old[first_end:])
        offsets.append(length)
        shift = length + len(first) - first_end
        offsets.extend(array("I", map(shift.__add__, starts[1:])))
        length += len(first) + len(old) - first_end
        pages.extend(array("I", map(offset.__add__, listed.pages)))
        previous = pages[-1]
        size += listed.size
    return PageList(b"".join(pieces), pages, offsets, size)


def joined_words(shards: list[tuple[int, WordPostings]]) -> WordPostings:
    """One word's entries from several indexes of consecutive pages: `(offset, entries)`."""
    forms: dict[str, list[tuple[int, PageList]]] = {}
    for offset, word in shards:
        for form, pages in word.variants:
            forms.setdefault(form, []).append((offset, pages))
    main = joined([(offset, word.main) for offset, word in shards])
    variants = {form: joined(lists) for form, lists in forms.items()}
    return WordPostings(shards[0][1].word, main, _in_pagefind_order(variants))
