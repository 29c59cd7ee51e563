"""Incremental builds: the cache reuses only what is still valid, and never shows it."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from sitegen.build import memo as steps
from sitegen.build.cache import CACHE_DIR, BuildCache
from sitegen.build.parallel import MIN_ITEMS_PER_JOB
from sitegen.build.pipeline import build
from sitegen.config import default_options
from tests.conftest import CASE, REPO, read_tree
from tests.search_meaning import assert_same_site

MakeSite = Callable[[dict[str, str]], Path]


def case_text(number: int, tag: str = "samskabelse", body: str = "") -> str:
    """A case with a link to the case before it, so pages depend on each other."""
    text = CASE.format(title=f"Case nummer {number} på Ærø").replace(
        "tags: [samskabelse]", f"tags: [{tag}]"
    )
    link = f"\nSe også [den forrige](case-{number - 1}.md).\n" if number > 1 else "\n"
    return text.replace("2020-03-01", f"2020-03-{number % 28 + 1:02d}") + link + body


def small_site(new_site: MakeSite, count: int = 6) -> Path:
    return new_site({f"content/cases/case-{n}.md": case_text(n) for n in range(1, count + 1)})


def clean_build(root: Path, out: Path) -> dict[str, bytes]:
    build(root, default_options(), out)
    return read_tree(out)


def cached_build(root: Path, out: Path, jobs: int = 1) -> dict[str, bytes]:
    build(root, default_options(), out, cache=BuildCache.for_site(root), jobs=jobs)
    return read_tree(out)


def count_parses(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    parsed: list[str] = []
    real = steps.parse_source

    def counting(source, renderer, errors, *known):  # type: ignore[no-untyped-def]
        parsed.append(source.path)
        return real(source, renderer, errors, *known)

    monkeypatch.setattr(steps, "parse_source", counting)
    return parsed


def inodes(out: Path) -> dict[str, int]:
    return {p.relative_to(out).as_posix(): p.stat().st_ino for p in out.rglob("*") if p.is_file()}


def test_one_edit_reparses_one_file_and_rewrites_only_changed_files(
    new_site: MakeSite, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = small_site(new_site)
    out = tmp_path / "out"
    parsed = count_parses(monkeypatch)
    before = cached_build(root, out)
    assert len(parsed) == 6
    before_inodes = inodes(out)

    parsed.clear()
    edited = root / "content/cases/case-3.md"
    edited.write_text(edited.read_text().replace("Brødtekst.", "Ny brødtekst."))
    result = build(root, default_options(), out, cache=BuildCache.for_site(root))
    after = read_tree(out)

    assert parsed == ["content/cases/case-3.md"]
    changed = {path for path in after if after[path] != before.get(path)}
    page = "cases/case-nummer-3-paa-aeroe/index.html"
    assert page in changed  # besides it only the feed and the search index show the body
    assert all(p == page or p.endswith(".xml") or p.startswith("pagefind/") for p in changed)
    removed = set(before) - set(after)  # search index files are named by their content
    assert all(p.startswith("pagefind/") for p in removed)
    assert result.report is not None
    assert (result.report.written, result.report.removed) == (len(changed), len(removed))
    after_inodes = inodes(out)
    for path in after:
        assert (after_inodes[path] == before_inodes.get(path)) == (path not in changed), path
    assert_same_site(after, clean_build(root, tmp_path / "clean"))


def test_no_change_rebuild_parses_and_writes_nothing(
    new_site: MakeSite, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = small_site(new_site)
    out = tmp_path / "out"
    cached_build(root, out)
    before = inodes(out)
    parsed = count_parses(monkeypatch)
    result = build(root, default_options(), out, cache=BuildCache.for_site(root))
    assert parsed == []
    assert result.report is not None and result.report.written == 0
    assert inodes(out) == before


def assert_record_is_the_tree(root: Path, out: Path) -> None:
    """The output record (worked out from what the write touched) is the tree's stat."""
    from sitegen.output.write import snapshot, written_record

    record = written_record(BuildCache.for_site(root), out.absolute())
    assert record is not None and record.stats == snapshot(out.absolute(), record.files)


