"""Output records: what the last build wrote, so the next one writes only what changed.

A record holds the digest of every output file and the (size, mtime, inode) of every file and
folder of output/. A folder's mtime changes when an entry is added or removed inside it, so
checking the recorded stats proves cheaply that nobody touched output/ since; if anything
differs the record is not trusted and the build falls back to comparing bytes.

When something changed, the new site is still assembled beside output/ and swapped in
atomically, but not from scratch: the tree that the previous swap displaced is kept as a
spare (in the cache folder) and brought up to date, which costs as many file operations as
there are changed files instead of one per file of the site.
"""

from __future__ import annotations

import contextlib
import os
import shutil
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from sitegen.build.cache import BuildCache
from sitegen.build.digest import digest_bytes
from sitegen.build.inputs import Inputs, inputs_digest
from sitegen.options import BuildOptions
from sitegen.output import write
from sitegen.output.write import (
    OutputError,
    WriteReport,
    _clean_leftovers,
    _safe_relative,
    _swap_in,
    output_lock,
    write_output,
)

if TYPE_CHECKING:
    from sitegen.render.files import RenderedFile

Stat = tuple[int, int, int]  # size, mtime_ns, inode


@dataclass(frozen=True)
class OutputRecord:
    inputs: bytes  # digest of the inputs of the build that wrote this tree
    files: dict[str, bytes]  # path inside the tree -> digest of its bytes
    stats: dict[str, Stat]  # path of every file and folder ("" is the tree itself) -> stat


def record_name(out: Path) -> str:
    return digest_bytes(str(out.absolute()).encode()).hex()[:16]


def _folders(paths: Iterable[str]) -> set[str]:
    found = {""}
    for path in paths:
        parts = path.split("/")[:-1]
        for end in range(1, len(parts) + 1):
            found.add("/".join(parts[:end]))
    return found


def snapshot(tree: Path, paths: Iterable[str]) -> dict[str, Stat]:
    """The stat of every listed file and of every folder above them."""
    listed = list(paths)
    base = str(tree)
    stats: dict[str, Stat] = {}
    for path in sorted(_folders(listed)):
        info = os.lstat(f"{base}/{path}" if path else base)
        stats[path] = (0, info.st_mtime_ns, info.st_ino)
    for path in listed:
        info = os.lstat(f"{base}/{path}")
        stats[path] = (info.st_size, info.st_mtime_ns, info.st_ino)
    return stats


def unchanged_since(tree: Path, stats: dict[str, Stat]) -> bool:
    """True when every recorded file and folder still has its recorded stat."""
    base = str(tree)
    try:
        for path, (size, mtime, inode) in stats.items():
            info = os.lstat(f"{base}/{path}" if path else base)
            if info.st_mtime_ns != mtime or info.st_ino != inode:
                return False
            if size and info.st_size != size:
                return False
    except OSError:
        return False
    return True


def current_record(cache: BuildCache, out: Path) -> OutputRecord | None:
    """The record of output/ if it is still accurate, else None."""
    record = cache.load_record("output-" + record_name(out))
    if isinstance(record, OutputRecord) and unchanged_since(out, record.stats):
        return record
    return None


def up_to_date(
    inputs: Inputs, options: BuildOptions, out: Path, cache: BuildCache
) -> OutputRecord | None:
    """The record of output/ when it was built from exactly these inputs and is untouched."""
    if inputs.errors:
        return None
    out = out.absolute()
    record = cache.load_record("output-" + record_name(out))
    if not isinstance(record, OutputRecord) or record.inputs != inputs_digest(inputs, options, out):
        return None  # something changed: no need to look at output/ at all
    return record if unchanged_since(out, record.stats) else None


def write_tracked(
    files: Sequence[RenderedFile], out: Path, cache: BuildCache, inputs: bytes
) -> WriteReport:
    """Like write_output (atomic swap, unchanged files keep their inode), but cheap to repeat."""
    out = out.absolute()
    digests = {item.path: cache.digest_of(item.data) for item in files}
    try:
        with output_lock(out):
            return _write_locked(files, out, cache, inputs, digests)
    except OSError as exc:
        raise OutputError(f"could not write {write._describe(exc, out)}") from exc


