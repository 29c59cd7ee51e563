"""Plot cold build time against corpus size for every tool (runs in bench/.venv).

Usage: bench/.venv/bin/python bench/plot.py docs/benchmarks.json docs/bench-build-time.png
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
from matplotlib.ticker import NullLocator

TOOLS = {
    "sitegen": "sitegen",
    "sitegen-search": "sitegen with search",
    "hugo": "Hugo",
    "hugo-pagefind": "Hugo + Pagefind",
    "pelican": "Pelican",
    "mkdocs": "MkDocs",
}


def series(summary: list[dict[str, Any]], tool: str) -> tuple[list[int], list[float]]:
    points = sorted(
        (row["n"], row["median_s"])
        for row in summary
        if row["tool"] == tool and row["scenario"] == "cold" and "median_s" in row
    )
    return [n for n, _ in points], [s for _, s in points]


def main() -> None:
    data = json.loads(Path(sys.argv[1]).read_text(encoding="utf-8"))
    fig, ax = plt.subplots(figsize=(7, 4.5), dpi=120)
    sizes = sorted({row["n"] for row in data["summary"]})
    for tool, label in TOOLS.items():
        xs, ys = series(data["summary"], tool)
        if xs:
            ax.plot(xs, ys, marker="o", label=label)
    if len(sizes) > 1:
        ax.set_xscale("log")
        ax.set_yscale("log")
    ax.set_xticks(sizes, [f"{n:,}" for n in sizes])
    ax.xaxis.set_minor_locator(NullLocator())
    ax.set_xlabel("cases (N)")
    ax.set_ylabel("cold build, median wall time (s)")
    ax.set_title(f"Cold build time ({data['machine']['nproc']} cores, {data['date'][:10]})")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend()
    fig.tight_layout()
    fig.savefig(sys.argv[2])


if __name__ == "__main__":
    main()
