"""Walking the content folder: order, editor litter and symbolic links."""

from __future__ import annotations

from pathlib import Path

from sitegen.config import Config
from sitegen.errors import ErrorList
from sitegen.load import load_sources


def test_walk_order_litter_and_links(tmp_path: Path) -> None:
    root = tmp_path / "site"
    cases = root / "content/cases"
    (cases / "b-mappe").mkdir(parents=True)
    for name in ("c.md", "a.md", "b-mappe/z.md", ".#a.md", "a.md~", "a.md.swp"):
        (cases / name).write_text("---\ntitle: x\n---\n")
    outside = tmp_path / "udenfor.md"
    outside.write_text("hemmelig")
    (cases / "d-link.md").symlink_to(cases / "a.md")
    (cases / "e-ude.md").symlink_to(outside)
    (cases / "f-brudt.md").symlink_to(cases / "findes-ikke.md")
    (cases / "g-mappe").symlink_to(cases / "b-mappe")
    errors = ErrorList()
    sources = load_sources(Config(root=root), errors)
    assert [s.path for s in sources] == [
        "content/cases/a.md",
        "content/cases/c.md",
        "content/cases/d-link.md",
        "content/cases/b-mappe/z.md",
    ]
    assert sorted(str(e) for e in errors.errors) == [
        "content/cases/e-ude.md: symbolic link points outside the site",
        "content/cases/f-brudt.md: symbolic link is broken or loops",
    ]
