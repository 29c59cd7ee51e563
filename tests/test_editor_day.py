"""An editor's day: what `new` writes, drafts that do not block, messages that name the cause."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import frontmatter
import pytest

from sitegen.build.pipeline import build, build_files
from sitegen.cli import main
from sitegen.config import default_options
from sitegen.content.slugs import MAX_SLUG, short_slug, slugify
from sitegen.errors import BuildError
from tests.conftest import CASE

HEADLINE = (  # a realistic newspaper-style headline (its slug is over 120 characters)
    "Borgerpanelet i Ringkøbing-Skjern Kommune anbefaler ny model for klimatilpasning "
    "i ådalene, og byrådet følger seks af syv anbefalinger"
)

ISSUE = """\
---
title: Nyhedsbrev
date: {date}
cases: since-last
---

Intro.
"""


@pytest.fixture
def site(new_site: Callable[[dict[str, str]], Path]) -> Path:
    return new_site(
        {
            "sitegen.toml": '[site]\nbase_url = "https://example.dk/"\n',
            "content/cases/a.md": CASE.format(title="A"),
        }
    )


def errors_of(root: Path, drafts: bool = False) -> list[str]:
    with pytest.raises(BuildError) as info:
        build_files(root, default_options(drafts=drafts))
    return [str(error) for error in info.value.errors]


# --- sitegen new --------------------------------------------------------------------------


def test_short_slug_cuts_at_a_word_boundary() -> None:
    full = slugify(HEADLINE)
    slug = short_slug(HEADLINE)
    assert len(full) > MAX_SLUG >= len(slug) > MAX_SLUG - 15
    assert full.startswith(slug + "-")  # whole words only
    assert short_slug("Kort titel") == "kort-titel"
    assert short_slug("x" * 300) == "x" * MAX_SLUG  # one word too long: cut it


def test_a_long_headline_makes_a_draft_that_builds_with_drafts(
    site: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["new", "case", HEADLINE, "--site", str(site)]) == 0
    created = site / capsys.readouterr().out.split("Created ", 1)[1].strip()
    post = frontmatter.loads(created.read_text(encoding="utf-8"))
    assert post["title"] == HEADLINE and post["slug"] == created.stem
    assert len(post["slug"]) <= MAX_SLUG
    preview = build_files(site, default_options(drafts=True))  # the slug is valid
    assert HEADLINE in [case.title for case in preview.site.cases]


def test_a_350_character_title_gives_a_file_and_no_traceback(site: Path) -> None:
    title = ("Lokaldemokrati og samskabelse i praksis " * 9).strip()
    assert len(title) > 350
    done = subprocess.run(
        [sys.executable, "-m", "sitegen", "new", "case", title, "--site", str(site)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr
    [path] = [p for p in (site / "content/cases").iterdir() if p.name != "a.md"]
    assert len(path.stem) <= MAX_SLUG
    assert frontmatter.loads(path.read_text(encoding="utf-8"))["title"] == title


def test_new_writes_emoji_and_danish_letters_as_themselves(site: Path) -> None:
    assert main(["new", "case", "🌊 Havet stiger i Køge", "--site", str(site)]) == 0
    text = (site / "content/cases/havet-stiger-i-koege.md").read_text(encoding="utf-8")
    assert "title: 🌊 Havet stiger i Køge\n" in text
    assert "\\U" not in text


def test_a_new_newsletter_issue_is_a_draft_that_publishes_nothing(site: Path) -> None:
    build(site, default_options(), site / "output")
    before = {p.relative_to(site / "output") for p in (site / "output").rglob("*")}
    assert main(["new", "newsletter", "Nyhedsbrev december", "--site", str(site)]) == 0
    path = site / "content/newsletter/nyhedsbrev-december.md"
    assert frontmatter.loads(path.read_text(encoding="utf-8"))["draft"] is True
    result = build(site, default_options(), site / "output")
    assert not result.site.newsletter_issues
    after = {p.relative_to(site / "output") for p in (site / "output").rglob("*")}
    assert not any("nyhedsbrev-december" in str(p) for p in after)
    assert not any(b"UDFYLD" in f.data for f in result.files)
    assert after == before


# --- drafts do not block ------------------------------------------------------------------


def test_a_broken_draft_does_not_stop_the_build_but_shows_with_drafts_and_in_check(
    site: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    draft = CASE.format(title="B").replace("level: lokalsamfund", "level: galakse\ndraft: true")
    (site / "content/cases/b.md").write_text(draft, encoding="utf-8")
    result = build_files(site, default_options())
    assert [case.title for case in result.site.cases] == ["A"]
    [problem] = result.left_out
    assert problem.path == "content/cases/b.md" and problem.field == "level"
    assert errors_of(site, drafts=True)[0].startswith("content/cases/b.md:6: level: ")

    assert main(["build", "--site", str(site)]) == 0
    assert "1 draft with problems left out" in capsys.readouterr().err
    assert main(["check", "--site", str(site)]) == 0
    err = capsys.readouterr().err
    assert "content/cases/b.md:6: warning: level: " in err
    assert "(in a draft: fix it before publishing)" in err


def test_a_draft_does_not_take_a_published_case_slug(site: Path) -> None:
    # "0" sorts first: the draft is read before the published case with the same title.
    draft = CASE.format(title="A").replace("level:", "draft: true\nlevel:")
    (site / "content/cases/0-kladde.md").write_text(draft, encoding="utf-8")
    result = build_files(site, default_options())
    assert [(c.source, c.url) for c in result.site.cases] == [("content/cases/a.md", "/cases/a/")]
    assert errors_of(site, drafts=True) == [
        "content/cases/0-kladde.md:2: slug: 'a' is already used by content/cases/a.md; "
        "set another 'slug'"
    ]


def test_a_draft_issue_on_a_published_issue_date_gets_the_error(site: Path) -> None:
    files = {
        "content/newsletter/maj-2013.md": ISSUE.format(date="2021-05-01"),
        "content/newsletter/ekstranummer.md": ISSUE.format(date="2021-05-01").replace(
            "cases:", "draft: true\ncases:"
        ),
    }
    for rel, text in files.items():
        (site / rel).parent.mkdir(parents=True, exist_ok=True)
        (site / rel).write_text(text, encoding="utf-8")
    assert [i.slug for i in build_files(site, default_options()).site.newsletter_issues] == [
        "maj-2013"
    ]
    assert errors_of(site, drafts=True) == [
        "content/newsletter/ekstranummer.md:3: date: content/newsletter/maj-2013.md is already "
        "the issue of 2021-05-01; give each issue its own date"
    ]


def test_a_draft_issue_may_find_no_case_since_last(site: Path) -> None:
    (site / "content/newsletter").mkdir()
    (site / "content/newsletter/a.md").write_text(ISSUE.format(date="2021-01-01"), "utf-8")
    draft = ISSUE.format(date="2021-02-01").replace("cases:", "draft: true\ncases:")
    (site / "content/newsletter/b.md").write_text(draft, encoding="utf-8")
    issues = build_files(site, default_options(drafts=True)).site.newsletter_issues
    assert [(i.slug, len(i.cases)) for i in issues] == [("b", 0), ("a", 1)]


# --- messages -----------------------------------------------------------------------------


def test_a_tab_in_front_matter_says_yaml_needs_spaces(site: Path) -> None:
    text = CASE.format(title="B").replace("lead: En", "\tlead: En")
    (site / "content/cases/b.md").write_text(text, encoding="utf-8")
    assert errors_of(site) == [
        "content/cases/b.md:4: a tab in the front matter: YAML needs spaces, not tabs, "
        "to indent and to separate; replace the tab with spaces"
    ]


def test_a_tab_inside_a_quoted_value_is_not_an_error(site: Path) -> None:
    text = CASE.format(title='"B\tmed tab"')
    (site / "content/cases/b.md").write_text(text, encoding="utf-8")
    assert "B\tmed tab" in [c.title for c in build_files(site, default_options()).site.cases]


def test_a_case_featured_by_a_newsletter_counts_as_linked(
    site: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (site / "content/newsletter").mkdir()
    text = ISSUE.format(date="2021-05-01").replace("since-last", "\n  - ../cases/a.md")
    (site / "content/newsletter/maj.md").write_text(text, encoding="utf-8")
    assert main(["check", "--site", str(site)]) == 0
    assert "links to this case" not in capsys.readouterr().err