def _write_locked(
    files: Sequence[RenderedFile],
    out: Path,
    cache: BuildCache,
    inputs: bytes,
    digests: dict[str, bytes],
) -> WriteReport:
    name = record_name(out)
    _clean_leftovers(out)
    record = current_record(cache, out)
    if record is None:
        cache.save_record("spare-" + name, None)
        report = _locked_write(files, out)
        written = _record(out, inputs, digests)
        cache.save_record("output-" + name, written)
        _prepare_spare(cache, name, out, written, files)
        return report
    if record.files == digests:
        cache.save_record("output-" + name, OutputRecord(inputs, digests, record.stats))
        return WriteReport(0, len(files), 0)
    spare = cache.spare_folder(name)
    assert spare is not None
    spare_record = cache.load_record("spare-" + name)
    if not (isinstance(spare_record, OutputRecord) and _usable(spare, spare_record)):
        shutil.rmtree(spare, ignore_errors=True)
        spare.mkdir(parents=True)
        if os.stat(spare).st_dev != os.stat(out.parent).st_dev:  # no atomic swap across disks
            shutil.rmtree(spare, ignore_errors=True)
            report = _locked_write(files, out)
            cache.save_record("output-" + name, _record(out, inputs, digests))
            return report
        spare_record = OutputRecord(b"", {}, snapshot(spare, []))
    cache.save_record("spare-" + name, None)  # the spare is about to change
    report = _update(spare, spare_record, out, record, files, digests)
    _swap_in(spare, out)
    cache.save_record("spare-" + name, record)  # the displaced tree is the old output
    cache.save_record("output-" + name, _record(out, inputs, digests))
    return report


def _prepare_spare(
    cache: BuildCache, name: str, out: Path, record: OutputRecord, files: Sequence[RenderedFile]
) -> None:
    """Hard-link the tree just written into the spare folder.

    The next build that changes something then updates the spare with only its changed files
    and swaps it in, as every later build does, instead of first linking every file of the
    site. A spare that cannot be made is simply not there (the next build makes one).
    """
    spare = cache.spare_folder(name)
    if spare is None:
        return
    shutil.rmtree(spare, ignore_errors=True)
    try:
        spare.mkdir(parents=True)
        if os.stat(spare).st_dev != os.stat(out).st_dev:  # no atomic swap across disks
            raise OSError("the cache and the output are on different disks")
        empty = OutputRecord(b"", {}, snapshot(spare, []))
        _update(spare, empty, out, record, files, record.files)
        cache.save_record("spare-" + name, _record(spare, record.inputs, record.files))
    except OSError:
        shutil.rmtree(spare, ignore_errors=True)


def _locked_write(files: Sequence[RenderedFile], out: Path) -> WriteReport:
    """write_output while already holding the lock (flock is per open file, so reenter)."""
    return write_output(files, out, lock=False)


def _record(out: Path, inputs: bytes, digests: dict[str, bytes]) -> OutputRecord:
    return OutputRecord(inputs, digests, snapshot(out, digests))


def _usable(spare: Path, record: OutputRecord) -> bool:
    return spare.is_dir() and unchanged_since(spare, record.stats)


def _update(
    spare: Path,
    spare_record: OutputRecord,
    out: Path,
    out_record: OutputRecord,
    files: Sequence[RenderedFile],
    digests: dict[str, bytes],
) -> WriteReport:
    """Make `spare` hold exactly `files`: unchanged ones as hard links to output/'s."""
    written = unchanged = 0
    stale = [path for path in spare_record.files if path not in digests]
    for path in stale:
        _unlink(spare / path)
    gone = _folders(stale) - _folders(digests) if stale else set()
    for folder in sorted(gone, key=len, reverse=True):
        with contextlib.suppress(OSError):
            (spare / folder).rmdir()
    folders: set[str] | None = None  # worked out only if something must be written
    out_files, out_stats, spare_stats = out_record.files, out_record.stats, spare_record.stats
    for item in files:
        relative = item.path
        same = out_files.get(relative) == digests[relative]
        if same and spare_stats.get(relative, (0, 0, -1))[2] == out_stats[relative][2]:
            unchanged += 1  # already a hard link to output/'s file
            continue
        relative = _safe_relative(relative).as_posix()
        target = spare / relative
        try:
            if folders is None:
                folders = _folders(spare_record.files) - gone
            if relative.rpartition("/")[0] not in folders:
                target.parent.mkdir(parents=True, exist_ok=True)
                folders.update(_folders([relative]))
            _unlink(target)
            if same:
                unchanged += 1
                try:
                    os.link(out / relative, target)
                    continue
                except OSError:
                    unchanged -= 1
            write.write_file(target, item.data)
        except OSError as exc:
            exc.filename = str(out / relative)  # name the file as it would be in output/
            raise
        written += 1
    removed = sum(1 for path in out_record.files if path not in digests)
    return WriteReport(written, unchanged, removed)


def _unlink(path: Path) -> None:
    with contextlib.suppress(FileNotFoundError):
        path.unlink()
