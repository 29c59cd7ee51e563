"""The benchmark corpus laid out for Hugo, Pelican and MkDocs.

Each peer gets the same cases as sitegen (same seed) with comparable output:
a page per case, a home page, a case list, a tag index and a page per tag.

Usage: python bench/peers.py --n 1000 --out DIR [--seed 1] [--with-sitegen]
writes DIR/hugo, DIR/pelican and DIR/mkdocs (and DIR/sitegen with --with-sitegen).
"""

from __future__ import annotations

import argparse
import json
import re
from collections import defaultdict
from pathlib import Path

from corpus import Case, front_matter, make_cases, slugify, write_sitegen

LINK_RE = re.compile(r"\]\(([a-z0-9-]+)\.md\)")

# ---------------------------------------------------------------------------
# Hugo
# ---------------------------------------------------------------------------

HUGO_CONFIG = """\
baseURL = "https://example.org/"
title = "Bench"
locale = "da"
defaultContentLanguage = "da"
disableKinds = ["rss", "sitemap", "robotstxt"]

[taxonomies]
  tag = "tags"

[markup.goldmark.renderHooks.link]
  useEmbedded = "fallback"
"""

HUGO_LAYOUTS = {
    "baseof.html": """\
<!doctype html>
<html lang="da">
<head>
<meta charset="utf-8">
<title>{{ .Title }} – {{ site.Title }}</title>
</head>
<body>
<header><a href="{{ "/" | relURL }}">{{ site.Title }}</a>
<nav><a href="{{ "/cases/" | relURL }}">Cases</a> <a href="{{ "/tags/" | relURL }}">Emner</a></nav>
</header>
<main>{{ block "main" . }}{{ end }}</main>
</body>
</html>
""",
    "home.html": """\
{{ define "main" }}
<h1>{{ site.Title }}</h1>
<ul>
{{ range first 10 (where site.RegularPages "Section" "cases").ByDate.Reverse }}
<li><a href="{{ .RelPermalink }}">{{ .Title }}</a> {{ .Date.Format "2006-01-02" }}
<p>{{ .Params.lead }}</p></li>
{{ end }}
</ul>
{{ end }}
""",
    # The indexed region and filters match sitegen's case page (templates/case.html): title,
    # lead and body are indexed; date, municipality, level, tags and authors are not, but
    # give Pagefind the same meta (dato) and filters (kommune, niveau, emne).
    "single.html": """\
{{ define "main" }}
<article data-pagefind-body>
<h1>{{ .Title }}</h1>
<p data-pagefind-ignore><time data-pagefind-meta="dato">{{ .Date.Format "2006-01-02" }}</time>
· <span data-pagefind-filter="kommune">{{ .Params.municipality }}</span>
· <span data-pagefind-filter="niveau">{{ .Params.level }}</span></p>
<p data-pagefind-ignore>{{ delimit .Params.authors ", " }}</p>
<p class="lead">{{ .Params.lead }}</p>
{{ .Content }}
<ul class="tags" data-pagefind-ignore>
{{ range .GetTerms "tags" -}}
<li><a href="{{ .RelPermalink }}" data-pagefind-filter="emne">{{ .LinkTitle }}</a></li>
{{- end }}
</ul>
</article>
{{ end }}
""",
    "list.html": """\
{{ define "main" }}
<h1>{{ .Title }}</h1>
<ul>
{{ range .Pages.ByDate.Reverse }}
<li><a href="{{ .RelPermalink }}">{{ .Title }}</a> {{ .Date.Format "2006-01-02" }}
<p>{{ .Params.lead }}</p></li>
{{ end }}
</ul>
{{ end }}
""",
    "taxonomy.html": """\
{{ define "main" }}
<h1>{{ .Title }}</h1>
<ul>
{{ range .Data.Terms.Alphabetical }}
<li><a href="{{ .Page.RelPermalink }}">{{ .Page.LinkTitle }}</a> ({{ .Count }})</li>
{{ end }}
</ul>
{{ end }}
""",
    "term.html": """\
{{ define "main" }}
<h1>{{ .Title }}</h1>
<ul>
{{ range .Pages.ByDate.Reverse }}
<li><a href="{{ .RelPermalink }}">{{ .Title }}</a> {{ .Date.Format "2006-01-02" }}</li>
{{ end }}
</ul>
{{ end }}
""",
}


def write_hugo(cases: list[Case], out: Path) -> None:
    """Hugo site with its own minimal layouts; links resolved by the link render hook."""
    cases_dir = out / "content" / "cases"
    cases_dir.mkdir(parents=True, exist_ok=True)
    cache_dir = (out / ".hugo-cache").resolve()
    config = f"cacheDir = {json.dumps(str(cache_dir))}\n" + HUGO_CONFIG
    (out / "hugo.toml").write_text(config, encoding="utf-8")
    layouts = out / "layouts"
    layouts.mkdir(exist_ok=True)
    for name, text in HUGO_LAYOUTS.items():
        (layouts / name).write_text(text, encoding="utf-8")
    (out / "content" / "_index.md").write_text('---\ntitle: "Bench"\n---\n', encoding="utf-8")
    (cases_dir / "_index.md").write_text('---\ntitle: "Cases"\n---\n', encoding="utf-8")
    for case in cases:
        text = front_matter(case) + case.body
        (cases_dir / f"{case.slug}.md").write_text(text, encoding="utf-8")


