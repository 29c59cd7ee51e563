"""The bad-input corpus: every broken site gives its exact `path:line: field: message`.

Each entry is written over a site that built fine, then built through the CLI: exit 1, every
error listed in one run, the previous output/ kept byte for byte, the site's own files
(content, templates, sitegen.toml) byte-identical, and no staging folder left behind.
A new kind of bad input is one more entry in CORPUS.
"""

from __future__ import annotations

import hashlib
import os
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from conftest import CASE, read_tree

from sitegen.build.pipeline import build_files
from sitegen.cli import main
from sitegen.config import default_options
from sitegen.errors import BuildError

GOOD = CASE.format(title="En god case")
X = "content/cases/x.md"
# Before every entry the site holds this good case, so a broken one never stands alone.
BASE = {"content/cases/good.md": GOOD.replace("En god", "Anden")}
OUTSIDE = "{outside}"  # in a symlink target: a file beside the site, not in it


@dataclass(frozen=True)
class Broken:
    """Files (text or bytes) and symlinks (path -> target) that break a good site."""

    files: Mapping[str, str | bytes]
    expected: tuple[str, ...]
    links: Mapping[str, str] = field(default_factory=dict)
    alone: bool = False  # its errors depend on the rest of the site: not in the combined run


def case(text: str | bytes, *expected: str) -> Broken:
    return Broken({X: text}, expected)


def add(after: str, line: str) -> str:
    """GOOD with `line` inserted after the line starting with `after`."""
    return re.sub(
        rf"(?m)^({re.escape(after)}.*)$", lambda m: f"{m.group(1)}\n{line}", GOOD, count=1
    )


