"""Pictures: which copies of each image a site publishes, and the markup that shows them.

From the facts of each image file (render/images.py) this plans its derivatives (a fixed
ladder of widths in AVIF, WebP and JPEG or PNG, never wider than the source; a 1200x630 share
picture for a case image) and describes each as a `Picture` for the templates: `<picture>`
with `srcset` and `sizes`, `width` and `height` on every `<img>`, and the JPEG or PNG copy
that emails show. Planning needs no pixels, so `sitegen check` renders with it too.
"""

from __future__ import annotations

import dataclasses
import html
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

import jinja2
from markupsafe import Markup, escape

from sitegen.content.model import (
    Case,
    CaseCard,
    ImageUse,
    NewsletterIssue,
    Page,
    Site,
    TermListing,
)
from sitegen.render.files import Route
from sitegen.render.images import (
    MIME_TYPES,
    ImageInfo,
    clean_copy,
    crop,
    encode,
    resize,
    upright,
)

if TYPE_CHECKING:
    from PIL import Image

LADDER = (480, 800, 1200, 1600)  # widths of the copies pages choose from (srcset)
EMAIL_WIDTH = 1200  # the email's copy: sharp in a 600 px column on high-density screens
EMAIL_COLUMN = 552  # the email's content column (600 px minus its padding)
SHARE_SIZE = (1200, 630)  # Open Graph and Twitter cards
CENTRE = (0.5, 0.5)
# How wide each kind of picture is shown: the theme's reading column is 41rem from 62rem up
# and the page less its margins below; cards fill a column of a grid of up to three.
SIZES = {
    "hero": "(min-width: 62rem) 41rem, calc(100vw - 2rem)",
    "body": "(min-width: 62rem) 41rem, calc(100vw - 2rem)",
    "card": "(min-width: 76rem) 24rem, (min-width: 62rem) 30vw, (min-width: 40rem) 45vw, "
    "calc(100vw - 2rem)",
}
_EXTENSIONS = {"avif": "avif", "webp": "webp", "jpeg": "jpg", "png": "png"}
_IMG = re.compile(r"<img\b[^>]*>")
_ATTRIBUTE = re.compile(r'([a-zA-Z_:][-a-zA-Z0-9_:.]*)="([^"]*)"')
_LAZY = ' loading="lazy" decoding="async"'


@dataclass(frozen=True)
class Derivative:
    """One published copy of an image file: made from `file`, written to `path`."""

    file: str  # the source's path inside output/
    path: str  # the copy's path inside output/ (the source's own path for its clean copy)
    kind: str  # "avif", "webp", "jpeg", "png"; "share" (a JPEG crop); "clean"
    width: int
    height: int
    focus: tuple[float, float] = CENTRE


@dataclass(frozen=True)
class Sized:
    href: str
    width: int
    height: int


@dataclass(frozen=True)
class Picture:
    """What pages, feeds and emails show of one image file."""

    width: int  # the largest copy's size: the width and height attributes (0 if unknown)
    height: int
    src: str  # the copy for <img src>: JPEG or PNG, at most 1200 px wide
    srcset: str  # every JPEG or PNG copy ("" when the file is shown as it is)
    sources: tuple[tuple[str, str], ...]  # (MIME type, srcset) of the AVIF and WebP copies
    email: Sized  # JPEG, PNG or GIF at up to 1200 px, for a mail program
    original_width: int  # the source's width, for warnings
    shares: tuple[tuple[tuple[float, float], str], ...] = ()  # (focus, href) 1200x630 crops

    def share(self, focus: tuple[float, float] | None) -> str | None:
        """The share picture cut around `focus` (None: the centre)."""
        return dict(self.shares).get(focus or CENTRE)


@dataclass(frozen=True)
class Plan:
    pictures: dict[str, Picture]  # by href, as the model and the pages link the file
    derivatives: list[Derivative]  # every copy to publish, clean copies of sources included


def ladder(width: int) -> list[int]:
    """The widths of an image's copies: the ladder's below its width, and its own if smaller."""
    widths = [step for step in LADDER if step < width]
    return [*widths, width] if width <= LADDER[-1] else widths


