"""Newsletter issues: the model, the archive, and the three email files of each issue."""

from __future__ import annotations

import email
import email.policy
import re
from collections.abc import Callable
from email.message import EmailMessage
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from conftest import CASE

from sitegen.build.pipeline import build, build_files
from sitegen.config import default_options
from sitegen.errors import BuildError
from sitegen.render.email import unsubscribe_for, unsubscribe_token
from sitegen.render.plaintext import html_to_text

VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "wbr"}


class StrictHTML(HTMLParser):
    """Collects tags, attributes and <style> text; fails on unbalanced or misnested tags."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.stack: list[str] = []
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.styles: list[str] = []
        self.problems: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))
        if tag not in VOID:
            self.stack.append(tag)

    def handle_endtag(self, tag: str) -> None:
        if not self.stack or self.stack[-1] != tag:
            self.problems.append(f"</{tag}> closes {self.stack[-1:]}")
        else:
            self.stack.pop()

    def handle_data(self, data: str) -> None:
        if self.stack and self.stack[-1] == "style":
            self.styles.append(data)


def parse_html(text: str) -> StrictHTML:
    parser = StrictHTML()
    parser.feed(text)
    parser.close()
    assert not parser.problems, parser.problems
    assert not parser.stack, f"never closed: {parser.stack}"
    return parser


@pytest.fixture(scope="module")
def basic_out(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from conftest import copy_site

    root = copy_site("basic", tmp_path_factory.mktemp("nl") / "basic")
    out = root / "output"
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("SOURCE_DATE_EPOCH", "1796083200")
        build(root, default_options(), out)
    return out


ISSUES = ["juni-2013", "januar-2022"]


@pytest.mark.parametrize("slug", ISSUES)
def test_email_html_is_ready_for_email_clients(basic_out: Path, slug: str) -> None:
    page = parse_html((basic_out / "nyhedsbrev" / slug / "email.html").read_text())
    html_tag = next(attrs for tag, attrs in page.tags if tag == "html")
    assert html_tag["lang"] == "da"
    # Every rule that can be inlined was inlined: only media queries remain in <style>.
    leftover = re.sub(r"@media[^{]*\{(?:[^{}]*\{[^{}]*\})*\s*\}", "", "".join(page.styles))
    assert leftover.strip() == "", leftover
    assert "@media" in "".join(page.styles)
    for tag, attrs in page.tags:
        for name in ("href", "src"):
            if name in attrs:
                url = attrs[name] or ""
                scheme = urlsplit(url).scheme
                assert scheme in ("https", "mailto"), f"<{tag} {name}={url!r}> is not absolute"
        if tag == "img":
            assert attrs.get("alt") and attrs.get("width") and attrs.get("height"), attrs
        if tag == "table":
            assert attrs.get("role") == "presentation"
    classes = {attrs.get("class"): attrs for _, attrs in page.tags}
    assert "display: none" in (classes["preheader"]["style"] or "")
    assert classes["container"]["width"] == "600"
    hrefs = [attrs.get("href") for tag, attrs in page.tags if tag == "a"]
    assert f"https://example.org/cfb/nyhedsbrev/{slug}/" in hrefs  # view in browser
    assert "https://example.org/afmeld" in hrefs  # unsubscribe


def test_email_images_are_scaled_to_the_column(basic_out: Path) -> None:
    page = parse_html((basic_out / "nyhedsbrev/juni-2013/email.html").read_text())
    image = next(attrs for tag, attrs in page.tags if tag == "img")
    assert (image["width"], image["height"]) == ("552", "276")  # 800x400 scaled to fit
    # The email's copy of the image (JPEG or PNG, at most 1200 px wide), by its absolute URL.
    assert image["src"] == "https://example.org/cfb/media/newsletter/moede.40w.png"
    assert (basic_out / "media/newsletter/moede.40w.png").exists()


def test_message_parses_back_into_text_and_html(basic_out: Path) -> None:
    data = (basic_out / "nyhedsbrev/juni-2013/message.eml").read_bytes()
    message = email.message_from_bytes(data, policy=email.policy.default)
    assert isinstance(message, EmailMessage)
    assert message.get_content_type() == "multipart/alternative"
    parts = list(message.iter_parts())
    assert [p.get_content_type() for p in parts] == ["text/plain", "text/html"]
    # On the wire (and in the file) lines end in CRLF; the content is the built files'.
    text, html = (p.get_content().replace("\r\n", "\n") for p in parts)  # type: ignore[attr-defined]
    assert text == (basic_out / "nyhedsbrev/juni-2013/email.txt").read_text()
    assert html == (basic_out / "nyhedsbrev/juni-2013/email.html").read_text()
    assert message["Subject"] == "Nyhedsbrev juni 2013: Holbæk"
    assert message["From"] == "Center for Borgerdialog <nyhedsbrev@example.org>"
    assert message["Date"] == "Sat, 01 Jun 2013 08:00:00 +0200"
    assert message["Message-ID"] == "<nyhedsbrev.20130601.juni-2013@example.org>"
    assert message["List-Unsubscribe"] == (
        "<mailto:afmeld@example.org?subject=Afmeld%20nyhedsbrev>, <https://example.org/afmeld>"
    )
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"


def test_text_part_reads_well(basic_out: Path) -> None:
    text = (basic_out / "nyhedsbrev/juni-2013/email.txt").read_text()
    assert "Arrangementer\n=============\n" in text
    assert "- Temadag om samskabelse, 12. juni 2013.\n- Netværksmøde" in text
    assert (
        "casen fra Ærø\n  <https://example.org/cfb/cases/aeroe-afproever-borgerbudgetter/>" in text
    )
    assert "»samskabelse«" in text
    assert "> Et citat fra en deltager." in text
    assert "1. Første punkt\n2. Andet punkt" in text
    assert "[Deltagere ved et borgermøde]" in text
    assert "<style" not in text and "display" not in text
    assert max(len(line) for line in text.splitlines() if "://" not in line) <= 72


def test_html_to_text_links_and_headings() -> None:
    text = html_to_text(
        '<h1>Overskrift</h1><p>Se <a href="https://x.dk/a">her</a> og <a href="https://x.dk/">'
        'https://x.dk/</a>.</p><ul><li>en<ul><li>to</li></ul></li></ul><p style="display:none">skjult</p>'
    )
    assert text == (
        "Overskrift\n==========\n\nSe her <https://x.dk/a> og https://x.dk/.\n\n- en\n  - to\n"
    )


def test_archive_issue_pages_home_and_nav(basic_out: Path) -> None:
    archive = (basic_out / "nyhedsbrev/index.html").read_text()
    assert archive.index("Nyhedsbrev januar 2022") < archive.index("Nyhedsbrev juni 2013")
    issue = (basic_out / "nyhedsbrev/januar-2022/index.html").read_text()
    # since-last: every case after the previous issue (2013-06-01) up to this one.
    assert "Ærø afprøver borgerbudgetter" in issue
    assert "Samskabelse på individniveau i Gladsaxe" in issue
    assert "Holbæk eksperimenterer" not in issue.split("Andre nyhedsbreve")[0]
    assert 'href="/cfb/nyhedsbrev/juni-2013/" rel="prev"' in issue
    home = (basic_out / "index.html").read_text()
    assert '<a href="/cfb/nyhedsbrev/januar-2022/">Nyhedsbrev januar 2022</a>' in home
    assert '<a href="/cfb/nyhedsbrev/" aria-current="page">Nyhedsbrev</a>' in archive


def test_built_email_files_are_deterministic(
    site_copy: Callable[[str], Path], tmp_path: Path
) -> None:
    root = site_copy("basic")
    first = build_files(root, default_options()).files
    second = build_files(root, default_options()).files
    email_files = {"email.html", "email.txt", "message.eml"}
    made = [f.path for f in first if f.path.rsplit("/", 1)[-1] in email_files]
    assert len(made) == 6  # the basic site's two issues
    assert [f.path for f in first] == [f.path for f in second]
    assert [f.data for f in first] == [f.data for f in second]


def test_unsubscribe_links_are_per_recipient() -> None:
    from sitegen.config import Config, NewsletterSection

    config = Config(
        root=Path("."), newsletter=NewsletterSection(unsubscribe_url="https://x.dk/afmeld")
    )
    mine = unsubscribe_for(config, "Anna@Example.org", b"hemmelig")
    token = unsubscribe_token(b"hemmelig", "anna@example.org")
    # id: the address in URL-safe base64 (QW5uYUBFeGFtcGxlLm9yZw== without its padding)
    assert mine.https == f"https://x.dk/afmeld?id=QW5uYUBFeGFtcGxlLm9yZw&token={token}"
    assert token != unsubscribe_token(b"hemmelig", "bo@example.org")
    assert token != unsubscribe_token(b"en anden", "anna@example.org")


ISSUE = """\
---
title: Nyhedsbrev
date: {date}
cases:
{cases}
---