CORPUS: dict[str, Broken] = {
    # --- the front matter block itself
    "invalid yaml": case(
        GOOD.replace("lead: En kort indledning.", "lead: [uafsluttet"),
        f"{X}:5: invalid YAML in front matter: did not find expected ',' or ']' "
        "(while parsing a flow sequence at line 4)",
    ),
    "yaml that is not key: value": case(
        "---\n- en\n- liste\n---\nTekst\n", f"{X}:2: front matter must be 'key: value' lines"
    ),
    "a key given twice": case(
        add("lead:", "title: En anden titel"),
        f"{X}:5: title: appears twice (first at line 2); keep one",
    ),
    "front matter never closed": case(
        GOOD.replace("---\n\nBrødtekst", "\nBrødtekst"),
        f"{X}:1: front matter is never closed: add a '---' line after it",
    ),
    "no front matter": case(
        "Bare tekst.\n", f"{X}:1: no front matter: the file must start with a '---' line"
    ),
    "empty file": case("", f"{X}:1: file is empty; it needs front matter between '---' lines"),
    "only blank lines": case(
        "\n  \n\n", f"{X}:1: file is empty; it needs front matter between '---' lines"
    ),
    # --- fields
    "required fields missing": case(
        GOOD.replace("title: En god case\n", "").replace("lead: En kort indledning.\n", ""),
        f"{X}:1: lead: missing required field",
        f"{X}:1: title: missing required field",
    ),
    "required field left empty": case(
        GOOD.replace("lead: En kort indledning.", "lead:"),
        f"{X}:4: lead: missing required field",
    ),
    "date in words": case(
        GOOD.replace("date: 2020-03-01", "date: 1. marts 2020"),
        f"{X}:3: date: must be a date like 2013-05-14, not '1. marts 2020'",
    ),
    "impossible date": case(
        GOOD.replace("date: 2020-03-01", "date: 2020-02-30"),
        f"{X}:3: date: must be a date like 2013-05-14, not '2020-02-30'",
    ),
    "date as a list": case(
        GOOD.replace("date: 2020-03-01", "date: [2020-03-01]"),
        f"{X}:3: date: must be a date like 2013-05-14, not a list",
    ),
    "list as a mapping": case(
        GOOD.replace("tags: [samskabelse]", "tags: {a: 1}"),
        f"{X}:7: tags: must be a list, not a mapping",
    ),
    "list item that is a list": case(
        GOOD.replace("tags: [samskabelse]", "tags:\n  - ok\n  - [indlejret]"),
        f"{X}:9: tags: must be text, not a list",
    ),
    "bool in words": case(
        add("tags:", "draft: måske"), f"{X}:8: draft: must be true or false, not 'måske'"
    ),
    "title on two lines": case(
        GOOD.replace("title: En god case", 'title: "En god\\nBcc: x@example.org"'),
        f"{X}:2: title: must be a single line",
    ),
    "unknown key": case(
        GOOD.replace("tags:", "tgas:"), f"{X}:7: tgas: unknown field (did you mean 'tags'?)"
    ),
    "unknown level": case(
        GOOD.replace("level: lokalsamfund", "level: region"),
        f"{X}:6: level: must be one of individ, lokalsamfund, kommune, not 'region'",
    ),
    "image without alt text": case(
        add("tags:", "image: https://example.org/a.jpg"),
        f"{X}:8: image_alt: an image needs alt text: add image_alt describing it",
    ),
    "related item without url": case(
        add("tags:", "related:\n  - title: Mere"),
        f"{X}:8: related: each item needs exactly 'title' and 'url'",
    ),
    # --- slugs and URLs that could write outside output/
    "two cases with the same slug": Broken(
        {X: GOOD.replace("En god case", "Anden case")},
        (
            f"{X}:2: slug: 'anden-case' is already used by content/cases/good.md; set another 'slug'",
        ),
        alone=True,
    ),
    "a slug set to one in use": Broken(
        {X: add("tags:", "slug: anden-case")},
        (
            f"{X}:8: slug: 'anden-case' is already used by content/cases/good.md; set another 'slug'",
        ),
        alone=True,
    ),
    "slug climbing out with ../": case(
        add("tags:", "slug: ../../etc"),
        f"{X}:8: slug: must be lowercase a-z, 0-9 and '-', like 'etc'",
    ),
    "absolute slug": case(
        add("tags:", "slug: /etc/passwd"),
        f"{X}:8: slug: must be lowercase a-z, 0-9 and '-', like 'etc-passwd'",
    ),
    "percent-encoded slug": case(
        add("tags:", "slug: '%2e%2e'"),
        f"{X}:8: slug: must be lowercase a-z, 0-9 and '-', like '2e-2e'",
    ),
    "slug of dots": case(
        add("tags:", "slug: '..'"), f"{X}:8: slug: must be lowercase a-z, 0-9 and '-'"
    ),
    "title without letters": case(
        GOOD.replace("En god case", "'!!!'"), f"{X}:2: title: gives an empty slug; set 'slug'"
    ),
    "title too long for a file name": case(
        GOOD.replace("En god case", "lang " * 30),
        f"{X}:2: title: gives a slug of 149 characters; set a 'slug' of at most 120",
    ),
    "tag too long for a file name": case(
        GOOD.replace("[samskabelse]", "[" + "x" * 130 + "]"),
        f"{X}:7: tags: '{'x' * 40}'... is too long for a page name; keep it under 120 characters",
    ),
    "url pattern climbing out": Broken(
        {"sitegen.toml": "[urls]\ncase = '/../{slug}/'\n"},
        ("sitegen.toml:2: urls.case: must not contain '.', '..' or '//' segments",),
    ),
    "url pattern percent-encoded": Broken(
        {"sitegen.toml": "[urls]\ncase = '/%2e%2e/{slug}/'\n"},
        ("sitegen.toml:2: urls.case: must not contain '.', '..' or '//' segments",),
    ),
    "url pattern to another host": Broken(
        {"sitegen.toml": "[urls]\ntag = '//evil.example/{slug}/'\n"},
        ("sitegen.toml:2: urls.tag: must not contain '.', '..' or '//' segments",),
    ),
    "absolute output path": Broken(
        {"sitegen.toml": "[paths]\noutput = '/tmp/elsewhere'\n"},
        ("sitegen.toml:2: paths.output: must be a folder inside the site, without '..'",),
    ),
    "output path climbing out": Broken(
        {"sitegen.toml": "[paths]\noutput = '../ud'\n"},
        ("sitegen.toml:2: paths.output: must be a folder inside the site, without '..'",),
    ),
    "output into the content": Broken(
        {"sitegen.toml": "[paths]\noutput = 'content/ud'\n"},
        (
            "sitegen.toml:2: paths.output: must not overlap paths.content ('content'): "
            "each build replaces it whole",
        ),
    ),
    "output is the site": Broken(
        {"sitegen.toml": "[paths]\noutput = '.'\n"},
        ("sitegen.toml:2: paths.output: must be a folder inside the site, without '..'",),
    ),
    # --- bytes
    "invalid utf-8": case(
        GOOD.encode().replace(b"Aarhus", b"\xe6rhus"), f"{X}:5: file is not valid UTF-8 (byte 80)"
    ),
    "control character": case(
        GOOD.replace("Brødtekst", "Brød\x1btekst").encode(),
        f"{X}:10: file contains the invisible control character U+001B; remove it",
    ),
    "nul byte": case(
        GOOD.replace("En god", "En\x00god").encode(),
        f"{X}:2: file contains the invisible control character U+0000; remove it",
    ),
    "10 MB file": case(
        GOOD.encode() + b"tekst " * (10 * 2**20 // 6),
        f"{X}: file is 10.0 MB; a content file may be at most 5 MB "
        "(split it or move data out of it)",
    ),
    # --- symbolic links
    "symlink outside the site": Broken(
        {}, (f"{X}: symbolic link points outside the site",), links={X: OUTSIDE}
    ),
    "symlink loop": Broken(
        {},
        (
            f"{X}: symbolic link is broken or loops",
            "content/cases/y.md: symbolic link is broken or loops",
        ),
        links={X: "y.md", "content/cases/y.md": "x.md"},
    ),
    "broken symlink": Broken(
        {}, (f"{X}: symbolic link is broken or loops",), links={X: "findes-ikke.md"}
    ),
    "symlinked folder outside the site": Broken(
        {},
        ("content/cases/mere: symbolic link points outside the site",),
        links={"content/cases/mere": "{outside_dir}"},
    ),
    # --- links and images
    "link to a missing file": case(
        GOOD + "\nSe [den anden](findes-ikke.md).\n",
        f"{X}:12: link: 'findes-ikke.md' points to a file that does not exist",
    ),
    "image of a missing file": case(
        GOOD + "\n![Et billede](billede.png)\n",
        f"{X}:12: image: 'billede.png' points to a file that does not exist",
    ),
    "front matter image of a missing file": case(
        add("tags:", "image: billede.png\nimage_alt: Et billede"),
        f"{X}:8: image: 'billede.png' points to a file that does not exist",
    ),
    "related link to a missing case": case(
        add("tags:", "related:\n  - title: Mere\n    url: findes-ikke.md"),
        f"{X}:10: related: 'findes-ikke.md' points to a file that does not exist",
    ),
    "link that is not a URL": case(
        GOOD + "\n[et sted](http://[oops)\n", f"{X}:12: link: 'http://[oops' is not a valid URL"
    ),
    # --- templates
    "jinja syntax error": Broken(
        {"templates/case.html": "{% extends 'base.html' %}\n{% block content %}\n{% if %}\n"},
        (
            "templates/case.html:3: TemplateSyntaxError: Expected an expression, got 'end of "
            "statement block' (rendering /cases/anden-case/)",
        ),
    ),
    "undefined variable": Broken(
        {
            "templates/case.html": "{% extends 'base.html' %}\n{% block content %}\n{{ case.nope }}\n{% endblock %}\n"
        },
        (
            "templates/case.html:3: UndefinedError: 'sitegen.content.model.Case object' has no attribute "
            "'nope' (rendering /cases/anden-case/)",
        ),
    ),
    "undefined variable in a page template": Broken(
        {"templates/404.html": "{{ nope }}\n"},
        ("templates/404.html:1: UndefinedError: 'nope' is undefined (rendering /404.html)",),
    ),
    "missing template": Broken(
        {"templates/term.html": "{% include 'findes-ikke.html' %}\n"},
        (
            "templates/term.html:1: TemplateNotFound: no template 'findes-ikke.html' in "
            "templates/ (rendering /emner/samskabelse/ and 2 more pages)",
        ),
    ),
    # --- sitegen.toml
    "invalid toml": Broken(
        {"sitegen.toml": "[site\n"},
        (
            "sitegen.toml:1: invalid TOML: Expected ']' at the end of a table declaration "
            "(at line 1, column 6)",
        ),
    ),
    "toml unknown section": Broken(
        {"sitegen.toml": "[sitte]\n"},
        ("sitegen.toml:1: sitte: unknown section (did you mean 'site'?)",),
    ),
    "toml unknown key": Broken(
        {"sitegen.toml": "[site]\ntitel = 'x'\n"},
        ("sitegen.toml:2: site.titel: unknown key (did you mean 'title'?)",),
    ),
    "toml wrong type": Broken(
        {"sitegen.toml": "[site]\nbase_url = 5\n"},
        ("sitegen.toml:2: site.base_url: must be a string, not 5",),
    ),
    "toml bad values": Broken(
        {"sitegen.toml": "[pagination]\nper_page = 0\n[urls]\ncase = '/cases/'\n"},
        (
            "sitegen.toml:2: pagination.per_page: must be at least 1",
            "sitegen.toml:4: urls.case: must contain {slug}",
        ),
    ),
    "toml not utf-8": Broken(
        {"sitegen.toml": b"[site]\ntitle = '\xe6'\n"}, ("sitegen.toml:1: file is not valid UTF-8",)
    ),
    # --- output collisions
    "static file overwritten by a page": Broken(
        {"static/index.html": "<p>hej</p>\n"},
        ("static/index.html: is overwritten by the page /; rename it",),
    ),
}


def write_files(root: Path, files: Mapping[str, str | bytes], links: Mapping[str, str]) -> None:
    outside = root.parent / "outside"
    (outside / "folder").mkdir(parents=True, exist_ok=True)
    (outside / "case.md").write_text(GOOD.replace("En god", "Udefra"))
    (outside / "folder/case.md").write_text(GOOD.replace("En god", "Udefra"))
    for rel, content in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content, encoding="utf-8")
    for rel, target in links.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        target = target.replace(OUTSIDE, str(outside / "case.md"))
        os.symlink(target.replace("{outside_dir}", str(outside / "folder")), path)