def test_added_removed_and_renamed_cases(new_site: MakeSite, tmp_path: Path) -> None:
    root = small_site(new_site)
    out = tmp_path / "out"
    cached_build(root, out)
    cases = root / "content/cases"
    (cases / "case-7.md").write_text(case_text(7, tag="borgerbudget"))
    assert_same_site(cached_build(root, out), clean_build(root, tmp_path / "c1"))
    assert_record_is_the_tree(root, out)
    (cases / "case-7.md").unlink()
    (cases / "case-6.md").rename(cases / "case-60.md")
    result = cached_build(root, out)
    assert "emner/borgerbudget/index.html" not in result
    assert_same_site(result, clean_build(root, tmp_path / "c2"))
    assert_record_is_the_tree(root, out)
    # a third and fourth build bring the spare tree up to date in place
    (cases / "case-5.md").write_text(case_text(5, body="Mere tekst."))
    assert_same_site(cached_build(root, out), clean_build(root, tmp_path / "c3"))
    assert_record_is_the_tree(root, out)
    (cases / "case-60.md").unlink()
    assert_same_site(cached_build(root, out), clean_build(root, tmp_path / "c4"))
    assert_record_is_the_tree(root, out)


def test_template_and_config_edits_reach_every_page(new_site: MakeSite, tmp_path: Path) -> None:
    root = small_site(new_site)
    out = tmp_path / "out"
    cached_build(root, out)
    base = root / "templates/base.html"
    base.write_text(base.read_text().replace("<main", "<!-- ny skabelon -->\n<main"))
    result = cached_build(root, out)
    pages = [data for path, data in result.items() if path.endswith(".html")]
    assert len(pages) > 6  # the six case pages and more
    assert all(b"ny skabelon" in data for data in pages)
    (root / "sitegen.toml").write_text('[site]\ntitle = "Borgerdialog i Ærø"\n')
    result = cached_build(root, out)
    assert_same_site(result, clean_build(root, tmp_path / "clean"))
    assert b"Borgerdialog i \xc3\x86r\xc3\xb8" in result["index.html"]


def test_a_path_written_in_a_template_follows_a_new_base_url(
    new_site: MakeSite, tmp_path: Path
) -> None:
    """Compiled templates are cached by their source: a filter that reads the config must
    not be worked out once, when the template is compiled."""
    root = small_site(new_site)
    out = tmp_path / "out"
    base = root / "templates/base.html"
    link = """<a class="om-os" href="{{ '/om/'|url }}">{{ '/om/'|absolute_url }}</a>"""
    base.write_text(base.read_text().replace("<main", link + "\n<main", 1))
    (root / "sitegen.toml").write_text('[site]\nbase_url = "https://example.dk/"\n')
    assert (
        b'class="om-os" href="/om/">https://example.dk/om/<'
        in cached_build(root, out)["index.html"]
    )
    (root / "sitegen.toml").write_text('[site]\nbase_url = "https://example.dk/cfb/"\n')
    home = cached_build(root, out)["index.html"]
    assert b'class="om-os" href="/cfb/om/">https://example.dk/cfb/om/<' in home


def test_tampered_output_is_repaired(new_site: MakeSite, tmp_path: Path) -> None:
    root = small_site(new_site)
    out = tmp_path / "out"
    expected = cached_build(root, out)
    (out / "index.html").write_bytes(b"changed by hand")
    assert cached_build(root, out) == expected
    (out / "stray.html").write_bytes(b"not part of the site")
    assert cached_build(root, out) == expected
    (out / "404.html").unlink()
    assert cached_build(root, out) == expected


def test_cache_can_be_deleted_any_time(new_site: MakeSite, tmp_path: Path) -> None:
    import shutil

    root = small_site(new_site)
    out = tmp_path / "out"
    cached_build(root, out)
    shutil.rmtree(root / CACHE_DIR)
    (root / "content/cases/case-2.md").write_text(case_text(2, tag="lokaldemokrati"))
    assert_same_site(cached_build(root, out), clean_build(root, tmp_path / "clean"))


