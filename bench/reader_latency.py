"""Reader latency: query to rendered results on the search page, incremental vs clean index.

Serves the two builds of bench/search_sites.py (the same final content; one index built
step by step with the build cache, one clean) from plain static servers on 127.0.0.1
(bench/browser.py: no added latency, docs/deploy.md's cache policy) and times, in Chromium:

- **typed**: the search page loaded and settled (network idle, Pagefind initialised); the
  query is put in the field and the form submitted; the time until the status line under it
  is written, which search.js does right after rendering the results, plus one animation
  frame.
- **opened**: the search page opened with the query in its URL (`/soeg/?q=...`), as from a
  link; the time from navigation start to the same point.

each with an **empty cache** (a new browser context) and a **warm cache** (a new page in a
context that already ran the same query: files come from the browser's cache, revalidated
as the `no-cache` policy asks). The sites alternate within every query and round, and which
goes first flips each round. Medians per scenario and site, and their ratio.

Usage: python bench/reader_latency.py --sites DIR [--n 10000] [--rounds 5] [--json PATH]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
import urllib.parse
from pathlib import Path
from typing import Any

import search_sites
from browser import chromium, chromium_version, static_server

BENCH = Path(__file__).resolve().parent
# Common and rare words, two words, a filter with a term.
QUERIES: list[tuple[str, dict[str, str]]] = [
    ("dialog", {}),
    ("borgernes", {}),
    ("biblioteket", {}),
    ("grøn omstilling", {}),
    ("Ærø", {}),
    ("borgermøde", {"kommune": "Odense Kommune"}),
]
SITES = ("incremental", "clean")
SCENARIOS = ("typed, empty cache", "typed, warm cache", "opened, empty cache", "opened, warm cache")

# In every page before its scripts: note when the status line is first written (search.js
# writes it right after the results), one animation frame later, as ms since navigation start.
STATUS_WATCH = """
(() => {
  const watch = () => {
    const status = document.getElementById("search-status");
    if (!status) return;
    new MutationObserver(() => {
      if (status.textContent === "" || window.__statusShown) return;
      requestAnimationFrame(() => { window.__statusShown = performance.now(); });
    }).observe(status, { childList: true, characterData: true, subtree: true });
  };
  document.addEventListener("DOMContentLoaded", watch);
})();
"""
# Submit a query on a settled search page; ms from the submit until results are rendered.
TYPED = """
async ([query, filters]) => {
  const form = document.querySelector("form[data-pagefind]");
  const status = document.getElementById("search-status");
  document.getElementById("search-query").value = query;
  for (const [name, value] of Object.entries(filters)) {
    form.querySelector(`select[data-filter="${name}"]`).value = value;
  }
  window.__statusShown = undefined;
  status.textContent = "";
  const done = new Promise((resolve) => {
    new MutationObserver((_, observer) => {
      if (status.textContent === "") return;
      observer.disconnect();
      requestAnimationFrame(() => resolve(performance.now()));
    }).observe(status, { childList: true, characterData: true, subtree: true });
  });
  const started = performance.now();
  form.requestSubmit();
  const timeout = new Promise((resolve) => setTimeout(() => resolve(null), 30000));
  const finished = await Promise.race([done, timeout]);
  return finished === null ? null : finished - started;
}
"""
# Wait until the status line was written on a page opened with the query in its URL.
OPENED = """
() => new Promise((resolve) => {
  const check = () => {
    if (window.__statusShown !== undefined) return resolve(window.__statusShown);
    if (performance.now() > 30000) return resolve(null);
    setTimeout(check, 5);
  };
  check();
})
"""


def search_url(base: str, query: str = "", filters: dict[str, str] | None = None) -> str:
    if not query and not filters:
        return f"{base}/soeg/"
    return f"{base}/soeg/?{urllib.parse.urlencode({'q': query, **(filters or {})})}"


def typed(context: Any, base: str, query: str, filters: dict[str, str]) -> float:
    page = context.new_page()
    page.goto(search_url(base), wait_until="networkidle")
    page.wait_for_selector("form[data-pagefind]:not([hidden])")
    elapsed: float | None = page.evaluate(TYPED, [query, filters])
    page.close()
    return shown(elapsed, base, query)


def opened(context: Any, base: str, query: str, filters: dict[str, str]) -> float:
    page = context.new_page()
    page.goto(search_url(base, query, filters))
    elapsed: float | None = page.evaluate(OPENED)
    page.close()
    return shown(elapsed, base, query)


def shown(elapsed: float | None, base: str, query: str) -> float:
    if elapsed is None:
        raise SystemExit(f"{base}: the search page showed no results for {query!r} in 30 s")
    return elapsed


def one_site(browser: Any, base: str, query: str, filters: dict[str, str]) -> dict[str, float]:
    """The four scenarios for one query on one site, in milliseconds."""
    figures: dict[str, float] = {}
    fresh = browser.new_context()
    fresh.add_init_script(STATUS_WATCH)
    figures["opened, empty cache"] = opened(fresh, base, query, filters)
    figures["opened, warm cache"] = opened(fresh, base, query, filters)
    fresh.close()
    fresh = browser.new_context()
    figures["typed, empty cache"] = typed(fresh, base, query, filters)
    figures["typed, warm cache"] = typed(fresh, base, query, filters)
    fresh.close()
    return figures


def measure(facts: dict[str, Any], rounds: int) -> dict[str, Any]:
    runs: list[dict[str, Any]] = []
    folders = {site: Path(facts[site]) for site in SITES}
    with (
        static_server(folders["incremental"]) as inc_base,
        static_server(folders["clean"]) as clean_base,
        chromium() as browser,
    ):
        bases = {"incremental": inc_base, "clean": clean_base}
        version = chromium_version(browser)
        for site in SITES:  # one unmeasured pass: the page cache holds both sites' files
            one_site(browser, bases[site], *QUERIES[0])
        for number in range(rounds):
            order = SITES if number % 2 == 0 else SITES[::-1]
            for query, filters in QUERIES:
                for site in order:
                    figures = one_site(browser, bases[site], query, filters)
                    for scenario, ms in figures.items():
                        runs.append(
                            {
                                "round": number + 1,
                                "site": site,
                                "query": query,
                                "filters": filters,
                                "scenario": scenario,
                                "ms": round(ms, 1),
                            }
                        )
            print(f"reader latency: round {number + 1} of {rounds}", file=sys.stderr, flush=True)
    return {"chromium": version, "runs": runs, "summary": summarize(runs)}


def summarize(runs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    rows = []
    for scenario in SCENARIOS:
        medians = {}
        for site in SITES:
            values = [r["ms"] for r in runs if r["scenario"] == scenario and r["site"] == site]
            medians[site] = statistics.median(values) if values else None
        row: dict[str, Any] = {"scenario": scenario, **{f"{s}_ms": medians[s] for s in SITES}}
        if medians["incremental"] is not None and medians["clean"]:
            row["ratio"] = round(medians["incremental"] / medians["clean"], 3)
        rows.append(row)
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sites", type=Path, default=BENCH / "work" / "search-sites")
    parser.add_argument("--n", type=int, default=10000, help="cases, if the sites are made")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--rounds", type=int, default=5, help="rounds over the queries")
    parser.add_argument("--json", type=Path, default=BENCH / "work" / "reader-latency.json")
    args = parser.parse_args()
    started = time.perf_counter()
    facts = search_sites.load_or_prepare(args.sites, args.n, args.seed)
    result = {
        "n": facts["n"],
        "rounds": args.rounds,
        "queries": [{"query": q, "filters": f} for q, f in QUERIES],
        **measure(facts, args.rounds),
    }
    result["duration_s"] = round(time.perf_counter() - started, 1)
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(result, indent=1, ensure_ascii=False) + "\n", "utf-8")
    for row in result["summary"]:
        print(row, file=sys.stderr)


if __name__ == "__main__":
    main()