def fingerprint(root: Path) -> dict[str, str]:
    """sha256 of every file of the site (symlinks by their target), output/ excluded.

    The build cache is excluded too: it is sitegen's own state, and a failed build may still
    remember the files it did parse.
    """
    found: dict[str, str] = {}
    for directory, subdirs, names in os.walk(root):
        subdirs[:] = [d for d in subdirs if d not in ("output", ".sitegen-cache")]
        for name in subdirs + names:
            path = Path(directory, name)
            rel = path.relative_to(root).as_posix()
            if path.is_symlink():
                found[rel] = "-> " + os.readlink(path)
            elif path.is_file() and not name.startswith(".output"):
                found[rel] = hashlib.sha256(path.read_bytes()).hexdigest()
    return found


def build_broken(root: Path, broken: Broken, capsys: pytest.CaptureFixture[str]) -> list[str]:
    """Build good, break, build again: returns the error lines after checking what must hold."""
    assert main(["build", "--site", str(root), "-q"]) == 0, capsys.readouterr().err
    before = read_tree(root / "output")
    assert before
    write_files(root, broken.files, broken.links)
    sources = fingerprint(root)

    assert main(["build", "--site", str(root), "-q"]) == 1
    captured = capsys.readouterr()
    assert captured.out == ""
    lines = captured.err.splitlines()
    count = len(lines) - 1
    assert lines[-1] == f"sitegen: {count} error{'s' if count != 1 else ''}; nothing was written"

    assert read_tree(root / "output") == before
    assert fingerprint(root) == sources
    assert sorted(p.name for p in root.iterdir() if p.name.startswith(".output")) == [
        ".output.lock"
    ]
    return lines[:-1]


