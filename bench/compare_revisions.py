"""Time sitegen at an earlier revision against the working tree, side by side, in one run.

Usage: python bench/compare_revisions.py --rev REV [--after REV2] [--sizes 1000] [--repeats 15]

Copies sitegen/ and templates/ of REV (from git) and of the working tree (as they are,
uncommitted changes included; or of the commit REV2) under bench/work/compare/, byte-compiles
both alike, and times cold builds, no-change rebuilds and one-edit rebuilds of each on the same
generated corpus, search off and on, the two sides' runs alternating. Writes a section of
docs/benchmarks.md (replaced on every run; the rest of the file is kept) and every run to
bench/work/compare/results-<sizes>.json.
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import io
import json
import os
import shlex
import shutil
import statistics
import subprocess
import sys
import tarfile
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import report
import run
from corpus import make_cases, write_sitegen
from measure import run_measured

REPO = run.REPO
COMPARE = run.WORK / "compare"
CODE_PATHS = ("sitegen", "templates")
SIDES = ("before", "after")
SECTION_START = "<!-- compare-revisions: written by bench/compare_revisions.py -->"
SECTION_END = "<!-- /compare-revisions -->"
DEFAULT_TITLE = "Before and after the package restructuring"
SCENARIO_NAMES = {
    "cold": "cold build",
    "nochange": "no-change rebuild",
    "oneedit": "one-edit rebuild",
}
MEASURES = ("wall_s", "cpu_s")
Row = dict[str, Any]

# Run inside each side's environment: one build, then every sitegen module it imported
# must come from that side's copy of the code.
PROBE = """\
import json, os, sys
import sitegen.cli
code, site, out = sys.argv[1:4]
rc = sitegen.cli.main(["build", "--site", site, "--out", out, "-q"])
files = sorted(
    os.path.realpath(m.__file__)
    for name, m in list(sys.modules.items())
    if (name == "sitegen" or name.startswith("sitegen.")) and getattr(m, "__file__", None)
)
foreign = [f for f in files if not f.startswith(os.path.realpath(code) + os.sep)]
print(json.dumps({"rc": rc, "modules": len(files), "foreign": foreign}))
"""


@dataclass
class Side:
    """One version of sitegen: where its code was copied to and what it was copied from."""

    name: str
    code: Path
    source: str
    digest: str = ""
    modules: int = 0


# ---------------------------------------------------------------------------
# The two versions of the code
# ---------------------------------------------------------------------------


def git(*args: str) -> str:
    proc = subprocess.run(
        ["git", "-C", str(REPO), *args], capture_output=True, text=True, check=True
    )
    return proc.stdout.strip()


def copy_revision(rev: str, dest: Path) -> str:
    """Extract sitegen/ and templates/ of a commit into dest; returns the full commit id."""
    commit = git("rev-parse", "--verify", f"{rev}^{{commit}}")
    archive = subprocess.run(
        ["git", "-C", str(REPO), "archive", "--format=tar", commit, *CODE_PATHS],
        capture_output=True,
        check=True,
    ).stdout
    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
        tar.extractall(dest, filter="data")
    return commit


def copy_working_tree(dest: Path) -> None:
    """Copy sitegen/ and templates/ as they are on disk now (edits made later do not count)."""
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
    for name in CODE_PATHS:
        shutil.copytree(REPO / name, dest / name, ignore=ignore, symlinks=True)


def tree_digest(root: Path) -> tuple[str, int]:
    """Digest of every file's path and bytes under root/sitegen and root/templates,
    and the number of sitegen's Python modules."""
    h = hashlib.sha256()
    modules = 0
    for name in CODE_PATHS:
        for path in sorted((root / name).rglob("*")):
            if not path.is_file() or "__pycache__" in path.parts:
                continue
            h.update(str(path.relative_to(root)).encode() + b"\0" + path.read_bytes() + b"\0")
            modules += name == "sitegen" and path.suffix == ".py"
    return h.hexdigest()[:12], modules


def describe(commit: str) -> str:
    """Short id and subject of a commit (the subject cut to 72 characters)."""
    subject = git("log", "-1", "--format=%s", commit)
    if len(subject) > 72:
        subject = subject[:71].rstrip() + "…"
    return f"`{commit[:7]}` ({subject})"


