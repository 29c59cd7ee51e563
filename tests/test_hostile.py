"""Hostile content: markup in front matter is escaped everywhere, script URLs are rejected,
raw HTML is sanitized under `markdown.safe_html`, and content is never run as a template.

OUTPUT_CHECKS is a table of (output file glob, check): each kind of output file the site makes
gets one row; every row must match files of the built site, and its check must find every
field's text intact (escaped, not dropped, not interpreted).
"""

from __future__ import annotations

import gzip
import html
import json
import xml.etree.ElementTree as ET
from collections.abc import Callable
from dataclasses import dataclass
from email import policy
from email.parser import BytesParser
from html.parser import HTMLParser
from pathlib import Path

import pytest
from conftest import CASE

from sitegen.build.pipeline import build, build_files
from sitegen.config import default_options
from sitegen.content.markdown import MarkdownRenderer, is_unsafe_url
from sitegen.errors import BuildError
from tests.photos import tiny_png

PAYLOADS = [
    "<script>alert('x')</script>",
    '"><img src=x onerror=alert(1)>',
    "{{ 7*7 }} {% if true %}ja{% endif %} {# c #}",
    "' onmouseover='alert(1)' x='",
    "</title></textarea><script>alert(2)</script>",
    "&lt;b&gt; &amp; &#106;",
]

# Every front matter field (and config text) that reaches a page, each with its own marker.
CASE_FIELDS = """\
---
title: "T1 {p}"
date: 2020-03-01
lead: "L1 {p}"
municipality: "M1 {p}"
level: kommune
tags: ["G1 {p}", "G2 {p}"]
authors: ["A1 {p}"]
related:
  - title: "R1 {p}"
    url: https://example.org/
image: https://example.org/billede.jpg
image_alt: "I1 {p}"
slug: fjendtlig
---

Brødtekst.
"""
PAGE_FIELDS = '---\ntitle: "P1 {p}"\nlead: "P2 {p}"\nslug: side\n---\n\nTekst.\n'
ISSUE_FIELDS = """\
---
title: "N1 {p}"
date: 2020-04-01
preheader: "N2 {p}"
cases: [../cases/fjendtlig.md]
---

Indledning.
"""
CONFIG = '[site]\ntitle = "S1 {p}"\ndescription = "S2 {p}"\n[contact]\nname = "S3 {p}"\n'
MARKERS = ("T1", "L1", "M1", "G1", "G2", "A1", "R1", "I1", "P1", "P2", "S1", "S2", "S3", "N1", "N2")


class PageScan(HTMLParser):
    """Every text node and attribute value of a page, and whatever could run script."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.texts: list[str] = []
        self.problems: list[str] = []
        self.json_ld: list[str] = []
        self._in_json_ld = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        named = dict(attrs)
        if tag == "script":
            if named.get("type") == "application/ld+json" and "src" not in named:
                self._in_json_ld = True
            elif not _site_script(named.get("src")):
                self.problems.append(f"<script> element: {self.get_starttag_text()}")
        if tag in ("iframe", "object", "embed", "style", "base"):
            self.problems.append(f"<{tag}> element")
        for name, value in attrs:
            if name.startswith("on"):
                self.problems.append(f"event handler {name}={value!r} on <{tag}>")
            if value is not None:
                self.texts.append(value)
                if name in ("href", "src", "action") and is_unsafe_url(value):
                    self.problems.append(f"unsafe URL {value!r}")

    def handle_endtag(self, tag: str) -> None:
        self._in_json_ld = False

    def handle_data(self, data: str) -> None:
        (self.json_ld if self._in_json_ld else self.texts).append(data)


def _site_script(src: str | None) -> bool:
    """The theme's own script files (search) are fine; inline or outside scripts are not."""
    return src is not None and src.startswith("/static/") and ".." not in src


def check_html(path: str, data: bytes) -> list[str]:
    """Texts of an HTML page; fails on anything that could run script."""
    scan = PageScan()
    scan.feed(data.decode("utf-8"))
    scan.close()
    email = path.endswith(("email.html", ".eml"))  # email keeps its media queries in <style>
    assert [p for p in scan.problems if not (email and p == "<style> element")] == [], path
    texts = list(scan.texts)
    for block in scan.json_ld:  # JSON-LD (after the merge): must parse, must not close </script>
        assert "</" not in block, path
        texts.extend(_strings(json.loads(block)))
    return texts