@pytest.mark.parametrize("name", list(CORPUS))
def test_broken_site_reports_exact_errors(
    name: str, new_site: Callable[[dict[str, str]], Path], capsys: pytest.CaptureFixture[str]
) -> None:
    broken = CORPUS[name]
    root = new_site(dict(BASE))
    assert build_broken(root, broken, capsys) == list(broken.expected)


def test_every_error_of_many_files_in_one_run(
    new_site: Callable[[dict[str, str]], Path], capsys: pytest.CaptureFixture[str]
) -> None:
    """All single-case entries at once, each in its own file: one run lists every error."""
    files: dict[str, str | bytes] = {}
    links: dict[str, str] = {}
    expected: set[str] = set()
    for number, broken in enumerate(CORPUS.values()):
        paths = set(broken.files) | set(broken.links)
        if broken.alone or not paths <= {X, "content/cases/y.md"}:
            continue
        rename = f"content/cases/e{number:02}-"
        for rel, content in broken.files.items():
            # unique titles, so that cases valid enough to get a slug do not collide
            # (bytes entries fail before slugs and keep their byte offsets)
            unique = (
                content if isinstance(content, bytes) else content.replace("En god", f"{number}")
            )
            files[rel.replace("content/cases/", rename)] = unique
        for rel, target in broken.links.items():
            links[rel.replace("content/cases/", rename)] = target.replace(
                "y.md", f"e{number:02}-y.md"
            ).replace("x.md", f"e{number:02}-x.md")
        expected |= {line.replace("content/cases/", rename) for line in broken.expected}
    root = new_site(dict(BASE))
    errors = build_broken(root, Broken(files, (), links), capsys)
    assert len(expected) > 40
    assert sorted(errors) == sorted(expected)


