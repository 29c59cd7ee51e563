"""Every page type looks as it did: full-page screenshots compared with tests/screenshots/.

Each page type is shot at 375, 768 and 1280 px, in light and dark mode, at device scale 1 with
reduced motion, after its fonts and images are in; the shots go to test-artifacts/screenshots/.
The light ones are compared with their baselines; a dark one must only differ from its light
one (dark baselines would double the size of the folder). A shot matches its baseline when
both have the same size and at most MAX_DIFFERENT of the pixels differ by more than TOLERANCE
in a colour channel; otherwise a picture of baseline, shot and the differing pixels (red) is
written beside the shot. Baselines change only with
`pytest tests/test_theme_screenshots.py --update-screenshots`.
"""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from PIL import Image, ImageChops
from playwright.sync_api import Page

from tests.conftest import (
    ARTIFACTS,
    COLOR_SCHEMES,
    PAGE_TYPES,
    VIEWPORTS,
    ColorScheme,
    open_page,
    show,
)

pytestmark = pytest.mark.browser

BASELINES = Path(__file__).resolve().parent / "screenshots"
SHOTS = ARTIFACTS / "screenshots"
TOLERANCE = 8  # of 255, per colour channel: rounding noise, not a change of colour
MAX_DIFFERENT = 0.001  # the fraction of a shot's pixels that may differ
UPDATE = "pytest tests/test_theme_screenshots.py --update-screenshots"
# Loads lazy images now and waits until every image is decoded.
LOAD_IMAGES = """async () => {
  for (const image of document.images) image.loading = "eager";
  await Promise.all([...document.images].map((image) => image.decode().catch(() => null)));
}"""


def shot_name(name: str, width: int, scheme: str) -> str:
    return f"{name}-{width}" + ("-dark" if scheme == "dark" else "") + ".png"


COMPARED: ColorScheme = "light"
BASELINE_NAMES = {shot_name(name, width, COMPARED) for name, _ in PAGE_TYPES for width in VIEWPORTS}


def save_png(image: Image.Image, path: Path, *, small: bool = False) -> None:
    """Write `image` as a PNG: `small` takes longer and makes the smallest file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    if small:
        image.save(path, optimize=True)
    else:
        image.save(path, compress_level=1)


def screenshot(page: Page) -> Image.Image:
    page.evaluate(LOAD_IMAGES)
    png = page.screenshot(full_page=True, animations="disabled", caret="hide", scale="css")
    return Image.open(io.BytesIO(png)).convert("RGB")


def padded(image: Image.Image, size: tuple[int, int]) -> Image.Image:
    """`image` on a magenta canvas of `size`, so that a missing strip counts as different."""
    canvas = Image.new("RGB", size, (255, 0, 255))
    canvas.paste(image)
    return canvas


def different_pixels(shot: Image.Image, baseline: Image.Image) -> Image.Image:
    """A mask (mode L, 255 where different) over the larger of the two sizes."""
    size = (max(shot.width, baseline.width), max(shot.height, baseline.height))
    red, green, blue = ImageChops.difference(padded(shot, size), padded(baseline, size)).split()
    largest = ImageChops.lighter(ImageChops.lighter(red, green), blue)
    return largest.point(lambda value: 255 if value > TOLERANCE else 0)


def diff_picture(shot: Image.Image, baseline: Image.Image, mask: Image.Image) -> Image.Image:
    """Baseline, shot and the differing pixels in red over a faded baseline, side by side."""
    size = mask.size
    faded = Image.blend(
        padded(baseline, size).convert("L").convert("RGB"), Image.new("RGB", size, "white"), 0.7
    )
    faded.paste((255, 0, 0), mask=mask)
    picture = Image.new("RGB", (size[0] * 3, size[1]), "white")
    for column, part in enumerate((padded(baseline, size), padded(shot, size), faded)):
        picture.paste(part, (column * size[0], 0))
    return picture


def compare(shot: Image.Image, baseline_path: Path, diff_path: Path) -> str | None:
    """Why `shot` does not match its baseline (a diff picture is written), or None."""
    diff_path.unlink(missing_ok=True)
    if not baseline_path.exists():
        return f"no baseline {baseline_path.relative_to(BASELINES.parent.parent)}"
    with Image.open(baseline_path) as stored:
        baseline = stored.convert("RGB")
    mask = different_pixels(shot, baseline)
    different = mask.histogram()[255]
    fraction = different / (mask.width * mask.height)
    if shot.size == baseline.size and fraction <= MAX_DIFFERENT:
        return None
    save_png(diff_picture(shot, baseline, mask), diff_path)
    return (
        f"size {shot.width}x{shot.height}, baseline {baseline.width}x{baseline.height}; "
        f"{different} pixels ({fraction:.3%}) differ; see {diff_path.relative_to(ARTIFACTS.parent)}"
    )


def same_pixels(one: Image.Image, other: Image.Image) -> bool:
    return one.size == other.size and ImageChops.difference(one, other).getbbox() is None


def update(shot: Image.Image, baseline_path: Path) -> None:
    """Write `shot` as the baseline unless the stored one has exactly its pixels."""
    if baseline_path.exists():
        with Image.open(baseline_path) as stored:
            if same_pixels(stored.convert("RGB"), shot):
                return
    save_png(shot, baseline_path, small=True)


@pytest.mark.parametrize(("name", "path"), PAGE_TYPES, ids=[name for name, _ in PAGE_TYPES])
def test_page_type_looks_as_its_baseline_screenshots(
    still_page: Page, repo_site_url: str, request: pytest.FixtureRequest, name: str, path: str
) -> None:
    updating = request.config.getoption("--update-screenshots")
    open_page(still_page, repo_site_url + path)
    shots: dict[tuple[int, ColorScheme], Image.Image] = {}
    failures = []
    for scheme in COLOR_SCHEMES:
        for width in VIEWPORTS:
            show(still_page, width, scheme)
            shot = shots[width, scheme] = screenshot(still_page)
            filename = shot_name(name, width, scheme)
            save_png(shot, SHOTS / filename)
            if scheme != COMPARED:
                if same_pixels(shot, shots[width, COMPARED]):
                    failures.append(f"  {filename}: the same as in {COMPARED} mode")
            elif updating:
                update(shot, BASELINES / filename)
            elif problem := compare(shot, BASELINES / filename, SHOTS / f"diff-{filename}"):
                failures.append(f"  {filename}: {problem}")
    if failures:
        pytest.fail(
            f"/{path} looks different from its baseline (if intended: {UPDATE}):\n"
            + "\n".join(failures),
            pytrace=False,
        )


def test_every_baseline_belongs_to_a_page_type_width_and_colour_scheme() -> None:
    stored = {path.name for path in BASELINES.glob("*.png")}
    assert stored, f"no baselines in tests/screenshots/: {UPDATE}"
    unused = stored - BASELINE_NAMES
    assert not unused, f"remove the baselines of shots no longer taken: {sorted(unused)}"
