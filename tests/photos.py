"""Test photos made by the tests: phone-size JPEGs that compress like photographs.

Smooth colour gradients, shapes and fine grain (a pure noise image would compress like no
photo does), with the EXIF a phone writes: camera, time, orientation and a GPS position.
"""

from __future__ import annotations

import io
import random

from PIL import Image, ImageDraw
from PIL.ExifTags import GPS, IFD, Base

GPS_POSITION = {
    GPS.GPSLatitudeRef: "N",
    GPS.GPSLatitude: (55.0, 42.0, 57.6),
    GPS.GPSLongitudeRef: "E",
    GPS.GPSLongitude: (11.0, 42.0, 50.4),
}


def photo_image(width: int = 4000, height: int = 3000, seed: int = 1) -> Image.Image:
    """An RGB picture with a photo's mix of smooth areas, edges and grain."""
    rng = random.Random(seed)
    blobs = Image.effect_noise((max(2, width // 100), max(2, height // 100)), 80).convert("L")
    image = Image.merge(
        "RGB",
        (
            Image.linear_gradient("L").resize((width, height)),
            blobs.resize((width, height), Image.Resampling.BICUBIC),
            Image.radial_gradient("L").resize((width, height)),
        ),
    )
    draw = ImageDraw.Draw(image)
    for _ in range(60):
        x, y = rng.randrange(width), rng.randrange(height)
        size = rng.randrange(max(2, width // 80), max(3, width // 6))
        colour = (rng.randrange(256), rng.randrange(256), rng.randrange(256))
        draw.ellipse((x, y, x + size, y + size // 2), fill=colour)
    grain = Image.effect_noise((width, height), 40).convert("RGB")
    return Image.blend(image, grain, 0.22)


def phone_exif(orientation: int = 1) -> Image.Exif:
    """EXIF as a phone writes it, GPS position included."""
    exif = Image.Exif()
    exif[Base.Make] = "Telefon"
    exif[Base.Model] = "Kamera 12"
    exif[Base.DateTime] = "2024:05:14 10:31:07"
    exif[Base.Orientation] = orientation
    exif[IFD.GPSInfo] = GPS_POSITION
    return exif


def phone_jpeg(
    width: int = 4000, height: int = 3000, orientation: int = 1, seed: int = 1, quality: int = 90
) -> bytes:
    """A JPEG as a phone saves it: width x height pixels as stored, with EXIF and GPS."""
    buffer = io.BytesIO()
    photo_image(width, height, seed).save(
        buffer, "JPEG", quality=quality, exif=phone_exif(orientation)
    )
    return buffer.getvalue()


def has_gps(data: bytes) -> bool:
    """True when the image's EXIF (if any) holds a GPS position."""
    with Image.open(io.BytesIO(data)) as image:
        return bool(image.getexif().get_ifd(IFD.GPSInfo))


def tiny_png(width: int = 4, height: int = 3) -> bytes:
    """A small, valid PNG (a map, say) without any metadata."""
    buffer = io.BytesIO()
    Image.new("RGB", (width, height), (40, 120, 90)).save(buffer, "PNG")
    return buffer.getvalue()
