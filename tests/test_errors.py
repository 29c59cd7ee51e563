"""Every kind of bad input gives its exact `path:line: field: message`, all in one run."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from conftest import CASE

from sitegen.build import build_files, default_options
from sitegen.errors import BuildError

GOOD = CASE.format(title="En god case")


def errors_of(root: Path) -> list[str]:
    with pytest.raises(BuildError) as caught:
        build_files(root, default_options())
    return [str(error) for error in caught.value.errors]


BROKEN = {
    "broken date": (
        GOOD.replace("date: 2020-03-01", "date: 1. marts 2020"),
        ["content/cases/x.md:3: date: must be a date like 2013-05-14, not '1. marts 2020'"],
    ),
    "missing title": (
        GOOD.replace("title: En god case\n", ""),
        ["content/cases/x.md:1: title: missing required field"],
    ),
    "unknown key with hint": (
        GOOD.replace("tags:", "tgas:"),
        ["content/cases/x.md:7: tgas: unknown field (did you mean 'tags'?)"],
    ),
    "unknown level": (
        GOOD.replace("level: lokalsamfund", "level: region"),
        [
            "content/cases/x.md:6: level: must be one of individ, lokalsamfund, kommune, not 'region'"
        ],
    ),
    "wrong list type": (
        GOOD.replace("tags: [samskabelse]", "tags: {a: 1}"),
        ["content/cases/x.md:7: tags: must be a list, not a mapping"],
    ),
    "wrong bool": (
        GOOD.replace("tags: [samskabelse]", "tags: [samskabelse]\ndraft: måske"),
        ["content/cases/x.md:8: draft: must be true or false, not 'måske'"],
    ),
    "image without alt": (
        GOOD.replace(
            "tags: [samskabelse]", "tags: [samskabelse]\nimage: https://example.org/a.jpg"
        ),
        ["content/cases/x.md:8: image_alt: an image needs alt text: add image_alt describing it"],
    ),
    "never closed": (
        GOOD.replace("---\n\nBrødtekst", "\nBrødtekst"),
        ["content/cases/x.md:1: front matter is never closed: add a '---' line after it"],
    ),
    "no front matter": (
        "Bare tekst.\n",
        ["content/cases/x.md:1: no front matter: the file must start with a '---' line"],
    ),
    "empty file": (
        "",
        ["content/cases/x.md:1: file is empty; it needs front matter between '---' lines"],
    ),
    "invalid yaml": (
        GOOD.replace("lead: En kort indledning.", "lead: [uafsluttet"),
        [
            "content/cases/x.md:5: invalid YAML in front matter: did not find expected ',' or "
            "']' (while parsing a flow sequence at line 4)"
        ],
    ),
    "missing link target": (
        GOOD + "\nSe [den anden](findes-ikke.md).\n",
        ["content/cases/x.md:12: link: 'findes-ikke.md' points to a file that does not exist"],
    ),
    "missing image": (
        GOOD + "\n![Et billede](billede.png)\n",
        ["content/cases/x.md:12: image: 'billede.png' points to a file that does not exist"],
    ),
    "javascript link": (
        GOOD + "\n[klik](javascript:alert(1))\n",
        [
            "content/cases/x.md:12: link: unsafe URL 'javascript:alert(1)': only http(s), "
            "mailto and site links are allowed"
        ],
    ),
}


@pytest.mark.parametrize("name", list(BROKEN))
def test_broken_case_reports_exact_error(
    name: str, new_site: Callable[[dict[str, str]], Path]
) -> None:
    text, expected = BROKEN[name]
    root = new_site(
        {"content/cases/x.md": text, "content/cases/good.md": GOOD.replace("En god", "Anden")}
    )
    assert errors_of(root) == expected


def test_invalid_utf8_reports_line(new_site: Callable[[dict[str, str]], Path]) -> None:
    root = new_site({})
    (root / "content/cases").mkdir(parents=True)
    (root / "content/cases/x.md").write_bytes(GOOD.encode().replace(b"Aarhus", b"\xe6rhus"))
    assert errors_of(root) == ["content/cases/x.md:5: file is not valid UTF-8 (byte 80)"]


def test_lines_count_from_the_top_of_the_file(new_site: Callable[[dict[str, str]], Path]) -> None:
    root = new_site({})
    (root / "content/cases").mkdir(parents=True)
    (root / "content/cases/x.md").write_text("\n\n" + GOOD.replace("date: 2020-03-01", "date: nu"))
    assert errors_of(root) == [
        "content/cases/x.md:5: date: must be a date like 2013-05-14, not 'nu'"
    ]


def test_bom_and_crlf_build_fine(new_site: Callable[[dict[str, str]], Path]) -> None:
    root = new_site({})
    (root / "content/cases").mkdir(parents=True)
    (root / "content/cases/x.md").write_bytes(b"\xef\xbb\xbf" + GOOD.replace("\n", "\r\n").encode())
    site = build_files(root, default_options()).site
    assert site.cases[0].title == "En god case"


def test_duplicate_slugs(new_site: Callable[[dict[str, str]], Path]) -> None:
    root = new_site({"content/cases/a.md": GOOD, "content/cases/b.md": GOOD})
    assert errors_of(root) == [
        "content/cases/b.md:2: slug: 'en-god-case' is already used by content/cases/a.md; "
        "set another 'slug'"
    ]


def test_every_error_of_a_build_is_reported(new_site: Callable[[dict[str, str]], Path]) -> None:
    root = new_site(
        {
            "content/cases/a.md": GOOD.replace("title: En god case\n", ""),
            "content/cases/b.md": GOOD.replace("level: lokalsamfund", "level: x"),
            "content/pages/c.md": "---\ntitle: Side\nfoo: 1\n---\n",
            "sitegen.toml": "[site]\ntitel = 'x'\n",
        }
    )
    assert errors_of(root) == [
        "content/cases/a.md:1: title: missing required field",
        "content/cases/b.md:6: level: must be one of individ, lokalsamfund, kommune, not 'x'",
        "content/pages/c.md:3: foo: unknown field",
        "sitegen.toml:2: site.titel: unknown key (did you mean 'title'?)",
    ]


@pytest.mark.parametrize(
    ("toml", "expected"),
    [
        ("[site]\nbase_url = 5\n", "sitegen.toml:2: site.base_url: must be a string, not 5"),
        ("[sitte]\n", "sitegen.toml:1: sitte: unknown section (did you mean 'site'?)"),
        (
            "[urls]\ncase = '/../{slug}/'\n",
            "sitegen.toml:2: urls.case: must not contain '.', '..' or '//' segments",
        ),
        (
            "[urls]\ncase = '/%2e%2e/{slug}/'\n",
            "sitegen.toml:2: urls.case: must not contain '.', '..' or '//' segments",
        ),
        ("[urls]\ncase = '/cases/'\n", "sitegen.toml:2: urls.case: must contain {slug}"),
        ("[pagination]\nper_page = 0\n", "sitegen.toml:2: pagination.per_page: must be at least 1"),
        (
            "[site\n",
            "sitegen.toml:1: invalid TOML: Expected ']' at the end of a table declaration "
            "(at line 1, column 6)",
        ),
    ],
)
def test_bad_config(toml: str, expected: str, new_site: Callable[[dict[str, str]], Path]) -> None:
    root = new_site({"sitegen.toml": toml, "content/cases/a.md": GOOD})
    assert errors_of(root) == [expected]


def test_template_errors_name_template_line_and_page(
    new_site: Callable[[dict[str, str]], Path],
) -> None:
    root = new_site({"content/cases/a.md": GOOD})
    (root / "templates/case.html").write_text(
        "{% extends 'base.html' %}\n{% block content %}\n{{ case.nope }}\n{% endblock %}\n"
    )
    assert errors_of(root) == [
        "templates/case.html:3: UndefinedError: 'sitegen.model.Case object' has no attribute "
        "'nope' (rendering /cases/en-god-case/)"
    ]
    (root / "templates/case.html").write_text("{% if %}\n")
    assert errors_of(root) == [
        "templates/case.html:1: TemplateSyntaxError: Expected an expression, got 'end of "
        "statement block' (rendering /cases/en-god-case/)"
    ]


def test_links_to_an_invalid_case_are_not_reported_twice(
    new_site: Callable[[dict[str, str]], Path],
) -> None:
    root = new_site(
        {
            "content/cases/a.md": GOOD.replace("level: lokalsamfund", "level: x"),
            "content/cases/b.md": GOOD.replace("En god", "Anden") + "\n[se a](a.md)\n",
        }
    )
    assert errors_of(root) == [
        "content/cases/a.md:6: level: must be one of individ, lokalsamfund, kommune, not 'x'"
    ]
