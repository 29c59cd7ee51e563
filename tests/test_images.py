"""Images: copies that are light, sharp and private on pages, cards, shares and emails.

A 4000x3000 phone photo (made by tests/photos.py, with EXIF and a GPS position) is a case's
`image` and appears in its body; the site is built once per module and inspected.
"""

from __future__ import annotations

import io
import re
import struct
import zlib
from collections.abc import Callable
from html.parser import HTMLParser
from pathlib import Path

import pytest
from PIL import Image

from sitegen.build import memo as memo_module
from sitegen.build.cache import BuildCache
from sitegen.build.pipeline import build
from sitegen.cli import main
from sitegen.config import default_options
from sitegen.render import images
from sitegen.render.pictures import LADDER, Derivative, ladder, make_copies
from tests.conftest import CASE, REPO, copy_site, read_tree
from tests.photos import has_gps, phone_jpeg, photo_image, tiny_png
from tests.search_meaning import assert_same_site

CASE_WITH_PHOTO = """\
---
title: Havnen i Holbæk
date: 2020-03-01
lead: Borgerne tegner havnen om.
municipality: Holbæk Kommune
level: kommune
tags: [samskabelse]
image: havnen.jpg
image_alt: Borgere samlet ved havnen
---

Borgerne mødtes ved havnen.

## Mødet

![Borgermødet ved havnen](havnen.jpg)

Et kort: ![Kort over havnen](kort.png)
"""

ISSUE = """\
---
title: Nyhedsbrev om havnen
date: 2020-03-02
cases:
  - ../cases/havnen.md
---

Kære læser.

## Billeder

![Borgermødet](moede.jpg)
"""


class Tags(HTMLParser):
    """Every start tag of a page with its attributes, in order."""

    def __init__(self, text: str) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict[str, str]]] = []
        self.feed(text)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, {name: value or "" for name, value in attrs}))

    def all(self, name: str) -> list[dict[str, str]]:
        return [attrs for tag, attrs in self.tags if tag == name]


@pytest.fixture(scope="session")
def photo() -> bytes:
    """The 4000x3000 phone photo, made once per run (it takes about a second)."""
    return phone_jpeg(4000, 3000)


def photo_site(root: Path, photo: bytes) -> Path:
    """The basic fixture site plus a case with the photo and an issue that features it."""
    copy_site("basic", root)
    (root / "content/cases/havnen.md").write_text(CASE_WITH_PHOTO, encoding="utf-8")
    (root / "content/cases/havnen.jpg").write_bytes(photo)
    (root / "content/cases/kort.png").write_bytes(tiny_png(300, 200))
    (root / "content/newsletter/havnen.md").write_text(ISSUE, encoding="utf-8")
    (root / "content/newsletter/moede.jpg").write_bytes(phone_jpeg(900, 600, seed=2))
    return root


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory, photo: bytes) -> Path:
    """The photo site built once (with its cache), on two cores."""
    root = photo_site(tmp_path_factory.mktemp("images") / "site", photo)
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("SOURCE_DATE_EPOCH", "1796083200")
        build(root, default_options(), cache=BuildCache.for_site(root), jobs=2)
    return root


def page(built: Path, path: str) -> str:
    return (built / "output" / path).read_text(encoding="utf-8")


def case_page(built: Path) -> str:
    return page(built, "cases/havnen-i-holbaek/index.html")


def image_at(built: Path, href: str) -> Image.Image:
    """The built image an href or absolute URL of the site points to."""
    path = re.sub(r"^(https://example\.org)?/cfb/", "", href)
    return Image.open(io.BytesIO((built / "output" / path).read_bytes()))


# --- what pages show ----------------------------------------------------------------------


