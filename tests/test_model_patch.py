"""An edit to the bodies of cases alone patches the last build's model instead of making it
again from every source (build/snapshot.py); anything else makes it whole. Either way the
output is a clean build's (byte for byte, but for the patched search index, which must mean
what a clean one means)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from sitegen.build import pipeline, snapshot
from sitegen.build.cache import BuildCache
from sitegen.content.model import Site
from sitegen.render import routes
from sitegen.render.files import Route
from tests.search_meaning import assert_same_site
from tests.test_incremental import MakeSite, cached_build, clean_build, count_parses, small_site

CASE_3 = "content/cases/case-3.md"


def count_models(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """One entry per build that made its model from every source."""
    made: list[str] = []
    real = pipeline.load_model

    def counting(*args, **kwargs):  # type: ignore[no-untyped-def]
        made.append("whole")
        return real(*args, **kwargs)

    monkeypatch.setattr(pipeline, "load_model", counting)
    return made


def edit(root: Path, path: str, old: str, new: str) -> None:
    file = root / path
    text = file.read_text(encoding="utf-8")
    assert old in text
    file.write_text(text.replace(old, new, 1), encoding="utf-8")


def page_of(tree: dict[str, bytes], number: int) -> str:
    return tree[f"cases/case-nummer-{number}-paa-aeroe/index.html"].decode()


def records(root: Path) -> Path:
    folder = BuildCache.for_site(root).folder
    assert folder is not None
    return folder / "records"


def test_a_body_edit_patches_the_last_model_and_equals_a_clean_build(
    new_site: MakeSite, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = small_site(new_site)
    out = tmp_path / "out"
    made = count_models(monkeypatch)
    parsed = count_parses(monkeypatch)
    cached_build(root, out)
    assert made == ["whole"]
    kept = (records(root) / snapshot.MODEL_RECORD).stat().st_mtime_ns

    parsed.clear()
    edit(root, CASE_3, "Brødtekst.", 'Ny brødtekst med et "citat".')
    after = cached_build(root, out)
    assert made == ["whole"], "a body edit made the model from every source"
    assert parsed == [CASE_3]
    assert_same_site(after, clean_build(root, tmp_path / "clean"))
    assert "Ny brødtekst med et »citat«." in page_of(after, 3)
    assert "Ny brødtekst med et »citat«." in after["cases/feed.xml"].decode()  # a feed entry
    # The model is kept as it was; what changed went to the delta beside it.
    assert (records(root) / snapshot.MODEL_RECORD).stat().st_mtime_ns == kept

    made.clear()  # the clean build made one
    edit(root, "content/cases/case-5.md", "Brødtekst.", "Femte brødtekst.")
    edit(root, CASE_3, "Ny brødtekst", "Nyere brødtekst")
    after = cached_build(root, out)
    assert made == []
    assert_same_site(after, clean_build(root, tmp_path / "clean"))
    assert "Nyere brødtekst" in page_of(after, 3) and "Femte brødtekst" in page_of(after, 5)


@pytest.mark.parametrize(
    "change",
    [
        "front matter",
        "a link the body had not",
        "an image in the body",
        "a new case",
        "the config",
        "a template",
    ],
)
def test_any_other_change_makes_the_model_whole(
    change: str, new_site: MakeSite, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = small_site(new_site)
    (root / "static").mkdir()
    (root / "static/kort.svg").write_text('<svg xmlns="http://www.w3.org/2000/svg"/>')
    out = tmp_path / "out"
    made = count_models(monkeypatch)
    cached_build(root, out)
    if change == "front matter":
        edit(root, CASE_3, "lead: En kort indledning.", "lead: En anden indledning.")
    elif change == "a link the body had not":  # case 3 links to case 2 only
        edit(root, CASE_3, "Brødtekst.", "Se [den sidste](case-6.md).")
    elif change == "an image in the body":
        edit(root, CASE_3, "Brødtekst.", "![Kort](/static/kort.svg)")
    elif change == "a new case":
        edit(root, CASE_3, "Brødtekst.", "Ny brødtekst.")
        (root / "content/cases/case-7.md").write_text(
            (root / CASE_3).read_text().replace("Case nummer 3", "Case nummer 7")
        )
    elif change == "the config":
        edit(root, CASE_3, "Brødtekst.", "Ny brødtekst.")
        (root / "sitegen.toml").write_text('[site]\ntitle = "Borgerdialog"\n')
    else:
        edit(root, CASE_3, "Brødtekst.", "Ny brødtekst.")
        edit(root, "templates/case.html", "</article>", "</article><!-- ændret -->")
    after = cached_build(root, out)
    assert made == ["whole", "whole"], f"{change}: the last model was patched"
    assert_same_site(after, clean_build(root, tmp_path / "clean"))


def test_patches_go_to_a_delta_until_the_model_is_made_whole_again(
    new_site: MakeSite, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(snapshot, "MAX_PATCHED", 2)
    root = small_site(new_site)
    out = tmp_path / "out"
    made = count_models(monkeypatch)
    cached_build(root, out)
    for number, whole in ((1, False), (2, False), (4, True), (6, False)):
        made.clear()
        edit(root, f"content/cases/case-{number}.md", "Brødtekst.", f"Tekst {number}.")
        after = cached_build(root, out)
        assert made == (["whole"] if whole else []), f"after case {number}"
        assert f"Tekst {number}." in page_of(after, number)
    assert_same_site(after, clean_build(root, tmp_path / "clean"))


def test_a_route_that_holds_a_body_outside_its_case_is_never_patched(
    new_site: MakeSite, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Its key could not tell that the body changed: the model is not kept at all."""

    def bodies(site: Site) -> Iterator[Route]:
        yield Route("/indhold/", "404.html", {"body": site.cases[0].body})

    monkeypatch.setattr(routes, "PRODUCERS", [*routes.PRODUCERS, bodies])
    monkeypatch.setattr(snapshot, "PRODUCERS", routes.PRODUCERS)
    root = small_site(new_site)
    out = tmp_path / "out"
    made = count_models(monkeypatch)
    cached_build(root, out)
    edit(root, CASE_3, "Brødtekst.", "Ny brødtekst.")
    after = cached_build(root, out)
    assert made == ["whole", "whole"]
    assert_same_site(after, clean_build(root, tmp_path / "clean"))