def prepare_code(rev: str, after_rev: str | None) -> tuple[Side, Side]:
    """Both versions of the code under bench/work/compare/code-*/, byte-compiled alike.

    before is the commit rev; after is the commit after_rev, or the working tree without it.
    """
    before_dir, after_dir = COMPARE / "code-before", COMPARE / "code-after"
    for folder in (before_dir, after_dir):
        if folder.exists():
            shutil.rmtree(folder)
        folder.mkdir(parents=True)
    before = Side("before", before_dir, describe(copy_revision(rev, before_dir)))
    if after_rev is not None:
        after = Side("after", after_dir, describe(copy_revision(after_rev, after_dir)))
    else:
        copy_working_tree(after_dir)
        changed = git("status", "--porcelain", "--untracked-files=all", "--", *CODE_PATHS)
        after = Side(
            "after",
            after_dir,
            f"working tree on {describe(git('rev-parse', 'HEAD'))}, with "
            f"{len(changed.splitlines())} file(s) under "
            f"{' and '.join(f'{p}/' for p in CODE_PATHS)} changed against that commit",
        )
    for side in (before, after):
        side.digest, side.modules = tree_digest(side.code)
        run.compile_sitegen(side.code)
    return before, after


# ---------------------------------------------------------------------------
# Corpus, tools and checks
# ---------------------------------------------------------------------------


def tool_name(side: Side, search: bool) -> str:
    return f"{side.name}-search" if search else side.name


def generate(n: int, seed: int, sides: tuple[Side, Side]) -> Path:
    """One corpus, copied four times: each side with search off and with search on."""
    root = COMPARE / f"n{n}"
    if root.exists():
        shutil.rmtree(root)
    write_sitegen(make_cases(n, seed), root / "corpus")
    for side in sides:
        for search in (False, True):
            site = root / tool_name(side, search)
            shutil.copytree(root / "corpus", site)
            if not search:
                with (site / "sitegen.toml").open("a", encoding="utf-8") as config:
                    config.write(run.SEARCH_OFF)
            run.use_repo_templates(site, side.code)
    return root


def probe(tool: run.Tool, side: Side) -> Row:
    """Build once outside the timing and check that only the side's own code was imported."""
    with tempfile.TemporaryDirectory() as tmp:
        cmd = [sys.executable, "-c", PROBE, str(side.code), str(tool.site), f"{tmp}/output"]
        proc = subprocess.run(
            cmd, capture_output=True, text=True, env=tool.env, cwd=tool.site, check=False
        )
    tool.clean()
    lines = proc.stdout.strip().splitlines()
    if proc.returncode != 0 or not lines:
        raise SystemExit(f"{tool.name}: probe build failed:\n{proc.stdout}{proc.stderr}")
    result: Row = json.loads(lines[-1])
    if result["rc"] != 0:
        raise SystemExit(f"{tool.name}: probe build exited {result['rc']}:\n{proc.stderr}")
    if result["foreign"]:
        raise SystemExit(f"{tool.name} imported code from elsewhere: {result['foreign']}")
    return result


