"""Faults while writing: killed builds, full disks, concurrent builds, foreign folders.

output/ must always be a complete site, the old or the new one, never a mix; temporary
folders never outlive the next build; a write failure is one clear line and exit 1.
"""

from __future__ import annotations

import errno
import os
import random
import re
import resource
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from conftest import CASE, REPO, read_tree

from sitegen.build.pipeline import build
from sitegen.cli import main
from sitegen.config import default_options
from sitegen.output import write
from sitegen.output.write import OutputError, output_lock, write_output
from sitegen.render.files import RenderedFile


def make_site(root: Path, cases: int, variant: str) -> Path:
    """A site of `cases` generated cases; variant 'b' edits, removes and adds some."""
    folder = root / "content/cases"
    folder.mkdir(parents=True)
    (root / "templates").symlink_to(REPO / "templates")
    for number in range(cases):
        if variant == "b" and number % 10 == 0:
            continue  # removed in b
        edited = variant == "b" and number % 7 == 0
        text = CASE.format(title=f"Case {number}{' redigeret' if edited else ''}")
        text = text.replace("Aarhus", f"Kommune{number % 20}")
        (folder / f"c{number:03}.md").write_text(text + "Mere tekst. " * 50 + "\n")
    if variant == "b":
        for number in range(cases, cases + 15):
            (folder / f"c{number:03}.md").write_text(CASE.format(title=f"Ny case {number}"))
    return root