def _strings(value: object) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [s for item in value.values() for s in _strings(item)]
    if isinstance(value, list):
        return [s for item in value for s in _strings(item)]
    return []


@dataclass(frozen=True)
class OutputCheck:
    glob: str
    texts: Callable[[str, bytes], list[str]]  # the readable texts of a file; fails on danger


def check_xml(path: str, data: bytes) -> list[str]:
    """Feeds and sitemap: well-formed XML; every text and attribute; HTML content checked."""
    texts: list[str] = []
    for element in ET.fromstring(data).iter():
        texts.extend(element.attrib.values())
        texts.extend(t for t in (element.text, element.tail) if t)
        if element.get("type") == "html" and element.text:
            texts.extend(check_html(path, element.text.encode()))
    return texts


def check_search_fragment(path: str, data: bytes) -> list[str]:
    """A Pagefind fragment: gzip, a signature, then JSON; every string of it."""
    raw = gzip.decompress(data)
    assert raw.startswith(b"pagefind_dcd"), path
    return _strings(json.loads(raw[len(b"pagefind_dcd") :]))


EML_HEADERS = {
    "subject",
    "from",
    "to",
    "date",
    "message-id",
    "mime-version",
    "content-type",
    "list-unsubscribe",
    "list-unsubscribe-post",
    "list-id",
    "reply-to",
    "precedence",
    "auto-submitted",
    "x-auto-response-suppress",
}


def check_eml(path: str, data: bytes) -> list[str]:
    """message.eml: no header injected by a title with a newline; both parts checked."""
    message = BytesParser(policy=policy.default).parsebytes(data)
    names = {name.lower() for name in message}
    assert names <= EML_HEADERS, (path, names - EML_HEADERS)
    texts = [str(message["subject"])]
    for part in message.walk():
        if part.get_content_type() == "text/html":
            texts.extend(check_html(path, part.get_content().encode()))
        elif part.get_content_type() == "text/plain":
            texts.append(part.get_content())
    return texts


# One row per kind of output file (each returns the file's texts and fails on danger).
OUTPUT_CHECKS = [
    OutputCheck("**/*.html", check_html),
    OutputCheck("**/*.xml", check_xml),
    OutputCheck("pagefind/fragment/*.pf_fragment", check_search_fragment),
    OutputCheck("**/email.txt", lambda path, data: [data.decode("utf-8")]),
    OutputCheck("**/message.eml", check_eml),
]


def hostile_site(root: Path, payload: str) -> Path:
    def put(rel: str, text: str) -> None:
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(text.replace("{p}", yaml_or_toml_escape(payload)))

    put("content/cases/fjendtlig.md", CASE_FIELDS)
    put("content/pages/side.md", PAGE_FIELDS)
    put("content/newsletter/nummer.md", ISSUE_FIELDS)
    put("sitegen.toml", CONFIG)
    return root


def yaml_or_toml_escape(text: str) -> str:
    """Text for inside a double-quoted string in YAML and in TOML alike."""
    return text.replace("\\", "\\\\").replace('"', '\\"')


@pytest.mark.parametrize("payload", PAYLOADS)
def test_markup_in_every_field_is_escaped_everywhere(
    payload: str, new_site: Callable[[dict[str, str]], Path], tmp_path: Path
) -> None:
    root = hostile_site(new_site({}), payload)
    out = tmp_path / "out"
    build(root, default_options(), out)
    seen: dict[str, set[str]] = {marker: set() for marker in MARKERS}
    for row in OUTPUT_CHECKS:
        files = sorted(p for p in out.glob(row.glob) if p.is_file())
        assert files, f"no output file matches {row.glob}"
        for file in files:
            rel = file.relative_to(out).as_posix()
            for text in row.texts(rel, file.read_bytes()):
                for marker in MARKERS:
                    if f"{marker} {payload}" in text:
                        seen[marker].add(rel)
    assert [m for m, files in seen.items() if not files] == []
    case_page = (out / "cases/fjendtlig/index.html").read_text()
    if "7*7" in payload:
        assert "{{ 7*7 }}" in case_page and "49" not in case_page


