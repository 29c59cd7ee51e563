"""Images: read a photo's facts and make its published copies, as pure functions bytes -> bytes.

Every copy is made from the source turned upright (EXIF orientation), converted to sRGB and
stripped of all metadata (EXIF with its GPS position, XMP, ICC profiles, comments). Encoder
settings are fixed and no copy carries a timestamp, so the same source always gives the same
bytes. Animated GIFs and SVGs are never re-encoded.
"""

from __future__ import annotations

import io
import re
import warnings
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # Pillow is imported where an image is opened: not on every build
    from PIL import Image


MAX_PIXELS = 120_000_000  # larger is a decompression bomb (or a panorama no page needs)
_TOO_LARGE = (
    f"has more than {MAX_PIXELS // 1_000_000} megapixels (a decompression bomb?); "
    "save a smaller copy"
)

# Fixed encoder settings: part of every derivative's cache key (see build/memo.py).
ENCODERS: dict[str, tuple[str, dict[str, object]]] = {
    # Speed 8 encodes five times faster than the default 6 for a little more size; one thread
    # each, as the build runs one encoder per core.
    "avif": ("AVIF", {"quality": 50, "speed": 8, "max_threads": 1, "subsampling": "4:2:0"}),
    "webp": ("WEBP", {"quality": 76, "method": 4}),
    "jpeg": ("JPEG", {"quality": 80, "optimize": True, "progressive": True}),
    "png": ("PNG", {"optimize": True}),
    # Only for the clean copy of a source in these formats, published at its own path.
    "gif": ("GIF", {}),
    "tiff": ("TIFF", {"compression": "tiff_lzw"}),
    "bmp": ("BMP", {}),
}
MIME_TYPES = {"avif": "image/avif", "webp": "image/webp", "jpeg": "image/jpeg", "png": "image/png"}
# Pillow's format names -> ours (an MPO is a camera JPEG with a second, hidden picture).
_FORMATS = {"JPEG": "jpeg", "MPO": "jpeg", "PNG": "png", "WEBP": "webp", "AVIF": "avif"}
_FORMATS |= {"GIF": "gif", "TIFF": "tiff", "BMP": "bmp"}
# Facts in `info` that are not metadata about the photo or the photographer.
_HARMLESS_INFO = frozenset(
    {
        "jfif",
        "jfif_version",
        "jfif_unit",
        "jfif_density",
        "dpi",
        "adobe",
        "adobe_transform",
        "progressive",
        "progression",
        "gamma",
        "transparency",
        "aspect",
        "interlace",
        "srgb",
        "loop",
        "duration",
        "background",
        "version",
        "compression",
        "extension",
    }
)
_SVG_SIZE = re.compile(rb"<svg\b[^>]*>", re.IGNORECASE | re.DOTALL)
_SVG_ATTR = re.compile(rb'\b(width|height|viewBox)\s*=\s*["\']([^"\']*)["\']')


class ImageProblem(Exception):
    """A source that cannot be published as an image; the message says why, for an editor."""


@dataclass(frozen=True)
class ImageInfo:
    """What a page needs to know about an image before any copy of it is made."""

    format: str  # "jpeg", "png", "gif", "webp", "avif", ... or "svg"
    width: int  # as shown: after the EXIF orientation is applied
    height: int
    alpha: bool  # has transparency: copies are PNG rather than JPEG
    animated: bool  # an animated GIF: published as it is (an animated WebP may carry EXIF:
    # it is re-encoded from its first frame, so no location can leak)
    clean: bool  # upright, sRGB and without metadata: the source itself may be published

    @property
    def passed_through(self) -> bool:
        """Published as it is, without derivatives (SVG, animations)."""
        return self.format == "svg" or self.animated

    @property
    def fallback(self) -> str:
        """The format every browser and mail program shows: PNG with transparency, else JPEG."""
        return "png" if self.alpha or self.format in ("png", "gif") else "jpeg"


def probe(data: bytes, name: str) -> ImageInfo:
    """The facts of an image, decoding it whole so damage is found now. Raises ImageProblem."""
    if name.lower().endswith(".svg"):
        return _svg_info(data)
    with _opened(data) as image:
        kind = _FORMATS.get(image.format or "", (image.format or "").lower())
        animated = kind == "gif" and getattr(image, "n_frames", 1) > 1
        orientation = image.getexif().get(0x0112, 1)
        swap = orientation in (5, 6, 7, 8)
        width, height = (image.height, image.width) if swap else image.size
        alpha = image.mode in ("RGBA", "LA", "PA") or "transparency" in image.info
        clean = orientation == 1 and image.format != "MPO" and _without_metadata(image)
        return ImageInfo(kind, width, height, alpha, animated, clean and kind in ENCODERS)