def test_case_image_is_a_picture_with_avif_webp_and_a_jpeg_fallback(built: Path) -> None:
    tags = Tags(case_page(built))
    hero = next(attrs for attrs in tags.all("img") if attrs.get("class") == "case-image")
    assert (hero["width"], hero["height"]) == ("1600", "1200")
    assert hero["src"] == "/cfb/media/cases/havnen.1200w.jpg"
    assert hero["srcset"].split(", ") == [
        f"/cfb/media/cases/havnen.{width}w.jpg {width}w" for width in LADDER
    ]
    assert hero["sizes"]
    assert hero["fetchpriority"] == "high" and "loading" not in hero  # the page's first image
    sources = tags.all("source")
    assert [source["type"] for source in sources[:2]] == ["image/avif", "image/webp"]
    assert sources[0]["srcset"].startswith("/cfb/media/cases/havnen.480w.avif 480w, ")
    for width in LADDER:
        for extension, kind in (("avif", "AVIF"), ("webp", "WEBP"), ("jpg", "JPEG")):
            copy = image_at(built, f"/cfb/media/cases/havnen.{width}w.{extension}")
            assert (copy.format, copy.size) == (kind, (width, width * 3 // 4))


def test_every_image_has_a_size_and_all_but_the_first_load_lazily(built: Path) -> None:
    pages = sorted((built / "output").rglob("*.html"))
    images_seen = 0
    for path in pages:
        if path.name == "email.html":
            continue
        shown = Tags(path.read_text(encoding="utf-8")).all("img")
        for number, attrs in enumerate(shown):
            images_seen += 1
            assert attrs.get("width") and attrs.get("height"), (path, attrs)
            if number == 0:
                assert attrs.get("fetchpriority") == "high", (path, attrs)
            else:
                assert (attrs.get("loading"), attrs.get("decoding")) == ("lazy", "async")
    assert images_seen > 10


def test_body_images_become_pictures_with_their_alt_text(built: Path) -> None:
    shown = Tags(case_page(built)).all("img")
    alts = [attrs["alt"] for attrs in shown]
    assert alts[:3] == ["Borgere samlet ved havnen", "Borgermødet ved havnen", "Kort over havnen"]
    map_image = shown[2]
    assert (map_image["width"], map_image["height"]) == ("300", "200")  # never enlarged
    assert map_image["srcset"] == "/cfb/media/cases/kort.300w.png 300w"


@pytest.mark.parametrize(
    "path",
    ["index.html", "cases/index.html", "emner/samskabelse/index.html", "kommuner/index.html"],
)
def test_lists_show_the_case_image_on_its_card(built: Path, path: str) -> None:
    if path == "kommuner/index.html":  # the index of municipalities lists names only
        assert "case-card-image" not in page(built, path)
        return
    cards = [a for a in Tags(page(built, path)).all("img") if a.get("class") == "case-card-image"]
    assert len(cards) == 1
    card = cards[0]
    assert card["alt"] == ""  # the card's title says what it is
    assert (card["width"], card["height"]) == ("1600", "1200")
    # the card is as wide as the page on a phone, a third of it on a desktop
    assert card["sizes"].endswith(", calc(100vw - 2rem)")
    assert card["sizes"].startswith("(min-width: 76rem) 24rem, ")
    assert "/cfb/media/cases/havnen.480w.jpg 480w" in card["srcset"]


def test_open_graph_image_is_a_1200x630_jpeg_cut_from_the_photo(built: Path) -> None:
    metas = {
        attrs.get("property") or attrs.get("name"): attrs["content"]
        for attrs in Tags(case_page(built)).all("meta")
        if "content" in attrs
    }
    url = metas["og:image"]
    assert url == "https://example.org/cfb/media/cases/havnen.share.jpg"
    assert metas["twitter:image"] == url
    assert (metas["og:image:width"], metas["og:image:height"]) == ("1200", "630")
    share = image_at(built, url)
    assert (share.format, share.size) == ("JPEG", (1200, 630))
    assert '"image": "https://example.org/cfb/media/cases/havnen.share.jpg"' in case_page(built)


def test_the_email_shows_the_case_picture_as_a_jpeg_by_absolute_url(built: Path) -> None:
    email = page(built, "nyhedsbrev/havnen/email.html")
    case_image = next(a for a in Tags(email).all("img") if a.get("class") == "case-image")
    assert case_image["src"] == "https://example.org/cfb/media/cases/havnen.1200w.jpg"
    assert int(case_image["width"]) <= 600
    assert case_image["height"] == str(round(int(case_image["width"]) * 3 / 4))
    assert case_image["alt"] == "Borgere samlet ved havnen"
    copy = image_at(built, case_image["src"])
    assert (copy.format, copy.size) == ("JPEG", (1200, 900))  # sharp at twice the slot
    body_image = next(a for a in Tags(email).all("img") if a.get("alt") == "Borgermødet")
    assert body_image["src"] == "https://example.org/cfb/media/newsletter/moede.900w.jpg"
    assert (body_image["width"], body_image["height"]) == ("552", "368")
    assert "avif" not in email and "webp" not in email


def test_no_published_image_carries_metadata(built: Path) -> None:
    published = [
        path
        for path in (built / "output").rglob("*")
        if path.suffix in (".jpg", ".png", ".webp", ".avif")
    ]
    assert len(published) > 20
    for path in published:
        data = path.read_bytes()
        assert not has_gps(data), path
        with Image.open(io.BytesIO(data)) as image:
            assert not image.getexif(), path
            assert "icc_profile" not in image.info and "xmp" not in image.info, path
    original = image_at(built, "/cfb/media/cases/havnen.jpg")  # still there, for links
    assert original.size == (4000, 3000)


# --- the image stage itself ---------------------------------------------------------------


def test_ladder_never_enlarges() -> None:
    assert ladder(4000) == [480, 800, 1200, 1600]
    assert ladder(1600) == [480, 800, 1200, 1600]
    assert ladder(1000) == [480, 800, 1000]
    assert ladder(300) == [300]


def test_orientation_is_applied_then_every_tag_dropped() -> None:
    sideways = phone_jpeg(400, 300, orientation=6)  # stored lying down, shown standing up
    info = images.probe(sideways, "x.jpg")
    assert (info.width, info.height, info.clean) == (300, 400, False)
    copy = Derivative("x.jpg", "x.300w.jpg", "jpeg", 300, 400)
    (data,) = make_copies(sideways, info, [copy])
    with Image.open(io.BytesIO(data)) as image:
        assert image.size == (300, 400)
        assert not image.getexif()
    clean = images.clean_copy(sideways, info)
    assert not has_gps(clean)
    with Image.open(io.BytesIO(clean)) as image:
        assert image.size == (300, 400)


def test_colour_is_converted_to_srgb() -> None:
    from PIL import ImageCms

    buffer = io.BytesIO()
    wide = ImageCms.ImageCmsProfile(ImageCms.createProfile("LAB")).tobytes()
    Image.new("RGB", (64, 48), (200, 30, 30)).save(buffer, "JPEG", icc_profile=wide)
    source = buffer.getvalue()
    info = images.probe(source, "x.jpg")
    assert not info.clean
    upright = images.upright(source)
    assert upright.mode == "RGB" and not upright.info
    assert upright.getpixel((10, 10)) != (200, 30, 30)  # the profile's meaning, in sRGB


def test_animated_gifs_and_svgs_are_published_as_they_are(new_site: Callable[..., Path]) -> None:
    frames = [Image.new("RGB", (40, 30), colour) for colour in ("red", "green", "blue")]
    buffer = io.BytesIO()
    frames[0].save(buffer, "GIF", save_all=True, append_images=frames[1:], duration=100, loop=0)
    svg = b'<svg xmlns="http://www.w3.org/2000/svg" width="120" height="80"></svg>'
    root = new_site(
        {"content/cases/a.md": CASE.format(title="A") + "\n![Film](film.gif) ![Logo](logo.svg)\n"}
    )
    (root / "content/cases/film.gif").write_bytes(buffer.getvalue())
    (root / "content/cases/logo.svg").write_bytes(svg)
    assert main(["build", "--site", str(root), "-q"]) == 0
    out = root / "output"
    assert (out / "media/cases/film.gif").read_bytes() == buffer.getvalue()
    assert (out / "media/cases/logo.svg").read_bytes() == svg
    assert sorted(p.name for p in (out / "media/cases").iterdir()) == ["film.gif", "logo.svg"]
    shown = Tags((out / "cases/a/index.html").read_text()).all("img")
    assert [(a["src"], a["width"], a["height"]) for a in shown] == [
        ("/media/cases/film.gif", "40", "30"),
        ("/media/cases/logo.svg", "120", "80"),
    ]


def test_copies_are_byte_identical_from_build_to_build_and_across_jobs(
    tmp_path: Path, photo: bytes
) -> None:
    small = phone_jpeg(1000, 750, seed=3)
    trees = []
    for jobs in (1, 2):
        root = copy_site("basic", tmp_path / f"site-{jobs}")
        (root / "content/cases/havnen.md").write_text(CASE_WITH_PHOTO, encoding="utf-8")
        (root / "content/cases/havnen.jpg").write_bytes(small)
        (root / "content/cases/kort.png").write_bytes(tiny_png(300, 200))
        build(root, default_options(), root / "out", jobs=jobs)
        trees.append(read_tree(root / "out"))
    copies = [path for path in trees[0] if path.startswith("media/cases/havnen.")]
    assert len(copies) > 10
    assert trees[0] == trees[1]


def test_a_text_edit_encodes_and_rewrites_no_image(
    tmp_path: Path, photo: bytes, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = photo_site(tmp_path / "site", phone_jpeg(1000, 750, seed=4))
    encoded: list[int] = []
    real = memo_module.make_copies

    def counting(data: bytes, info: images.ImageInfo, copies: list[Derivative]) -> list[bytes]:
        encoded.append(len(copies))
        return real(data, info, copies)

    monkeypatch.setattr(memo_module, "make_copies", counting)
    assert main(["build", "--site", str(root), "-q", "--jobs", "1"]) == 0
    assert sum(encoded) > 20
    media = root / "output/media"
    before = {p: p.stat().st_ino for p in media.rglob("*") if p.is_file()}
    case = root / "content/cases/havnen.md"
    case.write_text(case.read_text() + "\nEn ny sætning.\n", encoding="utf-8")
    encoded.clear()
    assert main(["build", "--site", str(root), "-q", "--jobs", "1"]) == 0
    assert encoded == []
    after = {p: p.stat().st_ino for p in media.rglob("*") if p.is_file()}
    assert after == before  # every image file kept its inode: none was rewritten
    assert "En ny sætning" in (root / "output/cases/havnen-i-holbaek/index.html").read_text()
    clean = tmp_path / "clean"
    build(root, default_options(), clean)
    assert_same_site(read_tree(root / "output"), read_tree(clean))  # the index: its meaning


def test_image_focus_chooses_where_the_share_picture_is_cut(tmp_path: Path) -> None:
    root = photo_site(tmp_path / "site", phone_jpeg(1000, 750, seed=5))
    case = root / "content/cases/havnen.md"
    case.write_text(case.read_text().replace("image: ", "image_focus: [0.2, 0.9]\nimage: ", 1))
    build(root, default_options(), root / "output")
    html = (root / "output/cases/havnen-i-holbaek/index.html").read_text()
    assert 'content="https://example.org/cfb/media/cases/havnen.share-20-90.jpg"' in html
    with Image.open(root / "output/media/cases/havnen.share-20-90.jpg") as share:
        assert share.size == (1200, 630)


# --- errors and warnings ------------------------------------------------------------------


def bomb_png(width: int, height: int) -> bytes:
    """A PNG header that promises width x height pixels (a decompression bomb)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(b""))


def test_broken_images_are_errors_where_they_are_used_and_nothing_is_written(
    new_site: Callable[..., Path], capsys: pytest.CaptureFixture[str]
) -> None:
    body = "\n![Bombe](bombe.png)\n\n![Halv](halv.jpg)\n\n![Foto](foto.heic)\n"
    root = new_site({"content/cases/a.md": CASE.format(title="A") + body})
    (root / "content/cases/bombe.png").write_bytes(tiny_png())
    (root / "content/cases/halv.jpg").write_bytes(tiny_png())
    (root / "content/cases/foto.heic").write_bytes(tiny_png())
    assert main(["build", "--site", str(root), "-q"]) == 0
    before = read_tree(root / "output")
    (root / "content/cases/bombe.png").write_bytes(bomb_png(20000, 20000))
    (root / "content/cases/halv.jpg").write_bytes(phone_jpeg(400, 300)[:6000])
    (root / "content/cases/foto.heic").write_bytes(b"ftypheic" * 40)
    (root / "content/cases/ubrugt.jpg").write_bytes(b"not an image")
    capsys.readouterr()
    assert main(["build", "--site", str(root), "-q"]) == 1
    err = capsys.readouterr().err.splitlines()
    unreadable = "is not an image sitegen can read (JPEG, PNG, GIF, WebP, AVIF or TIFF); "
    assert err[0] == (
        "content/cases/a.md:12: image: 'content/cases/bombe.png' has more than 120 megapixels "
        "(a decompression bomb?); save a smaller copy"
    )
    assert err[1].startswith(
        "content/cases/a.md:14: image: 'content/cases/halv.jpg' is damaged or cut short ("
    )
    assert err[2] == (
        f"content/cases/a.md:16: image: 'content/cases/foto.heic' {unreadable}save it as JPEG or PNG"
    )
    assert err[3] == f"content/cases/ubrugt.jpg: {unreadable}save it as JPEG or PNG"
    assert err[4] == "sitegen: 4 errors; nothing was written"
    assert read_tree(root / "output") == before


def test_an_image_goes_beside_the_markdown_that_uses_it(
    new_site: Callable[..., Path], capsys: pytest.CaptureFixture[str]
) -> None:
    root = new_site(
        {
            "content/cases/a.md": CASE.format(title="A") + "\n![Møde](../pages/moede.png)\n",
            "content/cases/b.md": CASE.format(title="B").replace(
                "tags:", "image: ../pages/moede.png\nimage_alt: Et møde\ntags:"
            ),
            "content/pages/om.md": "---\ntitle: Om\n---\n\n![Møde](moede.png)\n",
        }
    )
    (root / "content/pages/moede.png").write_bytes(tiny_png())
    (root / "static").mkdir()
    (root / "static/logo.png").write_bytes(tiny_png())
    (root / "content/cases/c.md").write_text(
        CASE.format(title="C") + "\n![Logo](/logo.png)\n", encoding="utf-8"
    )
    assert main(["build", "--site", str(root), "-q"]) == 1
    where = (
        "'../pages/moede.png' is in content/pages/; put images beside the Markdown file that "
        "uses them (in content/cases/), or site-wide ones in static/"
    )
    assert capsys.readouterr().err.splitlines() == [
        f"content/cases/a.md:12: image: {where}",
        f"content/cases/b.md:7: image: {where}",
        "sitegen: 2 errors; nothing was written",
    ]


def test_image_focus_must_be_a_point_in_the_picture(
    new_site: Callable[..., Path], capsys: pytest.CaptureFixture[str]
) -> None:
    case = CASE.format(title="A").replace("tags:", "image_focus: [0.5, 2]\ntags:")
    root = new_site({"content/cases/a.md": case})
    assert main(["build", "--site", str(root), "-q"]) == 1
    assert capsys.readouterr().err.splitlines()[0] == (
        "content/cases/a.md:7: image_focus: must be two numbers from 0 to 1 (from the left and "
        "from the top), like [0.5, 0.3], not [0.5, 2]"
    )


def test_check_warns_about_small_huge_and_shrunken_images(
    new_site: Callable[..., Path],
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from sitegen.check import images as checks

    case = CASE.format(title="A").replace("tags:", "image: lille.png\nimage_alt: Et kort\ntags:")
    root = new_site({"content/cases/a.md": case + '\n![Stor](stor.jpg){: width="200" }\n'})
    (root / "content/cases/lille.png").write_bytes(tiny_png(800, 600))
    buffer = io.BytesIO()
    photo_image(1000, 750).save(buffer, "JPEG", quality=95)
    (root / "content/cases/stor.jpg").write_bytes(buffer.getvalue())
    assert len(buffer.getvalue()) > 2**18
    monkeypatch.setattr(checks, "MAX_SOURCE_BYTES", 2**18)
    assert main(["check", "--site", str(root)]) == 0
    warnings = [line for line in capsys.readouterr().err.splitlines() if "image" in line]
    size = len(buffer.getvalue()) / 2**20
    assert warnings == [
        "content/cases/a.md:7: warning: image: 'lille.png' is only 800 px wide; a case image "
        "should be at least 1200 px wide to look sharp on large screens and when shared",
        f"content/cases/a.md:14: warning: image: 'stor.jpg' is {size:.1f} MB; save a copy of at "
        "most 0.25 MB (readers never get more than 1600 px anyway)",
        "content/cases/a.md:14: warning: image: 'stor.jpg' is 1000 px wide but shown at 200 px; "
        "crop it to what the page shows, or leave out the width to show it whole",
    ]


def test_pillow_is_part_of_the_code_version() -> None:
    from sitegen.build.digest import OUTPUT_LIBRARIES, installed_versions

    assert "pillow" in OUTPUT_LIBRARIES
    assert any(name.lower().startswith("pillow-") for name in installed_versions())
    assert "pillow>=13" in (REPO / "pyproject.toml").read_text()


def test_encoders_are_fixed_and_deterministic() -> None:
    source = phone_jpeg(900, 600, seed=6)
    info = images.probe(source, "x.jpg")
    copies = [
        Derivative("x.jpg", f"x.480w.{kind}", kind, 480, 320) for kind in ("avif", "webp", "jpeg")
    ]
    copies.append(Derivative("x.jpg", "x.share.jpg", "share", 1200, 630))
    first, second = make_copies(source, info, copies), make_copies(source, info, copies)
    assert first == second
    assert [Image.open(io.BytesIO(data)).format for data in first] == [
        "AVIF",
        "WEBP",
        "JPEG",
        "JPEG",
    ]


def test_replacing_and_removing_an_image_gives_what_a_clean_build_gives(tmp_path: Path) -> None:
    root = photo_site(tmp_path / "site", phone_jpeg(1000, 750, seed=7))
    assert main(["build", "--site", str(root), "-q"]) == 0
    first = (root / "output/media/cases/havnen.800w.avif").read_bytes()
    (root / "content/cases/havnen.jpg").write_bytes(phone_jpeg(900, 600, seed=8))
    assert main(["build", "--site", str(root), "-q"]) == 0
    assert (root / "output/media/cases/havnen.800w.avif").read_bytes() != first
    assert not (root / "output/media/cases/havnen.1000w.avif").exists()  # the old width went
    assert_same_site(read_tree(root / "output"), read_tree(build_clean(root, tmp_path / "clean-1")))
    case = root / "content/cases/havnen.md"
    case.write_text(case.read_text().replace("![Kort over havnen](kort.png)", ""))
    (root / "content/cases/kort.png").unlink()
    assert main(["build", "--site", str(root), "-q"]) == 0
    assert not list((root / "output/media/cases").glob("kort*"))
    assert_same_site(read_tree(root / "output"), read_tree(build_clean(root, tmp_path / "clean-2")))


def build_clean(root: Path, out: Path) -> Path:
    build(root, default_options(), out)
    return out


def test_an_in_memory_cache_serves_copies_from_memory_on_the_next_build(tmp_path: Path) -> None:
    from sitegen.build.pipeline import build_files
    from sitegen.render.files import StoredFile

    root = photo_site(tmp_path / "site", phone_jpeg(600, 450, seed=9))
    cache = BuildCache.in_memory()
    first = build_files(root, default_options(), cache=cache)
    second = build_files(root, default_options(), cache=cache)
    copies = [f for f in second.files if f.path.startswith("media/cases/havnen.")]
    assert len(copies) > 5
    assert not any(isinstance(f, StoredFile) for f in second.files)  # nothing on disk
    assert {f.path: f.data for f in first.files} == {f.path: f.data for f in second.files}
    on_disk = build_files(root, default_options(), cache=BuildCache.for_site(root))
    again = build_files(root, default_options(), cache=BuildCache.for_site(root))
    stored = [f for f in again.files if isinstance(f, StoredFile)]
    assert {f.path for f in stored} >= {f.path for f in copies if f.path.endswith(".avif")}
    assert {f.path: f.data for f in on_disk.files} == {f.path: f.data for f in again.files}
