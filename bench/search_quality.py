"""Search quality: the incremental index answers a fixed query set as one clean index does.

Runs every query of QUERIES through the site's real search page (/soeg/?q=...&filter=...)
in Chromium on two builds of the same final content (bench/search_sites.py): one built step
by step with the build cache, one clean build. It compares the top 10 result URLs, in order,
as the page renders them. Where they differ, Pagefind's scores (read through the page's own
pagefind.js instance, so with the same options and ordering) tell whether only results of equal
score changed places (`ties`), or whether the results really differ (`different`, a failure).

The queries use the corpus's own vocabulary (bench/corpus.py: generated Danish sentences from
fixed word lists), plus words that only the changed cases contain.

Usage: python bench/search_quality.py --sites DIR [--n 10000] [--json PATH]
(DIR is prepared by bench/search_sites.py when it does not hold sites for --n yet).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import urllib.parse
from pathlib import Path
from typing import Any

import search_sites
from browser import chromium, chromium_version, static_server

BENCH = Path(__file__).resolve().parent
TOP = 10
# (group, query text, filters); the search page's filters: kommune, niveau, emne.
QUERIES: list[tuple[str, str, dict[str, str]]] = [
    ("word", "dialog", {}),
    ("word", "fællesskab", {}),
    ("word", "legepladsen", {}),
    ("word", "forsamlingshuset", {}),
    ("word", "biblioteket", {}),
    ("word", "ældreplejen", {}),
    ("word", "trafiksikkerheden", {}),
    ("word", "gennemsigtig", {}),
    ("word", "Ærø", {}),
    ("word", "Sønderborg", {}),
    ("inflection: borger", "borger", {}),
    ("inflection: borger", "borgere", {}),
    ("inflection: borger", "borgerne", {}),
    ("inflection: borger", "borgernes", {}),
    ("inflection: kommune", "kommune", {}),
    ("inflection: kommune", "kommunen", {}),
    ("inflection: kommune", "kommunens", {}),
    ("inflection: inddragelse", "inddragelse", {}),
    ("inflection: inddragelse", "inddragelsen", {}),
    ("inflection: inddragelse", "inddrage", {}),
    ("inflection: erfaring", "erfaring", {}),
    ("inflection: erfaring", "erfaringerne", {}),
    ("inflection: fællesskab", "fællesskaber", {}),
    ("inflection: fællesskab", "fællesskabet", {}),
    ("two words", "grøn omstilling", {}),
    ("two words", "åbent borgermøde", {}),
    ("two words", "unge trivsel", {}),
    ("two words", "lokale foreninger", {}),
    ("two words", "nye fællesskaber", {}),
    ("changed content", "kystsikring", {}),
    ("changed content", "klimatilpasning", {}),
    ("changed content", "fjernvarmeværket", {}),
    ("changed content", "vandløb", {}),
    ("changed content", "regnvand borgerråd", {}),
    ("changed content", "færgen", {}),
    ("filter", "", {"kommune": "Aarhus Kommune"}),
    ("filter", "", {"niveau": "Lokalsamfunds-niveau"}),
    ("filter", "", {"emne": "klima"}),
    ("filter", "", {"kommune": "Skive Kommune"}),
    ("filter", "", {"emne": "færger"}),
    ("filter + term", "borgermøde", {"kommune": "Odense Kommune"}),
    ("filter + term", "dialog", {"niveau": "Individ-niveau"}),
    ("filter + term", "skolevejen", {"emne": "børn"}),
    ("filter + term", "vandløb", {"kommune": "Aarhus Kommune"}),
    ("two filters + term", "unge", {"kommune": "Vejle Kommune", "emne": "unge"}),
]
# Asks the page's own Pagefind (the module search.js imported, so with its options) for every
# result's score, highest first, and the URL and score of each result that scores at least as
# high as the 10th (at most TIE_LIMIT), so reordered ties can be told from real differences
# whatever order the page gives results of equal score.
TIE_LIMIT = 300
SCORES_JS = """
async ([url, query, filters, top, limit]) => {
  const pagefind = await import(url);
  const search = await pagefind.search(query || null, { filters });
  const results = [...search.results].sort((a, b) => b.score - a.score);
  const scores = results.map((r) => r.score);
  const edge = results.length > top ? scores[top - 1] : null;
  let upto = Math.min(results.length, top);
  while (edge !== null && upto < results.length && upto < limit && scores[upto] === edge) upto++;
  const data = await Promise.all(results.slice(0, upto).map((r) => r.data()));
  const scored = Object.fromEntries(data.map((d, i) => [d.url, scores[i]]));
  return { count: results.length, scores, scored, complete: upto < limit };
}
"""
# Resolves once the search page has written its status line (after rendering the results).
# (A promise rather than wait_for_function: the pages' CSP forbids evaluating strings.)
STATUS_SHOWN_JS = """
(ms) => new Promise((resolve) => {
  const status = document.getElementById("search-status");
  if (status.textContent !== "") return resolve(true);
  setTimeout(() => resolve(false), ms);
  new MutationObserver((_, observer) => {
    if (status.textContent === "") return;
    observer.disconnect();
    resolve(true);
  }).observe(status, { childList: true, characterData: true, subtree: true });
})
"""
RENDERED_JS = """
() => ({
  status: document.getElementById("search-status").textContent,
  urls: [...document.querySelectorAll("#search-results > li")].map(
    (item) => item.querySelector("a[href]").getAttribute("href")
  ),
})
"""


def search_url(base: str, query: str, filters: dict[str, str]) -> str:
    params = {"q": query, **filters}
    return f"{base}/soeg/?{urllib.parse.urlencode(params)}"


def run_query(page: Any, base: str, query: str, filters: dict[str, str]) -> dict[str, Any]:
    """One query through the search page: what it renders and Pagefind's scores.

    When the page shows no results at all (its status line stays empty), the result has an
    `error`: the page's own error if it reported one.
    """
    errors: list[str] = []

    def note(error: Any) -> None:
        errors.append(str(error))

    page.on("pageerror", note)
    page.goto(search_url(base, query, filters))
    for name, value in filters.items():
        if page.input_value(f"select[data-filter={name}]") != value:
            raise SystemExit(f"the search page offers no {name} filter {value!r}")
    shown = False
    for _ in range(30):  # up to 30 s, less when the page reports an error
        shown = page.evaluate(STATUS_SHOWN_JS, 1000)
        if shown or errors:
            break
    page.remove_listener("pageerror", note)
    if not shown:
        why = errors[0] if errors else "no results shown within 30 s"
        return {"error": why, "top": [], "count": None}
    rendered = page.evaluate(RENDERED_JS)
    pagefind_js = page.get_attribute("form[data-pagefind]", "data-pagefind")
    scored = page.evaluate(SCORES_JS, [pagefind_js, query, filters, TOP, TIE_LIMIT])
    top = rendered["urls"][:TOP]
    top_scores = [scored["scored"].get(url) for url in top]
    known = [score for score in top_scores if score is not None]
    if (scored["complete"] and len(known) < len(top)) or known != sorted(known, reverse=True):
        raise SystemExit(f"the page does not show the best scores first for {query!r} {filters}")
    return {
        "status": rendered["status"],
        "top": top,
        "top_scores": top_scores,
        "count": scored["count"],
        "scores": scored["scores"],
        "scored": scored["scored"],
        "complete": scored["complete"],
    }


def compare(incremental: dict[str, Any], clean: dict[str, Any]) -> tuple[str, str]:
    """`same`, `ties` (only equally scored results changed places) or `different`; why."""
    for name, result in (("incremental", incremental), ("clean", clean)):
        if "error" in result:
            return "different", f"the {name} search page failed: {result['error']}"
    if incremental["top"] == clean["top"]:
        if incremental["count"] != clean["count"]:
            return "different", f"result counts {incremental['count']} and {clean['count']}"
        return "same", ""
    if incremental["count"] != clean["count"]:
        return "different", f"result counts {incremental['count']} and {clean['count']}"
    a, b = incremental["scores"], clean["scores"]
    if len(a) != len(b) or any(abs(x - y) > 1e-6 for x, y in zip(a, b, strict=True)):
        return "different", "the scores differ"
    # Same scores: a page may only be exchanged for another of the same score.
    for ours, theirs in ((incremental, clean), (clean, incremental)):
        for url, score in zip(ours["top"], ours["top_scores"], strict=True):
            other = theirs["scored"].get(url)
            if other is None and not theirs["complete"]:
                continue  # beyond the TIE_LIMIT results read: equal by the score sequence
            if other is None or score is None or abs(other - score) > 1e-6:
                return "different", f"{url} scores differently or is missing in the other"
    return "ties", "pages of equal score in another order"


def evaluate(facts: dict[str, Any]) -> dict[str, Any]:
    """Every query on both sites; the comparison per query."""
    rows: list[dict[str, Any]] = []
    with (
        static_server(Path(facts["incremental"])) as inc_base,
        static_server(Path(facts["clean"])) as clean_base,
        chromium() as browser,
    ):
        version = chromium_version(browser)
        context = browser.new_context()
        page = context.new_page()
        for group, query, filters in QUERIES:
            inc = run_query(page, inc_base, query, filters)
            cln = run_query(page, clean_base, query, filters)
            verdict, why = compare(inc, cln)
            rows.append(
                {
                    "group": group,
                    "query": query,
                    "filters": filters,
                    "count_incremental": inc["count"],
                    "count_clean": cln["count"],
                    "top_incremental": inc["top"],
                    "top_clean": cln["top"],
                    "top_scores_clean": [
                        None if s is None else round(s, 4) for s in cln.get("top_scores", [])
                    ],
                    "verdict": verdict,
                    "why": why,
                }
            )
            print(
                f"{verdict:9} {inc['count']!s:>5} {cln['count']!s:>5}  {query!r} {filters}",
                file=sys.stderr,
                flush=True,
            )
        context.close()
    joined = inflections_joined(rows)
    return {
        "n": facts["n"],
        "sites": facts,
        "chromium": version,
        "queries": rows,
        "inflections": joined,
        "failures": sum(r["verdict"] == "different" for r in rows),
        "ties": sum(r["verdict"] == "ties" for r in rows),
    }


def inflections_joined(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Per inflection group: whether every form finds the same pages (Danish stemming)."""
    groups: dict[str, list[dict[str, Any]]] = {}
    for row in rows:
        if row["group"].startswith("inflection"):
            groups.setdefault(row["group"].split(": ", 1)[1], []).append(row)
    return [
        {
            "word": word,
            "forms": [r["query"] for r in members],
            "counts": [r["count_clean"] for r in members],
            "same_top10": len({tuple(r["top_clean"]) for r in members}) == 1,
        }
        for word, members in groups.items()
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sites", type=Path, default=BENCH / "work" / "search-sites")
    parser.add_argument("--n", type=int, default=10000, help="cases, if the sites are made")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--json", type=Path, default=BENCH / "work" / "search-quality.json")
    args = parser.parse_args()
    started = time.perf_counter()
    facts = search_sites.load_or_prepare(args.sites, args.n, args.seed)
    result = evaluate(facts)
    result["duration_s"] = round(time.perf_counter() - started, 1)
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(result, indent=1, ensure_ascii=False) + "\n", "utf-8")
    print(
        f"{len(result['queries'])} queries: {result['failures']} different, "
        f"{result['ties']} ties; wrote {args.json}",
        file=sys.stderr,
    )


if __name__ == "__main__":
    main()
