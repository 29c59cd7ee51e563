"""The search index patched in place: Pagefind reads only changed pages, the index means the same."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from sitegen.build.cache import BuildCache
from sitegen.build.memo import SEARCH_RECORD
from sitegen.build.pipeline import build
from sitegen.config import default_options
from sitegen.render import search as pagefind
from sitegen.render import search_patch
from sitegen.render.files import RenderedFile
from sitegen.render.search import indexable_pages
from sitegen.render.search_patch import SearchState
from tests.conftest import read_tree
from tests.photos import tiny_png
from tests.search_meaning import assert_same_site, bundle_meaning

MakeSite = Callable[[dict[str, str]], Path]

MUNICIPALITIES = ["Aarhus Kommune", "Holbæk Kommune", "Ærø Kommune", "Gladsaxe Kommune"]
LEVELS = ["individ", "lokalsamfund", "kommune"]
TAGS = ["samskabelse", "borgerbudget", "lokaldemokrati", "klima"]
SENTENCES = [
    "Borgerne mødes i forsamlingshuset og taler om den nye havn.",
    "Kommunen inviterer til borgermøder om skolernes fremtid.",
    "Et borgerbudget giver lokalsamfundet penge til egne forslag.",
    "De unge deltager i dialogen om klimaet og byens grønne områder.",
    "Ældre borgere fortæller om fællesskabet i landsbyen.",
    "Forvaltningen lytter, og politikerne træffer beslutningen.",
    "Havnefronten bliver et mødested for hele byen.",
    "Skolen og foreningerne samarbejder om børnenes fritid.",
]


def case_text(number: int, extra: str = "") -> str:
    body = " ".join(SENTENCES[(number * 3 + k) % len(SENTENCES)] for k in range(number % 4 + 1))
    return (
        f"---\ntitle: Case {number} om {TAGS[number % 4]}\n"
        f"date: 2021-{number % 12 + 1:02d}-{number % 27 + 1:02d}\n"
        f"lead: Et kort resumé af case {number}.\n"
        f"municipality: {MUNICIPALITIES[number % 4]}\nlevel: {LEVELS[number % 3]}\n"
        f"tags: [{TAGS[number % 4]}, {TAGS[(number + 1) % 4]}]\n---\n\n{body} {extra}\n"
    )


def search_site(new_site: MakeSite, count: int = 24) -> Path:
    return new_site({f"content/cases/case-{n}.md": case_text(n) for n in range(count)})


def cached_build(root: Path, out: Path) -> SearchState:
    cache = BuildCache.for_site(root)
    build(root, default_options(), out, cache=cache)
    state = BuildCache.for_site(root).load_record(SEARCH_RECORD)
    assert isinstance(state, SearchState)
    return state


def clean_tree(root: Path, out: Path) -> dict[str, bytes]:
    build(root, default_options(), out)
    return read_tree(out)


def indexed_pages(state: SearchState) -> int:
    entry = json.loads(next(f.data for f in state.files if f.path.endswith("entry.json")))
    count: int = entry["languages"]["da"]["page_count"]
    return count


def test_an_edit_gives_pagefind_only_the_edited_page(
    new_site: MakeSite, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = search_site(new_site)
    out = tmp_path / "out"
    first = cached_build(root, out)
    assert (first.indexed, first.patched) == (indexed_pages(first), False)
    assert first.indexed > 20  # every case page (and the pages with an indexed region)

    (root / "content/cases/case-5.md").write_text(case_text(5, "Zebrafinkerne flytter ind."))
    second = cached_build(root, out)
    assert (second.indexed, second.patched) == (1, True)
    words = bundle_meaning({f.path: f.data for f in second.files})["words"]
    assert "/cases/case-5-om-borgerbudget/" in words["zebrafink"][""]
    assert_same_site(read_tree(out), clean_tree(root, tmp_path / "clean"))

    built = read_tree(out)

    def no_pagefind(pages: object, language: str) -> None:
        raise AssertionError("Pagefind ran although no page changed")

    monkeypatch.setattr(pagefind, "search_index", no_pagefind)
    cached_build(root, out)  # nothing changed: the index is taken as it is
    assert read_tree(out) == built


def test_an_edit_that_removes_words_takes_them_out(new_site: MakeSite, tmp_path: Path) -> None:
    root = new_site({"content/cases/case-1.md": case_text(1, "Zebrafinkerne flytter ind.")})
    for number in range(2, 12):
        (root / f"content/cases/case-{number}.md").write_text(case_text(number))
    out = tmp_path / "out"
    cached_build(root, out)
    (root / "content/cases/case-1.md").write_text(case_text(1))
    state = cached_build(root, out)
    assert state.patched
    assert "zebrafink" not in bundle_meaning({f.path: f.data for f in state.files})["words"]
    assert_same_site(read_tree(out), clean_tree(root, tmp_path / "clean"))


def test_an_added_case_is_indexed_alone(new_site: MakeSite, tmp_path: Path) -> None:
    root = search_site(new_site)
    out = tmp_path / "out"
    before = cached_build(root, out)
    pages_before = read_tree(out)
    (root / "content/cases/case-99.md").write_text(case_text(99, "Helt nye ord om vandløb."))
    after = cached_build(root, out)
    changed = [
        path
        for path, data in read_tree(out).items()
        if b"data-pagefind-body" in data and pages_before.get(path) != data
    ]
    assert "cases/case-99-om-klima/index.html" in changed and len(changed) < 5
    assert (after.indexed, after.patched) == (len(changed), True)
    assert indexed_pages(after) == indexed_pages(before) + 1
    assert_same_site(read_tree(out), clean_tree(root, tmp_path / "clean"))


def test_a_removed_or_retitled_case_gives_its_number_to_the_last_page(
    new_site: MakeSite, tmp_path: Path
) -> None:
    root = search_site(new_site)
    out = tmp_path / "out"
    before = cached_build(root, out)
    pages_before = read_tree(out)
    (root / "content/cases/case-3.md").unlink()
    removed = cached_build(root, out)
    changed = [
        path
        for path, data in read_tree(out).items()
        if b"data-pagefind-body" in data and path in pages_before and pages_before[path] != data
    ]
    # Pagefind reads the pages the removal changed and the one that takes the free number
    assert removed.patched and removed.indexed <= len(changed) + 1 < 5
    assert indexed_pages(removed) == indexed_pages(before) - 1
    assert_same_site(read_tree(out), clean_tree(root, tmp_path / "clean"))
    # A new title is a new URL: one page goes, one comes
    text = (root / "content/cases/case-5.md").read_text()
    (root / "content/cases/case-5.md").write_text(text.replace("title: ", "title: Nyt navn ", 1))
    retitled = cached_build(root, out)
    assert retitled.patched and retitled.indexed < 5
    assert indexed_pages(retitled) == indexed_pages(removed)
    assert_same_site(read_tree(out), clean_tree(root, tmp_path / "clean-retitled"))


def test_many_changes_index_every_page(new_site: MakeSite, tmp_path: Path) -> None:
    root = search_site(new_site)
    out = tmp_path / "out"
    cached_build(root, out)
    (root / "content/cases/case-3.md").unlink()

    for number in range(14):  # more than PATCH_SHARE of the pages
        if number != 3:
            (root / f"content/cases/case-{number}.md").write_text(case_text(number, "Nyt."))
    many = cached_build(root, out)
    assert not many.patched and many.indexed == indexed_pages(many)
    assert_same_site(read_tree(out), clean_tree(root, tmp_path / "clean"))


def test_a_series_of_edits_stays_equal_to_a_clean_index(
    new_site: MakeSite, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Edits, additions, a word with diacritics in several spellings, one page at a time."""
    monkeypatch.setattr(search_patch, "PATCH_SHARE", 0.5)
    root = search_site(new_site, 12)
    out = tmp_path / "out"
    cached_build(root, out)
    steps = [
        (2, "Ærø, Aero og Ærö er stavemåder af øen."),
        (7, "Aerø nævnes også."),
        (2, ""),
        (30, "En ny case om Ærø."),
        (7, "Ærø og ærø."),
        (31, "Endnu en ny case om cykelstier."),
        (30, "Cykelstier og Ærø."),
    ]
    patched = 0
    for number, extra in steps:
        (root / f"content/cases/case-{number}.md").write_text(case_text(number, extra))
        state = cached_build(root, out)
        patched += state.patched
        assert_same_site(read_tree(out), clean_tree(root, tmp_path / f"clean-{number}"))
    assert patched == len(steps)


