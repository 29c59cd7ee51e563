"""End-to-end behaviour of build(): content, links, determinism and atomic output."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from conftest import CASE, REPO, read_tree

from sitegen.build.pipeline import build, build_files
from sitegen.config import default_options
from sitegen.errors import BuildError


def test_case_page_has_facts_body_and_links(
    site_copy: Callable[[str], Path], tmp_path: Path
) -> None:
    out = tmp_path / "out"
    build(site_copy("basic"), default_options(), out)
    page = (out / "cases/aeroe-afproever-borgerbudgetter/index.html").read_text()
    assert '<html lang="da">' in page
    assert "2. september 2019" in page and "15. januar 2020" in page
    assert (
        '<a href="/cfb/kommuner/aeroe-kommune/" data-pagefind-filter="kommune">Ærø Kommune</a>'
        in page
    )
    assert 'href="/cfb/cases/holbaek-eksperimenterer-med-demokrati/#pioner-kommune"' in page
    assert 'href="/cfb/om/"' in page
    assert "»borgerbudgetter« – en metode" in page
    assert "<table>" in page and '<div class="footnote">' in page and "<dl>" in page
    assert 'href="/cfb/cases/holbaek-eksperimenterer-med-demokrati/">Se også casen' in page
    assert 'action="https://example.org/tilmeld"' in page and 'type="email"' in page


def test_drafts_and_future_cases_only_on_request(
    site_copy: Callable[[str], Path], tmp_path: Path
) -> None:
    root = site_copy("basic")
    plain = build_files(root, default_options()).site
    assert [c.slug for c in plain.cases] == [
        "samskabelse-paa-individniveau-i-gladsaxe",
        "aeroe-afproever-borgerbudgetter",
        "holbaek-eksperimenterer-med-demokrati",
    ]
    both = build_files(root, default_options(drafts=True, future=True)).site
    assert {"en-kladde", "en-case-fra-fremtiden"} <= {c.slug for c in both.cases}


def test_taxonomy_pages_and_pagination(site_copy: Callable[[str], Path], tmp_path: Path) -> None:
    out = tmp_path / "out"
    build(site_copy("basic"), default_options(), out)
    tag = (out / "emner/samskabelse/index.html").read_text()
    assert tag.count('class="case-card"') == 3
    assert (out / "niveauer/individ/index.html").exists()
    assert (out / "kommuner/holbaek-kommune/index.html").exists()
    assert (out / "cases/side/2/index.html").exists()
    assert not (out / "cases/side/3/index.html").exists()
    assert "Individ-niveau" in (out / "niveauer/index.html").read_text()


def test_second_build_is_byte_identical(site_copy: Callable[[str], Path], tmp_path: Path) -> None:
    root = site_copy("basic")
    build(root, default_options(), tmp_path / "a")
    build(root, default_options(), tmp_path / "b")
    assert read_tree(tmp_path / "a") == read_tree(tmp_path / "b")


def test_unchanged_files_are_not_rewritten(
    site_copy: Callable[[str], Path], tmp_path: Path
) -> None:
    root = site_copy("basic")
    out = tmp_path / "out"
    build(root, default_options(), out)
    home = out / "cases/holbaek-eksperimenterer-med-demokrati/index.html"
    inode = home.stat().st_ino
    report = build(root, default_options(), out).report
    assert report is not None and report.written == 0
    assert home.stat().st_ino == inode


def test_removed_case_disappears_and_nothing_else_is_touched(
    site_copy: Callable[[str], Path], tmp_path: Path
) -> None:
    root = site_copy("basic")
    out = tmp_path / "out"
    neighbour = tmp_path / "keep.txt"
    neighbour.write_text("mine")
    build(root, default_options(), out)
    (root / "content/cases/individ.md").unlink()
    build(root, default_options(), out)
    assert not (out / "cases/samskabelse-paa-individniveau-i-gladsaxe").exists()
    assert neighbour.read_text() == "mine"
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(".out")) == [".out.lock"]


def test_failed_build_keeps_previous_output(
    new_site: Callable[[dict[str, str]], Path], tmp_path: Path
) -> None:
    root = new_site({"content/cases/a.md": CASE.format(title="Første case")})
    out = tmp_path / "out"
    build(root, default_options(), out)
    before = read_tree(out)
    (root / "content/cases/b.md").write_text(
        CASE.format(title="Anden").replace("2020-03-01", "1. maj")
    )
    with pytest.raises(BuildError):
        build(root, default_options(), out)
    assert read_tree(out) == before


def test_site_without_config_builds_with_defaults(
    new_site: Callable[[dict[str, str]], Path], tmp_path: Path
) -> None:
    root = new_site({"content/cases/a.md": CASE.format(title="Første case")})
    result = build(root, default_options(), tmp_path / "out")
    assert result.site.config.site.title == "Center for Borgerdialog"
    assert (tmp_path / "out/cases/foerste-case/index.html").exists()


def test_repo_site_has_every_section_of_the_seed(tmp_path: Path) -> None:
    out = tmp_path / "out"
    build(REPO, default_options(), out)
    page = (out / "cases/holbaek-eksperimenterer-med-demokrati/index.html").read_text()
    for heading in (
        "Afprøver nye demokratiformer",
        "Pionér-kommune",
        "Holbæk i Fællesskab",
        "Trivsel til børn og unge – med færre penge",
    ):
        assert f">{heading}</h2>" in page
    assert "Fra dialogmodel til samskabelse." in page
    assert "14. maj 2013" in page
    link = 'href="/cases/holbaek-eksperimenterer-med-demokrati/"'
    for listing in (
        "index.html",
        "cases/index.html",
        "emner/samskabelse/index.html",
        "kommuner/holbaek-kommune/index.html",
        "niveauer/kommune/index.html",
    ):
        assert link in (out / listing).read_text(), listing
    for chrome in ("WRAP-", "COLUMN-0", "CAPTCHA"):
        assert (
            chrome
            not in (REPO / "content/cases/holbaek-eksperimenterer-med-demokrati.md").read_text()
        )
    assert "24 47 78 18" in (out / "kontakt/index.html").read_text()


def test_nothing_is_loaded_from_elsewhere(tmp_path: Path) -> None:
    out = tmp_path / "out"
    build(REPO, default_options(), out)
    pages = sorted(out.rglob("*.html"))
    assert len(pages) >= 13
    for page in pages:
        text = page.read_text()
        for attribute in ('src="http', "@import", 'rel="stylesheet" href="http'):
            assert attribute not in text, f"{page} loads {attribute}"


def test_build_date_honours_source_date_epoch(
    new_site: Callable[[dict[str, str]], Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    root = new_site({"content/cases/a.md": CASE.format(title="Første case")})  # 2020-03-01
    assert [c.slug for c in build_files(root, default_options()).site.cases] == ["foerste-case"]
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "0")
    assert default_options().today.isoformat() == "1970-01-01"
    # whatever the clock says, on 1970-01-01 the case is dated after today: left out
    assert [c.slug for c in build_files(root, default_options()).site.cases] == []
    future = default_options(future=True)
    assert [c.slug for c in build_files(root, future).site.cases] == ["foerste-case"]


def test_slugs_stay_slugs_under_any_url_pattern(
    new_site: Callable[[dict[str, str]], Path],
) -> None:
    root = new_site(
        {
            "sitegen.toml": '[urls]\ncase = "/sager/sag-{slug}/"\npage = "/{slug}/side/"\n',
            "content/cases/a.md": CASE.format(title="Første case"),
            "content/pages/om.md": "---\ntitle: Om os\n---\n\nTekst.\n",
            "content/newsletter/nr-1.md": (
                "---\ntitle: Nummer 1\ndate: 2020-04-01\ncases: [foerste-case]\n---\n\nHej.\n"
            ),
        }
    )
    site = build_files(root, default_options()).site
    assert [(c.slug, c.url) for c in site.cases] == [("foerste-case", "/sager/sag-foerste-case/")]
    assert [(p.slug, p.url) for p in site.pages] == [("om-os", "/om-os/side/")]
    assert [i.cases[0].slug for i in site.newsletter_issues] == ["foerste-case"]


def test_editor_litter_in_static_is_not_published(
    new_site: Callable[[dict[str, str]], Path], tmp_path: Path
) -> None:
    litter = ["4913", "logo.svg.swo", "rapport.pdf.crdownload", "x.html___jb_tmp___", ".#lock"]
    root = new_site(
        {"content/cases/a.md": CASE.format(title="A"), "static/logo.svg": "<svg/>"}
        | {f"static/{name}": "rod" for name in litter}
    )
    files = {f.path for f in build_files(root, default_options()).files}
    assert "logo.svg" in files
    assert not any(name in files for name in litter)
