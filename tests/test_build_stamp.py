"""`sitegen build` with nothing changed stops at the stamp: file stats, no source read.

Every way the output could differ from the last build must send the build past the stamp;
the slow path then rebuilds, or finds by digest that nothing changed after all.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from sitegen.build import command, stamp
from sitegen.cli import main
from tests.conftest import CASE

MakeSite = Callable[[dict[str, str]], Path]


def stamp_site(new_site: MakeSite) -> Path:
    root = new_site(
        {
            "content/cases/holbaek.md": CASE.format(title="Holbæk eksperimenterer"),
            "content/cases/aeroe.md": CASE.format(title="Ærø vælger"),
        }
    )
    settle()
    return root


def settle() -> None:
    """Let the files age past the window in which their timestamps are not trusted."""
    time.sleep(3 * stamp.RACY_NS / 1e9)


class Builds:
    """`sitegen build` run through the command line's main(), counting the slow paths."""

    def __init__(self, root: Path, monkeypatch: pytest.MonkeyPatch) -> None:
        self.root = root
        self.slow = 0
        real = command.load_inputs

        def counted(site: Path, cache: object = None) -> object:
            self.slow += 1
            return real(site, cache)  # type: ignore[arg-type]

        monkeypatch.setattr(command, "load_inputs", counted)
        monkeypatch.chdir(root)

    def run(self, *extra: str) -> str:
        """'stamp' or 'built' (past the stamp), after one build with `extra` arguments."""
        before = self.slow
        assert main(["build", "-q", *extra]) == 0
        return "built" if self.slow > before else "stamp"