Intro.
"""


def issue(date: str = "2021-05-01", cases: str = "  - ../cases/a.md") -> str:
    return ISSUE.format(date=date, cases=cases)


def errors_of(root: Path) -> list[str]:
    with pytest.raises(BuildError) as info:
        build_files(root, default_options())
    return [str(error) for error in info.value.errors]


def test_unknown_and_draft_case_references_are_errors_at_their_line(
    new_site: Callable[[dict[str, str]], Path],
) -> None:
    draft = CASE.format(title="Kladde").replace("level:", "draft: true\nlevel:")
    root = new_site(
        {
            "content/cases/a.md": CASE.format(title="A"),
            "content/cases/kladde.md": draft,
            "content/newsletter/maj.md": issue(
                cases="  - ../cases/a.md\n  - ../cases/b.md\n  - kladde\n  - aa"
            ),
        }
    )
    assert errors_of(root) == [
        "content/newsletter/maj.md:6: cases: '../cases/b.md' is not a case "
        "(did you mean '../cases/a.md'?)",
        "content/newsletter/maj.md:7: cases: 'kladde' is a draft; it cannot be featured",
        "content/newsletter/maj.md:8: cases: 'aa' is not a case (did you mean 'a'?)",
    ]


def test_duplicate_issue_date_is_an_error_at_the_second_issue(
    new_site: Callable[[dict[str, str]], Path],
) -> None:
    root = new_site(
        {
            "content/cases/a.md": CASE.format(title="A"),
            "content/newsletter/a.md": issue(),
            "content/newsletter/b.md": issue(),
        }
    )
    assert errors_of(root) == [
        "content/newsletter/b.md:3: date: content/newsletter/a.md is already the issue of "
        "2021-05-01; give each issue its own date"
    ]


def test_since_last_with_nothing_new_is_an_error(
    new_site: Callable[[dict[str, str]], Path],
) -> None:
    root = new_site(
        {
            "content/cases/a.md": CASE.format(title="A"),  # dated 2020-03-01
            "content/newsletter/a.md": issue("2021-01-01"),
            "content/newsletter/b.md": ISSUE.format(date="2021-02-01", cases="").replace(
                "cases:\n", "cases: since-last\n"
            ),
        }
    )
    assert errors_of(root) == [
        "content/newsletter/b.md:4: cases: 'since-last' finds no case published since the "
        "previous issue (2021-01-01) up to 2021-02-01; list the cases to feature instead"
    ]


def test_newsletter_image_without_size_is_an_error(
    new_site: Callable[[dict[str, str]], Path],
) -> None:
    root = new_site(
        {
            "content/cases/a.md": CASE.format(title="A"),
            "content/newsletter/a.md": issue() + "\n![Et kort](https://example.org/kort.png)\n",
        }
    )
    assert errors_of(root) == [
        "content/newsletter/a.md:10: image: 'https://example.org/kort.png' needs a size for "
        'email: add {: width="600" height="400" } after the image'
    ]


def test_draft_issue_is_left_out(new_site: Callable[[dict[str, str]], Path]) -> None:
    root = new_site(
        {
            "content/cases/a.md": CASE.format(title="A"),
            "content/newsletter/a.md": issue().replace("cases:", "draft: true\ncases:"),
        }
    )
    assert build_files(root, default_options()).site.newsletter_issues == ()
    drafts = default_options(drafts=True)
    assert [i.slug for i in build_files(root, drafts).site.newsletter_issues] == ["a"]


def test_signup_form_with_url(basic_out: Path) -> None:
    page = parse_html((basic_out / "index.html").read_text())
    form = next(a for t, a in page.tags if t == "form" and a.get("class") == "signup-form")
    assert (form["action"], form["method"]) == ("https://example.org/tilmeld", "post")
    email_input = next(a for t, a in page.tags if t == "input" and a.get("type") == "email")
    label = next(a for t, a in page.tags if t == "label" and a.get("for") == email_input["id"])
    assert label is not None and email_input["aria-describedby"] == "signup-use"
    honeypot = next(a for t, a in page.tags if t == "input" and a.get("name") == "website")
    assert honeypot["tabindex"] == "-1"
    box = next(a for t, a in page.tags if a.get("class") == "hp")
    assert box["aria-hidden"] == "true"
    assert (
        "Vi bruger kun din adresse til at sende nyhedsbrevet"
        in (basic_out / "index.html").read_text()
    )


def test_signup_without_url_offers_mail(new_site: Callable[[dict[str, str]], Path]) -> None:
    root = new_site({"content/cases/a.md": CASE.format(title="A")})
    out = root / "output"
    build(root, default_options(), out)
    home = (out / "index.html").read_text()
    assert 'class="signup-form"' not in home
    assert 'href="mailto:info@borgerdialog.dk?subject=Tilmelding%20til%20nyhedsbrev"' in home
    assert "Vi bruger kun din adresse til at sende nyhedsbrevet" in home


def test_sending_settings_are_checked(new_site: Callable[[dict[str, str]], Path]) -> None:
    root = new_site(
        {
            "sitegen.toml": """
            [newsletter]
            unsubscribe_url = "http://example.org/afmeld"
            smtp_port = 0
            rate = -1
            """
        }
    )
    assert errors_of(root) == [
        "sitegen.toml:2: newsletter.unsubscribe_url: must be an https URL "
        "(one-click unsubscribe, RFC 8058)",
        "sitegen.toml:3: newsletter.smtp_port: must be 1-65535",
        "sitegen.toml:4: newsletter.rate: must be 0 or more",
    ]
