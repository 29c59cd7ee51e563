"""Edit-to-reload: how long after saving one case the rebuilt site is ready.

Measures the rebuild that `sitegen serve` runs after an edit (an in-memory session cache,
`build_files`) and the `sitegen build` an editor runs by hand (the on-disk cache, the
output folder written), on the repo's own site and on a generated site of N cases. A
reload in the browser adds the server's debounce and one long-poll round trip on top.

Usage: python bench/edit_reload.py [--n 1000] [--edits 7] [--out docs/edit-reload.md]
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from sitegen.build.cache import BuildCache  # noqa: E402
from sitegen.build.pipeline import build_files  # noqa: E402
from sitegen.config import default_options  # noqa: E402


def make_site(kind: str, n: int, folder: Path, corpus: Path) -> Path:
    """A copy of the repo's site, or a generated site of `n` cases with the repo's theme."""
    root = folder / kind
    if kind == "repo":
        for name in ("content", "templates", "static", "sitegen.toml"):
            if (REPO / name).is_dir():
                shutil.copytree(REPO / name, root / name)
            elif (REPO / name).exists():
                root.mkdir(parents=True, exist_ok=True)
                shutil.copy2(REPO / name, root / name)
        return root
    subprocess.run([sys.executable, str(corpus), "--n", str(n), "--out", str(root)], check=True)
    shutil.copytree(REPO / "templates", root / "templates")
    return root


def edit_one_case(root: Path, number: int) -> None:
    """Change a sentence in the body of one case, as an editor saving the file would."""
    cases = sorted((root / "content/cases").glob("*.md"))
    path = cases[len(cases) // 2]
    path.write_text(
        path.read_text(encoding="utf-8") + f"\nRettelse nummer {number}.\n", encoding="utf-8"
    )


def timed(action: Callable[[], object]) -> float:
    started = time.perf_counter()
    action()
    return time.perf_counter() - started


def measure(root: Path, edits: int) -> dict[str, list[float]]:
    options = default_options()
    session = BuildCache.in_memory()
    figures: dict[str, list[float]] = {"first": [], "serve": [], "build": []}
    figures["first"].append(timed(lambda: build_files(root, options, cache=session)))
    sitegen_build(root)
    for number in range(edits):
        edit_one_case(root, number)
        figures["serve"].append(timed(lambda: build_files(root, options, cache=session)))
        figures["build"].append(timed(lambda: sitegen_build(root)))
    return figures


def sitegen_build(root: Path) -> None:
    """`sitegen build` as an editor runs it: a whole process, start-up included."""
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    subprocess.run(
        [sys.executable, "-m", "sitegen", "build", "-q", "--site", str(root)], check=True, env=env
    )


def report(results: dict[str, dict[str, list[float]]], command: str) -> str:
    lines = [
        "# Edit-to-reload",
        "",
        "How long after an editor saves one case the rebuilt site is ready. *serve rebuild*: "
        "the in-memory rebuild `sitegen serve` runs after a save (parse the one changed file, "
        "re-render the pages whose inputs changed); the page in the browser reloads after that "
        "plus the server's debounce and one long-poll round trip. *sitegen build*: the same "
        "edit followed by a whole `sitegen build` process (start-up, on-disk cache, output/ "
        "swapped in). Both sites have search on. What an editor sees in the browser, from the "
        "save to the reloaded page and to the search index answering with the edit, is "
        "measured in Chromium by `bench/serve_latency.py` (section *`sitegen serve`: save to "
        "screen* of [benchmarks.md](benchmarks.md)).",
        "",
        f"Measured {dt.date.today().isoformat()} on {platform.machine()}, "
        f"{os.cpu_count()} cores, Python {platform.python_version()}; median (min-max) of "
        "the edits.",
        "",
        f"Command: `{command}`",
        "",
        "| site | first build | serve rebuild after one edit | sitegen build after one edit |",
        "|---|---|---|---|",
    ]
    for name, figures in results.items():

        def cell(values: list[float]) -> str:
            median = statistics.median(values)
            return f"{median:.3f} s ({min(values):.3f}-{max(values):.3f})"

        lines.append(
            f"| {name} | {figures['first'][0]:.3f} s | {cell(figures['serve'])} "
            f"| {cell(figures['build'])} |"
        )
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=1000, help="cases in the generated site")
    parser.add_argument("--edits", type=int, default=7, help="edits measured per site")
    parser.add_argument("--out", type=Path, default=REPO / "docs/edit-reload.md")
    parser.add_argument(
        "--corpus", type=Path, default=Path(__file__).resolve().parent / "corpus.py"
    )
    args = parser.parse_args()
    results: dict[str, dict[str, list[float]]] = {}
    with tempfile.TemporaryDirectory(prefix="sitegen-edit-reload-") as folder:
        for kind, label in (("repo", "the repo's CfB site"), ("corpus", f"{args.n} cases")):
            root = make_site(kind, args.n, Path(folder), args.corpus)
            results[label] = measure(root, args.edits)
            print(label, {k: round(statistics.median(v), 3) for k, v in results[label].items()})
    command = f"python bench/edit_reload.py --n {args.n} --edits {args.edits}"
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(report(results, command), encoding="utf-8")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