def test_a_second_build_stops_at_the_stamp(
    new_site: MakeSite, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    builds = Builds(stamp_site(new_site), monkeypatch)
    assert builds.run() == "built"
    assert builds.run() == "stamp"
    assert builds.run() == "stamp"
    capsys.readouterr()
    assert main(["build"]) == 0  # another command line has no stamp yet
    assert builds.slow == 2
    assert main(["build"]) == 0
    assert builds.slow == 2
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 2 and all(line.startswith("Up to date: ") for line in lines)
    assert lines[0].split(" (")[0] == lines[1].split(" (")[0]  # the same count and folder
    assert builds.run("--drafts") == "built"


def test_an_edit_with_its_old_size_and_mtime_is_built(
    new_site: MakeSite, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = stamp_site(new_site)
    builds = Builds(root, monkeypatch)
    builds.run()
    source = root / "content/cases/holbaek.md"
    info = source.stat()
    text = source.read_text(encoding="utf-8").replace("Brødtekst.", "Brødtekxt.")
    assert len(text) == len(source.read_text(encoding="utf-8"))
    source.write_text(text, encoding="utf-8")
    os.utime(source, ns=(info.st_atime_ns, info.st_mtime_ns))  # only the ctime tells
    settle()
    assert builds.run() == "built"
    page = (root / "output/cases/holbaek-eksperimenterer/index.html").read_text(encoding="utf-8")
    assert "Brødtekxt." in page
    assert builds.run() == "stamp"


@pytest.mark.parametrize(
    "change",
    ["add a case", "remove a case", "edit a template", "edit the config", "add a static file"],
)
def test_every_input_is_watched(
    new_site: MakeSite, monkeypatch: pytest.MonkeyPatch, change: str
) -> None:
    root = stamp_site(new_site)
    builds = Builds(root, monkeypatch)
    builds.run()
    if change == "add a case":
        (root / "content/cases/ny.md").write_text(CASE.format(title="Ny"), encoding="utf-8")
    elif change == "remove a case":
        (root / "content/cases/aeroe.md").unlink()
    elif change == "edit a template":
        with (root / "templates/base.html").open("a", encoding="utf-8") as handle:
            handle.write("<!-- ændret -->\n")
    elif change == "edit the config":
        (root / "sitegen.toml").write_text('[site]\ntitle = "Andet"\n', encoding="utf-8")
    else:
        (root / "static").mkdir()
        (root / "static/robots-extra.txt").write_text("x\n", encoding="utf-8")
    settle()
    assert builds.run() == "built"
    assert builds.run() == "stamp"


def test_a_touched_file_goes_past_the_stamp_but_is_not_rebuilt(
    new_site: MakeSite, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = stamp_site(new_site)
    builds = Builds(root, monkeypatch)
    builds.run()
    page = root / "output/index.html"
    before = page.stat()
    os.utime(root / "content/cases/aeroe.md")
    settle()
    assert builds.run() == "built"
    after = page.stat()
    assert (after.st_ino, after.st_mtime_ns) == (before.st_ino, before.st_mtime_ns)
    assert builds.run() == "stamp"


def test_damaged_output_goes_past_the_stamp(
    new_site: MakeSite, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = stamp_site(new_site)
    builds = Builds(root, monkeypatch)
    builds.run()
    page = root / "output/cases/aeroe-vaelger/index.html"
    page.unlink()
    assert builds.run() == "built"
    assert page.exists()
    (root / "output/index.html").write_text("tampered", encoding="utf-8")
    assert builds.run() == "built"
    assert "tampered" not in (root / "output/index.html").read_text(encoding="utf-8")
    assert builds.run() == "stamp"


def test_another_day_or_sitegen_goes_past_the_stamp(
    new_site: MakeSite, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    root = stamp_site(new_site)
    builds = Builds(root, monkeypatch)
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1700000000")
    builds.run()
    assert builds.run() == "stamp"
    monkeypatch.setenv("SOURCE_DATE_EPOCH", str(1700000000 + 86400))
    assert builds.run() == "built"
    monkeypatch.setenv("PAGEFIND_UNSTABLE_INDEX_CHUNK_SIZE", "1000")
    assert builds.run() == "built"
    package = tmp_path / "package"
    package.mkdir()
    (package / "module.py").write_text("A = 1\n", encoding="utf-8")
    monkeypatch.setattr(stamp, "PACKAGE", package)
    settle()
    assert builds.run() == "built"
    assert builds.run() == "stamp"
    (package / "module.py").write_text("A = 2\n", encoding="utf-8")
    settle()
    assert builds.run() == "built"


def build_changing_meanwhile(
    root: Path, monkeypatch: pytest.MonkeyPatch, change: Callable[[], object]
) -> None:
    """One build during which `change` happens right after the inputs were read: it leaves no
    stamp; the next build (the change settled) takes the change in."""
    real = command.load_inputs

    def changed_meanwhile(site: Path, cache: object = None) -> object:
        inputs = real(site, cache)  # type: ignore[arg-type]
        change()
        return inputs

    monkeypatch.setattr(command, "load_inputs", changed_meanwhile)
    assert main(["build", "-q"]) == 0
    stamps = root / stamp.STAMP_FOLDER
    assert not stamps.exists() or not any(stamps.iterdir())
    monkeypatch.setattr(command, "load_inputs", real)
    settle()
    assert main(["build", "-q"]) == 0
    assert any(stamps.glob("*.stamp"))


def test_a_file_saved_while_the_build_reads_is_not_trusted(
    new_site: MakeSite, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A save in the same timestamp tick as the build's reading would look unchanged later."""
    root = stamp_site(new_site)
    Builds(root, monkeypatch)
    source = root / "content/cases/aeroe.md"
    build_changing_meanwhile(
        root, monkeypatch, lambda: source.write_text(CASE.format(title="Ærø igen"), "utf-8")
    )
    assert "Ærø igen" in (root / "output/cases/aeroe-igen/index.html").read_text("utf-8")


def test_a_build_scans_its_inputs_once_and_a_save_after_that_scan_is_built_next(
    new_site: MakeSite, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The stamp keeps the stats the check took before the build read its inputs, so a file
    saved in between (even with an old mtime) is found changed by the next check."""
    root = stamp_site(new_site)
    builds = Builds(root, monkeypatch)
    assert builds.run() == "built"
    scans = 0
    real_scan = stamp._inputs_state

    def counted(paths: list[str], cwd: str) -> object:
        nonlocal scans
        scans += 1
        return real_scan(paths, cwd)

    monkeypatch.setattr(stamp, "_inputs_state", counted)
    holbaek, aeroe = root / "content/cases/holbaek.md", root / "content/cases/aeroe.md"
    holbaek.write_text(CASE.format(title="Holbæk igen"), "utf-8")
    settle()
    real_check = stamp.up_to_date

    def check_then_save(argv: list[str], cwd: str) -> object:
        found = real_check(argv, cwd)
        aeroe.write_text(CASE.format(title="Ærø vælger igen"), "utf-8")
        long_ago = time.time() - 3600
        os.utime(aeroe, (long_ago, long_ago))
        return found

    monkeypatch.setattr(stamp, "up_to_date", check_then_save)
    assert builds.run() == "built"
    assert scans == 1 and any((root / stamp.STAMP_FOLDER).glob("*.stamp"))
    monkeypatch.setattr(stamp, "up_to_date", real_check)
    settle()
    assert builds.run() == "built"
    assert (root / "output/cases/aeroe-vaelger-igen/index.html").is_file()
    assert builds.run() == "stamp"


def test_no_stamp_for_a_verbose_or_uncached_build(
    new_site: MakeSite, monkeypatch: pytest.MonkeyPatch
) -> None:
    builds = Builds(stamp_site(new_site), monkeypatch)
    assert builds.run("-v") == "built"
    assert builds.run("-v") == "built"
    assert builds.run("--no-cache") == "built"
    assert builds.run("--no-cache") == "built"


def test_a_site_that_gets_its_own_templates_goes_past_the_stamp(
    new_site: MakeSite, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = stamp_site(new_site)
    theme = root / "templates"
    kept = root.parent / "theme-copy"
    theme.rename(kept)  # built with the theme that ships with sitegen
    settle()
    builds = Builds(root, monkeypatch)
    assert builds.run() == "built"
    assert builds.run() == "stamp"
    kept.rename(theme)
    with (theme / "base.html").open("a", encoding="utf-8") as handle:
        handle.write("<!-- eget tema -->\n")
    settle()
    assert builds.run() == "built"
    assert "<!-- eget tema -->" in (root / "output/index.html").read_text(encoding="utf-8")


def test_a_file_removed_while_the_build_reads_is_not_trusted(
    new_site: MakeSite, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = stamp_site(new_site)
    Builds(root, monkeypatch)
    build_changing_meanwhile(root, monkeypatch, (root / "content/cases/aeroe.md").unlink)
    assert not (root / "output/cases/aeroe-vaelger").exists()


def test_the_stamp_carries_the_day_the_build_was_made_for(
    new_site: MakeSite, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A build that starts before midnight and ends after it made the earlier day's site."""
    root = stamp_site(new_site)
    builds = Builds(root, monkeypatch)
    day_one, day_two = 1700000000, 1700000000 + 86400
    monkeypatch.setenv("SOURCE_DATE_EPOCH", str(day_two))  # the day when the stamp is written
    real = command.default_options

    def started_the_day_before(drafts: bool = False, future: bool = False) -> object:
        monkeypatch.setenv("SOURCE_DATE_EPOCH", str(day_one))
        options = real(drafts=drafts, future=future)
        monkeypatch.setenv("SOURCE_DATE_EPOCH", str(day_two))
        return options

    monkeypatch.setattr(command, "default_options", started_the_day_before)
    assert builds.run() == "built"
    monkeypatch.setattr(command, "default_options", real)
    assert builds.run() == "built"
    assert builds.run() == "stamp"


def test_a_folder_linked_into_itself_does_not_stop_the_build(
    new_site: MakeSite, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = stamp_site(new_site)
    (root / "content/cases/a").symlink_to(".")
    (root / "content/cases/b").symlink_to(".")
    settle()
    builds = Builds(root, monkeypatch)
    started = time.monotonic()
    builds.run()
    assert builds.run() == "stamp"
    assert time.monotonic() - started < 30


def test_a_library_folder_on_the_path_is_watched(
    new_site: MakeSite, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    vendor = tmp_path / "vendor"
    vendor.mkdir()
    monkeypatch.syspath_prepend(str(vendor))
    root = stamp_site(new_site)
    builds = Builds(root, monkeypatch)
    builds.run()
    assert builds.run() == "stamp"
    (vendor / "jinja2-9.9.dist-info").mkdir()  # an upgrade installed there
    assert builds.run() == "built"


def test_whole_second_timestamps_get_the_wider_window() -> None:
    """On a file system with whole-second times a save just before the build may carry a
    time up to two seconds before it: those are not trusted."""
    start = 5_000_000_000_000

    class Stat:
        def __init__(self, mtime: int) -> None:
            self.st_mtime_ns = self.st_ctime_ns = mtime
            self.st_size = self.st_ino = 1

    fine, coarse = stamp._Scan(), stamp._Scan()
    fine.file("a", Stat(start - 1_000_123_456))  # type: ignore[arg-type]
    coarse.file("a", Stat(start - 1_000_000_000))  # type: ignore[arg-type]
    assert not fine.racy(start) and coarse.racy(start)


def test_an_in_process_build_leaves_the_cycle_collector_as_it_found_it(
    new_site: MakeSite, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Only the command line, whose process ends with the build, freezes what it made."""
    import gc

    Builds(stamp_site(new_site), monkeypatch)
    frozen = gc.get_freeze_count()
    assert main(["build", "-q"]) == 0
    assert gc.isenabled() and gc.get_freeze_count() == frozen


def test_a_record_written_beside_the_build_that_fails_is_raised(tmp_path: Path) -> None:
    import threading

    from sitegen.build.cache import BuildCache

    cache = BuildCache(tmp_path / "cache")
    cache.save_record("good", {"a": 1}, later=True)
    cache.save_record("bad", threading.Lock(), later=True)  # cannot be pickled
    with pytest.raises(TypeError):
        cache.settle()
    assert BuildCache(tmp_path / "cache").load_record("good") == {"a": 1}
    assert not list((tmp_path / "cache").rglob(".tmp-*"))
    cache.settle()  # nothing left to wait for


STAMP_PROBE = """
import json, sys
before = set(sys.modules)
from sitegen.cli import main
code = main(["build", "-q"])
print(json.dumps({"code": code, "new": sorted(set(sys.modules) - before)}))
"""


def test_the_stamp_is_checked_before_anything_heavy_is_imported(new_site: MakeSite) -> None:
    """argparse, dataclasses (inspect, ast), pathlib, hashlib, tempfile and the config module
    cost more than the whole check in a fresh virtualenv: a no-change build imports none."""
    import json
    import subprocess
    import sys

    from tests.conftest import REPO

    root = stamp_site(new_site)
    env = {**os.environ, "PYTHONPATH": str(REPO)}

    def probe() -> dict[str, object]:
        done = subprocess.run(
            [sys.executable, "-c", STAMP_PROBE],
            cwd=root,
            env=env,
            capture_output=True,
            text=True,
            check=True,
            timeout=300,
        )
        found: dict[str, object] = json.loads(done.stdout.strip().splitlines()[-1])
        return found

    built = probe()  # builds, and leaves the stamp
    assert built["code"] == 0 and "sitegen.build.pipeline" in built["new"]  # type: ignore[operator]
    settle()
    checked = probe()
    assert checked["code"] == 0
    new = set(checked["new"])  # type: ignore[call-overload]
    assert "sitegen.build.stamp" in new and "sitegen.build.command" not in new
    heavy = {"argparse", "dataclasses", "inspect", "pathlib", "hashlib", "tempfile", "typing"}
    assert not new & (heavy | {"sitegen.config", "sitegen.arguments", "sitegen.errors"})
