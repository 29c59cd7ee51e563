"""Per-document feature selection renders exactly what the full Markdown instance renders.

`MarkdownRenderer` converts each body with only the extensions and inline patterns its
text could use; these tests compare it with `select_features=False` (everything loaded)
on the benchmark corpus, the repository's content, hand-picked edge cases and
generated documents.
"""

from __future__ import annotations

import functools
from pathlib import Path

import pytest
from conftest import REPO, SITES
from hypothesis import given, settings
from hypothesis import strategies as st
from test_fuzz import FUZZ

from bench.corpus import make_cases
from sitegen.content.markdown import MarkdownRenderer, RenderedMarkdown
from sitegen.content.markdown_features import ALL_FEATURES, features_of

PATH = "content/cases/valg.md"


@functools.cache
def renderers() -> tuple[MarkdownRenderer, MarkdownRenderer]:
    """(selecting, full): shared, as in a build, so cached instances meet many documents."""
    return MarkdownRenderer(), MarkdownRenderer(select_features=False)


def both(text: str) -> tuple[RenderedMarkdown, RenderedMarkdown]:
    selecting, full = renderers()
    return selecting.render(text, PATH), full.render(text, PATH)


def assert_same(text: str) -> None:
    selected, full = both(text)
    assert selected == full, f"{text!r}: {features_of(text)}"


REPOSITORY_MARKDOWN = sorted([*(REPO / "content").rglob("*.md"), *SITES.rglob("*.md")])


def test_benchmark_corpus_renders_the_same() -> None:
    cases = make_cases(300, seed=1)
    assert len(cases) == 300
    for case in cases:
        assert_same(case.body)


