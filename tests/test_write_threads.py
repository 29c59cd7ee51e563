"""A large output tree is written by several threads; a failure is reported as one thread
would have met it: at the first file, in the site's order, that could not be written."""

from __future__ import annotations

import errno
import threading
from pathlib import Path

import pytest

from sitegen.output import write
from sitegen.output.write import OutputError, write_output
from sitegen.render.files import RenderedFile

FILES = [
    RenderedFile(f"cases/case-{n:03}/index.html", f"<p>Case {n}</p>".encode()) for n in range(300)
]


def tree(out: Path) -> dict[str, bytes]:
    return {
        path.relative_to(out).as_posix(): path.read_bytes()
        for path in out.rglob("*")
        if path.is_file()
    }


def test_a_large_tree_is_written_by_several_threads(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    writers: set[int] = set()
    real = write.write_file

    def recording(path: Path, data: bytes) -> None:
        writers.add(threading.get_ident())
        real(path, data)

    monkeypatch.setattr(write, "write_file", recording)
    out = tmp_path / "out"
    report = write_output(FILES, out)
    assert (report.written, report.unchanged) == (300, 0)
    assert len(writers) > 1  # the caller and at least one writer thread
    assert tree(out) == {item.path: item.data for item in FILES}
    # again over the same tree: every file is the same, so every one is a hard link
    again = write_output(FILES, out)
    assert (again.written, again.unchanged) == (0, 300)
    assert tree(out) == {item.path: item.data for item in FILES}


def test_the_first_file_that_cannot_be_written_is_named_and_output_is_kept(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    out = tmp_path / "out"
    write_output(FILES[:10], out)
    before = tree(out)
    real = write.write_file
    failing = {"case-250", "case-120"}  # in the fourth and the second thread's run

    def full_disk(path: Path, data: bytes) -> None:
        if path.parent.name in failing:
            raise OSError(errno.ENOSPC, "No space left on device", str(path))
        real(path, data)

    monkeypatch.setattr(write, "write_file", full_disk)
    with pytest.raises(OutputError, match=r"case-120/index\.html: No space left on device"):
        write_output(FILES, out)
    assert tree(out) == before
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".out.new-")]


def test_a_tracked_tree_and_its_spare_are_filled_in_threads(tmp_path: Path) -> None:
    from sitegen.build.cache import BuildCache
    from sitegen.output.write import snapshot, write_tracked, written_record

    cache = BuildCache(tmp_path / "cache")
    out = tmp_path / "out"
    write_tracked(FILES, out, cache, b"first")
    spare = cache.spare_folder(write.record_name(out))
    assert spare is not None and tree(spare) == tree(out) == {f.path: f.data for f in FILES}
    assert {p.stat().st_ino for p in spare.rglob("*.html")} == {
        p.stat().st_ino for p in out.rglob("*.html")
    }  # hard links, made by the threads that filled the spare
    edited = [*FILES[:-1], RenderedFile(FILES[-1].path, b"<p>Ny</p>")]
    report = write_tracked(edited, out, cache, b"second")
    assert (report.written, report.unchanged) == (1, 299)
    assert tree(out) == {f.path: f.data for f in edited}
    record = written_record(cache, out.absolute())
    assert record is not None and record.stats == snapshot(out.absolute(), record.files)
