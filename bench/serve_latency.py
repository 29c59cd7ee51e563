"""Save to screen under `sitegen serve`: how soon a saved edit shows in the browser.

Starts `sitegen serve` (search on) on a generated site of N cases, opens one case page in
Chromium and saves an edit to that case's file, as an editor's atomic save does (a temporary
file renamed over the case). Two times per edit, both from just before the save:

- **page**: until the open page has reloaded (live reload) and shows the edited text, taken
  in the page one animation frame after DOMContentLoaded;
- **search**: until the served search index answers a query for the new word with the case,
  and no longer finds the word the previous edit put there. A second page (the site's
  robots.txt, so no live reload interrupts it) polls with a fresh instance of the site's
  pagefind.js every 25 ms. A poll that fails (Pagefind reading an index that is not whole,
  for one) is counted as a search error and polled again.

The server's own output gives where the time goes: when it printed `Changed:` (the watcher
and its debounce) and `Built ... in X s` (the rebuild), counted from the save.

Every load of the case page after a save is checked: one that does not show the edited text,
once the rebuild with the edit is done (serve printed `Built`) or once the page has shown
the edit, is a stale page. The first edit is a warm-up and not counted.

Usage: python bench/serve_latency.py [--n 1000] [--edits 7] [--json PATH]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

from browser import chromium, chromium_version
from corpus import make_cases, write_sitegen
from playwright.sync_api import Error as PlaywrightError

BENCH = Path(__file__).resolve().parent
REPO = BENCH.parent
# The sitegen/ and templates/ to build with: bench/run.py passes its copy of them.
CODE = Path(os.environ.get("SITEGEN_CODE") or REPO)
WORDS = ("alfa", "bravo", "charlie", "delta", "ekko", "foxtrot", "golf", "hotel", "india")
WORDS += ("juliet", "kilo", "lima", "mike", "november", "oscar", "papa", "quebec", "romeo")
TIMEOUT_S = 60.0
POLLER_PATH = "/robots.txt"  # a file of every build, not HTML: no live reload in it

# In the case page, before its scripts: report each load with its time and text.
REPORT_LOAD = """
document.addEventListener("DOMContentLoaded", () => {
  requestAnimationFrame(() => window.__reportLoad(Date.now(), document.body.innerText));
});
"""
# In the polling page: whether a fresh pagefind.js finds `word` on `url`, and `old` nowhere.
POLL = """
async ([poll, word, old, url]) => {
  try {
    const pagefind = await import(`/pagefind/pagefind.js?poll=${poll}`);
    await pagefind.options({ basePath: "/pagefind/" });
    const found = async (term) => {
      const search = await pagefind.search(term);
      const data = await Promise.all(search.results.slice(0, 10).map((r) => r.data()));
      return data.map((d) => d.url);
    };
    const now = await found(word);
    const before = old ? await found(old) : [];
    return { at: Date.now(), ready: now.includes(url) && before.length === 0, error: null };
  } catch (error) {
    return { at: Date.now(), ready: false, error: String(error) };
  }
}
"""


def marker(number: int) -> str:
    return f"måleord{WORDS[number % len(WORDS)]}{number // len(WORDS) or ''}"


class Serve:
    """`sitegen serve --port 0` on a site, in its own process; its URL once it listens."""

    def __init__(self, site: Path) -> None:
        env = {**os.environ, "PYTHONPATH": str(CODE), "PYTHONUNBUFFERED": "1"}
        cmd = [sys.executable, "-m", "sitegen", "serve", "--site", str(site), "--port", "0"]
        # cwd: `python -m` puts the working folder first on the path, before PYTHONPATH's sitegen
        self.process = subprocess.Popen(
            cmd, env=env, cwd=site, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
        )
        self.lines: list[str] = []
        self.times: list[float] = []  # epoch ms at which each line arrived
        self.url = ""
        ready = threading.Event()

        def read() -> None:
            assert self.process.stdout is not None
            for line in self.process.stdout:
                self.times.append(time.time() * 1000)
                self.lines.append(line.rstrip())
                found = re.search(r"Serving (http://\S+?)/? ", line)
                if found and not self.url:
                    self.url = found.group(1)
                    ready.set()
            ready.set()

        threading.Thread(target=read, daemon=True).start()
        if not ready.wait(TIMEOUT_S) or not self.url:
            self.stop()
            raise SystemExit("sitegen serve did not start:\n" + "\n".join(self.lines[-20:]))

    def after(self, saved: float) -> dict[str, float | None]:
        """When serve printed `Changed:` and `Built ...` after `saved`, in s; the build's s."""
        found: dict[str, float | None] = {"changed_s": None, "built_s": None, "rebuild_s": None}
        for at, line in zip(list(self.times), list(self.lines), strict=False):
            if at < saved:
                continue
            if line.startswith("Changed:") and found["changed_s"] is None:
                found["changed_s"] = round((at - saved) / 1000, 3)
            built = re.match(r"Built \d+ files in ([\d.]+) s", line)
            if built and found["built_s"] is None:
                found["built_s"] = round((at - saved) / 1000, 3)
                found["rebuild_s"] = float(built.group(1))
        return found

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def save(path: Path, text: str) -> float:
    """An editor's atomic save; the epoch time (ms) just before it."""
    temporary = path.with_name(f".{path.name}.tmp")
    temporary.write_text(text, encoding="utf-8")
    started = time.time() * 1000
    os.replace(temporary, path)
    return started