@pytest.mark.parametrize(
    "path", REPOSITORY_MARKDOWN, ids=[str(path.relative_to(REPO)) for path in REPOSITORY_MARKDOWN]
)
def test_repository_content_renders_the_same(path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    assert_same(text)  # front matter and all
    assert_same(text.split("\n---\n", 1)[-1])  # the body


def test_repository_content_is_found() -> None:
    """An empty parameter list would make the test above skip itself instead of failing."""
    found = {path.relative_to(REPO).as_posix() for path in REPOSITORY_MARKDOWN}
    assert "content/cases/holbaek-eksperimenterer-med-demokrati.md" in found
    assert any(path.startswith("tests/sites/basic/content/") for path in found)


# Where leaving a feature out is easy to get wrong: raw HTML joining text and adding line
# breaks, container markers, CR, tabs and STX/ETX, which the parser handles first.
@pytest.mark.parametrize(
    "text",
    [
        "foo\n  <div>x</div>\n",  # the raw-HTML step adds a line break after two spaces
        "<div>a</div> x <!--c--> <!--d-->\nfoo",  # ... and cuts comments out of the tail
        "<div>a</div>!<!-- c -->[x](y.png)\n",  # which joins `!` and `[`
        "<div>a</div>[<!-- c -->^1]\n\n[^1]: x\n",
        "<div>a</div>*<!--c-->[HTML]: Hyper\n\nHTML",
        "<div>a</div>[r]<!--c-->: /u\n\n[r]\n",
        "<div>x</div>: def\n",  # a raw block's tail starts a block mid-line
        "<div>x</div> <span\nclass=a><p>z</p>\n",  # md_in_html without a markdown attribute
        '```python hl_lines="1"\nx\n```\n',  # fenced_code asks whether attr_list is loaded
        "[^1]: : def\n\nx[^1]",
        "Term\n> : def",
        "- Term\n\n    : def",
        "> Term\n>\n> : def",  # a definition once the quote markers are stripped
        "1. Term\n\n    ٣. : d",  # `\d` is any Unicode digit
        "Term\n:\tdef",
        "x  ",
        "a\t\nb",
        "_x_ og __y__",
        "a \r\nb",
        "a \rb",
        "a  \x02\nb",
        "Term\r: def",
        "[^\x031]: x\n\ny[^1]",
        '<div markdown="1">*x*</div>',
        '<DIV MarkDown="1">\nTerm\n: def\n</DIV>',
        "<div mar\u212adown>_x_</div>",  # KELVIN SIGN lowercases to k
        "[a]\n\n[a]: /u",
        "![a]\n\n[a]: /u.png",
        "*[HTML]: Hyper\n\nHTML x",
        "&copy &#123 &",
        "\\| a | b\n--|--\n1 | 2",
    ],
)
def test_edge_cases_render_the_same(text: str) -> None:
    assert_same(text)


def test_plain_text_needs_only_what_it_uses() -> None:
    assert features_of("Borgerne mødtes: [se også](anden.md).\n") == {"link"}
    assert features_of("Tekst\n\n| a | b |\n|---|---|\n") == {"tables"}
    assert "def_list" in features_of("Term\n: definition")
    assert "def_list" not in features_of("Bemærk: ingen definition her")
    assert features_of('<p markdown="1">x</p>') == ALL_FEATURES


def test_documents_with_the_same_needs_share_an_instance() -> None:
    renderer = MarkdownRenderer()
    first = renderer.render("Et [link](a.md).", PATH)
    second = renderer.render("Et andet [link](b.md).", PATH)
    assert [r.target for r in first.references] == ["a.md"]
    assert [r.target for r in second.references] == ["b.md"]
    assert len(renderer._instances) == 1


SNIPPETS = [
    # tables
    "| a | b |\n|:--|--:|\n| 1 | 2 |",
    "a | b\n--- | ---\n1 | 2",
    "| x |\n|---|\n| `a|b` |",
    # footnotes
    "note[^1]",
    "[^1]: fodnote",
    "[^2]:\n    indrykket *fodnote*\n\n    anden blok",
    "[^1]: Term\n    : def",
    # attribute lists
    "## Overskrift {: #id .klasse }",
    "{: .x}",
    "*x*{: .c} og [l](a.md){: title=t }",
    # definition lists
    "Term\n: definition",
    ": definition",
    "Term\n:    mere",
    "> Term\n> : def",
    "- Term\n\n    : def",
    "1. Term\n   : def",
    "Bemærk: ikke en definition",
    # fenced code
    "```\nkode *x*\n```",
    "~~~python\nx = [1]\n~~~",
    '```python hl_lines="1"\nx\n```',
    "``` { .py #kode }\nx\n```",
    # abbreviations
    "*[HTML]: Hyper Text Markup Language",
    "HTML og CSS",
    # Markdown in HTML
    '<div markdown="1">*x* og [l](a.md)</div>',
    '<div markdown="1">\nTerm\n: def\n</div>',
    "<section markdown>\n> citat\n</section>",
    # raw HTML
    "<div>x</div>",
    "<div>\n<p>a</p>\n</div>",
    "<span\nclass=a>",
    "<!-- kommentar -->",
    "<hr>",
    "<?php echo 1; ?>",
    "<![CDATA[x]]>",
    "<b>fed</b>",
    "<br/>",
    '<a href="javascript:alert(1)">x</a>',
    "<",
    "a < b > c",
    # entities and escapes
    "&amp; &#123; &#x41; &copy &",
    "R&D",
    "\\* \\[ \\\\ \\| \\{ \\` \\_",
    "\\",
    # autolinks
    "<https://x.dk>",
    "<a@b.dk>",
    "<mailto:a@b.dk>",
    # hard line breaks
    "a  \nb",
    "a\t\nb",
    "a \nb",
    "a\\\nb",
    # emphasis
    "*x*",
    "**x**",
    "_x_",
    "__x__",
    "***x***",
    "x_y_z",
    "*",
    "_",
    # images and links
    "![billede](billede.png)",
    "![alt][ref]",
    "![ref]",
    "!",
    "[tekst][ref]",
    "[ref]",
    "[ref][]",
    "[r] og [x][r]",
    '[ref]: https://x.dk "Titel"',
    "[ref]:\n  /sti",
    "[se også](anden.md#afsnit)",
    "[",
    "]",
    "]:",
    ":",
    # code spans
    "`kode`",
    "``a`b``",
    "`",
    # text
    "æøå ÆØÅ Ærø",
    '"citat" - streg ... -- ---',
    "'enkelt'",
    "# Titel",
    "Titel\n=====",
    "- punkt\n    - underpunkt",
    "1. nummer",
    "٣. nummer",
    "> citat",
    "***",
    "    indrykket kode",
    # characters the parser treats specially
    "\x02wzxhzdk:0\x03",
    "\x02",
    "\x03",
    "\u2028\u2029\x85",
    "markdown",
    "mar\u212adown",
]
CONTAINERS = st.sampled_from(["", "", "", "> ", "- ", "1. ", "    ", "   ", "\t", "[^1]: "])
SEPARATORS = st.sampled_from(
    ["\n", "\n\n", "\n\n", " ", "", "\r\n", "\r", "  \r", "\t\n", "  \n", " \n", "  \x02\n"]
)
SPECIAL = st.text(
    alphabet=st.sampled_from(list("*_[]()!>&\\`|{}:^~#-+.=\"' \t\n\rabæ0123/@")), max_size=30
)
# After a raw HTML block, the rest of its line is a new block, and comments, empty tags
# and entities on it are moved into the block: what is left joins up (`!` `<!--c-->`
# `[x](y.png)` is an image).
RAW_BLOCKS = st.sampled_from(["<div>a</div>", "<p>a</p>", "<hr>", "<!--c-->"])
MOVED = st.sampled_from(["", "<!--c-->", "<hr>", "&amp;", "<br>"])
PIECES = st.sampled_from(
    [
        "!",
        "[",
        "^1]",
        "[x](y.png)",
        "*",
        "[HTML]: Hyper",
        "[r]",
        ": /u",
        ": def",
        " ",
        "  ",
        "x",
        "<b\n>",
        "<p>z</p>",
    ]
)
TAIL = st.tuples(
    st.sampled_from(["", "  ", "   "]), RAW_BLOCKS, st.lists(st.tuples(PIECES, MOVED), max_size=6)
).map(lambda tail: "\n" + tail[0] + tail[1] + "".join(p + moved for p, moved in tail[2]))
PLAIN_SNIPPETS = [snippet for snippet in SNIPPETS if "<" not in snippet]
PLAIN_PART = st.tuples(CONTAINERS, st.sampled_from(PLAIN_SNIPPETS) | SPECIAL, SEPARATORS)
HTML_PART = st.tuples(CONTAINERS, st.sampled_from(SNIPPETS) | TAIL | SPECIAL, SEPARATORS)
# Raw HTML makes most features count as possible, so half the documents have none.
DOCUMENTS = (
    st.lists(PLAIN_PART, min_size=1, max_size=16) | st.lists(HTML_PART, min_size=1, max_size=16)
).map(lambda parts: "".join(container + text + separator for container, text, separator in parts))


@settings(FUZZ, max_examples=FUZZ.max_examples * 10)
@given(text=DOCUMENTS)
def test_generated_documents_render_the_same(text: str) -> None:
    assert_same(text)