def upright(data: bytes) -> Image.Image:
    """The source decoded, turned upright, in sRGB and RGB(A), with no metadata left."""
    from PIL import ImageOps

    with _opened(data) as opened:
        image = ImageOps.exif_transpose(opened)
        icc = opened.info.get("icc_profile")
    if icc:
        image = _to_srgb(image, icc)
    alpha = image.mode in ("RGBA", "LA", "PA") or "transparency" in image.info
    image = image.convert("RGBA" if alpha else "RGB")
    image.info = {}
    return image


def resize(image: Image.Image, width: int, height: int) -> Image.Image:
    """`image` at width x height (Lanczos; the caller never asks for more than it has)."""
    if (width, height) == image.size:
        return image
    from PIL import Image

    return image.resize((width, height), Image.Resampling.LANCZOS, reducing_gap=3.0)


def encode(image: Image.Image, kind: str) -> bytes:
    """`image` encoded as `kind` with the fixed settings of ENCODERS, without metadata."""
    return _save(image, kind)


def crop(image: Image.Image, width: int, height: int, focus: tuple[float, float]) -> bytes:
    """A JPEG of exactly width x height, cut around `focus` (fractions from the top left)."""
    from PIL import Image, ImageOps

    fitted = ImageOps.fit(image, (width, height), Image.Resampling.LANCZOS, centering=focus)
    return _save(fitted, "jpeg")


def clean_copy(data: bytes, info: ImageInfo) -> bytes:
    """The source as it may be published at its own path: itself when already clean."""
    if info.clean or info.passed_through:
        return data
    return _save(upright(data), info.format if info.format in ENCODERS else info.fallback)


def _save(image: Image.Image, kind: str) -> bytes:
    pillow_format, settings = ENCODERS[kind]
    if kind == "jpeg" and image.mode == "RGBA":  # no transparency in JPEG: on white
        from PIL import Image

        background = Image.new("RGB", image.size, (255, 255, 255))
        background.paste(image, mask=image.getchannel("A"))
        image = background
    image.info = {}
    buffer = io.BytesIO()
    image.save(buffer, pillow_format, exif=b"", icc_profile=b"", xmp=b"", **settings)
    return buffer.getvalue()


class _opened:
    """Image.open over bytes with every way a file can be broken turned into ImageProblem."""

    def __init__(self, data: bytes) -> None:
        self.data = data
        self.image: Image.Image | None = None

    def __enter__(self) -> Image.Image:
        from PIL import Image, UnidentifiedImageError

        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", Image.DecompressionBombWarning)
                image = Image.open(io.BytesIO(self.data))
                if image.width * image.height > MAX_PIXELS:
                    raise ImageProblem(_TOO_LARGE)
                image.load()
        except ImageProblem:
            raise
        except UnidentifiedImageError:
            raise ImageProblem(
                "is not an image sitegen can read (JPEG, PNG, GIF, WebP, AVIF or TIFF); "
                "save it as JPEG or PNG"
            ) from None
        except Image.DecompressionBombError:
            raise ImageProblem(_TOO_LARGE) from None
        except (OSError, SyntaxError, ValueError, EOFError) as exc:
            raise ImageProblem(f"is damaged or cut short ({exc}); save it again") from None
        self.image = image
        return image

    def __exit__(self, *exc: object) -> None:
        if self.image is not None:
            self.image.close()


def _without_metadata(image: Image.Image) -> bool:
    if any(key not in _HARMLESS_INFO for key in image.info):
        return False
    applist = getattr(image, "applist", [])
    return not any(marker not in ("APP0", "APP14") for marker, _ in applist)


def _to_srgb(image: Image.Image, icc: bytes) -> Image.Image:
    from PIL import ImageCms

    try:
        source = ImageCms.ImageCmsProfile(io.BytesIO(icc))
        mode = "RGBA" if image.mode in ("RGBA", "LA", "PA") else "RGB"
        if image.mode not in ("RGB", "RGBA", "CMYK", "L"):
            image = image.convert(mode)
        converted = ImageCms.profileToProfile(
            image, source, ImageCms.createProfile("sRGB"), outputMode=mode
        )
    except (ImageCms.PyCMSError, OSError, ValueError):
        return image  # a broken profile: the pixels as they are
    assert converted is not None
    return converted


def _svg_info(data: bytes) -> ImageInfo:
    """An SVG's size from its width/height or viewBox (0 when it gives none)."""
    width = height = 0
    if match := _SVG_SIZE.search(data[:4096]):
        attrs = {name.decode(): value.decode() for name, value in _SVG_ATTR.findall(match[0])}
        width, height = _length(attrs.get("width", "")), _length(attrs.get("height", ""))
        box = attrs.get("viewBox", "").replace(",", " ").split()
        if not (width and height) and len(box) == 4:
            try:
                width, height = round(float(box[2])), round(float(box[3]))
            except ValueError:
                width = height = 0
    return ImageInfo("svg", width, height, True, False, True)


def _length(value: str) -> int:
    match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*(px)?\s*", value)
    return round(float(match[1])) if match else 0