def measure(n: int, edits: int, seed: int) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="sitegen-serve-latency-") as folder:
        site = Path(folder) / "site"
        write_sitegen(make_cases(n, seed), site)
        shutil.copytree(CODE / "templates", site / "templates")
        cases = sorted((site / "content" / "cases").glob("*.md"))
        case = cases[len(cases) // 2]
        original = case.read_text(encoding="utf-8").rstrip("\n")
        url_path = f"/cases/{case.stem}/"
        started = time.perf_counter()
        server = Serve(site)
        first_build_s = time.perf_counter() - started
        try:
            with chromium() as browser:
                result = drive(browser, server, case, original, url_path, edits)
        finally:
            server.stop()
        result |= {"n": n, "case": url_path, "first_build_s": round(first_build_s, 2)}
        result["serve_output_tail"] = server.lines[-12:]
        return result


def drive(
    browser: Any, server: Serve, case: Path, original: str, url_path: str, edits: int
) -> dict[str, Any]:
    base = server.url
    loads: list[tuple[float, str]] = []
    context = browser.new_context()
    context.expose_function("__reportLoad", lambda at, text: loads.append((at, text)))
    context.add_init_script(REPORT_LOAD)
    page = context.new_page()
    page.goto(base + url_path)
    while not loads:  # the first load's own report
        page.wait_for_timeout(10)
    poller = context.new_page()
    poller.goto(base + POLLER_PATH)
    waited = time.monotonic()
    while poller.request.get(base + "/pagefind/pagefind-entry.json").status != 200:
        if time.monotonic() - waited > TIMEOUT_S:
            raise SystemExit("sitegen serve never served a search index")
        poller.wait_for_timeout(100)
    settled = len(loads)
    while True:  # the first index may reload the page once more: wait for a quiet second
        poller.wait_for_timeout(1000)
        if len(loads) == settled:
            break
        settled = len(loads)
    rows: list[dict[str, Any]] = []
    previous = ""
    polls = 0
    for number in range(edits + 1):
        word = marker(number)
        text = f"{original}\n\nRettelse under redigering: {word} blev tilføjet.\n"
        loads.clear()
        errors: list[str] = []
        saved = save(case, text)
        shown: float | None = None
        indexed: float | None = None
        deadline = time.monotonic() + TIMEOUT_S
        while (shown is None or indexed is None) and time.monotonic() < deadline:
            if indexed is None:
                polls += 1
                try:
                    answer = poller.evaluate(POLL, [polls, word, previous, url_path])
                except PlaywrightError as error:  # the page was navigated away: start again
                    answer = {"ready": False, "error": str(error).splitlines()[0]}
                    poller.goto(base + POLLER_PATH)
                if answer["ready"]:
                    indexed = answer["at"]
                elif answer["error"]:
                    errors.append(answer["error"])
            else:
                poller.wait_for_timeout(25)
            if shown is None:
                shown = next((at for at, body in loads if word in body), None)
            if indexed is None:
                poller.wait_for_timeout(25)
        page.wait_for_timeout(300)  # a late second reload would show here
        loads[:] = [(at, body) for at, body in loads if at >= saved]
        timing = server.after(saved)
        # Stale: the old text once the rebuild with the edit is done, or once the page showed it.
        built = None if timing["built_s"] is None else saved + timing["built_s"] * 1000
        since = min((t for t in (built, shown) if t is not None), default=saved)
        stale = [at for at, body in loads if word not in body and at >= since]
        rows.append(
            {
                "edit": number + 1,
                "warm_up": number == 0,
                "word": word,
                "page_s": None if shown is None else round((shown - saved) / 1000, 3),
                "search_s": None if indexed is None else round((indexed - saved) / 1000, 3),
                "reloads": len(loads),
                "stale_loads": len(stale),
                "search_errors": len(errors),
                "first_search_error": errors[0] if errors else None,
                **timing,
            }
        )
        print(f"serve latency: {rows[-1]}", file=sys.stderr, flush=True)
        previous = word
        page.wait_for_timeout(500)
    version = chromium_version(browser)
    context.close()
    counted = [r for r in rows if not r["warm_up"]]
    return {
        "chromium": version,
        "edits": rows,
        "page_median_s": median([r["page_s"] for r in counted]),
        "search_median_s": median([r["search_s"] for r in counted]),
        "page_max_s": maximum([r["page_s"] for r in counted]),
        "search_max_s": maximum([r["search_s"] for r in counted]),
        "stale_loads": sum(r["stale_loads"] for r in rows),
        "search_errors": sum(r["search_errors"] for r in rows),
        "changed_median_s": median([r["changed_s"] for r in counted]),
        "built_median_s": median([r["built_s"] for r in counted]),
        "rebuild_median_s": median([r["rebuild_s"] for r in counted]),
        "missed": sum(r["page_s"] is None or r["search_s"] is None for r in rows),
    }


def median(values: list[float | None]) -> float | None:
    present = [v for v in values if v is not None]
    return round(statistics.median(present), 3) if present and len(present) == len(values) else None


def maximum(values: list[float | None]) -> float | None:
    present = [v for v in values if v is not None]
    return max(present) if present and len(present) == len(values) else None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=1000, help="cases in the generated site")
    parser.add_argument("--edits", type=int, default=7, help="edits measured (plus a warm-up)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--json", type=Path, default=BENCH / "work" / "serve-latency.json")
    args = parser.parse_args()
    started = time.perf_counter()
    result = measure(args.n, args.edits, args.seed)
    result["duration_s"] = round(time.perf_counter() - started, 1)
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(result, indent=1, ensure_ascii=False) + "\n", "utf-8")
    print(
        f"page {result['page_median_s']} s, search {result['search_median_s']} s (medians), "
        f"{result['stale_loads']} stale loads; wrote {args.json}",
        file=sys.stderr,
    )


if __name__ == "__main__":
    main()