def file_digests(out: Path) -> dict[str, str]:
    return {
        str(p.relative_to(out)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in out.rglob("*")
        if p.is_file()
    }


def compare_outputs(a: Path, b: Path) -> Row:
    """How the files of two output trees differ."""
    left, right = file_digests(a), file_digests(b)
    shared = left.keys() & right.keys()
    differ = sorted(k for k in shared if left[k] != right[k])
    only = sorted(left.keys() ^ right.keys())
    return {
        "files": len(left.keys() | right.keys()),
        "differ": len(differ),
        "only_one_side": len(only),
        "examples": (differ + only)[:5],
    }


# ---------------------------------------------------------------------------
# Running
# ---------------------------------------------------------------------------


def bench_size(n: int, options: run.Options, sides: tuple[Side, Side], results: Row) -> None:
    """All repeats of all scenarios for one size: before and after alternate, and which of
    them goes first flips from one repeat to the next."""
    run.log(f"== N={n}: generating corpus")
    root = generate(n, options.seed, sides)
    slugs, tag_count = run.corpus_facts(root / "corpus" / "content" / "cases")
    pairs = [
        [run.sitegen_tool(root, options, tool_name(side, search), side.code) for side in sides]
        for search in (False, True)
    ]
    tools = [tool for pair in pairs for tool in pair]
    side_of = {tool_name(s, search): s for s in sides for search in (False, True)}
    for tool in tools:
        found = probe(tool, side_of[tool.name])
        results["probes"].append({"n": n, "tool": tool.name, **found})
        run.log(f"N={n} probe {tool.name}: {found['modules']} sitegen modules, all its own")
    for repeat in range(options.repeats):
        order = [pair if repeat % 2 == 0 else pair[::-1] for pair in pairs]
        for scenario in run.SCENARIOS:
            if scenario == "oneedit":
                run.edit_one_case(tools, slugs[(repeat * 7919) % n], repeat)
            for tool in (t for pair in order for t in pair):
                if scenario == "cold":
                    tool.clean()
                cmd = tool.cold_cmd if scenario == "cold" else tool.warm_cmd
                m = run_measured(cmd, tool.site, tool.env, options.timeout)
                results["runs"].append(run.record(n, tool.name, scenario, repeat, m))
                status = "ok" if m.ok else f"FAILED ({m.returncode})"
                run.log(
                    f"N={n} r{repeat + 1} {scenario:8} {tool.name:13} {m.wall_s:7.3f} s "
                    f"{m.cpu_s:7.3f} CPU s {m.peak_mib:7.1f} MiB {status}"
                )
            if scenario == "cold" and repeat == 0:
                for pair in pairs:
                    for tool in pair:
                        check = run.check_output(tool, slugs, tag_count)
                        results["checks"].append({"n": n, "tool": tool.name, **check})
                    same = compare_outputs(pair[0].output, pair[1].output)
                    results["outputs"].append({"n": n, "tools": [t.name for t in pair], **same})


def names_for(search: bool) -> list[str]:
    return [f"{side}-search" if search else side for side in SIDES]


def side_stats(runs: list[Row], key: str) -> Row:
    """Median and range of one measure (wall_s or cpu_s) over a side's successful runs."""
    values = [r[key] for r in runs if r["ok"]]
    if not values:
        return {"runs": len(runs), "runs_ok": 0}
    return {
        "runs": len(runs),
        "runs_ok": len(values),
        "median": statistics.median(values),
        "min": min(values),
        "max": max(values),
        "median_peak_mib": statistics.median(r["peak_mib"] for r in runs if r["ok"]),
    }


def paired_ratios(before: list[Row], after: list[Row], key: str) -> list[float]:
    """after/before for each repeat: the two runs made next to each other."""
    by_repeat = {r["repeat"]: r[key] for r in before if r["ok"]}
    return [r[key] / by_repeat[r["repeat"]] for r in after if r["ok"] and r["repeat"] in by_repeat]


def comparison(data: Row) -> list[Row]:
    """One row per size, scenario and search setting; for wall and CPU time both sides'
    medians, the ratio of the medians and the ratios of the runs made in the same repeat."""
    rows = []
    for n in data["config"]["sizes"]:
        for scenario in run.SCENARIOS:
            for search in (False, True):
                before, after = (
                    [r for r in data["runs"] if (r["n"], r["tool"], r["scenario"]) == group]
                    for group in ((n, name, scenario) for name in names_for(search))
                )
                row: Row = {"n": n, "scenario": scenario, "search": search}
                for key in MEASURES:
                    stats: Row = {
                        "before": side_stats(before, key),
                        "after": side_stats(after, key),
                    }
                    if "median" in stats["before"] and "median" in stats["after"]:
                        stats["ratio"] = stats["after"]["median"] / stats["before"]["median"]
                    stats["paired"] = paired_ratios(before, after, key)
                    row[key] = stats
                rows.append(row)
    return rows


# ---------------------------------------------------------------------------
# Report
# ---------------------------------------------------------------------------


def seconds(stats: Row) -> str:
    if "median" not in stats:
        return "failed"
    return f"{stats['median']:.3f} ({stats['min']:.3f}-{stats['max']:.3f})"


def ratios(stats: Row) -> tuple[str, str]:
    """The ratio of the medians, and the median and range of the per-repeat ratios."""
    ratio = f"**{stats['ratio']:.2f}**" if "ratio" in stats else "-"
    paired = stats["paired"]
    if not paired:
        return ratio, "-"
    spread = f"{statistics.median(paired):.2f} ({min(paired):.2f}-{max(paired):.2f})"
    return ratio, spread


def results_table(rows: list[Row], key: str) -> str:
    """Wall time (with the runs that succeeded) or CPU time (with peak memory)."""
    unit = "s" if key == "wall_s" else "CPU s"
    header = ["N", "scenario", "search", f"before: median {unit} (range)"]
    header += [f"after: median {unit} (range)", "after / before (medians)"]
    header += ["after / before per repeat: median (range)"]
    header += ["runs ok" if key == "wall_s" else "peak MiB before / after"]
    lines = []
    for row in rows:
        stats = row[key]
        before, after = stats["before"], stats["after"]
        if key == "wall_s":
            last = f"{before['runs_ok']}/{before['runs']}, {after['runs_ok']}/{after['runs']}"
        else:
            peaks = (s.get("median_peak_mib", 0.0) for s in (before, after))
            last = " / ".join(f"{p:.0f}" for p in peaks)
        label = [f"{row['n']:,}", SCENARIO_NAMES[row["scenario"]], "on" if row["search"] else "off"]
        lines.append([*label, seconds(before), seconds(after), *ratios(stats), last])
    return report.table(header, lines)


def outputs_text(data: Row) -> str:
    lines = []
    for item in data["outputs"]:
        tools = " and ".join(f"`{t}`" for t in item["tools"])
        if item["differ"] == 0 and item["only_one_side"] == 0:
            lines.append(f"- N={item['n']:,}, {tools}: all {item['files']} files identical.")
        else:
            examples = ", ".join(f"`{e}`" for e in item["examples"])
            lines.append(
                f"- N={item['n']:,}, {tools}: {item['differ']} of {item['files']} files differ, "
                f"{item['only_one_side']} exist on one side only (e.g. {examples})."
            )
    complete = all(c["ok"] for c in data["checks"])
    lines.append(
        "- Every case and tag page present on both sides: "
        + ("yes." if complete else "**no**, see the JSON.")
    )
    return "\n".join(lines)


def highest(rows: list[Row], key: str) -> str:
    """The largest after/before ratio of medians, and where it is."""
    found = [(row[key]["ratio"], row) for row in rows if "ratio" in row[key]]
    if not found:
        return "none (no side built)"
    ratio, row = max(found, key=lambda item: item[0])
    where = f"{SCENARIO_NAMES[row['scenario']]}, search {'on' if row['search'] else 'off'}"
    return f"{ratio:.2f} ({where}, {row['n']:,} cases)"


def render(data: Row, title: str) -> str:
    machine = data["machine"]
    before, after = data["sides"]["before"], data["sides"]["after"]
    sizes = ", ".join(f"{n:,}" for n in data["config"]["sizes"])
    rows = comparison(data)
    load_start = ", ".join(str(x) for x in machine["load_average_at_start"])
    load_end = ", ".join(str(x) for x in machine["load_average_at_end"])
    return f"""\
{SECTION_START}

## {title}

sitegen before and after, building the same generated corpus ({sizes} cases) in one run
of `bench/compare_revisions.py` on {data["date"]} (the run took {data["duration_s"]:.0f} s,
{data["config"]["repeats"]} repeats of every scenario):

| side | code | Python files in sitegen/ | digest of sitegen/ and templates/ |
| --- | --- | --- | --- |
| before | {before["source"]} | {before["modules"]} | `{before["digest"]}` |
| after | {after["source"]} | {after["modules"]} | `{after["digest"]}` |

Command, from the repository root:

```sh
{data["command"]}
```

Wall time of whole `python -m sitegen build` processes in seconds, median and range over the
repeats. **after / before (medians)** is the ratio of the two medians (below 1: faster after).
The per-repeat column divides each after run by the before run made next to it in the same
repeat: its median is less sensitive to the machine's load changing during the run, its range
shows how much of a ratio is noise.
Highest ratio of medians: {highest(rows, "wall_s")}.

{results_table(rows, "wall_s")}

CPU time of the same runs (user and system time of the build and every process it waited for,
Pagefind included), which other work on the machine inflates less than wall time; and the peak
memory.
Highest ratio of medians: {highest(rows, "cpu_s")}.

{results_table(rows, "cpu_s")}

Output after the first cold build, compared file by file between the two sides:

{outputs_text(data)}

Machine: {machine["cpu"]}, {machine["nproc"]} cores, {machine["memory_gib"]} GiB, kernel
{machine["kernel"]}, Python {machine["python"]}, peak memory from {machine["memory_measure"]}.
Load average (1, 5, 15 min): {load_start} at the start, {load_end} at the end.
The machine is shared with other work: read the ratios against the per-repeat ranges, not as
exact figures.

How it is measured:

- Both versions are copied out first, to `bench/work/compare/code-before/` and
  `code-after/`: `sitegen/` and `templates/` of the earlier commit (`git archive`) and of the
  working tree as it is when the run starts (uncommitted and untracked files included; later
  edits do not reach the run). Both are byte-compiled the same way (`compileall`, the same
  interpreter), as `bench/run.py` does for the main table.
- Each side runs `python -m sitegen build --site DIR --out DIR/output -q` with only its own
  copy on `PYTHONPATH` (ahead of the editable install), on its own copy of the corpus, linked
  to its own `templates/`. Before the timing, one build per site imports `sitegen` and checks
  that every `sitegen` module it loaded came from that side's copy.
- Scenarios as in the main table: **cold build** (output and `.sitegen-cache/` deleted
  first), **no-change rebuild**, **one-edit rebuild** (the same sentence appended to the
  same case in all four sites). Search off is `[search] enabled = false`, the work the peers
  do; search on is the complete site with its Pagefind index.
- Runs alternate between the sides within every scenario (before, after with search off,
  then with search on), and the side that goes first flips from one repeat to the next, so
  a change in the machine's load lands on both sides alike. Raw runs (with the load average
  after each) are in `{data["results_file"]}` (not kept in git).

{SECTION_END}
"""


def write_section(path: Path, section: str) -> None:
    """Replace the section in the file, or add it at the end (after the profile marker, so a
    full `bench/run.py` run keeps it)."""
    text = path.read_text(encoding="utf-8") if path.exists() else ""
    if SECTION_START in text and SECTION_END in text:
        head, rest = text.split(SECTION_START, 1)
        tail = rest.split(SECTION_END, 1)[1]
        text = head.rstrip() + "\n\n" + section.rstrip() + tail
    else:
        if report.PROFILE_MARKER not in text:
            text = text.rstrip() + "\n\n" + report.PROFILE_MARKER + "\n"
        text = text.rstrip() + "\n\n" + section
    path.write_text(text.rstrip() + "\n", encoding="utf-8")


# ---------------------------------------------------------------------------
# Main
# ---------------------------------------------------------------------------


def parse_args(argv: list[str]) -> tuple[run.Options, str, str | None, str]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rev", required=True, help="the earlier commit (before)")
    parser.add_argument("--after", help="a later commit (after); default: the working tree")
    parser.add_argument("--sizes", default="1000", help="comma-separated corpus sizes")
    parser.add_argument("--repeats", type=int, default=15, help="runs per scenario and side")
    parser.add_argument("--seed", type=int, default=1, help="corpus seed")
    parser.add_argument("--timeout", type=float, default=600, help="seconds per build")
    parser.add_argument("--docs", type=Path, default=run.DOCS, help="folder of benchmarks.md")
    parser.add_argument("--title", default=DEFAULT_TITLE, help="heading of the section")
    args = parser.parse_args(argv)
    sizes = [int(s) for s in args.sizes.split(",") if s.strip()]
    command = "python " + shlex.join(["bench/compare_revisions.py", *argv])
    options = run.Options(sizes, args.repeats, args.seed, None, args.timeout, command, args.docs)
    return options, args.rev, args.after, args.title


def main(argv: list[str] | None = None) -> int:
    options, rev, after_rev, title = parse_args(sys.argv[1:] if argv is None else argv)
    started = dt.datetime.now(dt.UTC)
    load_at_start = [round(x, 2) for x in os.getloadavg()]
    sides = prepare_code(rev, after_rev)
    run.log(f"== before: {sides[0].source}\n== after: {sides[1].source}")
    results: Row = {"runs": [], "checks": [], "probes": [], "outputs": []}
    for n in options.sizes:
        bench_size(n, options, sides, results)
    data: Row = {
        "date": started.isoformat(timespec="seconds"),
        "duration_s": round((dt.datetime.now(dt.UTC) - started).total_seconds(), 1),
        "command": options.command,
        "config": {"sizes": options.sizes, "repeats": options.repeats, "seed": options.seed},
        "machine": {**run.machine(), "load_average_at_start": load_at_start},
        "sides": {
            s.name: {"source": s.source, "digest": s.digest, "modules": s.modules} for s in sides
        },
        "summary": run.summarize(results["runs"]),
        **results,
    }
    data["comparison"] = comparison(data)
    COMPARE.mkdir(parents=True, exist_ok=True)
    raw = COMPARE / f"results-{'-'.join(str(n) for n in options.sizes)}.json"
    data["results_file"] = str(raw.relative_to(REPO))
    raw.write_text(json.dumps(data, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    md_path = options.docs / "benchmarks.md"
    write_section(md_path, render(data, title))
    run.log(f"== wrote {md_path} and {raw}")
    for row in data["comparison"]:
        for key in MEASURES:
            stats = row[key]
            ratio, paired = ratios(stats)
            run.log(
                f"N={row['n']} {row['scenario']:8} search {'on ' if row['search'] else 'off'} "
                f"{key:6} before {seconds(stats['before']):22} after {seconds(stats['after']):22}"
                f" after/before {ratio.strip('*')}, per repeat {paired}"
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