def sitegen_process(site: Path, out: Path, **kwargs: object) -> subprocess.Popen[str]:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    return subprocess.Popen(
        [sys.executable, "-m", "sitegen", "build", "--site", str(site), "--out", str(out), "-q"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        **kwargs,  # type: ignore[call-overload]
    )


def wait_for_staging(out: Path, earlier: set[str], process: subprocess.Popen[str]) -> float:
    """Wait until a build makes a new staging folder (or ends); returns the moment."""
    deadline = time.monotonic() + 60
    while set(leftovers(out)) <= earlier and process.poll() is None:
        assert time.monotonic() < deadline
        time.sleep(0.005)
    return time.monotonic()


def leftovers(out: Path) -> list[str]:
    return sorted(
        p.name
        for p in out.parent.iterdir()
        if p.name.startswith(f".{out.name}.") and "lock" not in p.name
    )


@pytest.fixture
def two_sites(tmp_path: Path) -> Iterator[tuple[Path, Path, dict[str, bytes], dict[str, bytes]]]:
    """Sites a and b of a few hundred cases, and the exact trees they build."""
    site_a = make_site(tmp_path / "a", 150, "a")
    site_b = make_site(tmp_path / "b", 150, "b")
    build(site_a, default_options(), tmp_path / "tree-a")
    build(site_b, default_options(), tmp_path / "tree-b")
    tree_a, tree_b = read_tree(tmp_path / "tree-a"), read_tree(tmp_path / "tree-b")
    assert tree_a != tree_b and len(tree_a) > 150
    yield site_a, site_b, tree_a, tree_b


def test_killed_builds_leave_the_old_or_the_new_site(
    two_sites: tuple[Path, Path, dict[str, bytes], dict[str, bytes]], tmp_path: Path
) -> None:
    """SIGKILL at random moments, half of them while the new site is being written."""
    site_a, site_b, tree_a, tree_b = two_sites
    out = tmp_path / "output"
    build(site_a, default_options(), out)
    current = "a"
    # One whole build, timed only to spread the kill moments (never asserted): when its
    # staging folder appears and when it is done.
    started = time.monotonic()
    timing = sitegen_process(site_b, tmp_path / "timing")
    staged = wait_for_staging(tmp_path / "timing", set(), timing) - started
    assert timing.communicate(timeout=120) == ("", "")
    done = time.monotonic() - started
    chance = random.Random(6)
    for run in range(20):
        target = "b" if current == "a" else "a"
        process = sitegen_process(site_b if target == "b" else site_a, out)
        if run % 2:  # anywhere in the run
            time.sleep(chance.uniform(0, done * 1.2))
        else:  # inside the write: after this build's staging folder appears
            wait_for_staging(out, set(leftovers(out)), process)
            time.sleep(chance.uniform(0, (done - staged) * 1.2))
        process.send_signal(signal.SIGKILL)
        process.communicate(timeout=60)
        tree = read_tree(out)
        assert tree in (tree_a, tree_b), f"run {run}: output/ is a mix of two sites"
        current = "a" if tree == tree_a else "b"
    build(site_a, default_options(), out)
    assert read_tree(out) == tree_a
    assert leftovers(out) == []


def full_disk_after(count: int) -> Callable[[Path, bytes], None]:
    """A writer that fills the disk after `count` files."""
    written = [0]
    real = write.write_file

    def writer(path: Path, data: bytes) -> None:
        if written[0] >= count:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        written[0] += 1
        real(path, data)

    return writer


def test_full_disk_keeps_old_output_and_names_the_file(
    new_site: Callable[[dict[str, str]], Path],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    root = new_site({"content/cases/a.md": CASE.format(title="Første")})
    assert main(["build", "--site", str(root), "-q"]) == 0
    before = read_tree(root / "output")
    (root / "content/cases/b.md").write_text(CASE.format(title="Anden"))
    monkeypatch.setattr(write, "write_file", full_disk_after(0))
    assert main(["build", "--site", str(root), "-q"]) == 1
    err = capsys.readouterr().err
    assert err == (
        f"sitegen: could not write {root}/output/.sitegen/pages.json: No space left on "
        "device; the previous output is unchanged\n"
    )
    assert read_tree(root / "output") == before
    assert leftovers(root / "output") == []


SEARCH_OFF = "[search]\nenabled = false\n"


def test_file_size_limit_in_a_real_process(
    new_site: Callable[[dict[str, str]], Path], tmp_path: Path
) -> None:
    """A real write failure (EFBIG from RLIMIT_FSIZE) in a real `sitegen build`."""
    # search off: the search step writes a private copy of the pages, which would fail first
    root = new_site({"content/cases/a.md": CASE.format(title="Lille"), "sitegen.toml": SEARCH_OFF})
    out = tmp_path / "out"
    build(root, default_options(), out)
    before = read_tree(out)
    big = CASE.format(title="Stor") + "Lang tekst om borgerdialog. " * 4000
    (root / "content/cases/b.md").write_text(big)

    def limit_file_size() -> None:
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (60_000, 60_000))

    process = sitegen_process(root, out, preexec_fn=limit_file_size)
    _, err = process.communicate(timeout=120)
    assert process.returncode == 1
    # the first file over the limit: the case page or the feed that carries its text
    assert re.fullmatch(
        f"sitegen: could not write {re.escape(str(out))}/cases/(stor/index.html|feed.xml): "
        "File too large; the previous output is unchanged\n",
        err,
    ), err
    assert read_tree(out) == before
    assert leftovers(out) == []


def test_output_where_a_file_is_gives_a_clear_error(
    new_site: Callable[[dict[str, str]], Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root = new_site({"content/cases/a.md": CASE.format(title="A")})
    (tmp_path / "fil").write_text("ikke en mappe")
    assert main(["build", "--site", str(root), "--out", str(tmp_path / "fil/output")]) == 1
    assert capsys.readouterr().err == (
        f"sitegen: could not write {tmp_path}/fil: File exists; the previous output is unchanged\n"
    )


def test_foreign_folder_is_never_replaced(
    new_site: Callable[[dict[str, str]], Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root = new_site({"content/cases/a.md": CASE.format(title="A")})
    mine = tmp_path / "dokumenter"
    mine.mkdir()
    (mine / "vigtigt.txt").write_text("mit")
    assert main(["build", "--site", str(root), "--out", str(mine), "-q"]) == 1
    assert capsys.readouterr().err == (
        f"sitegen: {mine} is not empty and was not built by sitegen; move it away or choose "
        "another output folder; the previous output is unchanged\n"
    )
    assert read_tree(mine) == {"vigtigt.txt": b"mit"}
    empty = tmp_path / "tom"
    empty.mkdir()
    assert main(["build", "--site", str(root), "--out", str(empty), "-q"]) == 0
    assert main(["build", "--site", str(root), "--out", str(empty), "-q"]) == 0


@pytest.mark.parametrize(
    ("out", "problem"),
    [
        (".", "holds the site itself; choose an output folder inside it"),
        ("..", "holds the site itself; choose an output folder inside it"),
        ("content", "overlaps the site's content folder; choose another output folder"),
        ("content/cases/ud", "overlaps the site's content folder; choose another output folder"),
        ("templates", "overlaps the site's templates folder; choose another output folder"),
    ],
)
def test_output_over_the_sources_is_refused(
    out: str,
    problem: str,
    new_site: Callable[[dict[str, str]], Path],
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    root = new_site({"content/cases/a.md": CASE.format(title="A")})
    files = read_tree(root)
    monkeypatch.chdir(root)
    assert main(["build", "--out", out, "-q"]) == 1
    assert capsys.readouterr().err == (
        f"sitegen: {root / out if out != '.' else root} {problem}; the previous output is unchanged\n"
    )
    assert read_tree(root) == files


def test_paths_outside_the_output_folder_are_refused(tmp_path: Path) -> None:
    out = tmp_path / "out"
    for bad in ("../ud.html", "/etc/ud.html", "a/../../ud.html", ""):
        with pytest.raises(OutputError, match="refusing to write outside the output folder"):
            write_output([RenderedFile("index.html", b"ok"), RenderedFile(bad, b"x")], out)
    assert not out.exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == [".out.lock"]


def test_a_second_build_waits_for_the_first(
    two_sites: tuple[Path, Path, dict[str, bytes], dict[str, bytes]], tmp_path: Path
) -> None:
    site_a, site_b, tree_a, tree_b = two_sites
    out = tmp_path / "output"
    build(site_a, default_options(), out)
    with output_lock(out, wait_message=False):
        process = sitegen_process(site_b, out)
        assert process.stderr is not None
        line = process.stderr.readline()  # blocks until the build reaches the lock
        assert line == f"sitegen: waiting for another build writing {out} ...\n"
        assert process.poll() is None
        assert read_tree(out) == tree_a
        assert process.poll() is None  # still waiting, however long reading the tree took
    assert process.communicate(timeout=120) == ("", "")
    assert process.returncode == 0
    assert read_tree(out) == tree_b


def test_builds_started_together_never_mix(
    two_sites: tuple[Path, Path, dict[str, bytes], dict[str, bytes]], tmp_path: Path
) -> None:
    site_a, site_b, tree_a, tree_b = two_sites
    out = tmp_path / "output"
    for _ in range(2):
        first, second = sitegen_process(site_a, out), sitegen_process(site_b, out)
        first.communicate(timeout=120)
        second.communicate(timeout=120)
        assert first.returncode == second.returncode == 0
        assert read_tree(out) in (tree_a, tree_b)
        assert leftovers(out) == []


def test_staging_of_a_killed_build_is_cleaned_up(
    new_site: Callable[[dict[str, str]], Path],
) -> None:
    root = new_site({"content/cases/a.md": CASE.format(title="A")})
    assert main(["build", "--site", str(root), "-q"]) == 0
    (root / ".output.new-dead").mkdir()
    (root / ".output.new-dead/half.html").write_text("<p")
    assert main(["build", "--site", str(root), "-q"]) == 0
    assert leftovers(root / "output") == []
