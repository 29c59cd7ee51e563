"""`sitegen new case|page|newsletter "Titel"`: a new content file with complete front matter.

A new case or page is a draft with clearly marked placeholders (UDFYLD), so the site still
builds while the editor writes; `sitegen check` warns about placeholders left in published
content. The file name is the Danish slug of the title; an existing file is never replaced.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

import frontmatter
import yaml

from sitegen.arguments import EXIT_ERRORS, EXIT_OK, site_root
from sitegen.clock import build_date
from sitegen.config import load_config
from sitegen.content.load import CONTENT_KINDS
from sitegen.content.slugs import short_slug, slugify
from sitegen.errors import ErrorList, UsageError

PLACEHOLDER = "UDFYLD"
FOLDERS = {kind: folder for folder, kind in CONTENT_KINDS.items()}

# YAML comments python-frontmatter cannot write: appended to the line of the key.
_COMMENTS = {
    "level": "individ, lokalsamfund eller kommune",
    "tags": "emner, fx [samskabelse, lokaldemokrati]",
    "draft": "slet linjen, når teksten skal udgives",
    "cases": "since-last: de cases, der er udkommet siden sidste nummer",
}


def case_document(title: str) -> tuple[dict[str, Any], str]:
    meta = {
        "title": title,
        "date": build_date(),
        "lead": f"{PLACEHOLDER}: en kort indledning på højst 300 tegn, som vises i oversigterne.",
        "municipality": f"{PLACEHOLDER}: kommunens navn, fx Holbæk Kommune",
        "level": "kommune",
        "tags": [],
        "authors": ["Center for Borgerdialog"],
        "draft": True,
    }
    body = (
        f"{PLACEHOLDER}: Skriv casens første afsnit her. Hvem gjorde hvad, hvor og hvorfor?\n\n"
        "## Mellemoverskrift\n\n"
        f"{PLACEHOLDER}: Skriv videre her. Mellemoverskrifter starter med ##.\n"
    )
    return meta, body


def page_document(title: str) -> tuple[dict[str, Any], str]:
    meta = {
        "title": title,
        "lead": f"{PLACEHOLDER}: en kort indledning, som også bruges som sidens beskrivelse.",
        "draft": True,
    }
    return meta, f"{PLACEHOLDER}: Skriv sidens tekst her.\n"


def newsletter_document(title: str) -> tuple[dict[str, Any], str]:
    meta = {"title": title, "date": build_date(), "cases": "since-last", "draft": True}
    body = (
        "Kære læser\n\n"
        f"{PLACEHOLDER}: Skriv en kort indledning til nyhedsbrevet her.\n\n"
        "## Nyt fra centret\n\n"
        f"{PLACEHOLDER}: Fortæl om nyt fra Center for Borgerdialog.\n"
    )
    return meta, body


DOCUMENTS = {"case": case_document, "page": page_document, "newsletter": newsletter_document}


def render_document(meta: dict[str, Any], body: str) -> str:
    """Front matter (through python-frontmatter, so titles are quoted right) and body."""
    post = frontmatter.Post(body, **meta)
    # The pure-Python dumper writes emoji and other non-BMP characters as themselves.
    text = frontmatter.dumps(post, sort_keys=False, Dumper=yaml.SafeDumper, width=1000)
    lines = []
    for line in text.split("\n"):
        key = line.split(":", 1)[0]
        if key in _COMMENTS and not line.startswith(" ") and ":" in line:
            line = f"{line}  # {_COMMENTS[key]}"
        lines.append(line)
    return "\n".join(lines).rstrip("\n") + "\n"


def add_new(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("kind", choices=sorted(DOCUMENTS), help="what to create")
    parser.add_argument("title", help='the title, e.g. "Borgerbudget i Ærø"')
    parser.add_argument(
        "--site",
        metavar="DIR",
        help="site root (the folder with sitegen.toml); default: current folder",
    )


def run_new(args: argparse.Namespace) -> int:
    root = site_root(args)
    title = " ".join(args.title.split())
    slug = short_slug(title)
    if not slug:
        raise UsageError(f"the title {args.title!r} gives no file name; use letters or digits")
    config = load_config(root, ErrorList())
    folder = config.path("content") / FOLDERS[args.kind]
    path = folder / f"{slug}.md"
    shown = _shown(path, root)
    meta, body = DOCUMENTS[args.kind](title)
    if args.kind != "newsletter" and slug != slugify(title):  # the title's slug is too long
        meta = {**dict(list(meta.items())[:1]), "slug": slug, **meta}
    try:
        folder.mkdir(parents=True, exist_ok=True)
        with open(path, "x", encoding="utf-8") as handle:
            handle.write(render_document(meta, body))
    except FileExistsError:
        print(f"sitegen: {shown} already exists; not replacing it", file=sys.stderr)
        return EXIT_ERRORS
    except OSError as exc:
        print(f"sitegen: could not create {shown}: {exc.strerror or exc}", file=sys.stderr)
        return EXIT_ERRORS
    print(f"Created {shown}")
    return EXIT_OK


def _shown(path: Path, root: Path) -> str:
    return path.relative_to(root).as_posix() if path.is_relative_to(root) else str(path)
