"""Load: walk the site and read every source file. The only stage that reads content."""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from sitegen.config import Config
from sitegen.errors import ErrorList

# Content kinds by folder under content/: one more kind is one more entry.
CONTENT_KINDS = {"cases": "case", "pages": "page", "newsletter": "newsletter"}
MAX_SOURCE_BYTES = 5 * 1024 * 1024


@dataclass(frozen=True)
class SourceFile:
    """A content file as read from disk; `path` is relative to the site root."""

    path: str
    kind: str
    data: bytes


class UnchangedSource(SourceFile):
    """A source whose stat is the same as when an earlier build read it: `digest` (as the
    build made it then) stands for its bytes, which are read only if something needs them.

    Reading them checks the file's stat again; one that changed since the build looked at
    it raises SourceChanged rather than hand over other bytes than the digest stands for.
    """

    file: str
    stat: tuple[int, int, int, int]  # size, mtime_ns, ctime_ns, inode
    digest: bytes

    def __init__(
        self, path: str, kind: str, file: str, stat: tuple[int, int, int, int], digest: bytes
    ) -> None:
        object.__setattr__(self, "path", path)
        object.__setattr__(self, "kind", kind)
        object.__setattr__(self, "file", file)
        object.__setattr__(self, "stat", stat)
        object.__setattr__(self, "digest", digest)

    @property
    def data(self) -> bytes:
        with open(self.file, "rb") as stream:
            if file_stat(os.fstat(stream.fileno())) != self.stat:
                raise SourceChanged(self.path)
            return stream.read()


class SourceChanged(OSError):
    """A content file changed while a build was reading the site."""

    def __init__(self, path: str) -> None:
        super().__init__(f"{path} changed while the build read it; build again")
        self.path = path


def file_stat(info: os.stat_result) -> tuple[int, int, int, int]:
    """What tells a file's bytes unchanged since it was read (with git's racy rule)."""
    return (info.st_size, info.st_mtime_ns, info.st_ctime_ns, info.st_ino)


@dataclass(frozen=True)
class StaticFile:
    """A file copied as-is: `source` relative to the site root, `dest` inside output/."""

    source: str
    dest: str
    data: bytes


def is_editor_litter(name: str) -> bool:
    """Swap, backup, lock and temporary files that editors leave beside the real ones."""
    return (
        name.startswith((".", "#", "~"))
        or name == "4913"  # vim probes whether it may write in a folder with this file
        or name.endswith(
            ("~", ".swp", ".swx", ".swo", ".swpx", ".tmp", "___jb_tmp___", "___jb_old___")
        )
        or name.endswith(".crdownload")  # a download still in progress
    )


def _link_problem(path: Path, real_root: Path) -> str:
    """Why a symbolic link cannot be followed ("" when it stays inside the site)."""
    try:
        target = path.resolve(strict=True)
    except (OSError, RuntimeError):
        return "symbolic link is broken or loops"
    if not target.is_relative_to(real_root):
        return "symbolic link points outside the site"
    return ""


@dataclass(frozen=True)
class _Found:
    path: str  # as opened
    rel: str  # relative to the site root, with "/"
    inner: str  # relative to the folder walked, with "/"


def _walk(folder: Path, root: Path, errors: ErrorList, shown: str = "") -> list[_Found]:
    """Regular files under `folder`, sorted; symlinks must stay inside the site.

    A folder outside the site (the bundled theme's) is named `shown` and is its own root.
    """
    found: list[_Found] = []
    if not folder.is_dir():
        return found
    if not folder.is_relative_to(root):
        root, base = folder, shown
    else:
        base = folder.relative_to(root).as_posix()
    real_root = root.resolve()
    if folder.is_symlink() and (problem := _link_problem(folder, real_root)):
        errors.add(base, 0, "", problem)
        return found
    seen = {os.path.realpath(folder)}

    def visit(directory: str, inner: str) -> None:
        try:
            with os.scandir(directory) as listing:
                entries = sorted(listing, key=lambda entry: entry.name)
        except OSError:
            return
        folders = []
        for entry in entries:
            if is_editor_litter(entry.name):
                continue
            name = inner + entry.name
            if entry.is_symlink() and (problem := _link_problem(Path(entry.path), real_root)):
                errors.add(f"{base}/{name}", 0, "", problem)
            elif entry.is_dir():
                folders.append((entry, name))
            elif entry.is_file():
                found.append(_Found(entry.path, f"{base}/{name}", name))
        for entry, name in folders:
            real = os.path.realpath(entry.path)
            if real not in seen:  # a second way to the same folder: read it once
                seen.add(real)
                visit(entry.path, name + "/")

    visit(str(folder), "")
    return found


def _read(path: str, rel: str, errors: ErrorList) -> bytes | None:
    """The bytes of a file, or None with an error when it cannot be read."""
    try:
        with open(path, "rb") as stream:
            return stream.read()
    except OSError as exc:
        errors.add(rel, 0, "", f"cannot be read: {exc.strerror or exc}")
        return None


# Given a source's site path, kind, path to open and stat: the SourceFile to use without
# reading the file (its bytes known unchanged since a build read them), or None to read it.
KnownSources = Callable[[str, str, str, os.stat_result], SourceFile | None]


def load_sources(
    config: Config, errors: ErrorList, known: KnownSources | None = None
) -> list[SourceFile]:
    """Every Markdown file of every content kind, in a stable order."""
    sources: list[SourceFile] = []
    content = config.path("content")
    for folder, kind in CONTENT_KINDS.items():
        for item in _walk(content / folder, config.root, errors):
            if not item.rel.endswith(".md"):
                continue
            rel = item.rel
            try:
                info = os.stat(item.path)
            except OSError:
                info = None  # reported by _read
            size = info.st_size if info else 0
            if size > MAX_SOURCE_BYTES:
                errors.add(
                    rel,
                    0,
                    "",
                    f"file is {size / 2**20:.1f} MB; a content file may be at most "
                    f"{MAX_SOURCE_BYTES // 2**20} MB (split it or move data out of it)",
                )
                continue
            if known and info and (same := known(rel, kind, item.path, info)) is not None:
                sources.append(same)
            elif (data := _read(item.path, rel, errors)) is not None:
                sources.append(SourceFile(rel, kind, data))
    return sources


# Theme files that belong at the site's root (favicon.ico, apple-touch-icon.png), where browsers
# and other programs look for them without being told: templates/static/root/ -> /.
THEME_ROOT = "root"


def load_static(config: Config, errors: ErrorList) -> list[StaticFile]:
    """Theme assets (templates/static/ -> static/, templates/static/root/ -> /) and the
    site's static/ folder."""
    theme = config.path("templates") / "static"
    folders = [
        (theme / THEME_ROOT, "", f"{config.paths.templates}/static/{THEME_ROOT}"),
        (theme, "static/", f"{config.paths.templates}/static"),
        (config.path("static"), "", config.paths.static),
        (config.path("content"), "media/", config.paths.content),
    ]
    files: list[StaticFile] = []
    for folder, prefix, shown in folders:
        for item in _walk(folder, config.root, errors, shown):
            if prefix == "media/" and item.rel.endswith(".md"):
                continue
            if prefix == "static/" and item.inner.startswith(THEME_ROOT + "/"):
                continue
            if (data := _read(item.path, item.rel, errors)) is not None:
                files.append(StaticFile(item.rel, prefix + item.inner, data))
    return files
