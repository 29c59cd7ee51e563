"""One output file of the site as a route: a destination, a template and its context."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Route:
    """One output file: `dest` is a site path ('/cases/x/' or '/404.html')."""

    dest: str
    template: str
    context: dict[str, Any] = field(default_factory=dict)
    finish: Callable[[str], bytes] | None = None  # turns rendered text into the file's bytes


def output_path(dest: str) -> str:
    """The file inside output/ for a site path: '/cases/x/' -> 'cases/x/index.html'."""
    path = dest.lstrip("/")
    return path + "index.html" if path == "" or path.endswith("/") else path
