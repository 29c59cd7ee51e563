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
    """Regular files under `folder`, sorted; symlinks must stay inside the site."""
    found: list[Path] = []
    if not folder.is_dir():
        return found
    real_root = root.resolve()
    for directory, subdirs, names in os.walk(folder, followlinks=False):
        subdirs[:] = sorted(d for d in subdirs if not _is_editor_litter(d))
        for name in sorted(names):
            if _is_editor_litter(name):
                continue
            path = Path(directory, name)
            rel = path.relative_to(root).as_posix()
            if path.is_symlink():
                try:
                    target = path.resolve(strict=True)
                except (OSError, RuntimeError):
                    errors.add(rel, 0, "", "symbolic link is broken or loops")
                    continue
                if not target.is_relative_to(real_root):
                    errors.add(rel, 0, "", "symbolic link points outside the site")
                    continue
            if path.is_file():
                found.append(path)
    return found


def load_sources(config: Config, errors: ErrorList) -> list[SourceFile]:
    """Every Markdown file of every content kind, in a stable order."""
    sources: list[SourceFile] = []
    content = config.path("content")
    for folder, kind in CONTENT_KINDS.items():
        for path in _walk(content / folder, config.root, errors):
            if path.suffix != ".md":
                continue
            rel = path.relative_to(config.root).as_posix()
            if path.stat().st_size > MAX_SOURCE_BYTES:
                errors.add(rel, 0, "", f"file is larger than {MAX_SOURCE_BYTES // 2**20} MB")
                continue
            sources.append(SourceFile(rel, kind, path.read_bytes()))
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
