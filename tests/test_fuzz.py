"""Fuzzing: generated front matter, Markdown and bytes either build or raise BuildError.

Never another exception: whatever an editor writes ends in `path:line: message`, not in a
traceback. CI runs the bounded 'ci' profile (deterministic); a longer local hunt:
SITEGEN_FUZZ=deep python -m pytest tests/test_fuzz.py
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import functools
import os
from collections.abc import Iterator
from typing import Any

import pytest
import yaml
from conftest import CASE, REPO
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from sitegen.build import memo as steps
from sitegen.build.inputs import Inputs
from sitegen.build.memo import Memo
from sitegen.config import Config, MarkdownSection, default_options
from sitegen.content.load import SourceFile
from sitegen.content.markdown import MarkdownRenderer
from sitegen.content.parse import parse_source
from sitegen.content.site import build_site
from sitegen.errors import BuildError, ErrorList, SiteError
from sitegen.render.templating import make_environment

settings.register_profile(
    "ci",
    max_examples=100,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
settings.register_profile(
    "deep",
    max_examples=3000,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
FUZZ = settings.get_profile(os.environ.get("SITEGEN_FUZZ", "ci"))

PATH = "content/cases/fuzz.md"
OTHER = SourceFile("content/cases/anden.md", "case", CASE.format(title="Anden").encode())


@pytest.fixture(scope="module", autouse=True)
def _one_environment_per_config() -> Iterator[None]:
    """Compile the theme once, not once per example: the environment depends only on config."""
    cached = functools.lru_cache(maxsize=4)(make_environment)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(steps, "make_environment", cached)  # where the renderer makes it
        yield


def build_in_memory(data: bytes, safe_html: bool = False) -> None:
    """The pipeline after load, on one fuzzed case beside a good one."""
    config = dataclasses.replace(Config(root=REPO), markdown=MarkdownSection(safe_html))
    errors = ErrorList()
    renderer = MarkdownRenderer(safe_html=safe_html)
    sources = [SourceFile(PATH, "case", data), OTHER]
    docs = [doc for source in sources if (doc := parse_source(source, renderer, errors))]
    site = build_site(docs, config, default_options(), {}, errors)
    errors.raise_if_any()
    inputs = Inputs(config, sources, [], (), ErrorList())
    files = Memo(inputs).render(site, docs, errors)
    errors.raise_if_any()
    for file in files:
        file.data.decode("utf-8")


def assert_builds_or_reports(data: bytes, safe_html: bool = False) -> None:
    try:
        build_in_memory(data, safe_html)
        event("built")
    except BuildError as error:
        event("reported errors")
        assert error.errors
        for item in error.errors:
            assert isinstance(item, SiteError) and item.line >= 0
            assert item.path in (PATH, "content/cases/anden.md"), str(item)
            assert str(item).startswith(item.path)


TRICKY_TEXT = st.sampled_from(
    [
        "",
        " ",
        "<script>alert(1)</script>",
        '"><img src=x onerror=alert(1)>',
        "{{ 7*7 }}",
        "{% raw %}",
        "../../etc/passwd",
        "/absolut",
        "%2e%2e/",
        "javascript:alert(1)",
        "&#106;avascript:x",
        "anden.md",
        "findes-ikke.md",
        "http://[oops",
        "2020-02-30",
        "kommune",
        "\u202e\u200b\ufeff",
        "æøå ÆØÅ",
        "x" * 300,
        "a\nb",
        "\x00\x01\x1b",
        "\ud800",
        "\U0001f600",
    ]
)
SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.integers(min_value=10**40, max_value=10**60),
    st.floats(),
    st.dates(),
    st.datetimes(),
    st.text(max_size=40),
    TRICKY_TEXT,
)
VALUES = st.recursive(
    SCALARS,
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=12,
)
KEYS = st.sampled_from(
    [
        "title",
        "date",
        "lead",
        "municipality",
        "level",
        "tags",
        "authors",
        "related",
        "image",
        "image_alt",
        "draft",
        "updated",
        "slug",
    ]
) | st.text(max_size=12)
VALID = {
    "title": "Fuzz",
    "date": dt.date(2020, 3, 1),
    "lead": "Indledning.",
    "municipality": "Aarhus Kommune",
    "level": "kommune",
}


def front_matter(meta: dict[str, Any]) -> str:
    return "---\n" + yaml.safe_dump(meta, allow_unicode=True, sort_keys=False) + "---\n"


@FUZZ
@given(overrides=st.dictionaries(KEYS, VALUES, max_size=6), body=st.text(max_size=200))
def test_fuzzed_front_matter(overrides: dict[str, Any], body: str) -> None:
    assert_builds_or_reports(
        (front_matter({**VALID, **overrides}) + body).encode("utf-8", "surrogatepass")
    )


SNIPPETS = st.sampled_from(
    [
        "# Titel",
        "## Overskrift {: #id .klasse }",
        "> citat",
        "- punkt\n    - underpunkt",
        "1. nummer",
        "```\nkode\n```",
        "| a | b |\n|:--|--:|\n| 1 | 2 |",
        "note[^1]\n\n[^1]: fodnote",
        "Term\n: definition",
        "*[HTML]: Hyper",
        '<div markdown="1">*x*</div>',
        "<script>alert(1)</script>",
        '<a href="javascript:alert(1)">x</a>',
        '<img src=x onerror="alert(1)">',
        "[link](anden.md#afsnit)",
        "[link](findes-ikke.md)",
        "[l](http://[oops)",
        "![billede](billede.png)",
        "[l](&#106;avascript:x)",
        "{{ 7*7 }} {% include 'base.html' %}",
        '"citat" - streg ... --',
        "<!-- kommentar",
        "&#0; &#xD800; &#x110000;",
        "\\",
        "    indrykket kode",
        "***",
        "<",
        "[",
        "{: .x}",
        "\x02wzxhzdk:0\x03",
        "\u2028\u2029\x85",
        "<div><div><span>",
    ]
)
NESTED = st.builds(
    lambda unit, depth: unit * depth + "x",
    st.sampled_from([">", "> ", "- ", "    ", "*", "_", "[", "(", "<div>", "<b>", "> - ", "`"]),
    st.integers(min_value=1, max_value=3000),
)
BODIES = st.lists(st.one_of(SNIPPETS, NESTED, st.text(max_size=60)), max_size=10).flatmap(
    lambda parts: st.sampled_from(["\n", "\n\n", " "]).map(lambda sep: sep.join(parts))
)


@FUZZ
@given(body=BODIES, safe_html=st.booleans())
def test_fuzzed_markdown(body: str, safe_html: bool) -> None:
    data = (front_matter(VALID) + body).encode("utf-8", "surrogatepass")
    assert_builds_or_reports(data, safe_html)


YAMLISH = st.text(alphabet=st.sampled_from(list(":-[]{}&*!|>'\"#%@`?,\n \tab1æ\\")), max_size=120)


@FUZZ
@given(
    raw=st.one_of(
        st.binary(max_size=300),
        YAMLISH.map(lambda text: f"---\n{text}\n---\nTekst\n".encode()),
        YAMLISH.map(lambda text: f"---\ntitle: {text}\n---\n".encode()),
    )
)
def test_fuzzed_bytes_and_yaml(raw: bytes) -> None:
    assert_builds_or_reports(raw)


def test_many_yaml_aliases_stay_cheap() -> None:
    """A few lines of aliases must not make the line map visit billions of nodes."""
    lines = ["a: &a [" + ", ".join(["x"] * 50) + "]"]
    for name, previous in zip("bcdefgh", "abcdefg", strict=True):
        lines.append(f"{name}: &{name} [" + ", ".join([f"*{previous}"] * 50) + "]")
    with pytest.raises(BuildError) as caught:
        build_in_memory(("---\n" + "\n".join(lines) + "\n---\n").encode())
    assert "content/cases/fuzz.md:2: a: unknown field" in str(caught.value)
