"""Benchmark sitegen's image stage against Hugo's image processing on phone photos.

    python bench/images.py [--count 200] [--size 4000x3000] [--repeats 1]

Generates COUNT phone-size JPEGs (tests/photos.py: gradients, shapes and grain, with EXIF and
a GPS position), one per case, and builds them with sitegen (every photo as a case's `image`
and in its body) and with Hugo (each photo a page resource, `.Resize` to the same widths as
JPEG and as WebP), side by side in one run: a cold build (caches and output deleted) and a
rebuild after a one-sentence edit, which finds every image in the cache. Writes its section
of docs/benchmarks.md (between the `images` markers, after the profile marker).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import shutil
import statistics
import sys
from dataclasses import dataclass
from pathlib import Path

import report
import run
from measure import Measurement, run_measured

WORK = run.WORK / "images"
CODE = WORK / "code"  # a copy of sitegen/ and templates/ taken when the run starts
SECTION_START = "<!-- images: written by bench/images.py -->"
SECTION_END = "<!-- /images -->"
WIDTHS = (480, 800, 1200, 1600)

CASE = """\
---
title: Case {number}
date: 2020-01-01
lead: En case med et foto fra en telefon.
municipality: Kommune {group}
level: kommune
tags: [billeder]
image: foto-{number:03}.jpg
image_alt: Foto {number}
---

Borgerne mødtes.

![Foto {number}](foto-{number:03}.jpg)
"""

HUGO_CONFIG = """\
baseURL = "https://example.org/"
title = "Bench"
disableKinds = ["rss", "sitemap", "robotstxt", "taxonomy", "term"]

[imaging]
  quality = 80
  resampleFilter = "Lanczos"