def plan(
    uses: Iterable[ImageUse], infos: Mapping[str, ImageInfo], href: Callable[[str], str]
) -> Plan:
    """Every copy of every image file (`infos`, by path inside output/) and the pictures the
    documents' `uses` show. `href` turns a site path into the href pages use."""
    derivatives = {
        file: [Derivative(file, file, "clean", info.width, info.height)]
        for file, info in infos.items()
    }
    shares: dict[str, set[tuple[float, float]]] = {}
    used: dict[str, str] = {}  # file -> href
    for use in uses:
        if use.file in infos:
            used.setdefault(use.file, use.href)
            if use.hero and not infos[use.file].passed_through:
                shares.setdefault(use.file, set()).add(use.focus or CENTRE)
    pictures: dict[str, Picture] = {}
    for file, link in sorted(used.items()):
        info = infos[file]
        if info.passed_through:
            shown = Sized(href("/" + file), info.width, info.height)
            pictures[link] = Picture(info.width, info.height, shown.href, "", (), shown, info.width)
            continue
        copies = _copies(file, info, sorted(shares.get(file, ())))
        derivatives[file] += copies
        pictures[link] = _picture(copies, info, href)
    return Plan(pictures, [item for file in sorted(derivatives) for item in derivatives[file]])


def _copies(file: str, info: ImageInfo, focuses: list[tuple[float, float]]) -> list[Derivative]:
    stem = file.rsplit(".", 1)[0]
    copies = [
        Derivative(
            file,
            f"{stem}.{w}w.{_EXTENSIONS[kind]}",
            kind,
            w,
            max(1, round(w * info.height / info.width)),
        )
        for kind in ("avif", "webp", info.fallback)
        for w in ladder(info.width)
    ]
    for focus in focuses:
        name = (
            "share" if focus == CENTRE else f"share-{round(focus[0] * 100)}-{round(focus[1] * 100)}"
        )
        copies.append(Derivative(file, f"{stem}.{name}.jpg", "share", *SHARE_SIZE, focus))
    return copies


def _picture(copies: list[Derivative], info: ImageInfo, href: Callable[[str], str]) -> Picture:
    def srcset(kind: str) -> str:
        return ", ".join(f"{href('/' + c.path)} {c.width}w" for c in copies if c.kind == kind)

    fallback = [c for c in copies if c.kind == info.fallback]
    email = max((c for c in fallback if c.width <= EMAIL_WIDTH), key=lambda c: c.width)
    shares = tuple((c.focus, href("/" + c.path)) for c in copies if c.kind == "share")
    return Picture(
        fallback[-1].width,
        fallback[-1].height,
        href("/" + email.path),
        srcset(info.fallback),
        tuple((MIME_TYPES[kind], srcset(kind)) for kind in ("avif", "webp")),
        Sized(href("/" + email.path), email.width, email.height),
        info.width,
        shares,
    )


def picture_html(
    picture: Picture | None,
    src: str,
    alt: str,
    sizes: str,
    attributes: Mapping[str, str] | None = None,
) -> Markup:
    """A lazily loaded <picture> (or a plain <img> for a file shown as it is, or outside)."""
    extra = "".join(f' {name}="{escape(value)}"' for name, value in (attributes or {}).items())
    if picture is None:
        return Markup(f'<img src="{escape(src)}" alt="{escape(alt)}"{extra}{_LAZY}>')
    size = f' width="{picture.width}" height="{picture.height}"' if picture.width else ""
    img = f'<img src="{picture.src}" alt="{escape(alt)}"{size}{extra}{_LAZY}>'
    if not picture.srcset:
        return Markup(img)
    sources = "".join(
        f'<source type="{kind}" srcset="{srcset}" sizes="{sizes}">'
        for kind, srcset in picture.sources
    )
    img = img.replace("<img ", f'<img srcset="{picture.srcset}" sizes="{sizes}" ', 1)
    return Markup(f"<picture>{sources}{img}</picture>")


def body_pictures(body_html: str, pictures: Mapping[str, Picture]) -> Markup:
    """A body's <img> tags of image files as <picture> elements with every copy."""
    if not pictures or "<img" not in body_html:
        return Markup(body_html)

    def swap(match: re.Match[str]) -> str:
        attributes = {name: html.unescape(value) for name, value in _ATTRIBUTE.findall(match[0])}
        picture = pictures.get(attributes.pop("src", ""))
        if picture is None:
            return match[0]
        alt = attributes.pop("alt", "")
        width, height = attributes.pop("width", ""), attributes.pop("height", "")
        sizes = SIZES["body"]
        if width.isdigit() and height.isdigit():  # the editor's size: shown at that size
            sizes = f"{width}px"
            picture = dataclasses.replace(picture, width=int(width), height=int(height))
        return str(picture_html(picture, picture.src, alt, sizes, attributes))

    return Markup(_IMG.sub(swap, body_html))