def test_a_case_page_shows_each_field_once_escaped(
    new_site: Callable[[dict[str, str]], Path], tmp_path: Path
) -> None:
    root = hostile_site(new_site({}), PAYLOADS[0])
    out = tmp_path / "out"
    build(root, default_options(), out)
    page = (out / "cases/fjendtlig/index.html").read_text()
    assert "<h1>T1 &lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;</h1>" in page
    assert 'alt="I1 &lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;"' in page
    assert "<script>alert" not in page
    assert page.count("<script") == page.count('<script type="application/ld+json">') + page.count(
        '<script type="module" src="/static/'
    )


UNSAFE_URLS = [
    "javascript:alert(1)",
    "JaVaScRiPt:alert(1)",
    "&#106;avascript:alert(1)",
    "&#x6A;avascript:alert(1)",
    "java&#x09;script:alert(1)",
    "javascript&colon;alert(1)",
    "data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==",
    "DATA:image/svg+xml,alert(1)",
    "vbscript:msgbox(1)",
]
BODY_FORMS = {
    "link": ("[klik]({url})", False),
    "image": ("![billede]({url})", False),
    "raw link": ('<a href="{url}">klik</a>', True),
    "raw image": ('<img src="{url}" alt="billede">', True),
}


@pytest.mark.parametrize("form", list(BODY_FORMS))
@pytest.mark.parametrize("url", UNSAFE_URLS)
def test_unsafe_urls_in_the_body_are_rejected(
    url: str, form: str, new_site: Callable[[dict[str, str]], Path]
) -> None:
    template, raw = BODY_FORMS[form]
    text = CASE.format(title="A") + "\n" + template.format(url=url) + "\n"
    root = new_site({"content/cases/a.md": text})
    with pytest.raises(BuildError) as caught:
        build_files(root, default_options())
    shown = html.unescape(url) if raw else url
    what = "image" if "image" in form else "link"
    assert [str(e) for e in caught.value.errors] == [
        f"content/cases/a.md:12: {what}: unsafe URL {shown!r}: only http(s), mailto and site "
        "links are allowed"
    ]


@pytest.mark.parametrize("url", [*UNSAFE_URLS, " javascript:alert(1) ", "java\tscript:x"])
@pytest.mark.parametrize("key", ["related", "image"])
def test_unsafe_urls_in_front_matter_are_rejected(
    url: str, key: str, new_site: Callable[[dict[str, str]], Path]
) -> None:
    value = json.dumps(url)  # a JSON string is a YAML double-quoted string
    extra = (
        f"related:\n  - title: Mere\n    url: {value}"
        if key == "related"
        else f"image: {value}\nimage_alt: Et billede"
    )
    text = CASE.format(title="A").replace("tags: [samskabelse]", f"tags: [samskabelse]\n{extra}")
    root = new_site({"content/cases/a.md": text})
    with pytest.raises(BuildError) as caught:
        build_files(root, default_options())
    line = 10 if key == "related" else 8
    assert [str(e) for e in caught.value.errors] == [
        f"content/cases/a.md:{line}: {key}: unsafe URL {url.strip()!r}: only http(s), mailto "
        "and site links are allowed"
    ]


def test_control_characters_in_front_matter_are_rejected(
    new_site: Callable[[dict[str, str]], Path],
) -> None:
    text = CASE.format(title="A").replace(
        "tags: [samskabelse]", 'tags: [samskabelse]\nimage: "\\x01javascript:x"\nimage_alt: B'
    )
    root = new_site({"content/cases/a.md": text})
    with pytest.raises(BuildError) as caught:
        build_files(root, default_options())
    assert [str(e) for e in caught.value.errors] == [
        "content/cases/a.md:8: image: must not contain the invisible control character U+0001"
    ]


@pytest.mark.parametrize(
    "url",
    [
        "https://example.org/javascript:alert(1)",
        "http://example.org/?q=data:x",
        "mailto:info@borgerdialog.dk",
        "tel:24477818",
        "#pioner-kommune",
        "/kontakt/",
        "javascript-guide.html",
    ],
)
def test_ordinary_urls_are_safe(url: str) -> None:
    assert not is_unsafe_url(url)


