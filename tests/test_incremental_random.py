"""Random edit sequences: after every edit the incremental build equals a clean build.

The search index is patched rather than rebuilt, so it is compared by what it means: every
word on every page at every location, page lengths, fragments, filters, meta fields and the
words of each chunk (Pagefind is told to cut small chunks, so the sites have several; a
site of more than three pages is indexed three pages at a time and joined).
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule

from sitegen.build.cache import BuildCache
from sitegen.build.pipeline import build, build_files
from sitegen.config import default_options
from sitegen.errors import BuildError
from sitegen.render import search_join
from sitegen.render.search import CHUNK_SIZE_VARIABLE
from tests.conftest import REPO, read_tree
from tests.search_meaning import assert_same_site

TITLES = ["Holbæk eksperimenterer", "Ærø vælger", "Gladsaxe og børnene", "Ålborg åbner", "Nyt"]
BODIES = [
    "Brødtekst.",
    '## Et "citat" - og mere\n\nTekst med [link](https://example.org/).',
    "| a | b |\n|---|---|\n| 1 | 2 |\n",
    "Se [forrige case](case-0.md).",
    "- et\n- to\n",
]
TAGS = ["[samskabelse]", "[lokaldemokrati, samskabelse]", "[]", "[borgerbudget]"]
MUNICIPALITIES = ["Aarhus Kommune", "Holbæk Kommune", "Ærø Kommune"]
DATES = ["2019-01-05", "2020-03-01", "2021-12-24", "2020-03-01"]
CONFIGS = [
    "",
    '[site]\ntitle = "Borgerdialog"\n',
    "[pagination]\nper_page = 2\n",
    '[site]\nbase_url = "https://example.org/cfb/"\nhome_cases = 2\n',
]


def case_text(title: str, date: str, municipality: str, tags: str, body: str) -> str:
    return (
        f"---\ntitle: {title}\ndate: {date}\nlead: En kort indledning.\n"
        f"municipality: {municipality}\nlevel: kommune\ntags: {tags}\n---\n\n{body}\n"
    )


class IncrementalBuilds(RuleBasedStateMachine):
    """Editors' changes in any order; the cached build must never differ from a clean one."""

    def __init__(self) -> None:
        super().__init__()
        self.tmp = Path(tempfile.mkdtemp(prefix="sitegen-random-"))
        self.root = self.tmp / "site"
        self.out = self.tmp / "out"
        self.cases: dict[str, dict[str, str]] = {}
        self.serial = 0
        self.chunk_size = os.environ.get(CHUNK_SIZE_VARIABLE)
        os.environ[CHUNK_SIZE_VARIABLE] = "40"
        self.shard_pages = search_join.SHARD_PAGES
        search_join.SHARD_PAGES = 3  # a site of more pages is indexed in shards and joined
        shutil.copytree(REPO / "templates", self.root / "templates")
        for number in range(3):
            self._write(
                f"case-{number}.md",
                {
                    "title": f"{TITLES[number]} {number}",
                    "date": DATES[number],
                    "municipality": MUNICIPALITIES[number],
                    "tags": TAGS[number],
                    "body": BODIES[number],
                },
            )

    def teardown(self) -> None:
        shutil.rmtree(self.tmp, ignore_errors=True)
        search_join.SHARD_PAGES = self.shard_pages
        if self.chunk_size is None:
            os.environ.pop(CHUNK_SIZE_VARIABLE, None)
        else:
            os.environ[CHUNK_SIZE_VARIABLE] = self.chunk_size

    def _write(self, name: str, fields: dict[str, str]) -> None:
        self.cases[name] = fields
        path = self.root / "content/cases" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(case_text(**fields), encoding="utf-8")

    def _edit(self, index: int, key: str, value: str) -> None:
        if self.cases:
            name = sorted(self.cases)[index % len(self.cases)]
            self._write(name, {**self.cases[name], key: value})

    @rule(index=st.integers(0, 9), body=st.sampled_from(BODIES))
    def edit_body(self, index: int, body: str) -> None:
        self._edit(index, "body", body)

    @rule(index=st.integers(0, 9), title=st.sampled_from(TITLES))
    def edit_title(self, index: int, title: str) -> None:
        self._edit(index, "title", title)

    @rule(index=st.integers(0, 9), tags=st.sampled_from(TAGS))
    def edit_tags(self, index: int, tags: str) -> None:
        self._edit(index, "tags", tags)

    @rule(index=st.integers(0, 9), date=st.sampled_from(DATES))
    def edit_date(self, index: int, date: str) -> None:
        self._edit(index, "date", date)

    @rule(index=st.integers(0, 9), municipality=st.sampled_from(MUNICIPALITIES))
    def edit_municipality(self, index: int, municipality: str) -> None:
        self._edit(index, "municipality", municipality)

    @rule(title=st.sampled_from(TITLES), body=st.sampled_from(BODIES))
    def add_case(self, title: str, body: str) -> None:
        self.serial += 1
        fields = {"title": f"{title} ny {self.serial}", "date": DATES[self.serial % 4]}
        fields |= {"municipality": MUNICIPALITIES[0], "tags": TAGS[0], "body": body}
        self._write(f"case-new-{self.serial}.md", fields)

    @rule(index=st.integers(0, 9))
    def delete_case(self, index: int) -> None:
        if self.cases:
            name = sorted(self.cases)[index % len(self.cases)]
            del self.cases[name]
            (self.root / "content/cases" / name).unlink()

    @rule(index=st.integers(0, 9))
    def rename_case(self, index: int) -> None:
        if self.cases:
            name = sorted(self.cases)[index % len(self.cases)]
            self.serial += 1
            new_name = f"case-renamed-{self.serial}.md"
            (self.root / "content/cases" / name).rename(self.root / "content/cases" / new_name)
            self.cases[new_name] = self.cases.pop(name)

    @rule(
        title=st.sampled_from(TITLES),
        body=st.sampled_from(BODIES),
        featured=st.lists(st.integers(0, 9), max_size=2),
    )
    def edit_issue(self, title: str, body: str, featured: list[int]) -> None:
        """A newsletter issue featuring some cases (by path), or every case since the last."""
        names = sorted(self.cases)
        picked = sorted({names[i % len(names)] for i in featured}) if names else []
        cases = "".join(f"\n  - ../cases/{name}" for name in picked) or " since-last"
        path = self.root / "content/newsletter/nr-1.md"
        path.parent.mkdir(parents=True, exist_ok=True)
        text = f"---\ntitle: {title}\ndate: 2022-01-10\ncases:{cases}\n---\n\n{body}\n"
        path.write_text(text, encoding="utf-8")

    @rule()
    def delete_issue(self) -> None:
        (self.root / "content/newsletter/nr-1.md").unlink(missing_ok=True)

    @rule(template=st.sampled_from(["base.html", "case.html", "partials/case_card.html"]))
    def edit_template(self, template: str) -> None:
        self.serial += 1
        path = self.root / "templates" / template
        path.write_text(path.read_text() + f"<!-- ændring {self.serial} -->\n")

    @rule(config=st.sampled_from(CONFIGS))
    def edit_config(self, config: str) -> None:
        (self.root / "sitegen.toml").write_text(config, encoding="utf-8")

    @invariant()
    def incremental_equals_clean(self) -> None:
        options = default_options()
        try:
            clean = {f.path: f.data for f in build_files(self.root, options).files}
        except BuildError as error:
            clean_errors = [str(e) for e in error.errors]
            clean = None
        try:
            build(self.root, options, self.out, cache=BuildCache.for_site(self.root))
        except BuildError as error:
            assert clean is None, "the incremental build failed where a clean one did not"
            assert [str(e) for e in error.errors] == clean_errors
            return
        assert clean is not None, "the incremental build passed where a clean one failed"
        # Byte for byte outside pagefind/; the search index patched in place must mean what
        # a clean Pagefind run over the same pages means (tests/search_meaning.py).
        assert_same_site(read_tree(self.out), clean)


IncrementalBuilds.TestCase.settings = settings(
    max_examples=12,
    stateful_step_count=8,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
test_incremental_builds_equal_clean_builds = IncrementalBuilds.TestCase