def email_pictures(body_html: str, pictures: Mapping[str, Picture]) -> Markup:
    """A body's image files as their email copies, sized for the email's column."""
    if not pictures or "<img" not in body_html:
        return Markup(body_html)

    def swap(match: re.Match[str]) -> str:
        tag = match[0]
        attributes = dict(_ATTRIBUTE.findall(tag))
        picture = pictures.get(html.unescape(attributes.get("src", "")))
        if picture is None:
            return tag
        email = picture.email
        width = int(attributes["width"]) if attributes.get("width", "").isdigit() else email.width
        width = min(width, EMAIL_COLUMN)
        height = max(1, round(width * email.height / email.width)) if email.width else 0
        attributes.update(src=email.href, width=str(width), height=str(height))
        shown = "".join(f' {name}="{value}"' for name, value in attributes.items())
        return f"<img{shown}>"

    return Markup(_IMG.sub(swap, body_html))


def email_picture(picture: Picture, alt: str) -> Markup:
    """A case's picture in the email: its JPEG or PNG copy across the email's column."""
    email = picture.email
    height = max(1, round(EMAIL_COLUMN * email.height / email.width)) if email.width else 0
    return Markup(
        f'<img src="{email.href}" alt="{escape(alt)}" width="{EMAIL_COLUMN}"'
        f' height="{height}" class="case-image">'
    )


def promote_first_image(page: str) -> str:
    """The page's first image loads at once, with high priority; the rest lazily."""
    return page.replace(_LAZY, ' fetchpriority="high"', 1) if _LAZY in page else page


def attach_pictures(
    routes: list[Route], site: Site, pictures: Mapping[str, Picture]
) -> list[Route]:
    """Each route with the pictures of the images it shows in its context (`pictures`).

    Only those: a page's cache key covers its context, so a changed image re-renders the
    pages that show it and no others.
    """
    if not pictures:
        return routes
    by_source: dict[str, list[str]] = {}
    for use in site.images:
        by_source.setdefault(use.source, []).append(use.href)
    attached: list[Route] = []
    for route in routes:
        hrefs: set[str] = set()
        _shown(route.context.values(), by_source, hrefs)
        shown = {href: pictures[href] for href in sorted(hrefs) if href in pictures}
        if shown:
            route = dataclasses.replace(route, context={**route.context, "pictures": shown})
        attached.append(route)
    return attached


def _shown(values: Iterable[object], by_source: dict[str, list[str]], hrefs: set[str]) -> None:
    """The hrefs of the images that content in a route's context shows."""
    for value in values:
        if isinstance(value, CaseCard):
            if value.image:
                hrefs.add(value.image)
            if isinstance(value, Case):  # a whole case, not a card
                hrefs.update(by_source.get(value.source, ()))
        elif isinstance(value, Page):
            hrefs.update(by_source.get(value.source, ()))
        elif isinstance(value, NewsletterIssue):
            hrefs.update(by_source.get(value.source, ()))
            _shown(value.cases, by_source, hrefs)
        elif isinstance(value, TermListing):
            _shown(value.cases, by_source, hrefs)
        elif isinstance(value, tuple | list):
            _shown(value, by_source, hrefs)


def make_copies(data: bytes, info: ImageInfo, copies: Iterable[Derivative]) -> list[bytes]:
    """The bytes of each copy of one source, decoded once and resized once per size.

    Each copy depends only on the source and its own settings, however copies are grouped.
    """
    image = None
    resized: dict[tuple[int, int], Image.Image] = {}
    made: list[bytes] = []
    for copy in copies:
        if copy.kind == "clean":
            made.append(clean_copy(data, info))
            continue
        image = image or upright(data)
        if copy.kind == "share":
            made.append(crop(image, copy.width, copy.height, copy.focus))
            continue
        size = (copy.width, copy.height)
        if size not in resized:
            resized[size] = resize(image, copy.width, copy.height)
        made.append(encode(resized[size], copy.kind))
    return made


def register(env: jinja2.Environment) -> None:
    """The picture filters: functions of their arguments only, so no page key needs them.

    `pictures` in a route's context maps the href of each image file the page shows to its
    Picture; an href not in it (an outside image) is shown as a plain <img>.
    """

    def picture(
        src: str, pictures: Mapping[str, Picture], alt: str, kind: str, css_class: str = ""
    ) -> Markup:
        attributes = {"class": css_class} if css_class else {}
        return picture_html(pictures.get(src), src, alt, SIZES[kind], attributes)

    env.filters["picture"] = picture
    env.filters["body_pictures"] = body_pictures
    env.filters["email_pictures"] = email_pictures
    env.filters["email_picture"] = email_picture
