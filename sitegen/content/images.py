"""Images in the model: which image files each document shows, and where it names them.

The rule for where images live: beside the Markdown file that uses them (in its folder or a
folder inside it), or in static/ for site-wide ones (written from the site root, `/logo.png`).
An image elsewhere in content/ is an error at the line that names it.
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Iterable
from typing import Any

from sitegen.config import Config
from sitegen.content.links import LinkResolver
from sitegen.content.markdown import PLACEHOLDER
from sitegen.content.model import ImageUse
from sitegen.content.parse import ParsedDoc
from sitegen.errors import ErrorList

# Raster files by extension: read, checked and re-encoded by the image stage.
RASTER_EXTENSIONS = frozenset(
    {".jpg", ".jpeg", ".png", ".gif", ".webp", ".avif", ".tif", ".tiff", ".bmp", ".heic", ".heif"}
)
IMAGE_EXTENSIONS = RASTER_EXTENSIONS | {".svg"}
MEDIA = "media/"  # where files beside the Markdown are published (content/x -> media/x)
_IMG_TAG = re.compile(r"<img\b[^>]*>")
_SRC = re.compile(r'\bsrc="([^"]*)"')
_WIDTH = re.compile(r'\bwidth="(\d+)"')


def is_image_file(path: str) -> bool:
    return posixpath.splitext(path)[1].lower() in IMAGE_EXTENSIONS


def is_raster_file(path: str) -> bool:
    return posixpath.splitext(path)[1].lower() in RASTER_EXTENSIONS


def body_images(doc: ParsedDoc, resolver: LinkResolver, errors: ErrorList) -> list[ImageUse]:
    """The image files a document's body shows, in order; misplaced ones reported."""
    shown = [ref for ref in doc.markdown.references if ref.image and ref.resolved]
    if not shown:  # the common case, found without looking at the body's HTML
        return []
    widths = _asked_widths(doc.markdown.html)
    uses: list[ImageUse] = []
    for ref in shown:
        if ref.resolved not in resolver.url_of:
            continue
        file = resolver.url_of[ref.resolved].lstrip("/")
        if not is_image_file(file):
            continue
        line = doc.line_of(ref.target)
        if _check_place(doc, file, ref.target, line, resolver.config, errors):
            href = resolver.site_url(resolver.url_of[ref.resolved])
            uses.append(ImageUse(href, file, doc.source.path, line, widths.get(ref.resolved)))
    return uses


def hero_image(
    doc: ParsedDoc,
    written: str,
    href: str,
    focus: tuple[float, float] | None,
    resolver: LinkResolver,
    errors: ErrorList,
) -> ImageUse | None:
    """A case's `image` (as written, and the href it resolved to), or None if it is misplaced."""
    line = doc.lines.get(("image",), doc.start_line)
    file = ""
    if "://" not in href:
        path = posixpath.normpath(posixpath.join("/" + posixpath.dirname(doc.source.path), written))
        site_path = resolver.url_of.get(path, "")
        file = site_path.lstrip("/") if is_image_file(site_path) else ""
        if file and not _check_place(doc, file, written, line, resolver.config, errors):
            return None
    return ImageUse(href, file, doc.source.path, line, None, focus, hero=True)


def _check_place(
    doc: ParsedDoc, file: str, written: str, line: int, config: Config, errors: ErrorList
) -> bool:
    """True when `file` (inside output/) lies where images of `doc` belong."""
    if not file.startswith(MEDIA):
        return True  # from static/: a site-wide image
    source = f"{config.paths.content}/{file[len(MEDIA) :]}"
    folder = posixpath.dirname(doc.source.path)
    if posixpath.dirname(source) == folder or source.startswith(folder + "/"):
        return True
    errors.add(
        doc.source.path,
        line,
        "image",
        f"{written!r} is in {posixpath.dirname(source)}/; put images beside the Markdown file "
        f"that uses them (in {folder}/), or site-wide ones in {config.paths.static}/",
    )
    return False


def _asked_widths(html: str) -> dict[str, int]:
    """Site path -> the width the body asks an image to be shown at ({: width="300" })."""
    found: dict[str, int] = {}
    for tag in _IMG_TAG.findall(html):
        src, width = _SRC.search(tag), _WIDTH.search(tag)
        if src and width and src[1].startswith(PLACEHOLDER):
            found.setdefault(src[1][len(PLACEHOLDER) :].split("#")[0], int(width[1]))
    return found


def document_images(
    entries: Iterable[tuple[ParsedDoc, dict[str, Any]]],
    heroes: dict[str, str],
    shown: set[str],
    resolver: LinkResolver,
    errors: ErrorList,
) -> tuple[ImageUse, ...]:
    """Every image the shown documents use: a case's `image` first, then its body's.

    `heroes` maps a case's source path to the href its `image` resolved to. Misplaced images
    are reported for every document, shown or not.
    """
    uses: list[ImageUse] = []
    for doc, values in entries:
        found: list[ImageUse] = []
        href = heroes.get(doc.source.path)
        if href and href != "#":
            focus = values.get("image_focus")
            hero = hero_image(doc, values["image"], href, focus, resolver, errors)
            found += [hero] if hero else []
        found += body_images(doc, resolver, errors)
        if doc.source.path in shown:
            uses += found
    return tuple(uses)