# ---------------------------------------------------------------------------
# Pelican
# ---------------------------------------------------------------------------

PELICAN_CONF = """\
import os

HERE = os.path.dirname(os.path.abspath(__file__))
AUTHOR = "Bench"
SITENAME = "Bench"
SITEURL = ""
RELATIVE_URLS = True
PATH = "content"
THEME = os.path.join(HERE, "theme")
TIMEZONE = "Europe/Copenhagen"
DEFAULT_LANG = "da"
DEFAULT_PAGINATION = False

CACHE_CONTENT = True
LOAD_CONTENT_CACHE = True
CACHE_PATH = os.path.join(HERE, "cache")

MARKDOWN = {
    "extension_configs": {
        "markdown.extensions.extra": {},
        "markdown.extensions.toc": {},
        "markdown.extensions.smarty": {},
    },
    "output_format": "html5",
}

ARTICLE_URL = "cases/{slug}/"
ARTICLE_SAVE_AS = "cases/{slug}/index.html"
TAG_URL = "tags/{slug}/"
TAG_SAVE_AS = "tags/{slug}/index.html"
TAGS_SAVE_AS = "tags/index.html"
CASES_SAVE_AS = "cases/index.html"
INDEX_SAVE_AS = "index.html"
DIRECT_TEMPLATES = ["index", "tags", "cases"]

# Only what the other tools build: no feeds, authors, categories or archives.
FEED_ALL_ATOM = None
CATEGORY_FEED_ATOM = None
TRANSLATION_FEED_ATOM = None
AUTHOR_FEED_ATOM = None
AUTHOR_FEED_RSS = None
AUTHOR_SAVE_AS = ""
AUTHORS_SAVE_AS = ""
CATEGORY_SAVE_AS = ""
CATEGORIES_SAVE_AS = ""
ARCHIVES_SAVE_AS = ""
YEAR_ARCHIVE_SAVE_AS = ""
MONTH_ARCHIVE_SAVE_AS = ""
DAY_ARCHIVE_SAVE_AS = ""
PAGE_SAVE_AS = ""
DRAFT_SAVE_AS = ""
STATIC_PATHS = []
"""

PELICAN_TEMPLATES = {
    "base.html": """\
<!doctype html>
<html lang="da">
<head>
<meta charset="utf-8">
<title>{% block title %}{{ SITENAME }}{% endblock %}</title>
</head>
<body>
<header><a href="{{ SITEURL }}/">{{ SITENAME }}</a>
<nav><a href="{{ SITEURL }}/cases/">Cases</a> <a href="{{ SITEURL }}/tags/">Emner</a></nav>
</header>
<main>{% block content %}{% endblock %}</main>
</body>
</html>
""",
    "index.html": """\
{% extends "base.html" %}
{% block content %}
<h1>{{ SITENAME }}</h1>
<ul>
{% for article in articles[:10] %}
<li><a href="{{ SITEURL }}/{{ article.url }}">{{ article.title }}</a>
{{ article.date.strftime("%Y-%m-%d") }}<p>{{ article.summary }}</p></li>
{% endfor %}
</ul>
{% endblock %}
""",
    "cases.html": """\
{% extends "base.html" %}
{% block title %}Cases – {{ SITENAME }}{% endblock %}
{% block content %}
<h1>Cases</h1>
<ul>
{% for article in articles %}
<li><a href="{{ SITEURL }}/{{ article.url }}">{{ article.title }}</a>
{{ article.date.strftime("%Y-%m-%d") }}<p>{{ article.summary }}</p></li>
{% endfor %}
</ul>
{% endblock %}
""",
    "article.html": """\
{% extends "base.html" %}
{% block title %}{{ article.title }} – {{ SITENAME }}{% endblock %}
{% block content %}
<article>
<h1>{{ article.title }}</h1>
<p>{{ article.date.strftime("%Y-%m-%d") }} · {{ article.municipality }} · {{ article.level }}</p>
<p>{{ article.authors | join(", ") }}</p>
<p class="lead">{{ article.summary }}</p>
{{ article.content }}
<ul class="tags">
{% for tag in article.tags %}
<li><a href="{{ SITEURL }}/{{ tag.url }}">{{ tag }}</a></li>
{% endfor %}
</ul>
</article>
{% endblock %}
""",
    "tags.html": """\
{% extends "base.html" %}
{% block title %}Emner – {{ SITENAME }}{% endblock %}
{% block content %}
<h1>Emner</h1>
<ul>
{% for tag, tag_articles in tags | sort %}
<li><a href="{{ SITEURL }}/{{ tag.url }}">{{ tag }}</a> ({{ tag_articles | count }})</li>
{% endfor %}
</ul>
{% endblock %}
""",
    "tag.html": """\
{% extends "base.html" %}
{% block title %}{{ tag }} – {{ SITENAME }}{% endblock %}
{% block content %}
<h1>{{ tag }}</h1>
<ul>
{% for article in articles %}
<li><a href="{{ SITEURL }}/{{ article.url }}">{{ article.title }}</a>
{{ article.date.strftime("%Y-%m-%d") }}</li>
{% endfor %}
</ul>
{% endblock %}
""",
}