def test_a_full_index_is_byte_identical_from_build_to_build(
    new_site: MakeSite, tmp_path: Path
) -> None:
    root = search_site(new_site)
    assert clean_tree(root, tmp_path / "a") == clean_tree(root, tmp_path / "b")


def test_a_page_without_words_added_alone_keeps_the_build_going(
    new_site: MakeSite, tmp_path: Path
) -> None:
    root = search_site(new_site)
    out = tmp_path / "out"
    cached_build(root, out)
    (root / "content/pages").mkdir(parents=True, exist_ok=True)
    (root / "content/pages/tom.md").write_text('---\ntitle: "…"\nslug: tom\n---\n\n')
    cached_build(root, out)  # Pagefind refuses to index it alone: the index is made afresh
    assert_same_site(read_tree(out), clean_tree(root, tmp_path / "clean"))


def test_only_a_tag_with_the_attribute_makes_a_page_indexed() -> None:
    from sitegen.render.files import RenderedFile
    from sitegen.render.search import indexable_pages

    pages = [
        RenderedFile("a/index.html", b'<main class="x"\n data-pagefind-body>Tekst</main>'),
        RenderedFile("b/index.html", b"<p>Skriv data-pagefind-body i skabelonen</p>"),
        RenderedFile("c/index.html", b"<code>&lt;main data-pagefind-body&gt;</code>"),
    ]
    assert [page.path for page in indexable_pages(pages)] == ["a/index.html"]