def test_corrupt_cache_files_are_ignored(new_site: MakeSite, tmp_path: Path) -> None:
    root = small_site(new_site)
    out = tmp_path / "out"
    cached_build(root, out)
    damaged = 0
    for path in (root / CACHE_DIR).rglob("*"):
        if path.is_file():
            data = path.read_bytes()  # keep the first bytes: a file cut short after its header
            path.write_bytes(data[: len(data) // 3] + b"\x80\x05damaged" if damaged % 2 else b"")
            damaged += 1
    assert damaged >= 4  # packs of parsed and rendered pages, output records
    (root / "content/cases/case-1.md").write_text(case_text(1, body="Rettet."))
    assert_same_site(cached_build(root, out), clean_build(root, tmp_path / "clean"))


def test_another_version_never_reads_the_cache(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    old = BuildCache(tmp_path / "cache")
    old.put("parse", b"key", ("stale",))
    old.keep("parse", [b"key"])
    assert BuildCache(tmp_path / "cache").get("parse", b"key") == ("stale",)
    monkeypatch.setattr("sitegen.build.cache.code_version", lambda: "another-version-of-sitegen")
    assert BuildCache(tmp_path / "cache").get("parse", b"key") is None


# Parallel work is checked in fresh interpreters: map_items runs serially while another thread
# is alive (forking a threaded process is unsafe), and in a full test run one always is (the
# session's HTTP server for the browser tests).

MAP_ITEMS_PROBE = """
import json, os, threading
from sitegen.build.parallel import MIN_ITEMS_PER_JOB, map_items

def work(index):
    return [index, index * index, os.getpid()]

threads = threading.active_count()
count = 2 * MIN_ITEMS_PER_JOB + 1
forked = map_items(work, count, 2)
stop = threading.Event()
waiting = threading.Thread(target=stop.wait)
waiting.start()
threaded = map_items(work, count, 2)
stop.set()
waiting.join()
print(json.dumps({"parent": os.getpid(), "threads": threads, "count": count,
                  "forked": forked, "threaded": threaded}))
"""


def _python(code: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    return subprocess.run(
        [sys.executable, "-c", code, *args],
        capture_output=True,
        text=True,
        env=env,
        check=True,
        timeout=300,
    )


def test_map_items_forks_workers_and_keeps_the_order() -> None:
    probe = json.loads(_python(MAP_ITEMS_PROBE).stdout)
    assert probe["threads"] == 1  # a fresh interpreter: nothing keeps map_items from forking
    expected = [[index, index * index] for index in range(probe["count"])]
    assert [result[:2] for result in probe["forked"]] == expected
    pids = {result[2] for result in probe["forked"]}
    assert probe["parent"] not in pids and 1 <= len(pids) <= 2


SPOOL_PROBE = """
import json, os, sys
import sitegen.build.parallel as parallel

spool = sys.argv[1]
parallel._spool_root = lambda: spool
real_save = parallel._save

def save(name, results):
    with open(sys.argv[3], "a") as log:
        log.write(name + "\\n")
    if sys.argv[2] == "full":
        raise OSError(28, "No space left on device")
    real_save(name, results)

parallel._save = save
if sys.argv[2] == "no folder":
    def no_folder(*args, **kwargs):
        raise OSError(28, "No space left on device")
    parallel.tempfile.mkdtemp = no_folder

def work(index):
    return [index, "x" * 5000, os.getpid()]

count = 3 * parallel.MIN_ITEMS_PER_JOB
results = parallel.map_items(work, count, 2)
print(json.dumps({"parent": os.getpid(), "results": results, "left": os.listdir(spool)}))
"""


@pytest.mark.parametrize("spool", ["room", "full", "no folder"])
def test_map_items_hands_results_back_through_files(tmp_path: Path, spool: str) -> None:
    """Results come back in order through result files, which are removed; when one cannot be
    written (a full /dev/shm), or the folder for them cannot be made, the workers' results come
    through the pipe instead."""
    log = tmp_path.parent / f"{tmp_path.name}-saved"
    probe = json.loads(_python(SPOOL_PROBE, str(tmp_path), spool, str(log)).stdout)
    if spool == "no folder":
        assert not log.exists()
    else:
        saved = log.read_text().split()
        assert len(saved) >= 2 and all(Path(name).parent.parent == tmp_path for name in saved)
    results = probe["results"]
    assert [result[:2] for result in results] == [[i, "x" * 5000] for i in range(len(results))]
    assert probe["parent"] not in {result[2] for result in results}  # made by the workers
    assert probe["left"] == []  # every result file and the map's folder are gone


def test_map_items_runs_serially_while_another_thread_runs() -> None:
    probe = json.loads(_python(MAP_ITEMS_PROBE).stdout)
    expected = [[index, index * index] for index in range(probe["count"])]
    assert [result[:2] for result in probe["threaded"]] == expected
    assert {result[2] for result in probe["threaded"]} == {probe["parent"]}


# `sitegen build` with map_items wrapped before the build modules import it: every item that
# a forked worker computes is logged as "call index" in a file named after the worker's pid.
SPIED_BUILD = """
import json, os, sys
from pathlib import Path
import sitegen.build.parallel as parallel

log, parent, real, calls = Path(sys.argv[1]), os.getpid(), parallel.map_items, []

def spying(work, count, jobs, *more):
    call = len(calls)
    calls.append(count)

    def logged(index):
        result = work(index)
        if os.getpid() != parent:
            with open(log / str(os.getpid()), "a") as file:
                file.write(f"{call} {index}\\n")
        return result

    return real(logged, count, jobs, *more)

parallel.map_items = spying
from sitegen.cli import main

code = main(sys.argv[2:])
print(json.dumps({"exit": code, "parent": parent, "calls": calls}))
"""

Forked = dict[int, dict[int, set[int]]]  # map_items call -> worker pid -> items it computed


def _spied_build(root: Path, log: Path, *args: str) -> tuple[list[int], Forked]:
    """`sitegen build ARGS`: the item count of each map_items call, and what workers did."""
    log.mkdir()
    done = _python(SPIED_BUILD, str(log), "build", "--site", str(root), "-q", *args)
    probe = json.loads(done.stdout)
    assert probe["exit"] == 0, done.stderr
    forked: Forked = {}
    for worker in log.iterdir():
        pid = int(worker.name)
        assert pid != probe["parent"]
        for line in worker.read_text().splitlines():
            call, index = map(int, line.split())
            forked.setdefault(call, {}).setdefault(pid, set()).add(index)
    return probe["calls"], forked


def _assert_forked(calls: list[int], forked: Forked, jobs: int) -> None:
    """Parse and render (at least two calls) ran every item in `jobs` or fewer workers."""
    large = [call for call, count in enumerate(calls) if count >= 2 * MIN_ITEMS_PER_JOB]
    assert len(large) >= 2, calls
    for call in large:
        workers = forked.get(call, {})
        assert 1 <= len(workers) <= jobs, (call, sorted(workers))
        assert set().union(*workers.values()) == set(range(calls[call])), call


def test_parallel_build_is_byte_identical_to_serial(new_site: MakeSite, tmp_path: Path) -> None:
    # Enough cases that parsing (an item per case) and rendering (more pages) both fork.
    count = 2 * MIN_ITEMS_PER_JOB + 10
    root = small_site(new_site, count=count)
    serial_out, parallel_out, cached_out = (tmp_path / name for name in ("s", "p", "c"))
    calls, forked = _spied_build(
        root, tmp_path / "log-s", "--no-cache", "--jobs", "1", "--out", str(serial_out)
    )
    assert count in calls and forked == {}
    calls, forked = _spied_build(
        root, tmp_path / "log-p", "--no-cache", "--jobs", "2", "--out", str(parallel_out)
    )
    _assert_forked(calls, forked, jobs=2)
    calls, forked = _spied_build(root, tmp_path / "log-c", "--jobs", "2", "--out", str(cached_out))
    _assert_forked(calls, forked, jobs=2)  # a cold cache: filled from the workers' results
    serial = read_tree(serial_out)
    assert len(serial) > count
    assert read_tree(parallel_out) == serial
    assert read_tree(cached_out) == serial
    # Pages are written by path, so only the cache shows a result kept under another item's
    # key: after an edit, the unchanged pages come from what the workers computed.
    edited = root / "content/cases/case-1.md"
    edited.write_text(edited.read_text() + "\nRettet efter den parallelle build.\n")
    _sitegen(root, "--out", str(cached_out))
    assert_same_site(read_tree(cached_out), clean_build(root, tmp_path / "clean"))


def _sitegen(root: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    return subprocess.run(
        [sys.executable, "-m", "sitegen", "build", "--site", str(root), *args],
        capture_output=True,
        text=True,
        env=env,
        check=True,
    )


def test_no_cache_leaves_no_cache_folder(new_site: MakeSite, tmp_path: Path) -> None:
    root = small_site(new_site)
    _sitegen(root, "--no-cache", "--out", str(tmp_path / "out"))
    assert not (root / CACHE_DIR).exists()


def test_no_change_rebuild_does_not_load_markdown_or_templates(
    new_site: MakeSite, tmp_path: Path
) -> None:
    root = small_site(new_site)
    out = tmp_path / "out"
    _sitegen(root, "--out", str(out))
    probe = (
        "import sys\n"
        "from sitegen.cli import main\n"
        f"code = main(['build', '--site', {str(root)!r}, '--out', {str(out)!r}])\n"
        "heavy = sorted({'markdown', 'jinja2', 'babel', 'yaml'} & set(sys.modules))\n"
        "print('heavy:', heavy, 'exit:', code)\n"
    )
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    done = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, env=env, check=True
    )
    assert "Up to date: " in done.stdout
    assert "heavy: [] exit: 0" in done.stdout
    (root / "content/cases/case-1.md").write_text(case_text(1, body="Ændret."))
    done = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, env=env, check=True
    )
    assert " written, " in done.stdout and "'markdown'" in done.stdout
    assert "'babel'" not in done.stdout  # the Danish month names came from the cache


def test_in_memory_cache_for_a_server_session(
    new_site: MakeSite, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from sitegen.build.pipeline import build_files

    root = small_site(new_site)
    session = BuildCache.in_memory()
    parsed = count_parses(monkeypatch)
    first = {f.path: f.data for f in build_files(root, default_options(), cache=session).files}
    edited = root / "content/cases/case-2.md"
    edited.write_text(case_text(2, tag="lokaldemokrati"))
    parsed.clear()
    second = {f.path: f.data for f in build_files(root, default_options(), cache=session).files}
    assert parsed == ["content/cases/case-2.md"]
    assert "emner/lokaldemokrati/index.html" in second and first != second
    assert_same_site(second, {f.path: f.data for f in build_files(root, default_options()).files})
    assert not (root / CACHE_DIR).exists()


def test_a_server_session_compiles_each_template_once(
    new_site: MakeSite, monkeypatch: pytest.MonkeyPatch
) -> None:
    import jinja2

    from sitegen.build.pipeline import build_files

    root = small_site(new_site)
    session = BuildCache.in_memory()
    compiled: list[str | None] = []
    compile_template = jinja2.Environment.compile

    def counting(
        self: jinja2.Environment, source: str, name: str | None = None, *a: object
    ) -> object:
        compiled.append(name)
        return compile_template(self, source, name, *a)  # type: ignore[arg-type]

    monkeypatch.setattr(jinja2.Environment, "compile", counting)
    build_files(root, default_options(), cache=session)
    assert "case.html" in compiled
    compiled.clear()
    (root / "content/cases/case-2.md").write_text(case_text(2, body="Ændret."))
    second = {f.path: f.data for f in build_files(root, default_options(), cache=session).files}
    assert compiled == []
    page = next(path for path in second if path.startswith("cases/case-nummer-2-"))
    assert "Ændret." in second[page].decode()
    template = root / "templates/case.html"
    template.write_text(template.read_text().replace("</article>", "<p>Ny skabelon</p></article>"))
    third = {f.path: f.data for f in build_files(root, default_options(), cache=session).files}
    assert compiled == ["case.html"]  # changed: compiled again, and used
    assert b"Ny skabelon" in third[page]


def test_front_matter_uses_libyaml() -> None:
    import yaml

    from sitegen.content import parse

    assert issubclass(parse._loader(), yaml.CSafeLoader)


def test_result_folders_a_killed_build_left_are_removed_after_an_hour() -> None:
    import sitegen.build.parallel as parallel

    root = parallel._spool_root()
    old = Path(tempfile.mkdtemp(prefix=parallel.SPOOL_PREFIX, dir=root))
    new = Path(tempfile.mkdtemp(prefix=parallel.SPOOL_PREFIX, dir=root))
    other = Path(tempfile.mkdtemp(prefix="not-sitegen-", dir=root))
    try:
        (old / "0").write_bytes(b"results")
        hours_ago = time.time() - 2 * 3600
        os.utime(old, (hours_ago, hours_ago))
        os.utime(other, (hours_ago, hours_ago))
        assert parallel._spool_root() == root
        assert not old.exists() and new.is_dir() and other.is_dir()
    finally:
        for folder in (old, new, other):
            shutil.rmtree(folder, ignore_errors=True)