def pelican_meta(case: Case) -> str:
    """Pelican's own `Key: value` metadata header (its Markdown reader takes no YAML)."""
    return (
        f"Title: {case.title}\n"
        f"Date: {case.date.isoformat()}\n"
        f"Slug: {case.slug}\n"
        f"Summary: {case.lead}\n"
        f"Municipality: {case.municipality}\n"
        f"Level: {case.level}\n"
        f"Tags: {', '.join(case.tags)}\n"
        f"Authors: {', '.join(case.authors)}\n\n"
    )


def write_pelican(cases: list[Case], out: Path) -> None:
    """Pelican site with a theme of its own; links rewritten to {filename}other.md."""
    cases_dir = out / "content" / "cases"
    cases_dir.mkdir(parents=True, exist_ok=True)
    (out / "pelicanconf.py").write_text(PELICAN_CONF, encoding="utf-8")
    templates = out / "theme" / "templates"
    templates.mkdir(parents=True, exist_ok=True)
    (out / "theme" / "static").mkdir(exist_ok=True)
    for name, text in PELICAN_TEMPLATES.items():
        (templates / name).write_text(text, encoding="utf-8")
    for case in cases:
        body = LINK_RE.sub(r"]({filename}\1.md)", case.body)
        (cases_dir / f"{case.slug}.md").write_text(pelican_meta(case) + body, encoding="utf-8")


# ---------------------------------------------------------------------------
# MkDocs
# ---------------------------------------------------------------------------

# A short nav: with nav omitted MkDocs puts every page into every page's
# navigation, which makes the output grow with N squared (gigabytes at 10,000).
MKDOCS_YML = """\
site_name: Bench
site_url: https://example.org/
docs_dir: docs
site_dir: out
theme:
  name: mkdocs
markdown_extensions:
  - tables
  - footnotes
  - toc
  - smarty
nav:
  - Forside: index.md
  - Cases: cases/index.md
  - Emner: tags/index.md
"""


def case_item(case: Case, prefix: str) -> str:
    return f"- [{case.title}]({prefix}{case.slug}.md) {case.date.isoformat()}"


def write_mkdocs(cases: list[Case], out: Path) -> None:
    """MkDocs site; home, case list and tag pages are written as Markdown."""
    docs = out / "docs"
    (docs / "cases").mkdir(parents=True, exist_ok=True)
    (docs / "tags").mkdir(exist_ok=True)
    (out / "mkdocs.yml").write_text(MKDOCS_YML, encoding="utf-8")
    by_date = sorted(cases, key=lambda c: (c.date, c.slug), reverse=True)
    latest = "\n".join(case_item(c, "cases/") for c in by_date[:10])
    (docs / "index.md").write_text(f"# Bench\n\n{latest}\n", encoding="utf-8")
    listing = "\n".join(case_item(c, "") for c in by_date)
    (docs / "cases" / "index.md").write_text(f"# Cases\n\n{listing}\n", encoding="utf-8")
    tagged: dict[str, list[Case]] = defaultdict(list)
    for case in by_date:
        for tag in case.tags:
            tagged[tag].append(case)
    index = [f"- [{tag}]({slugify(tag)}.md) ({len(tagged[tag])})" for tag in sorted(tagged)]
    (docs / "tags" / "index.md").write_text("# Emner\n\n" + "\n".join(index) + "\n", "utf-8")
    for tag, members in tagged.items():
        items = "\n".join(case_item(c, "../cases/") for c in members)
        (docs / "tags" / f"{slugify(tag)}.md").write_text(f"# {tag}\n\n{items}\n", "utf-8")
    for case in cases:
        text = front_matter(case) + f"# {case.title}\n\n" + case.body
        (docs / "cases" / f"{case.slug}.md").write_text(text, encoding="utf-8")


WRITERS = {"hugo": write_hugo, "pelican": write_pelican, "mkdocs": write_mkdocs}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=1000, help="number of cases")
    parser.add_argument("--out", type=Path, required=True, help="folder for the three sites")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--with-sitegen", action="store_true", help="also write DIR/sitegen")
    args = parser.parse_args()
    cases = make_cases(args.n, args.seed)
    if args.with_sitegen:
        write_sitegen(cases, args.out / "sitegen")
    for name, write in WRITERS.items():
        write(cases, args.out / name)


if __name__ == "__main__":
    main()
