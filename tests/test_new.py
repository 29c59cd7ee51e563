"""`sitegen new`: complete front matter, the Danish slug as file name, never an overwrite."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import frontmatter
import pytest

from sitegen.build.pipeline import build_files
from sitegen.cli import main
from sitegen.config import build_date, default_options


@pytest.fixture
def site(new_site: Callable[[dict[str, str]], Path]) -> Path:
    return new_site({"sitegen.toml": '[site]\nbase_url = "https://example.dk/"\n'})


def test_new_case_is_a_draft_that_builds(site: Path, capsys: pytest.CaptureFixture[str]) -> None:
    title = 'Ærø prøver "borgerbudget": første år'
    assert main(["new", "case", title, "--site", str(site)]) == 0
    path = site / "content/cases/aeroe-proever-borgerbudget-foerste-aar.md"
    assert capsys.readouterr().out == f"Created {path.relative_to(site)}\n"
    post = frontmatter.loads(path.read_text(encoding="utf-8"))
    assert post["title"] == title
    assert post["date"] == build_date()  # today (SOURCE_DATE_EPOCH in tests)
    assert post["draft"] is True
    assert set(post.keys()) == {
        "title",
        "date",
        "lead",
        "municipality",
        "level",
        "tags",
        "authors",
        "draft",
    }
    assert "UDFYLD" in post["lead"] and "UDFYLD" in post["municipality"]
    assert "level: kommune  # individ, lokalsamfund eller kommune" in path.read_text()

    published = build_files(site, default_options())
    assert not published.site.cases  # a draft stays out of the real site
    preview = build_files(site, default_options(drafts=True))
    assert [case.title for case in preview.site.cases] == [title]


def test_new_refuses_to_overwrite(site: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = site / "content/cases/holbaek.md"
    path.parent.mkdir(parents=True)
    path.write_text("mit arbejde", encoding="utf-8")
    assert main(["new", "case", "Holbæk", "--site", str(site)]) == 1
    assert capsys.readouterr().err == (
        "sitegen: content/cases/holbaek.md already exists; not replacing it\n"
    )
    assert path.read_text(encoding="utf-8") == "mit arbejde"


def test_new_page_builds_as_draft(site: Path) -> None:
    assert main(["new", "page", "Om os", "--site", str(site)]) == 0
    post = frontmatter.loads((site / "content/pages/om-os.md").read_text(encoding="utf-8"))
    assert (post["title"], post["draft"]) == ("Om os", True)
    pages = build_files(site, default_options(drafts=True)).site.pages
    assert [page.url for page in pages] == ["/om-os/"]


def test_new_newsletter_writes_the_issue_skeleton(site: Path) -> None:
    assert main(["new", "newsletter", "Nyhedsbrev, maj 2026", "--site", str(site)]) == 0
    text = (site / "content/newsletter/nyhedsbrev-maj-2026.md").read_text(encoding="utf-8")
    post = frontmatter.loads(text)
    assert dict(post.metadata) == {
        "title": "Nyhedsbrev, maj 2026",
        "date": post["date"],
        "cases": "since-last",
        "draft": True,
    }
    assert post["date"] == build_date()
    assert "\n## Nyt fra centret\n" in post.content


def test_a_title_without_letters_is_a_usage_error(
    site: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["new", "case", "!!!", "--site", str(site)]) == 2
    assert "gives no file name" in capsys.readouterr().err
    assert not (site / "content").exists()