def test_bom_and_crlf_build_fine(new_site: Callable[[dict[str, str]], Path]) -> None:
    root = new_site({})
    (root / "content/cases").mkdir(parents=True)
    (root / "content/cases/x.md").write_bytes(b"\xef\xbb\xbf" + GOOD.replace("\n", "\r\n").encode())
    (root / "content/cases/y.md").write_bytes(
        GOOD.replace("En god", "Gammel Mac").replace("\n", "\r").encode()
    )
    site = build_files(root, default_options()).site
    assert sorted(c.title for c in site.cases) == ["En god case", "Gammel Mac case"]
    assert all("<p>Brødtekst.</p>" in c.body_html for c in site.cases)


def test_symlinks_inside_the_site_are_followed_once(
    new_site: Callable[[dict[str, str]], Path],
) -> None:
    root = new_site({"content/cases/a.md": GOOD, "shared/b.md": GOOD.replace("En god", "Delt")})
    os.symlink("../../shared/b.md", root / "content/cases/b.md")
    os.symlink("..", root / "content/cases/loop")  # a folder loop inside the site
    site = build_files(root, default_options()).site
    assert sorted(c.title for c in site.cases) == ["Delt case", "En god case"]


def test_lines_count_from_the_top_of_the_file(new_site: Callable[[dict[str, str]], Path]) -> None:
    root = new_site({})
    (root / "content/cases").mkdir(parents=True)
    (root / "content/cases/x.md").write_text("\n\n" + GOOD.replace("date: 2020-03-01", "date: nu"))
    with pytest.raises(BuildError) as caught:
        build_files(root, default_options())
    assert [str(e) for e in caught.value.errors] == [
        "content/cases/x.md:5: date: must be a date like 2013-05-14, not 'nu'"
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
    with pytest.raises(BuildError) as caught:
        build_files(root, default_options())
    assert [str(e) for e in caught.value.errors] == [
        "content/cases/a.md:6: level: must be one of individ, lokalsamfund, kommune, not 'x'"
    ]
