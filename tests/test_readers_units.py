"""Feeds, head tags and the search index as plain functions."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import xml.etree.ElementTree as ET
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from conftest import CASE

from sitegen.build.inputs import load_inputs
from sitegen.build.memo import Memo
from sitegen.build.pipeline import build_files
from sitegen.config import Config, NewsletterSection, default_options
from sitegen.errors import ErrorList
from sitegen.render.feeds import issues_feed
from sitegen.render.head import content_security_policy, script_json
from sitegen.render.search import search_index
from sitegen.render.search_cbor import cbor_decode, cbor_encode

ATOM = "{http://www.w3.org/2005/Atom}"


@dataclass(frozen=True)
class FakeIssue:
    source: str
    slug: str
    url: str
    title: str
    date: dt.date
    preheader: str
    intro_html: str
    body_html: str
    cases: tuple[object, ...] = ()


def test_issues_feed_is_written_only_when_there_are_issues(
    new_site: Callable[[dict[str, str]], Path],
) -> None:
    root = new_site({"content/cases/a.md": CASE.format(title="En case")})
    site = build_files(root, default_options()).site
    assert list(issues_feed(site)) == []
    issues = (
        FakeIssue(
            "content/newsletter/2024-02.md",
            "2024-02",
            "/nyhedsbrev/2024-02/",
            "Nyhedsbrev <februar> & mere",
            dt.date(2024, 2, 1),
            "Kort før-tekst",
            "<p>Intro</p>",
            '<p><a href="/cases/x/">Se casen</a></p>',
        ),
        FakeIssue(
            "content/newsletter/2024-01.md",
            "2024-01",
            "/nyhedsbrev/2024-01/",
            "Januar",
            dt.date(2024, 1, 1),
            "Januar kort",
            "<p>I</p>",
            "<p>B</p>",
        ),
    )
    site_with_issues = type(
        "SiteWithIssues", (), {"config": site.config, "newsletter_issues": issues}
    )()
    routes = list(issues_feed(site_with_issues))  # type: ignore[arg-type]
    assert [r.dest for r in routes] == ["/nyhedsbrev/feed.xml"]
    files = _render(site, routes)
    feed = ET.fromstring(files["nyhedsbrev/feed.xml"])
    assert feed.findtext(f"{ATOM}updated") == "2024-02-01T00:00:00Z"
    first = feed.findall(f"{ATOM}entry")[0]
    assert first.findtext(f"{ATOM}title") == "Nyhedsbrev <februar> & mere"
    assert first.findtext(f"{ATOM}summary") == "Kort før-tekst"
    assert 'href="http://localhost:8000/cases/x/"' in first.findtext(f"{ATOM}content", "")
    link = first.find(f"{ATOM}link")
    assert link is not None and link.get("href") == "http://localhost:8000/nyhedsbrev/2024-02/"


def _render(site: object, routes: list[object]) -> dict[str, bytes]:
    from sitegen.render.pages import render_route
    from sitegen.render.templating import make_environment, site_globals

    config = site.config  # type: ignore[attr-defined]
    env = make_environment(config)
    env.globals.update(site_globals(site))  # type: ignore[arg-type]
    errors = ErrorList()
    files = {}
    for route in routes:
        rendered = render_route(env, route, site, errors)  # type: ignore[arg-type]
        assert rendered is not None, errors.errors
        files[rendered.path] = rendered.data
    return files


def test_json_ld_cannot_end_its_script_element() -> None:
    text = script_json({"headline": "</script><script>alert(1)</script><!-- & \u2028"})
    assert "</script" not in text and "<!--" not in text and "&" not in text
    assert json.loads(text)["headline"] == "</script><script>alert(1)</script><!-- & \u2028"


def test_hostile_case_title_is_escaped_in_head_and_json_ld(
    new_site: Callable[[dict[str, str]], Path],
) -> None:
    title = '\'</script><!-- "x" & <b>'
    root = new_site(
        {
            "content/cases/a.md": CASE.format(title=json.dumps(title)).replace(
                "tags:", "slug: farlig\ntags:"
            )
        }
    )
    built = build_files(root, default_options()).files
    files = {f.path: f.data.decode() for f in built if f.path.endswith((".html", ".xml"))}
    page = files["cases/farlig/index.html"]
    script = page.split('<script type="application/ld+json">')[1].split("</script>")[0]
    assert json.loads(script)["headline"] == title
    assert 'content="&#39;&lt;/script&gt;&lt;!-- &#34;x&#34; &amp; &lt;b&gt;"' in page
    ET.fromstring(files["cases/feed.xml"])  # still well-formed XML
    ET.fromstring(files["sitemap.xml"])


def test_csp_allows_forms_to_the_signup_address_and_named_images_only() -> None:
    config = dataclasses.replace(
        Config(Path(".")), newsletter=NewsletterSection("https://lists.example.org/tilmeld")
    )
    policy = content_security_policy(config, ["https://img.example.net/a.jpg", "/media/b.png"])
    directives = dict(d.split(" ", 1) for d in policy.split("; "))
    assert directives["default-src"] == "'none'"
    assert directives["form-action"] == "'self' https://lists.example.org"
    assert directives["img-src"] == "'self' https://img.example.net"
    assert directives["script-src"] == "'self'"


def test_search_index_is_byte_identical_from_run_to_run(
    site_copy: Callable[[str], Path],
) -> None:
    files = build_files(site_copy("basic"), default_options()).files
    pages = [f for f in files if f.path.endswith(".html")]
    first, second = search_index(pages, "da"), search_index(pages, "da")
    assert [(f.path, f.data) for f in first] == [(f.path, f.data) for f in second]
    paths = {f.path for f in first}
    assert "pagefind/pagefind.js" in paths and "pagefind/pagefind-entry.json" in paths
    assert sum(p.startswith("pagefind/filter/") for p in paths) == 3  # kommune, niveau, emne
    assert sum(p.startswith("pagefind/fragment/") for p in paths) == 6  # 3 cases, om, 2 issues


def test_cbor_round_trip() -> None:
    value = ["da", [["Ærø Kommune", [0, 300, 70000]], ["x", []]], {"k": True}, None, -3]
    assert cbor_decode(cbor_encode(value)) == value


def test_pages_render_without_the_search_step(site_copy: Callable[[str], Path]) -> None:
    root = site_copy("basic")
    site = build_files(root, default_options()).site
    paths = {f.path for f in Memo(load_inputs(root)).render(site, [], ErrorList())}
    assert {"soeg/index.html", "cases/feed.xml", "sitemap.xml", "robots.txt"} <= paths
    assert not any(p.startswith("pagefind/") for p in paths)


def test_search_can_be_turned_off(new_site: Callable[[dict[str, str]], Path]) -> None:
    from conftest import CASE

    root = new_site(
        {
            "sitegen.toml": "[search]\nenabled = false\n",
            "content/cases/a.md": CASE.format(title="A"),
        }
    )
    files = {f.path: f.data for f in build_files(root, default_options()).files}
    assert not any(p.startswith("pagefind/") for p in files)
    assert "soeg/index.html" not in files
    assert b'role="search"' not in files["index.html"]
