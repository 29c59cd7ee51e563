"""Load: walk the site and read every source file. The only stage that reads content."""

from __future__ import annotations

import os
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


@dataclass(frozen=True)
class StaticFile:
    """A file copied as-is: `source` relative to the site root, `dest` inside output/."""

    source: str
    dest: str
    data: bytes


def _is_editor_litter(name: str) -> bool:
    """Swap, backup and lock files that editors leave beside the real ones."""
    return name.startswith((".", "#", "~")) or name.endswith(("~", ".swp", ".swx", ".tmp"))


def _walk(folder: Path, root: Path, errors: ErrorList) -> list[Path]:
    """Regular files under `folder`, sorted; symlinks must stay inside the site.

    Folders are listed with os.scandir, whose entries know their type without a stat call:
    this walk runs on every build, a no-change rebuild included.
    """
    found: list[Path] = []
    if not folder.is_dir():
        return found
    real_root = root.resolve()
    _scan(str(folder), root, real_root, errors, found)
    return found


def _scan(folder: str, root: Path, real_root: Path, errors: ErrorList, found: list[Path]) -> None:
    with os.scandir(folder) as listing:
        entries = sorted(listing, key=lambda entry: entry.name)
    subfolders: list[str] = []
    for entry in entries:
        if _is_editor_litter(entry.name):
            continue
        if entry.is_dir():  # a symlinked folder is not followed
            if not entry.is_symlink():
                subfolders.append(entry.path)
            continue
        path = Path(entry.path)
        if entry.is_symlink():
            rel = _relative(path, root)
            try:
                target = path.resolve(strict=True)
            except (OSError, RuntimeError):
                errors.add(rel, 0, "", "symbolic link is broken or loops")
                continue
            if not target.is_relative_to(real_root):
                errors.add(rel, 0, "", "symbolic link points outside the site")
                continue
        if entry.is_file():
            found.append(path)
    for subfolder in subfolders:
        _scan(subfolder, root, real_root, errors, found)


def _relative(path: Path, root: Path) -> str:
    """`path` relative to the site root, as a POSIX string."""
    prefix = str(root) + os.sep
    text = str(path)
    if text.startswith(prefix):
        return text[len(prefix) :].replace(os.sep, "/")
    return path.relative_to(root).as_posix()


def load_sources(config: Config, errors: ErrorList) -> list[SourceFile]:
    """Every Markdown file of every content kind, in a stable order."""
    sources: list[SourceFile] = []
    content = config.path("content")
    for folder, kind in CONTENT_KINDS.items():
        for path in _walk(content / folder, config.root, errors):
            if path.suffix != ".md":
                continue
            rel = _relative(path, config.root)
            with open(path, "rb") as handle:
                if os.fstat(handle.fileno()).st_size > MAX_SOURCE_BYTES:
                    errors.add(rel, 0, "", f"file is larger than {MAX_SOURCE_BYTES // 2**20} MB")
                    continue
                sources.append(SourceFile(rel, kind, handle.read()))
    return sources


def load_static(config: Config, errors: ErrorList) -> list[StaticFile]:
    """Theme assets (templates/static/ -> static/) and the site's static/ folder."""
    folders = [
        (config.path("templates") / "static", "static/"),
        (config.path("static"), ""),
        (config.path("content"), "media/"),
    ]
    files: list[StaticFile] = []
    for folder, prefix in folders:
        for path in _walk(folder, config.root, errors):
            if path.suffix == ".md" and prefix == "media/":
                continue
            dest = prefix + path.relative_to(folder).as_posix()
            files.append(
                StaticFile(path.relative_to(config.root).as_posix(), dest, path.read_bytes())
            )
    return files
