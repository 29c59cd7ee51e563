"""Markdown rendering time per page: every extension and pattern vs per-document selection.

Renders the bodies of the first N case files of a site with `MarkdownRenderer` both ways
and prints the best of R passes in ms a page.

Usage: python bench/markup_timing.py CASES_DIR [--n 400] [--repeats 3]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from sitegen.content.markdown import MarkdownRenderer  # noqa: E402


def body(text: str) -> str:
    """The Markdown after the front matter, as the parse step hands it over."""
    if text.startswith("---\n"):
        end = text.find("\n---", 4)
        if end != -1:
            return text[end + 4 :].lstrip("\n")
    return text


def best_ms_per_page(renderer: MarkdownRenderer, bodies: list[str], repeats: int) -> float:
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        for text in bodies:
            renderer.render(text, "content/cases/x.md")
        best = min(best, time.perf_counter() - start)
    return best / len(bodies) * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("cases", type=Path, help="folder of case .md files")
    parser.add_argument("--n", type=int, default=400)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    paths = sorted(args.cases.glob("*.md"))[: args.n]
    bodies = [body(path.read_text(encoding="utf-8")) for path in paths]
    full = MarkdownRenderer(select_features=False)
    selecting = MarkdownRenderer()
    for text in bodies:  # same output, and instances built before timing
        assert selecting.render(text, "c.md") == full.render(text, "c.md")
    full_ms = best_ms_per_page(full, bodies, args.repeats)
    selected_ms = best_ms_per_page(selecting, bodies, args.repeats)
    print(f"{len(bodies)} pages, best of {args.repeats}")
    print(f"full:     {full_ms:.3f} ms/page")
    print(f"selected: {selected_ms:.3f} ms/page ({full_ms / selected_ms:.2f}x)")


if __name__ == "__main__":
    main()