def test_content_is_never_rendered_as_a_template(
    new_site: Callable[[dict[str, str]], Path], tmp_path: Path
) -> None:
    body = "Regnestykket {{ 7*7 }} og {% include 'base.html' %} og {{ config.contact.phone }}.\n"
    root = new_site({"content/cases/a.md": CASE.format(title='"{{ 6*7 }}"') + "\n" + body})
    out = tmp_path / "out"
    build(root, default_options(), out)
    page = (out / "cases/6-7/index.html").read_text()
    assert "<h1>{{ 6*7 }}</h1>" in page
    assert (
        "Regnestykket {{ 7*7 }} og {% include ’base.html’ %} og {{ config.contact.phone }}." in page
    )
    assert "42" not in page and "49" not in page


RAW_HTML = """\
## Overskrift {: .mærke }

<div class="boks" id="faktaboks" onclick="alert(1)" style="color: red">
<script>alert("body")</script>
<iframe src="https://evil.example/"></iframe>
<style>body { display: none }</style>
<form action="https://evil.example/"><input name="x"></form>
<p onmouseover="alert(2)">Fakta <a href="https://example.org/b" onfocus="alert(3)">om b</a></p>
<img src="https://example.org/kort.png" alt="Kort" onerror="alert(4)">
</div>

| Kommune | Borgere |
|:--------|--------:|
| Holbæk  | 71.000  |

En note[^1] og [et link](b.md#start) og ![Kort](kort.png){: .billede }.

[^1]: Kilden.
"""


def test_raw_html_is_kept_for_trusted_editors(new_site: Callable[[dict[str, str]], Path]) -> None:
    root = new_site(
        {
            "content/cases/a.md": CASE.format(title="A") + "\n" + RAW_HTML,
            "content/cases/b.md": CASE.format(title="B"),
        }
    )
    (root / "content/cases/kort.png").write_bytes(tiny_png())
    html_out = next(c for c in build_files(root, default_options()).site.cases if c.title == "A")
    assert '<script>alert("body")</script>' in html_out.body_html
    assert 'onclick="alert(1)"' in html_out.body_html


def test_safe_html_sanitizes_raw_html(new_site: Callable[[dict[str, str]], Path]) -> None:
    root = new_site(
        {
            "sitegen.toml": "[markdown]\nsafe_html = true\n",
            "content/cases/a.md": CASE.format(title="A") + "\n" + RAW_HTML,
            "content/cases/b.md": CASE.format(title="B"),
        }
    )
    (root / "content/cases/kort.png").write_bytes(tiny_png())
    body = next(c for c in build_files(root, default_options()).site.cases if c.title == "A")
    html_out = body.body_html
    scan = PageScan()
    scan.feed(html_out)
    assert scan.problems == []
    for gone in ("<script", "alert", "<iframe", "<style", "<form", "<input", "color: red"):
        assert gone not in html_out, gone
    for kept in (
        '<h2 class="mærke" id="overskrift">Overskrift</h2>',
        '<div class="boks" id="faktaboks">',
        '<a href="https://example.org/b">om b</a>',
        '<img src="https://example.org/kort.png" alt="Kort">',
        '<img alt="Kort" class="billede" src="/media/cases/kort.png">',
        '<th class="align-left">Kommune</th>',
        '<td class="align-right">71.000</td>',
        '<sup id="fnref:1"><a class="footnote-ref" href="#fn:1">1</a></sup>',
        '<li id="fn:1">',
        '<a href="/cases/b/#start">et link</a>',
    ):
        assert kept in html_out, kept


def test_safe_html_keeps_placeholders_for_links() -> None:
    rendered = MarkdownRenderer(safe_html=True).render(
        '[b](b.md) [c](../pages/c.md#x) <b onclick="y">d</b>', "content/cases/a.md"
    )
    assert rendered.html == (
        '<p><a href="sitegen:/content/cases/b.md">b</a> '
        '<a href="sitegen:/content/pages/c.md#x">c</a> <b>d</b></p>'
    )


def test_a_title_with_a_newline_cannot_add_an_email_header(
    new_site: Callable[[dict[str, str]], Path],
) -> None:
    issue = '---\ntitle: "Hej\\nBcc: alle@example.org"\ndate: 2020-04-01\n---\n\nTekst.\n'
    root = new_site({"content/newsletter/nr.md": issue})
    with pytest.raises(BuildError) as caught:
        build_files(root, default_options())
    assert [str(e) for e in caught.value.errors] == [
        "content/newsletter/nr.md:2: title: must be a single line"
    ]