"""

HUGO_SINGLE = """\
<!doctype html>
<html lang="da"><head><meta charset="utf-8"><title>{{ .Title }}</title></head>
<body><h1>{{ .Title }}</h1>
{{ $photo := .Resources.GetMatch "foto.jpg" }}
<picture>
{{ range slice WIDTHS }}{{ $webp := $photo.Resize (printf "%dx webp" .) }}
<source type="image/webp" srcset="{{ $webp.RelPermalink }} {{ . }}w">{{ end }}
{{ range slice WIDTHS }}{{ $jpeg := $photo.Resize (printf "%dx" .) }}
<img src="{{ $jpeg.RelPermalink }}" width="{{ $jpeg.Width }}" alt="">{{ end }}
</picture>
{{ .Content }}
</body></html>
""".replace("WIDTHS", " ".join(str(width) for width in WIDTHS))

HUGO_LIST = """\
<!doctype html>
<html lang="da"><head><meta charset="utf-8"><title>{{ .Title }}</title></head>
<body><ul>{{ range .Pages }}<li><a href="{{ .RelPermalink }}">{{ .Title }}</a></li>{{ end }}</ul>
</body></html>
"""


@dataclass(frozen=True)
class Options:
    count: int
    width: int
    height: int
    repeats: int
    jobs: int | None
    docs: Path


def make_photos(options: Options) -> list[Path]:
    """The photos, made once and kept in bench/work/images/photos/ for later runs."""
    sys.path.insert(0, str(run.REPO))
    from tests.photos import phone_jpeg

    folder = WORK / f"photos-{options.width}x{options.height}"
    folder.mkdir(parents=True, exist_ok=True)
    photos = []
    for number in range(1, options.count + 1):
        path = folder / f"foto-{number:03}.jpg"
        if not path.exists():
            path.write_bytes(phone_jpeg(options.width, options.height, seed=number))
        photos.append(path)
    return photos


def snapshot_code() -> Path:
    """Copy sitegen/ and templates/ as they are now, so that edits made while the benchmark
    runs (which change the cache's code version) cannot reach its builds."""
    shutil.rmtree(CODE, ignore_errors=True)
    CODE.mkdir(parents=True)
    for name in ("sitegen", "templates"):
        shutil.copytree(
            run.REPO / name,
            CODE / name,
            symlinks=True,
            ignore=shutil.ignore_patterns("__pycache__"),
        )
    run.compile_sitegen(CODE)
    return CODE


def place(photo: Path, target: Path) -> None:
    """Put a photo into a site: a hard link when possible (no copy of 4 MB each)."""
    target.parent.mkdir(parents=True, exist_ok=True)
    try:
        os.link(photo, target)
    except OSError:
        shutil.copyfile(photo, target)


def sitegen_site(photos: list[Path]) -> Path:
    root = WORK / "sitegen"
    shutil.rmtree(root, ignore_errors=True)
    cases = root / "content/cases"
    for number, photo in enumerate(photos, 1):
        place(photo, cases / photo.name)
        case = CASE.format(number=number, group=number % 10)
        (cases / f"case-{number:03}.md").write_text(case, encoding="utf-8")
    (root / "sitegen.toml").write_text(run.SEARCH_OFF, encoding="utf-8")
    run.use_repo_templates(root, CODE)
    return root


def hugo_site(photos: list[Path]) -> Path:
    root = WORK / "hugo"
    shutil.rmtree(root, ignore_errors=True)
    cache = (root / ".hugo-cache").resolve()
    (root / "layouts").mkdir(parents=True)
    (root / "hugo.toml").write_text(f"cacheDir = {json.dumps(str(cache))}\n" + HUGO_CONFIG)
    (root / "layouts/single.html").write_text(HUGO_SINGLE, encoding="utf-8")
    (root / "layouts/list.html").write_text(HUGO_LIST, encoding="utf-8")
    (root / "layouts/home.html").write_text(HUGO_LIST, encoding="utf-8")
    for number, photo in enumerate(photos, 1):
        bundle = root / f"content/cases/case-{number:03}"
        place(photo, bundle / "foto.jpg")
        text = f'---\ntitle: "Case {number}"\ndate: 2020-01-01\n---\n\nBorgerne mødtes.\n'
        (bundle / "index.md").write_text(text, encoding="utf-8")
    return root


def sitegen_command(root: Path, options: Options) -> list[str]:
    command = [sys.executable, "-m", "sitegen", "build", "--site", str(root), "-q"]
    return command + (["--jobs", str(options.jobs)] if options.jobs else [])


def hugo_command(root: Path) -> list[str]:
    return [str(run.hugo_binary()), "--source", str(root), "--quiet"]


def edit(file: Path, repeat: int, scenario: str) -> None:
    with file.open("a", encoding="utf-8") as handle:
        handle.write(f"\nEn ny sætning ({scenario} {repeat}).\n")


def measure(options: Options, photos: list[Path]) -> dict[str, list[Measurement]]:
    sitegen_root, hugo_root = sitegen_site(photos), hugo_site(photos)
    results: dict[str, list[Measurement]] = {}

    def timed(name: str, command: list[str], cwd: Path, env: dict[str, str]) -> None:
        found = run_measured(command, cwd, env, timeout=7200)
        if not found.ok:
            raise SystemExit(f"{name} failed:\n{found.output_tail}")
        results.setdefault(name, []).append(found)
        run.log(f"  {name}: {found.wall_s:.1f} s wall, {found.cpu_s:.1f} s CPU")

    for repeat in range(options.repeats):
        order = ["sitegen", "hugo"] if repeat % 2 == 0 else ["hugo", "sitegen"]
        for tool in order:
            if tool == "sitegen":
                for gone in ("output", ".sitegen-cache"):
                    shutil.rmtree(sitegen_root / gone, ignore_errors=True)
                env = run.sitegen_env(CODE)
                timed("sitegen cold", sitegen_command(sitegen_root, options), sitegen_root, env)
                edit(sitegen_root / "content/cases/case-001.md", repeat, tool)
                timed("sitegen cached", sitegen_command(sitegen_root, options), sitegen_root, env)
            else:
                for gone in ("public", "resources", ".hugo-cache"):
                    shutil.rmtree(hugo_root / gone, ignore_errors=True)
                env = run.peer_env()
                timed("hugo cold", hugo_command(hugo_root), hugo_root, env)
                edit(hugo_root / "content/cases/case-001/index.md", repeat, tool)
                timed("hugo cached", hugo_command(hugo_root), hugo_root, env)
    return results


def folder_bytes(folder: Path, suffixes: tuple[str, ...]) -> tuple[int, int]:
    files = [p for p in folder.rglob("*") if p.is_file() and p.suffix in suffixes]
    return len(files), sum(p.stat().st_size for p in files)


def section(options: Options, results: dict[str, list[Measurement]], photos: list[Path]) -> str:
    source_mb = sum(p.stat().st_size for p in photos) / 2**20
    rows = []
    for name in ("sitegen cold", "hugo cold", "sitegen cached", "hugo cached"):
        runs = results[name]
        wall = statistics.median(m.wall_s for m in runs)
        cpu = statistics.median(m.cpu_s for m in runs)
        peak = max(m.peak_mib for m in runs)
        per_photo = wall / options.count * 1000
        rows.append(
            f"| {name} | {wall:.1f} s | {per_photo:.0f} ms | {cpu:.1f} s | {peak:.0f} MiB |"
        )
    sitegen_files, sitegen_bytes = folder_bytes(
        WORK / "sitegen/output/media", (".avif", ".webp", ".jpg")
    )
    hugo_files, hugo_bytes = folder_bytes(WORK / "hugo/public", (".webp", ".jpg"))
    hero = WORK / "sitegen/output/media/cases/foto-001.1200w.avif"
    hugo_version = run.capture([str(run.hugo_binary()), "version"]).split(" ")[1].split("-")[0]
    cores = os.cpu_count() or 1
    return f"""{SECTION_START}

## Images

{options.count} phone photos of {options.width}x{options.height} pixels ({source_mb:.0f} MB of JPEG
with EXIF and GPS, made by `tests/photos.py`), one per case, measured by `python
bench/images.py` on {dt.date.today().isoformat()} ({cores} cores, shared with other work; medians
of {options.repeats} run{"s" if options.repeats != 1 else ""} each, the tools alternating).

| build | wall time | per photo | CPU time | peak memory |
| --- | ---: | ---: | ---: | ---: |
{chr(10).join(rows)}

- **sitegen** builds the whole site (every page too, search off) and makes, per photo, 12
  copies (480, 800, 1200 and 1600 px in AVIF, WebP and JPEG), the 1200x630 share picture and
  the clean full-size copy at the photo's own address (turned upright, sRGB, no metadata):
  {sitegen_files} files, {sitegen_bytes / 2**20:.0f} MB. A phone's copy of one photo
  (`foto-001.1200w.avif`) is {hero.stat().st_size / 1024:.0f} KB. Its peak memory is mostly
  the photos themselves: the load stage reads every source file into memory.
- **Hugo** {hugo_version} makes, per photo, `.Resize` to the same four widths as
  JPEG and as WebP (8 copies, quality 80, Lanczos; it cannot write AVIF): {hugo_files} files,
  {hugo_bytes / 2**20:.0f} MB, the originals included, published byte for byte with their
  EXIF and GPS position.
- **cached**: the same build after one sentence was added to one case. sitegen finds every
  copy in `.sitegen-cache/` by the digest of the photo and the settings and encodes nothing;
  Hugo finds its copies in `resources/_gen/`.
- CPU time above wall time is encoding on every core (forked workers, one per core).

{SECTION_END}
"""


def write_section(path: Path, text: str) -> None:
    """Replace the section, or add it at the end (after the profile marker, which a full
    `bench/run.py` run keeps)."""
    current = path.read_text(encoding="utf-8") if path.exists() else ""
    if SECTION_START in current and SECTION_END in current:
        head, rest = current.split(SECTION_START, 1)
        tail = rest.split(SECTION_END, 1)[1]
        current = head.rstrip() + "\n\n" + text.rstrip() + tail
    else:
        if report.PROFILE_MARKER not in current:
            current = current.rstrip() + "\n\n" + report.PROFILE_MARKER + "\n"
        current = current.rstrip() + "\n\n" + text
    path.write_text(current.rstrip() + "\n", encoding="utf-8")


def parse_args(argv: list[str] | None) -> Options:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=200, help="number of photos (cases)")
    parser.add_argument("--size", default="4000x3000", help="photo size, WIDTHxHEIGHT")
    parser.add_argument("--repeats", type=int, default=1, help="runs per tool and scenario")
    parser.add_argument("--jobs", type=int, help="passed to sitegen build --jobs")
    parser.add_argument("--docs", type=Path, default=run.DOCS, help="where benchmarks.md is")
    args = parser.parse_args(argv)
    width, height = (int(part) for part in args.size.lower().split("x"))
    return Options(args.count, width, height, args.repeats, args.jobs, args.docs)


def main(argv: list[str] | None = None) -> int:
    options = parse_args(argv)
    run.ensure_venv()
    snapshot_code()
    run.log(f"making {options.count} photos of {options.width}x{options.height}")
    photos = make_photos(options)
    results = measure(options, photos)
    write_section(options.docs / "benchmarks.md", section(options, results, photos))
    run.log(f"wrote the images section of {options.docs / 'benchmarks.md'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
