"""Image warnings for `sitegen check`: pictures that will look poor or cost readers too much.

Unreadable images are build errors (build/memo.py); these are images a build accepts.
"""

from __future__ import annotations

from collections.abc import Mapping

from sitegen.content.model import ImageUse
from sitegen.errors import SiteError
from sitegen.render.pictures import SHARE_SIZE, Picture

MAX_SOURCE_BYTES = 20 * 1024 * 1024
SHRUNK = 4  # an image shown at a quarter of its width or less is "far below" its size


def image_warnings(
    uses: tuple[ImageUse, ...],
    pictures: Mapping[str, Picture],
    sizes: Mapping[str, tuple[str, int]],
) -> list[SiteError]:
    """Warnings about the images the site shows; `sizes` maps each image file (by its path in
    output/) to its source path and its size in bytes."""
    warnings: list[SiteError] = []
    for use in uses:
        picture = pictures.get(use.href)
        if picture is None or use.file not in sizes:
            continue
        source, size = sizes[use.file]
        name = source.rsplit("/", 1)[-1]
        if size > MAX_SOURCE_BYTES:
            message = (
                f"{name!r} is {size / 2**20:.1f} MB; save a copy of at most "
                f"{MAX_SOURCE_BYTES / 2**20:g} MB (readers never get more than 1600 px anyway)"
            )
            warnings.append(SiteError(use.source, use.line, "image", message))
        width = picture.original_width
        if use.hero and 0 < width < SHARE_SIZE[0]:
            message = (
                f"{name!r} is only {width} px wide; a case image should be at least "
                f"{SHARE_SIZE[0]} px wide to look sharp on large screens and when shared"
            )
            warnings.append(SiteError(use.source, use.line, "image", message))
        if use.asked_width and width >= SHRUNK * use.asked_width:
            message = (
                f"{name!r} is {width} px wide but shown at {use.asked_width} px; "
                "crop it to what the page shows, or leave out the width to show it whole"
            )
            warnings.append(SiteError(use.source, use.line, "image", message))
    return sorted(set(warnings))