def chunk_words(files: dict[str, bytes]) -> list[list[str]]:
    words: list[list[str]] = bundle_meaning(files)["chunks"]
    return words


def test_a_patched_index_is_cut_into_chunks_as_pagefind_cuts_a_clean_one(
    new_site: MakeSite, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Pagefind's reader expands a prefix to the words of the chunks whose range holds it, so
    the patched index must have a clean run's chunks; chunks whose words did not change keep
    their files."""
    monkeypatch.setenv("PAGEFIND_UNSTABLE_INDEX_CHUNK_SIZE", "60")
    monkeypatch.setattr(search_patch, "PATCH_SHARE", 0.5)
    root = search_site(new_site, 16)
    out = tmp_path / "out"
    cached_build(root, out)
    steps = [
        (3, "Aalborg, abekatte og abonnementer i begyndelsen af alfabetet."),
        (9, " ".join(f"zebra{n} ørnerede" for n in range(12))),  # a long tail of new words
        (3, ""),
        (40, "En ny case om æbler, øer og ålegræs."),
        (9, "Midt i alfabetet: lokalråd og lokalsamfund."),
    ]
    kept_files = 0
    for number, extra in steps:
        before = {path for path in read_tree(out) if path.startswith("pagefind/index/")}
        (root / f"content/cases/case-{number}.md").write_text(case_text(number, extra))
        state = cached_build(root, out)
        assert state.patched
        built, clean = read_tree(out), clean_tree(root, tmp_path / f"clean-{number}")
        assert len(chunk_words(clean)) > 5
        assert chunk_words(built) == chunk_words(clean)
        assert_same_site(built, clean)
        kept_files += len(before & {p for p in built if p.startswith("pagefind/index/")})
    assert kept_files > 0


def test_another_chunk_size_makes_a_fresh_index(
    new_site: MakeSite, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = search_site(new_site, 8)
    out = tmp_path / "out"
    cached_build(root, out)
    monkeypatch.setenv("PAGEFIND_UNSTABLE_INDEX_CHUNK_SIZE", "50")
    (root / "content/cases/case-1.md").write_text(case_text(1, "Et nyt ord: cykelstier."))
    state = cached_build(root, out)
    assert not state.patched and state.chunk_size == 50
    assert chunk_words(read_tree(out)) == chunk_words(clean_tree(root, tmp_path / "clean"))


def test_the_pagefind_binary_is_found_as_pagefind_finds_it(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    from pagefind.service import get_executable

    from sitegen.render.search import pagefind_executable

    monkeypatch.delenv("PAGEFIND_BINARY_PATH", raising=False)
    assert pagefind_executable() == get_executable()
    monkeypatch.setenv("PAGEFIND_BINARY_PATH", str(tmp_path / "pagefind"))
    assert pagefind_executable() == tmp_path / "pagefind"


@pytest.mark.parametrize("with_image", [False, True])
def test_a_site_indexed_in_shards_has_the_index_of_one_run(
    new_site: MakeSite,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    with_image: bool,
) -> None:
    """Pagefind over 5 pages at a time, joined: one clean run's words, pages, filters and
    chunks; patched afterwards like any index. A shard whose pages lack a meta field the others
    have (an image) cannot be joined byte for byte: then one run indexes every page."""
    from sitegen.render import search_join

    monkeypatch.setenv("PAGEFIND_UNSTABLE_INDEX_CHUNK_SIZE", "80")
    root = search_site(new_site, 23)
    if with_image:  # Pagefind gives the page the meta fields image and image_alt
        (root / "content/cases/foto.png").write_bytes(tiny_png(40, 30))
        text = case_text(2).replace("---\n\n", "---\n\n![Borgermøde](foto.png)\n\n", 1)
        (root / "content/cases/case-2.md").write_text(text)
    clean = clean_tree(root, tmp_path / "clean")
    runs: list[int] = []
    real = search_join.SHARD_PAGES
    monkeypatch.setattr(search_join, "SHARD_PAGES", 5)
    original = pagefind.search_index

    def counted(files: list[RenderedFile], language: str) -> list[RenderedFile]:
        runs.append(len(indexable_pages(files)))
        return original(files, language)

    monkeypatch.setattr(pagefind, "search_index", counted)
    out = tmp_path / "out"
    state = cached_build(root, out)
    built = read_tree(out)
    assert chunk_words(built) == chunk_words(clean) and len(chunk_words(clean)) > 5
    assert_same_site(built, clean)
    if with_image:
        assert runs[-1] == indexed_pages(state) > 5  # joined nothing: one run over every page
    else:
        assert runs == [5, 5, 5, 5, 3]
        assert state.parts is not None
        paths = state.parts.paths  # numbered shard after shard
        assert [sorted(paths[n : n + 5]) for n in range(0, 23, 5)] == [
            sorted(paths)[n : n + 5] for n in range(0, 23, 5)
        ]
    again = tmp_path / "again"
    build(root, default_options(), again)
    assert read_tree(again) == read_tree(out)  # reproducible from scratch
    (root / "content/cases/case-7.md").write_text(case_text(7, "Nye ord om vandløb."))
    assert cached_build(root, out).patched
    assert_same_site(read_tree(out), clean_tree(root, tmp_path / "clean-2"))
    assert real == 1_000


def test_after_an_edit_pagefind_starts_before_the_index_record_is_read(
    new_site: MakeSite, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The pages an edit renders anew are the ones the patch asks Pagefind for: their run is
    started first, and taken when the patch asks (no second run)."""
    from sitegen.render import search

    root = search_site(new_site)
    out = tmp_path / "out"
    cached_build(root, out)
    started: list[list[str]] = []
    real_run = search.PagefindRun

    class Counted(real_run):  # type: ignore[misc, valid-type]
        def __init__(self, pages: list[RenderedFile], language: str) -> None:
            started.append([page.path for page in pages])
            super().__init__(pages, language)

    monkeypatch.setattr(search, "PagefindRun", Counted)
    otherwise: list[int] = []
    original = pagefind.search_index

    def counted(files: list[RenderedFile], language: str) -> list[RenderedFile]:
        otherwise.append(len(files))
        return original(files, language)

    monkeypatch.setattr(pagefind, "search_index", counted)
    (root / "content/cases/case-7.md").write_text(case_text(7, "Stærene synger ved havnen."))
    state = cached_build(root, out)
    assert (state.indexed, state.patched) == (1, True)
    assert started == [["cases/case-7-om-klima/index.html"]] and otherwise == []
    assert_same_site(read_tree(out), clean_tree(root, tmp_path / "clean"))


def test_a_head_start_asked_for_other_pages_stops_and_runs_again(tmp_path: Path) -> None:
    from sitegen.render import search

    def page(name: str, words: str) -> RenderedFile:
        html = f'<html lang="da"><body><main data-pagefind-body><h1>{name}</h1><p>{words}</p>'
        return RenderedFile(f"cases/{name}/index.html", (html + "</main></body></html>").encode())

    first, second = page("a", "Borgerne mødes."), page("b", "Kommunen lytter.")
    scratch_before = set(Path(search.scratch(1) or "/tmp").glob(search.SCRATCH_PREFIX + "*"))
    head = search.HeadStart([first], "da")
    assert head.run is not None
    process = head.run.process
    bundle = head([second], "da")  # not what it started: stopped, then Pagefind over these
    assert process.poll() is not None and head.run is None
    assert bundle_meaning({f.path: f.data for f in bundle}) == bundle_meaning(
        {f.path: f.data for f in search.search_index([second], "da")}
    )
    unused = search.HeadStart([first], "da")
    unused.close()  # never asked: stopped, its folder gone
    after = set(Path(search.scratch(1) or "/tmp").glob(search.SCRATCH_PREFIX + "*"))
    assert after <= scratch_before
