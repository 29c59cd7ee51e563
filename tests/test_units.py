"""Small pure pieces: slugs, typography, dates, URL patterns, output paths."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sitegen.config import url_pattern_problem
from sitegen.content.load import SourceFile
from sitegen.content.markdown import MarkdownRenderer, is_unsafe_url
from sitegen.content.parse import parse_source
from sitegen.content.slugs import slugify, unique_slug
from sitegen.content.typography import danish_typography
from sitegen.errors import ErrorList
from sitegen.render.files import output_path
from sitegen.render.templating import danish_date


@pytest.mark.parametrize(
    ("title", "slug"),
    [
        ("Holbæk eksperimenterer med demokrati", "holbaek-eksperimenterer-med-demokrati"),
        ("Ærø, Søby & Åbenrå", "aeroe-soeby-aabenraa"),
        ("Pionér-kommune", "pioner-kommune"),
        ("  --Hvad nu?--  ", "hvad-nu"),
        ("ÆØÅ æøå", "aeoeaa-aeoeaa"),
    ],
)
def test_danish_slugs(title: str, slug: str) -> None:
    assert slugify(title) == slug


def test_unique_slugs_number_repeats() -> None:
    taken: set[str] = set()
    assert [unique_slug("Mål", taken) for _ in range(3)] == ["maal", "maal-2", "maal-3"]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('en "varm linje" til byrådet', "en »varm linje« til byrådet"),
        ("aktive - og formen", "aktive – og formen"),
        ("4-5 møder", "4-5 møder"),
        ("Pestoff's tre typer", "Pestoff’s tre typer"),
        ("vent...", "vent…"),
        ("a --- b -- c", "a — b – c"),
    ],
)
def test_danish_typography(text: str, expected: str) -> None:
    assert danish_typography(text, at_start=True) == expected


def test_typography_leaves_code_alone() -> None:
    html = MarkdownRenderer().render('Brug `"x" - y` og "z".', "content/cases/a.md").html
    assert '<code>"x" - y</code>' in html and "»z«" in html


def test_heading_ids_are_danish_and_unique() -> None:
    rendered = MarkdownRenderer().render("## Trivsel for børn\n\n## Trivsel for børn\n", "a.md")
    assert [h.id for h in rendered.headings] == ["trivsel-for-boern", "trivsel-for-boern-2"]


def test_markdown_instance_is_reset_between_documents() -> None:
    renderer = MarkdownRenderer()
    renderer.render("Tekst[^1]\n\n[^1]: Note\n\n## Overskrift\n", "a.md")
    second = renderer.render("## Overskrift\n", "b.md")
    assert [h.id for h in second.headings] == ["overskrift"]
    assert "footnote" not in second.html


def test_danish_dates() -> None:
    assert danish_date(dt.date(2013, 5, 14)) == "14. maj 2013"
    assert danish_date(dt.date(2020, 1, 1), "short") == "01.01.2020"


@given(st.dates())
@settings(max_examples=300, deadline=None)
def test_danish_dates_read_as_babel_formats_them(day: dt.date) -> None:
    from babel.dates import format_date

    assert danish_date(day) == format_date(day, "d. MMMM y", locale="da")
    assert danish_date(day, "short") == format_date(day, "dd.MM.y", locale="da")
    months = ("jan", "feb", "mar", "apr", "maj", "jun", "jul", "aug", "sep", "okt", "nov", "dec")
    assert danish_date(day, months=months).split(" ")[1] == months[day.month - 1]


@pytest.mark.parametrize(
    "url", ["javascript:alert(1)", " JavaScript:x", "data:text/html,x", "java\tscript:x"]
)
def test_unsafe_urls(url: str) -> None:
    assert is_unsafe_url(url)


@pytest.mark.parametrize("url", ["https://x.dk", "mailto:a@b.dk", "anden.md", "/om/", "#x"])
def test_safe_urls(url: str) -> None:
    assert not is_unsafe_url(url)


def test_url_patterns() -> None:
    assert url_pattern_problem("/cases/{slug}/", needs_slug=True) == ""
    assert url_pattern_problem("/../{slug}/", needs_slug=True)
    assert url_pattern_problem("/%2E%2E/{slug}/", needs_slug=True)
    assert url_pattern_problem("cases/{slug}", needs_slug=True)


def test_output_paths() -> None:
    assert output_path("/") == "index.html"
    assert output_path("/cases/x/") == "cases/x/index.html"
    assert output_path("/404.html") == "404.html"


def test_readme_documents_every_config_key() -> None:
    import dataclasses

    from conftest import REPO

    from sitegen.config import SECTIONS

    readme = (REPO / "README.md").read_text()
    keys = [
        f"{name}.{field.name}"
        for name, section in SECTIONS.items()
        for field in dataclasses.fields(section)
    ]
    assert {"site.base_url", "pagination.per_page", "newsletter.send_log_dir"} <= set(keys)
    for key in keys:
        assert f"`{key}`" in readme, f"{key} is not in the README"


@pytest.mark.parametrize(
    "data",
    [
        b"---\ntitle: A\n---\nF\xc3\xb8rste linje\n\nAnden [link](x.md)\n",
        b"\xef\xbb\xbf\n\n---\r\ntitle: A\r\n---\r\nLinje 1\r\n\r\nLinje 2\r\n",
        b"---\ntitle: A\n---\r\rTo tomme\r",
        b"---\ntitle: A\n---",
    ],
)
def test_body_is_cut_from_the_source_as_parsed(data: bytes) -> None:
    """The body is not stored with the parse; it is cut from the source again, identically."""
    text = data.decode("utf-8-sig").replace("\r\n", "\n").replace("\r", "\n")
    lines = text.split("\n")
    first = next(i for i, line in enumerate(lines) if line == "---")
    closing = lines.index("---", first + 1)
    doc = parse_source(
        SourceFile("content/cases/a.md", "case", data), MarkdownRenderer(), ErrorList()
    )
    assert doc is not None
    assert doc.body == "\n".join(lines[closing + 1 :])
    assert doc.body_line == closing + 2


@pytest.mark.parametrize(
    "name", ["borgerdialog.dk/content/cases/holbaek.md", "", "ærø.dk/sub/æøå ÆØÅ.md", "x" * 300]
)
def test_feed_ids_are_rfc_4122_name_based_uuids(name: str) -> None:
    import uuid

    from sitegen.render.feeds import url_uuid

    assert url_uuid(name) == str(uuid.uuid5(uuid.NAMESPACE_URL, name))


@settings(max_examples=400, deadline=None)
@given(st.text(alphabet=" \t\n\u00a0-–.\"'ab(/»«", max_size=24), st.booleans())
def test_typography_skips_only_text_it_would_not_change(text: str, at_start: bool) -> None:
    from sitegen.content.typography import typography_passes

    assert danish_typography(text, at_start) == typography_passes(text, at_start)
