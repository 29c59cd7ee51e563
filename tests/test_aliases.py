"""Old URLs kept as aliases, the warning about URLs a build drops, and hashed theme assets."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import pytest
from conftest import CASE

from sitegen.cli import main


def case(title: str, front: str = "") -> str:
    return CASE.format(title=title).replace("---\n", f"---\n{front}", 1)


def build(root: Path) -> int:
    return main(["build", "--site", str(root), "-q"])


@pytest.mark.parametrize(
    ("aliases", "message"),
    [
        (
            "[https://example.org/gammel/]",
            "content/cases/a.md:2: aliases: 'https://example.org/gammel/' is not a path on "
            "this site; write it like /cases/gammel-slug/",
        ),
        (
            "[/cases/../hemmelig/]",
            "content/cases/a.md:2: aliases: '/cases/../hemmelig/' must not contain '.', '..' "
            "or '//' segments",
        ),
        (
            "[/cases/ære/]",
            "content/cases/a.md:2: aliases: '/cases/ære/' may only use a-z, A-Z, 0-9, '-', "
            "'_', '.' and '/'",
        ),
        (
            "[/cases/gammel]",
            "content/cases/a.md:2: aliases: '/cases/gammel' must end with '/' (or '.html'), "
            "like /cases/gammel-slug/",
        ),
        (
            "[/cases/b/]",
            "content/cases/a.md:2: aliases: /cases/b/ is the URL of content/cases/b.md; an "
            "alias must be an old URL that no page has",
        ),
        (
            "[/cases/a/]",
            "content/cases/a.md:2: aliases: /cases/a/ is this page's own URL; remove it",
        ),
        (
            "[/emner/]",
            "content/cases/a.md:2: aliases: /emner/ is the URL of the site's tags page; an alias "
            "must be an old URL that no page has",
        ),
    ],
)
def test_bad_aliases_are_errors_at_their_line(
    new_site: Callable[[dict[str, str]], Path],
    capsys: pytest.CaptureFixture[str],
    aliases: str,
    message: str,
) -> None:
    root = new_site(
        {
            "content/cases/a.md": case("A", f"aliases: {aliases}\n"),
            "content/cases/b.md": case("B"),
        }
    )
    assert build(root) == 1
    assert capsys.readouterr().err.splitlines()[0] == message
    assert not (root / "output").exists()


def test_two_pages_may_not_claim_one_alias(
    new_site: Callable[[dict[str, str]], Path], capsys: pytest.CaptureFixture[str]
) -> None:
    root = new_site(
        {
            "content/cases/a.md": case("A", "aliases: [/cases/gammel/]\n"),
            "content/pages/om.md": "---\ntitle: Om\naliases:\n  - /om-os/\n  - /cases/gammel/\n---\nTekst.\n",
        }
    )
    assert build(root) == 1
    assert capsys.readouterr().err.splitlines()[0] == (
        "content/pages/om.md:5: aliases: /cases/gammel/ is already an alias of content/cases/a.md"
    )


def test_an_alias_on_a_generated_page_is_an_error(
    new_site: Callable[[dict[str, str]], Path], capsys: pytest.CaptureFixture[str]
) -> None:
    root = new_site({"content/cases/a.md": case("A", "aliases: [/emner/samskabelse/]\n")})
    assert build(root) == 1
    assert capsys.readouterr().err.splitlines()[0] == (
        "content/cases/a.md: aliases: /emner/samskabelse/ is the URL of a page of the site; an "
        "alias must be an old URL that no page has"
    )


def test_a_page_alias_redirects_and_is_left_out_of_the_sitemap(
    new_site: Callable[[dict[str, str]], Path],
) -> None:
    root = new_site(
        {
            "content/cases/a.md": case("A"),
            "content/pages/om.md": "---\ntitle: Om os\naliases: [/om-cfb/, /gammel/om.html]\n---\nTekst.\n",
        }
    )
    assert build(root) == 0
    out = root / "output"
    for path in ("om-cfb/index.html", "gammel/om.html"):
        page = (out / path).read_text()
        assert '<meta http-equiv="refresh" content="0; url=/om-os/">' in page
        assert '<a href="/om-os/">Om os</a>' in page
        assert 'lang="da"' in page and "Content-Security-Policy" in page
    assert "/om-cfb/" not in (out / "sitemap.xml").read_text()
    assert (out / ".sitegen/redirects.nginx.map").read_text().splitlines()[2:] == [
        "/gammel/om.html /om-os/;",
        "/om-cfb/ /om-os/;",
    ]


def test_build_and_check_warn_about_a_url_the_previous_output_had(
    new_site: Callable[[dict[str, str]], Path], capsys: pytest.CaptureFixture[str]
) -> None:
    root = new_site({"content/cases/a.md": case("Aarhus prøver noget nyt")})
    assert build(root) == 0
    source = root / "content/cases/a.md"
    source.write_text(source.read_text().replace("Aarhus prøver noget nyt", "Aarhus prøver igen"))
    capsys.readouterr()
    warning = (
        "content/cases/a.md: warning: /cases/aarhus-proever-noget-nyt/ moved to "
        "/cases/aarhus-proever-igen/; add `aliases: [/cases/aarhus-proever-noget-nyt/]` to "
        "content/cases/a.md to keep its links working"
    )
    assert main(["check", "--site", str(root)]) == 0
    assert warning in capsys.readouterr().err.splitlines()
    assert main(["build", "--site", str(root)]) == 0  # a warning: the build goes on
    assert capsys.readouterr().err.splitlines() == [warning]
    source.write_text(source.read_text() + "\nMere tekst.\n")
    assert main(["build", "--site", str(root)]) == 0  # compared with the output just written
    assert capsys.readouterr().err == ""


def test_theme_assets_get_content_hashed_names(
    new_site: Callable[[dict[str, str]], Path],
) -> None:
    root = new_site({"content/cases/a.md": case("A")})
    assert build(root) == 0
    page = (root / "output/index.html").read_text()
    css = re.search(r'href="/static/(cfb\.[0-9a-f]{10}\.css)"', page)
    assert css is not None and (root / "output/static" / css.group(1)).is_file()
    assert not (root / "output/static/cfb.css").exists()
    search = (root / "output/soeg/index.html").read_text()
    js = re.search(r'src="/static/(search\.[0-9a-f]{10}\.js)"', search)
    assert js is not None and (root / "output/static" / js.group(1)).is_file()
    theme_css = root / "templates/static/cfb.css"
    theme_css.write_text(theme_css.read_text() + "\n.ny { color: black; }\n")
    assert build(root) == 0
    changed = (root / "output/index.html").read_text()
    assert css.group(0) not in changed and re.search(r"/static/cfb\.[0-9a-f]{10}\.css", changed)
    assert not (root / "output/static" / css.group(1)).exists()
