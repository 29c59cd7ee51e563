"""Two builds of the same final content with search on: one incremental, one clean.

The incremental site is built once from the bench corpus, then changed step by step (a case
edited, cases added, a case deleted, a case's title, municipality and tags changed, the first
edit replaced) with a `sitegen build` after every step, each reading and updating
`.sitegen-cache/`. The clean site is a copy of the final content built with `--no-cache`.
bench/search_quality.py compares their search results, bench/reader_latency.py their speed
in the browser.

The theme is copied from templates/ at the start, so both builds use the same templates even
while the theme is being edited.

Usage: python bench/search_sites.py --n 10000 --out DIR [--seed 1]
writes DIR/incremental/output, DIR/clean/output and DIR/sites.json.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from corpus import make_cases, write_sitegen

BENCH = Path(__file__).resolve().parent
REPO = BENCH.parent
# The sitegen/ and templates/ to build with: bench/run.py passes its copy of them.
CODE = Path(os.environ.get("SITEGEN_CODE") or REPO)

# Words the corpus never uses, so a query for them finds exactly the pages the steps changed.
EDIT_SENTENCE = "Kystsikringen ved havnen blev drøftet på et ekstra borgermøde om stormfloder."
REPLACED_SENTENCE = "Klimatilpasningen af kvarteret blev besluttet efter en vandrepanelsdebat."
DELETED_SENTENCE = "Fjernvarmeværket inviterede naboerne til rundvisning."
NEW_CASES = (
    {
        "slug": "skive-genopretter-vandloebet-i-aadalen",
        "title": "Skive genopretter vandløbet i ådalen",
        "municipality": "Skive Kommune",
        "level": "lokalsamfund",
        "tags": ["natur", "vandløb"],
        "lead": "Skive Kommune og lodsejerne restaurerer vandløbet sammen med borgerne.",
        "body": (
            "Vandløbsrestaureringen begyndte med en gåtur langs åen, hvor lodsejere, "
            "lystfiskere og naboer pegede på de steder, hvor vandet står højt om vinteren.\n\n"
            "## Erfaringer fra borgerne\n\nBorgerne foreslog gydebanker og nye stier, og "
            "kommunen lærer af sine fejl. Det betyder, at flere borgere får lyst til at deltage."
        ),
    },
    {
        "slug": "aarhus-afproever-et-borgerraad-om-vandloeb",
        "title": "Aarhus afprøver et borgerråd om vandløb og regnvand",
        "municipality": "Aarhus Kommune",
        "level": "kommune",
        "tags": ["klima", "vandløb", "borgerinddragelse"],
        "lead": "Et tilfældigt udvalgt borgerråd giver Aarhus Kommune råd om regnvand.",
        "body": (
            "Borgerrådet mødtes seks gange og skrev anbefalinger om regnvand, skybrud og "
            "vandløb i byen.\n\n## Resultater\n\nKommunen har prioriteret borgernes forslag, "
            "og regnvandsbassinerne bliver til grønne områder i byen."
        ),
    },
)
LINK = re.compile(r"\]\(([a-z0-9-]+)\.md\)")


def sitegen_env() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(CODE), env.get("PYTHONPATH")) if p)
    return env


def build(site: Path, clean: bool = False) -> float:
    """`sitegen build` of `site` into site/output; its wall time."""
    site = site.resolve()
    cmd = [sys.executable, "-m", "sitegen", "build", "--site", str(site)]
    cmd += ["--out", str(site / "output"), "-q"] + (["--no-cache"] if clean else [])
    started = time.perf_counter()
    # cwd: `python -m` puts the working folder first on the path, before PYTHONPATH's sitegen
    done = subprocess.run(
        cmd, env=sitegen_env(), cwd=site, capture_output=True, text=True, check=False
    )
    if done.returncode != 0:
        raise SystemExit(f"sitegen build failed in {site}:\n{done.stdout}{done.stderr}")
    return time.perf_counter() - started


def unlinked(case_dir: Path) -> list[str]:
    """Slugs of the cases no other case links to (deleting one breaks no link)."""
    slugs = sorted(p.stem for p in case_dir.glob("*.md"))
    linked = {m for p in case_dir.glob("*.md") for m in LINK.findall(p.read_text("utf-8"))}
    return [s for s in slugs if s not in linked]


def append(path: Path, sentence: str) -> None:
    text = path.read_text(encoding="utf-8").rstrip("\n")
    path.write_text(f"{text}\n\n{sentence}\n", encoding="utf-8")


def new_case(case: dict[str, Any]) -> str:
    tags = ", ".join(case["tags"])
    return (
        f'---\ntitle: "{case["title"]}"\ndate: 2025-06-01\nlead: "{case["lead"]}"\n'
        f'municipality: "{case["municipality"]}"\nlevel: {case["level"]}\ntags: [{tags}]\n'
        f'authors: ["Anne Hansen"]\n---\n\n{case["body"]}\n'
    )


def retitle(path: Path) -> None:
    """New title, municipality and tags for one case: its filter values change."""
    text = path.read_text(encoding="utf-8")
    text = re.sub(r"(?m)^title: .*$", 'title: "Fanø samler øens foreninger om færgen"', text)
    text = re.sub(r"(?m)^municipality: .*$", 'municipality: "Fanø Kommune"', text)
    text = re.sub(r"(?m)^tags: .*$", "tags: [mobilitet, foreningsliv, færger]", text)
    path.write_text(text, encoding="utf-8")


def prepare(n: int, seed: int, out: Path) -> dict[str, Any]:
    """Build the incremental site step by step, then the clean one; what was done."""
    if out.exists():
        shutil.rmtree(out)
    site, clean = out / "incremental", out / "clean"
    write_sitegen(make_cases(n, seed), site)
    shutil.copytree(CODE / "templates", site / "templates")
    cases = site / "content" / "cases"
    free = unlinked(cases)
    slugs = sorted(p.stem for p in cases.glob("*.md"))
    edited, deleted, retitled = slugs[len(slugs) // 3], free[len(free) // 2], free[-1]
    edited_path = cases / f"{edited}.md"

    def step_edit() -> None:
        append(edited_path, EDIT_SENTENCE)
        append(cases / f"{deleted}.md", DELETED_SENTENCE)

    def step_add() -> None:
        for case in NEW_CASES:
            (cases / f"{case['slug']}.md").write_text(new_case(case), encoding="utf-8")

    def step_delete() -> None:
        (cases / f"{deleted}.md").unlink()

    def step_retitle() -> None:
        retitle(cases / f"{retitled}.md")

    def step_replace() -> None:
        text = edited_path.read_text(encoding="utf-8").replace(EDIT_SENTENCE, REPLACED_SENTENCE)
        edited_path.write_text(text, encoding="utf-8")

    steps = [
        ("cold build (cache filled)", None),
        (f"edit {edited} and {deleted}: one sentence each", step_edit),
        (f"add {len(NEW_CASES)} cases (a new municipality and tag)", step_add),
        (f"delete {deleted}", step_delete),
        (f"{retitled}: new title, municipality and tags", step_retitle),
        (f"{edited}: the added sentence replaced", step_replace),
    ]
    log: list[dict[str, Any]] = []
    for label, change in steps:
        if change is not None:
            change()
        seconds = build(site)
        log.append({"step": label, "build_s": round(seconds, 2)})
        print(f"search sites N={n}: {label}: {seconds:.1f} s", file=sys.stderr, flush=True)
    shutil.copytree(site, clean, ignore=shutil.ignore_patterns("output", ".sitegen-cache"))
    clean_s = build(clean, clean=True)
    print(f"search sites N={n}: clean build: {clean_s:.1f} s", file=sys.stderr, flush=True)
    facts = {
        "n": n,
        "seed": seed,
        "incremental": str(site / "output"),
        "clean": str(clean / "output"),
        "steps": log,
        "clean_build_s": round(clean_s, 2),
        "edited": edited,
        "deleted": deleted,
        "retitled": retitled,
        "added": [c["slug"] for c in NEW_CASES],
        "indexed_pages": {
            "incremental": indexed_pages(site / "output"),
            "clean": indexed_pages(clean / "output"),
        },
    }
    (out / "sites.json").write_text(json.dumps(facts, indent=1, ensure_ascii=False), "utf-8")
    return facts


def indexed_pages(output: Path) -> int | None:
    """Pages in a Pagefind bundle, from its pagefind-entry.json."""
    entry = output / "pagefind" / "pagefind-entry.json"
    if not entry.exists():
        return None
    languages = json.loads(entry.read_text(encoding="utf-8"))["languages"]
    return sum(int(language["page_count"]) for language in languages.values())


def load_or_prepare(sites: Path, n: int, seed: int) -> dict[str, Any]:
    """The facts of sites already prepared for (n, seed) in `sites`, or a new pair."""
    facts_path = sites / "sites.json"
    if facts_path.exists():
        facts: dict[str, Any] = json.loads(facts_path.read_text(encoding="utf-8"))
        if (facts["n"], facts["seed"]) == (n, seed):
            return facts
    return prepare(n, seed, sites)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=10000, help="cases in the corpus")
    parser.add_argument("--out", type=Path, required=True, help="folder for the two sites")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    facts = prepare(args.n, args.seed, args.out)
    print(json.dumps(facts, indent=1, ensure_ascii=False))


if __name__ == "__main__":
    main()
